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
from tongxin_city.bootstrap import prepare_database
from tongxin_city.config import CitySettings
from tongxin_city.projections.models import MODELS
from tongxin_platform.auth import Principal, Role, dev_keypair, mint
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.settings import DEFAULT_KAFKA
from tongxin_platform.testing import local_database_url

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("registry", "visits", "wellbeing", "safety", "committees", "city")
DISTRICTS = ("330102", "330105", "330106")
BATCH = 1000  # records per batch of a rebuild, as ``tongxin-city replay``


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
    models: dict[str, Any] = {}
    for model in MODELS:
        model.configure(settings)  # the marks' key, as the worker and `tongxin-city replay` do
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
            group=f"{names.topic_prefix}city.{model.name}",
            schema=model.schema,
            total=total,
            time_limit=300,
            max_batch=BATCH,
            stream_ids=settings.ledger_stream_ids(),
        )
        ours.pop("rss_by_events_seen", None)
        models[model.name] = {"events": total, "ours": ours, "bare": bare}
        log.warning(
            "%s: %d events, %.0f/s vs bare %.0f/s", model.name, total, ours["rate"], bare["rate"]
        )
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
    out: list[Row] = []
    size = f"{res['districts']} districts, {res['schools']} schools, {res['students']:,} students"
    for name, m in res["models"].items():
        ours, bare = m["ours"]["rate"], m["bare"]["rate"]
        out.append(
            Row(
                f"city_{name}_replay",
                f"City's {name} model rebuilt from offset 0 ({m['events']:,} events; {size})",
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
    for key, what in (
        ("city_kpis", "GET /kpis"),
        ("city_json", "city page JSON"),
        ("city_html", "city page HTML"),
    ):
        t = res[key]
        out.append(
            Row(
                key,
                f"{what} ({t['bytes']:,} bytes; {size}), median of {t['calls']}",
                t["median_ms"],
                "ms",
                target="< 1 s",
                met=t["p95_ms"] < 1000,
                note=f"p95 {t['p95_ms']:.0f} ms, max {t['max_ms']:.0f} ms",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/city.json")
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

    print_table(rows(res), f"City — {names.stamp} ({time.time() - started:.0f} s)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
