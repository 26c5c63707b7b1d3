"""The agencies' read models and the district page (issue 13), against a bare consumer in the
same run.

    uv run python -m bench.agencies [--quick] [--json bench/results/agencies.json]

Also run by ``bench.run`` (alone: ``python -m bench.run --only agencies``).

1. **A generated district of 100 schools** (``tests/support/agencies_world``: 6 classes × 40
   students each, a semester of every service's events — 123,800 events) is published on the
   run's five topics as the relays do.
2. **Every agency model rebuilt from offset 0** (``bench.replay.replay`` on the kit's FastStream
   runtime, fresh schema, fresh group) against the peer: a bare aiokafka consumer reading and
   decoding the same topics (``bare_consume``), measured just before each model.
3. **The district page of 100 schools**: the agencies API as its own process (``tongxin-agencies
   serve`` on the rebuilt models), ``GET /dashboards/district`` (JSON) and ``GET
   /pages/district`` (the HTML page), a few warm-up calls then timed calls one after the
   other; target < 1 s.

Every loop is bounded by a count and a time limit; nothing asserts on speed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.support.agencies_world import DAY, Publisher, generate

from bench.common import PARTITIONS, Names, Row, clock
from bench.served import api_process, page_row, rebuild_models, replay_rows, run_alone, time_get
from tongxin_agencies.bootstrap import prepare_database
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.models import MODELS
from tongxin_platform.auth import Principal, Role, dev_keypair, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("registry", "visits", "wellbeing", "safety", "committees")
DISTRICT = "330106"


def topics_of(names: Names) -> dict[str, str]:
    return {s: f"{names.topic_prefix}agencies.{s}.events" for s in SERVICES}


async def measure(
    server_url: str, kafka: str, names: Names, quick: bool, keep: bool = False
) -> dict[str, Any]:
    schools = 10 if quick else 100
    world = generate(districts=[(DISTRICT, schools)], classes=6, students=40)
    topics = topics_of(names)
    await ensure_topics(
        kafka, [TopicSpec(t, PARTITIONS, event_topic_config()) for t in topics.values()]
    )
    start = clock()
    sent = await Publisher(kafka, topics).publish(world.events)
    published = clock() - start
    database = names.agencies_db
    settings = AgenciesSettings(
        DATABASE_URL=server_url, KAFKA_BOOTSTRAP_SERVERS=kafka, database_name=database
    )
    url = await prepare_database(settings)  # the kit's tables (offsets…) and the models'
    models = await rebuild_models(MODELS, settings, url, topics, f"{names.topic_prefix}agencies")
    private, _ = dev_keypair(ROOT / ".data" / "dev-jwt")
    token = mint(private, Principal("bench", Role.bureau_officer, DISTRICT))
    day = DAY.isoformat()
    async with api_process("agencies", server_url, kafka, database, topics) as base:
        path = f"/dashboards/district?district={DISTRICT}&as_of={day}"
        page = await time_get(
            base, path, {"Authorization": f"Bearer {token}"}, 3, 5 if quick else 15
        )
        html = await time_get(
            base,
            f"/pages/district?district={DISTRICT}&as_of={day}",
            {"Cookie": f"tongxin_session={token}"},
            3,
            5 if quick else 15,
        )
    return {
        "schools": schools,
        "students": len(world.student_refs()),
        "events": sent,
        "publish_seconds": published,
        "models": models,
        "district_json": page,
        "district_html": html,
    }


def rows(res: dict[str, Any]) -> list[Row]:
    size = f"{res['schools']} schools"
    return [
        *replay_rows("agencies", "Agencies'", res["models"], size),
        page_row("agencies_district_json", f"District page of {size} (JSON)", res["district_json"]),
        page_row(
            "agencies_district_html", f"District page of {size} (HTML page)", res["district_html"]
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    return run_alone("agencies", __doc__, measure, rows, argv)


if __name__ == "__main__":
    sys.exit(main())
