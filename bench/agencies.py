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

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.agencies_world import DAY, Publisher, generate

from bench.common import PARTITIONS, Names, Row, clock
from bench.replay import bare_consume, replay, topics_size
from bench.served import api_process, time_get
from tongxin_agencies.bootstrap import prepare_database
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.models import MODELS
from tongxin_platform.auth import Principal, Role, dev_keypair, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.settings import DEFAULT_KAFKA
from tongxin_platform.testing import local_database_url

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("registry", "visits", "wellbeing", "safety", "committees")
DISTRICT = "330106"
BATCH = 1000  # records per batch of a rebuild, as ``tongxin-agencies replay``


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
    models: dict[str, Any] = {}
    for model in MODELS:
        model_topics = [topics[s] for s in model.sources]
        total = await topics_size(kafka, model_topics)
        bare = await bare_consume(kafka, model_topics, total, time_limit=120, decode=True)
        ours = await replay(
            "faststream",
            model,
            url=url,
            database=database,
            kafka=kafka,
            topics=model_topics,
            group=f"{names.topic_prefix}agencies.{model.name}",
            schema=model.schema,
            total=total,
            time_limit=300,
            max_batch=BATCH,
        )
        ours.pop("rss_by_events_seen", None)
        models[model.name] = {"events": total, "ours": ours, "bare": bare}
        log.warning(
            "%s: %d events, %.0f/s vs bare %.0f/s", model.name, total, ours["rate"], bare["rate"]
        )
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
    out: list[Row] = []
    for name, m in res["models"].items():
        ours, bare = m["ours"]["rate"], m["bare"]["rate"]
        out.append(
            Row(
                f"agencies_{name}_replay",
                f"Agencies' {name} model rebuilt from offset 0 ({m['events']:,} events of "
                f"{res['schools']} schools)",
                ours,
                "events/s",
                peer=bare,
                peer_label="bare aiokafka consumer + decode, same topics",
                ratio=ours / bare if bare else None,
                ratio_kind="%",
                target="≥ 50 % of bare",
                met=(ours / bare >= 0.5) if bare else None,
            )
        )
    for key, what in (("district_json", "JSON"), ("district_html", "HTML page")):
        t = res[key]
        out.append(
            Row(
                f"agencies_{key}",
                f"District page of {res['schools']} schools ({what}, {t['bytes']:,} bytes), "
                f"median of {t['calls']}",
                t["median_ms"],
                "ms",
                target="< 1 s",
                met=t["p95_ms"] < 1000,
                note=f"p95 {t['p95_ms']:.0f} ms, max {t['max_ms']:.0f} ms",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agencies", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/agencies.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TONGXIN_ENV", "development")
    server_url = os.environ.get("DATABASE_URL") or local_database_url()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    names = Names.fresh()

    async def go() -> dict[str, Any]:
        from bench.run import cleanup

        try:
            return await measure(server_url, kafka, names, args.quick)
        finally:
            for p in await cleanup(server_url, kafka, names):
                log.warning("cleanup: %s", p)

    started = time.time()
    res = asyncio.run(go())
    from bench.run import print_table

    print_table(rows(res), f"Agencies — {names.stamp} ({time.time() - started:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
