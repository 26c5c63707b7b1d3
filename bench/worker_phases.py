"""Measures 5 and 6 in a fresh process, so that its RSS is a worker's, not the bench's.

The bench runs ``python -m bench.worker_phases SPEC.json OUT.json``; this process relays the
registry database's outbox to Kafka (with a bare producer before and after, as the ceiling),
replays the topic into the roster projection, then reads it back with a bare consumer (and a
bare consumer that also decodes), the ceilings of the replay. Peak RSS (VmHWM) is reset
before, and read after, the relay and the replay.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import pstats
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from bench import pipeline
from bench.common import MemoryLog, rss_mb

T = TypeVar("T")
console = Console(width=None if sys.stdout.isatty() else 170)


def _cpu(res: dict[str, Any]) -> str:
    parts = [
        f"{k.removesuffix('_cpu_share')} {v:.0%}"
        for k, v in res.items()
        if k.endswith("_cpu_share")
    ]
    return f"  (CPU: {', '.join(parts)})" if parts else ""


async def _maybe_profiled(phase: str, spec: dict[str, Any], work: Awaitable[T]) -> T:
    if spec.get("profile") != phase:
        return await work
    prof = cProfile.Profile()
    prof.enable()
    try:
        return await work
    finally:
        prof.disable()
        _write_profile(prof, Path(spec["profile_dir"]), phase)


def _write_profile(prof: cProfile.Profile, out: Path, phase: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    prof.dump_stats(out / f"profile-{phase}.pstats")
    with (out / f"profile-{phase}.txt").open("w") as f:
        stats = pstats.Stats(prof, stream=f).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    url, db, kafka = spec["url"], spec["database"], spec["kafka"]
    topic, ceiling_topic, group = spec["topic"], spec["ceiling_topic"], spec["group"]
    outbox, relay_timeout, replay_timeout = (
        spec["outbox"],
        spec["relay_timeout"],
        spec["replay_timeout"],
    )
    mem = MemoryLog()
    started_rss = rss_mb()

    sample = await pipeline.sample_records(url, 2000)
    ceilings = [await pipeline.bare_producer(kafka, ceiling_topic, sample, outbox, relay_timeout)]
    console.log(f"bare producer: {ceilings[-1]['rate']:,.0f} records/s{_cpu(ceilings[-1])}")
    mem.start("relay")  # the 2,000-record sample (about 3 MB) stays: the second ceiling uses it
    relay = await _maybe_profiled(
        "relay", spec, pipeline.relay_outbox(url, db, kafka, outbox, relay_timeout)
    )
    mem.stop()
    console.log(
        f"relay: {relay['events']:,.0f} events in {relay['seconds']:.2f} s = "
        f"{relay['rate']:,.0f}/s (outbox left: {relay['outbox_left']:.0f}){_cpu(relay)}"
    )
    ceilings.append(
        await pipeline.bare_producer(kafka, ceiling_topic, sample, outbox, relay_timeout)
    )
    console.log(f"bare producer: {ceilings[-1]['rate']:,.0f} records/s{_cpu(ceilings[-1])}")
    del sample

    # The projection first (a worker runs the relay and the projection: its RSS counts both),
    # then the bare consumers, whose buffers would otherwise inflate the projection's RSS.
    total = await pipeline.topic_size(kafka, topic)
    mem.start("replay")
    replay = await _maybe_profiled(
        "replay",
        spec,
        pipeline.replay_projection(url, db, kafka, topic, group, total, replay_timeout),
    )
    mem.stop()
    console.log(
        f"projection replay: {replay['events']:,.0f} events in {replay['seconds']:.2f} s"
        f" ({replay['steady_rate']:,.0f}/s after a {replay['startup_seconds']:.2f} s "
        f"start); read model: {replay['students_in_read_model']:,.0f} students"
        f"{_cpu(replay)}"
    )
    bare = await pipeline.bare_consume(kafka, topic, total, replay_timeout, False)
    console.log(f"bare consumer: {bare['rate']:,.0f} records/s{_cpu(bare)}")
    decoding = await pipeline.bare_consume(kafka, topic, total, replay_timeout, True)
    console.log(f"bare consumer + decode: {decoding['rate']:,.0f} records/s{_cpu(decoding)}")
    return {
        "relay": relay,
        "bare_producer": ceilings,
        "topic_records": total,
        "bare_consume": bare,
        "bare_consume_decode": decoding,
        "replay": replay,
        "memory": {
            "rss_at_process_start_mb": started_rss,
            "phases": mem.phases,
            "can_reset": mem.can_reset,
        },
    }


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    result = asyncio.run(run(spec))
    Path(sys.argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
