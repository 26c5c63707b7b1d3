"""Measures 5 and 6 in a fresh process, so that its RSS is a worker's, not the bench's.

The bench runs ``python -m bench.worker_phases SPEC.json OUT.json``; this process:

1. relays the registry database's outbox to Kafka, between the peers that send the same records
   (bare aiokafka producer, FastStream publisher, FastStream publisher with its own producer
   defaults, relay, FastStream publisher, bare producer);
2. replays the relayed topic into the roster projection from offset 0, on the FastStream runtime
   and on the raw aiokafka driver of the same core, next to a bare consumer, in interleaved
   rounds (round 1: FastStream, raw, bare; round 2: bare, raw, FastStream; …), then reads it
   once more decoding every record (the decode ceiling);
3. the same for the visits board, which reads the registry's topic and the visits workload's.

Peak RSS (VmHWM) is reset before, and read after, the relay and the first FastStream replay of
the roster (the worker-like figure); ``--profile relay|replay`` profiles those two.
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

from bench import pipeline, replay
from bench.common import MemoryLog, rss_mb, time_by_package
from tongxin_platform.projection import Projection
from tongxin_platform.worker import tune_gc
from tongxin_registry.projections.roster import ROSTER
from tongxin_visits.projections.board import BOARD

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
        f.write(time_by_package(pstats.Stats(prof)))
        stats = pstats.Stats(prof, stream=f).strip_dirs()
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)


def _order(r: int) -> tuple[str, ...]:
    """Round ``r``'s order: FastStream first in round 0 (its RSS is the worker's), then
    reversed every other round, so that each runtime runs early and late as often."""
    base = ("faststream", "raw", "bare")
    return base if r % 2 == 0 else base[::-1]


async def relay_phase(spec: dict[str, Any], mem: MemoryLog) -> dict[str, Any]:
    url, db, kafka = spec["url"], spec["database"], spec["kafka"]
    topic, outbox, limit = spec["ceiling_topic"], spec["outbox"], spec["relay_timeout"]
    sample = await pipeline.sample_records(url, 2000)
    bare: list[dict[str, Any]] = []
    fast: list[dict[str, Any]] = []

    async def bare_once() -> None:
        bare.append(await pipeline.bare_producer(kafka, topic, sample, outbox, limit))
        console.log(f"bare producer: {bare[-1]['rate']:,.0f} records/s{_cpu(bare[-1])}")

    async def fast_once() -> None:
        fast.append(await pipeline.faststream_publisher(kafka, topic, sample, outbox, limit))
        console.log(f"FastStream publisher: {fast[-1]['rate']:,.0f} records/s{_cpu(fast[-1])}")

    await bare_once()
    await fast_once()
    defaults = await pipeline.faststream_publisher(
        kafka, topic, sample, outbox, limit, relay_settings=False
    )
    console.log(
        f"FastStream publisher, its producer defaults: {defaults['rate']:,.0f} records/s"
        f"{_cpu(defaults)}"
    )
    mem.start("relay")  # the 2,000-record sample (about 3 MB) stays: the peers after use it
    relay = await _maybe_profiled(
        "relay", spec, pipeline.relay_outbox(url, db, kafka, outbox, limit)
    )
    mem.stop()
    console.log(
        f"relay: {relay['events']:,.0f} events in {relay['seconds']:.2f} s = "
        f"{relay['rate']:,.0f}/s (outbox left: {relay['outbox_left']:.0f}){_cpu(relay)}"
    )
    await fast_once()
    await bare_once()
    return {"relay": relay, "bare": bare, "faststream": fast, "faststream_defaults": defaults}


async def replay_rounds(
    spec: dict[str, Any],
    mem: MemoryLog,
    name: str,
    projection: Projection,
    url: str,
    database: str,
    topics: list[str],
    first_is_worker: bool,
) -> dict[str, Any]:
    """``rounds`` interleaved rounds of FastStream, raw and bare replays of ``topics``."""
    kafka, limit = spec["kafka"], spec["replay_timeout"]
    total = await replay.topics_size(kafka, topics)
    runs: dict[str, list[dict[str, Any]]] = {"faststream": [], "raw": [], "bare": []}
    for r in range(spec["rounds"]):
        for kind in _order(r):
            if kind == "bare":
                res = await replay.bare_consume(kafka, topics, total, limit, decode=False)
                console.log(f"{name} round {r + 1}: bare consumer {res['rate']:,.0f}/s{_cpu(res)}")
                runs[kind].append(res)
                continue
            work = replay.replay(
                kind,
                projection,
                url=url,
                database=database,
                kafka=kafka,
                topics=topics,
                group=f"{spec['group']}.{name}.{kind}-{r + 1}",
                schema=f"bench_{name}_{kind}_{r + 1}",
                total=total,
                time_limit=limit,
                max_batch=spec["max_batch"],
            )
            worker_like = first_is_worker and r == 0 and kind == "faststream"
            if worker_like:
                mem.start("replay")
                res = await _maybe_profiled("replay", spec, work)
                mem.stop()
            else:
                res = await work
            runs[kind].append(res)
            console.log(
                f"{name} round {r + 1}: {kind} replay {res['events']:,.0f} events, "
                f"{res['steady_rate']:,.0f}/s after a {res['startup_seconds']:.2f} s start "
                f"({res['batches']:.0f} batches; all partitions assigned after "
                f"{res['all_assigned_seconds']:.2f} s); rows "
                + ", ".join(f"{t} {n:,}" for t, n in res["rows"].items())
                + ("; TIMED OUT" if res["timed_out"] else "")
                + _cpu(res)
            )
    digests = {json.dumps(x["digest"], sort_keys=True) for k in replay.RUNTIMES for x in runs[k]}
    return {"topics": topics, "topic_records": total, **runs, "digests_equal": len(digests) == 1}


async def raw_replay_only(spec: dict[str, Any]) -> dict[str, Any]:
    """The RSS peer: a fresh process that replays the roster once on the raw aiokafka driver
    (same batch size, same pool), VmHWM reset before and read after, as for the FastStream
    replay of the main process."""
    mem = MemoryLog()
    started_rss = rss_mb()
    total = await replay.topics_size(spec["kafka"], [spec["topic"]])
    mem.start("replay")
    res = await replay.replay(
        "raw",
        ROSTER,
        url=spec["url"],
        database=spec["database"],
        kafka=spec["kafka"],
        topics=[spec["topic"]],
        group=f"{spec['group']}.roster.raw-rss",
        schema="bench_roster_raw_rss",
        total=total,
        time_limit=spec["replay_timeout"],
        max_batch=spec["max_batch"],
    )
    mem.stop()
    console.log(
        f"raw driver replay in a fresh process: {res['steady_rate']:,.0f}/s, peak RSS "
        f"{mem.phases['replay']['peak_rss_mb']:.0f} MB"
    )
    return {
        "replay": res,
        "memory": {
            "rss_at_process_start_mb": started_rss,
            "phases": mem.phases,
            "can_reset": mem.can_reset,
        },
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("only") == "raw_replay":
        return await raw_replay_only(spec)
    mem = MemoryLog()
    started_rss = rss_mb()
    out: dict[str, Any] = {"producers": await relay_phase(spec, mem)}
    # The projections after the relay (a worker runs the relay and the projection: its RSS
    # counts both); the first FastStream replay before any bare consumer, whose buffers would
    # otherwise inflate the RSS.
    out["roster"] = await replay_rounds(
        spec, mem, "roster", ROSTER, spec["url"], spec["database"], [spec["topic"]], True
    )
    decoding = await replay.bare_consume(
        spec["kafka"], [spec["topic"]], out["roster"]["topic_records"], spec["replay_timeout"], True
    )
    console.log(f"bare consumer + decode: {decoding['rate']:,.0f} records/s{_cpu(decoding)}")
    out["roster"]["bare_decode"] = decoding
    board = spec.get("board")
    if board:
        out["board"] = await replay_rounds(
            spec,
            mem,
            "board",
            BOARD,
            board["url"],
            board["database"],
            [spec["topic"], board["topic"]],
            False,
        )
    out["memory"] = {
        "rss_at_process_start_mb": started_rss,
        "phases": mem.phases,
        "can_reset": mem.can_reset,
    }
    return out


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # FastStream's broker logger (it sets its own level whenever a broker is made) logs every
    # partition assignment and task callback at INFO: warnings and errors only here.
    logging.getLogger("faststream.access.kafka").addFilter(
        lambda record: record.levelno >= logging.WARNING
    )
    tune_gc()  # as a worker or replay process does at start
    result = asyncio.run(run(spec))
    Path(sys.argv[2]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
