"""The city aggregator (issue 14): its read models rebuilt from offset 0 over a city's topics
against a bare consumer in the same run, and the city page's response time.

    uv run python -m bench.city [--quick] [--json bench/results/city.json]

Also run by ``bench.run`` (alone: ``python -m bench.run --only city``).

1. **A generated city of the demo city's size** (``tests/support/agencies_world``: 3 districts
   of 10 schools, 30 classes × 33 students each — 29,700 students — and a semester of every
   service's events) is published on the run's topics as the relays do. ``tongxin seed --city``
   makes a city of that size through the services' HTTP APIs; the generator makes the same
   shape of events in seconds, so the rebuild, not the seeding, is what is timed.
2. **Every city model rebuilt from offset 0** (``bench.replay.replay`` on the kit's FastStream
   runtime, fresh schema, fresh group) against the peer: a bare aiokafka consumer reading and
   decoding the same topics (``bare_consume``), measured just before each model.
3. **The city page**: the city API as its own process (``tongxin-city serve`` on the rebuilt
   models), ``GET /kpis`` and ``GET /dashboards/city`` (JSON) and ``GET /pages/city`` (the HTML
   page) for a city analyst, a few warm-up calls then timed calls one after the other.

Every loop is bounded by a count and a time limit; nothing asserts on speed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.support.agencies_world import DAY, Publisher, generate

from bench.common import PARTITIONS, Names, Row, clock
from bench.served import api_process, page_row, rebuild_models, replay_rows, run_alone, time_get
from tongxin_city.bootstrap import prepare_database
from tongxin_city.config import CitySettings
from tongxin_city.projections.models import MODELS
from tongxin_platform.auth import Principal, Role, dev_keypair, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("registry", "visits", "wellbeing", "safety", "committees", "city")
DISTRICTS = ("330102", "330105", "330106")


def topics_of(names: Names) -> dict[str, str]:
    return {s: f"{names.topic_prefix}city.{s}.events" for s in SOURCES}


async def measure(
    server_url: str, kafka: str, names: Names, quick: bool, keep: bool = False
) -> dict[str, Any]:
    schools, classes, students = (2, 10, 20) if quick else (10, 30, 33)
    world = generate(
        districts=[(d, schools) for d in DISTRICTS], classes=classes, students=students
    )
    topics = topics_of(names)
    await ensure_topics(
        kafka, [TopicSpec(t, PARTITIONS, event_topic_config()) for t in topics.values()]
    )
    start = clock()
    sent = await Publisher(kafka, topics).publish(world.events)
    published = clock() - start
    database = names.city_db
    settings = CitySettings(
        DATABASE_URL=server_url, KAFKA_BOOTSTRAP_SERVERS=kafka, database_name=database
    )
    url = await prepare_database(settings)  # the kit's tables (offsets…) and the models'
    models = await rebuild_models(MODELS, settings, url, topics, f"{names.topic_prefix}city")
    private, _ = dev_keypair(ROOT / ".data" / "dev-jwt")
    token = mint(private, Principal("bench", Role.city_analyst))
    day = DAY.isoformat()
    n = 5 if quick else 15
    async with api_process("city", server_url, kafka, database, topics) as base:
        bearer = {"Authorization": f"Bearer {token}"}
        kpis = await time_get(base, f"/kpis?as_of={day}", bearer, 3, n)
        page = await time_get(base, f"/dashboards/city?as_of={day}", bearer, 3, n)
        html = await time_get(
            base, f"/pages/city?as_of={day}", {"Cookie": f"tongxin_session={token}"}, 3, n
        )
    return {
        "districts": len(DISTRICTS),
        "schools": schools * len(DISTRICTS),
        "students": len(world.student_refs()),
        "events": sent,
        "publish_seconds": published,
        "models": models,
        "city_kpis": kpis,
        "city_json": page,
        "city_html": html,
    }


def rows(res: dict[str, Any]) -> list[Row]:
    size = f"{res['districts']} districts, {res['schools']} schools, {res['students']:,} students"
    return [
        *replay_rows("city", "City's", res["models"], size),
        page_row("city_kpis", f"GET /kpis ({size})", res["city_kpis"]),
        page_row("city_json", f"City page JSON ({size})", res["city_json"]),
        page_row("city_html", f"City page HTML ({size})", res["city_html"]),
    ]


def main(argv: list[str] | None = None) -> int:
    return run_alone("city", __doc__, measure, rows, argv)


if __name__ == "__main__":
    sys.exit(main())
