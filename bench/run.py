"""Run every benchmark once, interleaved where it matters, and report against DESIGN.md §8.

    uv run python -m bench.run [--quick] [--json bench/results/latest.json] [--profile PHASE]
    uv run python -m bench.run --only deadlines   # the kit's deadlines and notifications alone
    uv run python -m bench.run --only agencies    # the agency models and the district page
    uv run python -m bench.run --only city        # the city's models and the city page

Everything it creates (databases ``bench_<stamp>*``, topics ``bench-<stamp>.*``) is dropped at
the end unless ``--keep``. Figures are printed and written as JSON; nothing asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import json
import logging
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from bench import agencies as agencies_bench
from bench import appends, board_workload, pipeline, visits_latency
from bench import city as city_bench
from bench import deadlines as deadlines_bench
from bench.api_process import api_process_rss
from bench.common import (
    DISTRICTS,
    FULL,
    PARTITIONS,
    QUICK,
    MemoryLog,
    Names,
    Row,
    Sizes,
    clock,
    cpu_pressure,
    median,
    time_by_package,
)
from tongxin_cli.demo import demo_roster
from tongxin_platform.cli import REBUILD_BATCH
from tongxin_platform.db import ensure_database
from tongxin_platform.eventstore import EventStore
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.migrations import migrate
from tongxin_platform.settings import (
    DEFAULT_KAFKA,
    ServiceSettings,
    service_database_url,
)
from tongxin_platform.testing import local_database_url
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings

log = logging.getLogger("bench")
console = Console(width=None if sys.stdout.isatty() else 170)
T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
PROFILE_PHASES = ("append", "import", "relay", "replay")
# Records per batch of a replay: as ``tongxin-<service> replay`` rebuilds a read model.
MAX_BATCH = max(ServiceSettings.model_fields["projection_batch_size"].default, REBUILD_BATCH)

# Figures of notes/peer-baselines.md (same machine size, other runs): shown for context only.
NOTES = {
    "raw8": 10_600,
    "es_one": "415 (psycopg as installed) / 718 (psycopg-binary)",
    "copy": 88_000,
    "read": "286,000–302,000 (asyncpg, 1 M rows in order)",
}


def cpu_text(res: dict[str, Any]) -> str:
    """``(CPU: client 95%, server 40%, kafka 20%)`` from a measure's ``*_cpu_share`` keys."""
    parts = [
        f"{k.removesuffix('_cpu_share')} {v:.0%}"
        for k, v in res.items()
        if k.endswith("_cpu_share")
    ]
    return f"  (CPU: {', '.join(parts)})" if parts else ""


class Profiler:
    """cProfile around one phase's timed part, when ``--profile`` names it."""

    def __init__(self, wanted: str | None, out_dir: Path) -> None:
        self.wanted, self.out_dir = wanted, out_dir
        self.reports: dict[str, str] = {}

    async def run(self, phase: str, work: Awaitable[T]) -> T:
        if phase != self.wanted:
            return await work
        prof = cProfile.Profile()
        prof.enable()
        try:
            return await work
        finally:
            prof.disable()
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / f"profile-{phase}.pstats"
            prof.dump_stats(path)
            text = io.StringIO()
            text.write(time_by_package(pstats.Stats(prof)))
            stats = pstats.Stats(prof, stream=text).strip_dirs()
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(40)
            self.reports[phase] = text.getvalue()
            (self.out_dir / f"profile-{phase}.txt").write_text(text.getvalue())


async def wait_quiet(limit: float) -> float:
    """Wait up to ``limit`` seconds for the 1-minute load average to fall below 1; return it."""
    deadline = clock() + limit
    while os.getloadavg()[0] >= 1.0 and clock() < deadline:
        console.log(
            f"waiting for a quieter machine: load {os.getloadavg()[0]:.2f}, "
            f"CPU pressure {cpu_pressure().get('avg10', 0):.0f} %"
        )
        await asyncio.sleep(min(10.0, max(0.0, deadline - clock())))
    return os.getloadavg()[0]


# --- infrastructure -----------------------------------------------------------------------


async def _reachable(server_url: str) -> bool:
    try:
        conn = await asyncpg.connect(server_url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def ensure_infra(server_url: str, kafka: str) -> None:
    """Start the project's PostgreSQL and Kafka (idempotent scripts) if they do not answer."""
    from tongxin_platform.testing import run_script

    if not await _reachable(server_url):
        await asyncio.to_thread(run_script, ROOT, "infra/postgres/start.sh")
    host, _, port = kafka.partition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5)
        writer.close()
        await writer.wait_closed()
    except (OSError, TimeoutError):
        await asyncio.to_thread(run_script, ROOT, "infra/kafka/start.sh")


@contextlib.asynccontextmanager
async def connections(url: str, n: int) -> AsyncIterator[list[asyncpg.Connection]]:
    conns = [await asyncpg.connect(url) for _ in range(n)]
    try:
        yield conns
    finally:
        for c in conns:
            await c.close()


async def run_worker_phases(spec: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """Measures 5 and 6 in a fresh interpreter (``bench.worker_phases``): a worker's RSS."""
    with tempfile.TemporaryDirectory(prefix="tongxin-bench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.worker_phases", str(spec_path), str(out_path), cwd=ROOT
        )
        try:
            code = await asyncio.wait_for(proc.wait(), time_limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"bench.worker_phases took over {time_limit:.0f} s") from None
        if code != 0:
            raise RuntimeError(f"bench.worker_phases failed with exit code {code}")
        result: dict[str, Any] = json.loads(out_path.read_text())
        return result


async def cleanup(server_url: str, kafka: str, names: Names) -> list[str]:
    """Drop every database ``bench_<stamp>*`` and delete every topic ``bench-<stamp>.*`` (the
    replays' dead-letter topics included); the visits measure drops its own as well."""
    problems = []
    try:
        conn = await asyncpg.connect(service_database_url(server_url, "postgres"))
        try:
            found = await conn.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                f"bench_{names.stamp}",
            )
            for db in sorted({*names.databases, *(r["datname"] for r in found)}):
                await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        problems.append(f"dropping databases: {exc}")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, request_timeout_ms=30000)
    try:
        await admin.start()
        ours = [t for t in await admin.list_topics() if t.startswith(names.topic_prefix)]
        if ours:
            await admin.delete_topics(ours)
    except Exception as exc:  # noqa: BLE001 - a leftover topic is reported, not fatal
        problems.append(f"deleting topics: {exc}")
    finally:
        await admin.close()
    return problems


# --- the measures -------------------------------------------------------------------------


async def measure_appends(
    server_url: str, names: Names, sizes: Sizes, prof: Profiler, details: dict[str, Any]
) -> list[Row]:
    url = await ensure_database(server_url, names.store_db)
    setup = await asyncpg.connect(url)
    try:
        await migrate(setup, "tongxin_platform.sql")
        await setup.execute(appends.RAW_DDL)
    finally:
        await setup.close()
    es_url = urlsplit(await ensure_database(server_url, names.es_db))
    app = await asyncio.to_thread(
        appends.eventsourcing_app,
        names.es_db,
        es_url.hostname or "127.0.0.1",
        es_url.port or 5432,
        es_url.username or "postgres",
        es_url.password or "postgres",
        sizes.writers,
    )
    store = EventStore(names.topic)
    ops = {
        "ours": appends.ours(store),
        "raw": appends.raw(),
        "ours_head": appends.ours_with_head_lookup(store),
    }
    order = ["ours", "raw", "es", "ours_head"]
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in order}
    try:
        async with connections(url, sizes.writers) as conns:
            for r in range(sizes.rounds):
                rotated = order[r % len(order) :] + order[: r % len(order)]
                for m in rotated:
                    prefix = f"{m}-r{r}"
                    if m == "es":
                        res = await asyncio.to_thread(
                            appends.run_eventsourcing,
                            app,
                            sizes.writers,
                            prefix,
                            sizes.append_seconds,
                            sizes.warmup_seconds,
                            names.es_db,
                        )
                    else:
                        work = appends.run_writers(
                            conns,
                            ops[m],
                            prefix,
                            sizes.append_seconds,
                            sizes.warmup_seconds,
                            names.store_db,
                        )
                        res = await (prof.run("append", work) if m == "ours" and r == 0 else work)
                    runs[m].append(res)
                    console.log(
                        f"appends round {r + 1}/{sizes.rounds}: {m:9s} "
                        f"{res['rate']:>9,.0f} events/s{cpu_text(res)}"
                    )
    finally:
        await asyncio.to_thread(app.close)
    details["appends"] = runs
    rate = {m: median([x["rate"] for x in runs[m]]) for m in order}
    vs_raw = median([o["rate"] / b["rate"] for o, b in zip(runs["ours"], runs["raw"], strict=True)])
    vs_es = median([o["rate"] / b["rate"] for o, b in zip(runs["ours"], runs["es"], strict=True)])
    head_vs_raw = median(
        [o["rate"] / b["rate"] for o, b in zip(runs["ours_head"], runs["raw"], strict=True)]
    )
    n = sizes.writers
    return [
        Row(
            "append_vs_raw",
            f"Append, 1 event/tx, {n} writers (EventStore.append, hash chain + outbox row)",
            rate["ours"],
            "events/s",
            rate["raw"],
            f"raw asyncpg INSERT, {n} conns",
            vs_raw,
            "%",
            "≥ 70 % of raw",
            vs_raw >= 0.70,
            f"notes: raw 8 conns {NOTES['raw8']:,}/s",
            {"rounds": sizes.rounds, "seconds_each": sizes.append_seconds},
        ),
        Row(
            "append_vs_eventsourcing",
            f"Append vs eventsourcing 9.5.6 ({n} threads, 1 event/save)",
            rate["ours"],
            "events/s",
            rate["es"],
            "eventsourcing PostgreSQL",
            vs_es,
            "x",
            "≥ 10×",
            vs_es >= 10,
            f"notes: {NOTES['es_one']}/s",
        ),
        Row(
            "append_with_head_lookup",
            "Append with head lookup (tx: head() + append)",
            rate["ours_head"],
            "events/s",
            rate["raw"],
            f"raw asyncpg INSERT, {n} conns",
            head_vs_raw,
            "%",
            "",
            None,
            "a command's real path (4 round trips)",
        ),
    ]


async def measure_pipeline(
    server_url: str,
    kafka: str,
    names: Names,
    sizes: Sizes,
    prof: Profiler,
    mem: MemoryLog,
    details: dict[str, Any],
    no_board: bool = False,
) -> tuple[list[Row], str]:
    settings = RegistrySettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        DATABASE_URL=server_url,
        database_name=names.registry_db,
        topic=names.topic,
    )
    await ensure_topics(
        kafka,
        [
            TopicSpec(names.topic, PARTITIONS, event_topic_config()),
            TopicSpec(names.ceiling_topic, PARTITIONS, event_topic_config()),
        ],
    )
    reg = await bootstrap(settings)
    first_csv = ""
    imports: list[dict[str, float]] = []
    copies: list[dict[str, float]] = []
    mem.start("import")
    try:
        async with reg.pool.acquire() as conn:
            await conn.execute(pipeline.RAW_COPY_DDL)
        for k in range(sizes.imports):
            spec = dataclasses.replace(sizes.spec, district=DISTRICTS[k], seed=7 + k)
            csv_text, _ = demo_roster(spec)
            first_csv = first_csv or csv_text
            async with reg.pool.acquire() as conn:
                before = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            res = await (
                prof.run("import", pipeline.import_roster(reg, csv_text))
                if k == 0
                else pipeline.import_roster(reg, csv_text)
            )
            imports.append(res)
            async with reg.pool.acquire() as conn:
                copies.append(
                    await pipeline.raw_copy_of_last_import(conn, before, names.registry_db)
                )
            console.log(
                f"import {k + 1}/{sizes.imports}: {res['events']:,.0f} events in "
                f"{res['seconds']:.2f} s = {res['rate']:,.0f}/s{cpu_text(res)}; raw COPY"
                f" of the same rows {copies[-1]['rate']:,.0f}/s{cpu_text(copies[-1])}"
            )
        async with reg.pool.acquire() as conn:
            outbox = int(await conn.fetchval("SELECT count(*) FROM outbox"))
    finally:
        mem.stop()
        await reg.close()
    details["imports"], details["raw_copies"] = imports, copies

    board: dict[str, Any] | None = None
    if sizes.board_visits > 0 and not no_board:
        board = await board_workload_phase(
            server_url, kafka, names, sizes, reg.runtime.database_url
        )
        details["board_workload"] = board
    rounds = sizes.replay_rounds
    worker = await run_worker_phases(
        {
            "url": reg.runtime.database_url,
            "database": names.registry_db,
            "kafka": kafka,
            "topic": names.topic,
            "ceiling_topic": names.ceiling_topic,
            "group": names.group,
            "outbox": outbox,
            "relay_timeout": sizes.relay_timeout,
            "replay_timeout": sizes.replay_timeout,
            "rounds": rounds,
            "max_batch": MAX_BATCH,
            "profile": prof.wanted,
            "profile_dir": str(prof.out_dir),
            "board": board
            and {
                "url": service_database_url(server_url, names.board_db),
                "database": names.board_db,
                "topic": names.board_topic,
            },
        },
        # 5 producer phases, then 2 × rounds replays of two projections (and a bare consumer
        # each round, and the decode ceiling), each bounded by its own limit.
        5 * sizes.relay_timeout + (4 * rounds + 2 * rounds + 1) * sizes.replay_timeout + 300,
    )
    # The RSS peer of the FastStream replay: the raw driver's, in a fresh process too.
    raw_rss = await run_worker_phases(
        {
            "only": "raw_replay",
            "url": reg.runtime.database_url,
            "database": names.registry_db,
            "kafka": kafka,
            "topic": names.topic,
            "group": names.group,
            "replay_timeout": sizes.replay_timeout,
            "max_batch": MAX_BATCH,
        },
        sizes.replay_timeout + 120,
    )
    details["worker_process_memory_raw_replay"] = raw_rss["memory"]
    for phase in ("relay", "replay"):
        if phase == prof.wanted:
            prof.reports[phase] = (prof.out_dir / f"profile-{phase}.txt").read_text()
    details["producers"] = worker["producers"]
    details["replay"] = worker["roster"]
    details["board_replay"] = worker.get("board")
    details["worker_process_memory"] = worker["memory"]

    imp = median([x["rate"] for x in imports])
    cp = median([x["rate"] for x in copies])
    per_import = int(imports[0]["events"]) if imports else 0
    rows = [
        Row(
            "import",
            f"Roster import (import_students, {per_import:,} events each, "
            f"median of {len(imports)})",
            imp,
            "events/s",
            cp,
            "raw COPY of the same rows",
            median([i["rate"] / c["rate"] for i, c in zip(imports, copies, strict=True)]),
            "%",
            "≥ 75,000/s",
            imp >= 75_000,
            f"first, into an empty DB: {imports[0]['rate']:,.0f}/s; notes: COPY "
            f"{NOTES['copy']:,}/s",
        ),
        *relay_rows(worker["producers"], outbox),
        *replay_rows("roster", worker["roster"]),
    ]
    if worker.get("board"):
        rows += replay_rows("board", worker["board"], board)
    else:
        rows.append(
            Row(
                "board_replay",
                "Board replay from offset 0 (registry + visits topics)",
                None,
                "events/s",
                target="≥ 50 % of bare consumer",
                note="--no-board" if no_board else "not measured",
            )
        )
    return rows, first_csv


async def board_workload_phase(
    server_url: str, kafka: str, names: Names, sizes: Sizes, registry_url: str
) -> dict[str, Any]:
    """The visits the board replay reads: recorded in the bench process, relayed to the run's
    visits topic (before the worker process starts: set-up, not measured against anything)."""
    await ensure_topics(kafka, [TopicSpec(names.board_topic, PARTITIONS, event_topic_config())])
    res = await board_workload.generate(
        server_url,
        kafka,
        registry_url,
        names.board_db,
        names.board_topic,
        names.topic,
        sizes.board_visits,
        sizes.board_seconds,
    )
    rec = res["recorded"]
    console.log(
        f"board workload: {rec.get('visits', 0):,.0f} visits ({rec.get('confirmed', 0):,.0f} "
        f"confirmed, {rec.get('cases', 0):,.0f} follow-up cases, {rec.get('actions', 0):,.0f} "
        f"actions) = {rec['events']:,.0f} events in {rec['seconds']:.1f} s through "
        f"VisitsService; relayed {res['relayed']['events']:,.0f} in "
        f"{res['relayed']['seconds']:.1f} s{cpu_text(rec)}"
    )
    for msg, count in rec["errors"].items():
        console.log(f"  {count} × {msg}", markup=False, highlight=False)
    return res


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def relay_rows(producers: dict[str, Any], outbox: int) -> list[Row]:
    relay, bare, fast = producers["relay"], producers["bare"], producers["faststream"]
    defaults = producers["faststream_defaults"]
    ceiling = _mean([x["rate"] for x in bare])
    fs = _mean([x["rate"] for x in fast])
    # Pairs next to each other in the run (bare, FastStream, …, relay, FastStream, bare).
    fs_vs_raw = median([f["rate"] / b["rate"] for f, b in zip(fast, bare, strict=True)])
    keeps = (
        "the relay keeping the raw producer is justified"
        if fs_vs_raw < 0.8
        else ("speed alone does not justify the relay keeping the raw producer")
    )
    return [
        Row(
            "relay",
            f"Outbox → Kafka (OutboxRelay, {outbox:,} events)",
            relay["rate"],
            "events/s",
            ceiling,
            "bare aiokafka producer, same records",
            relay["rate"] / ceiling,
            "%",
            "≥ 20,000/s",
            relay["rate"] >= 20_000 and not relay["timed_out"],
            ("TIMED OUT; " if relay["timed_out"] else "")
            + f"peer: mean of {len(bare)} (before and after)",
        ),
        Row(
            "relay_faststream_vs_raw",
            "Relay's send path: FastStream publisher vs raw aiokafka producer (same records, "
            "relay's producer settings, batches of 2,000, no_confirm)",
            fs,
            "events/s",
            ceiling,
            "bare aiokafka producer",
            fs_vs_raw,
            "%",
            "FastStream ≥ 80 % of raw (issue 8)",
            fs_vs_raw >= 0.8,
            f"{keeps}; FastStream runs: "
            + ", ".join(f"{x['rate']:,.0f}" for x in fast)
            + "/s, raw: "
            + ", ".join(f"{x['rate']:,.0f}" for x in bare)
            + "/s",
        ),
        Row(
            "relay_faststream_defaults",
            "FastStream publisher with its producer defaults (linger 0 ms, 16 KB batches)",
            defaults["rate"],
            "events/s",
            ceiling,
            "bare aiokafka producer",
            defaults["rate"] / ceiling,
            "%",
            "",
            None,
            "informative: KafkaBroker(acks='all', enable_idempotence=True) as is",
        ),
    ]


def replay_rows(
    name: str, res: dict[str, Any], workload: dict[str, Any] | None = None
) -> list[Row]:
    """Rows of one projection's replays: FastStream vs bare, FastStream vs raw."""
    fast, raw, bare = res["faststream"], res["raw"], res["bare"]
    rounds = min(len(fast), len(raw), len(bare))
    fs = median([x["steady_rate"] for x in fast])
    rw = median([x["steady_rate"] for x in raw])
    bc = median([x["rate"] for x in bare])
    vs_bare = median([fast[r]["steady_rate"] / bare[r]["rate"] for r in range(rounds)])
    raw_vs_bare = median([raw[r]["steady_rate"] / bare[r]["rate"] for r in range(rounds)])
    vs_raw = median([fast[r]["steady_rate"] / raw[r]["steady_rate"] for r in range(rounds)])
    total = res["topic_records"]
    timed_out = any(x["timed_out"] for x in (*fast, *raw))
    late = "TIMED OUT; " if timed_out else ""
    digests = "read models equal (digests)" if res["digests_equal"] else "READ MODELS DIFFER"
    starts = ", ".join(f"{x['startup_seconds']:.1f}" for x in fast)
    assigned = max(x["all_assigned_seconds"] for x in fast)
    if name == "roster":
        title = f"Projection replay from offset 0 (roster, {total:,} events, FastStream runtime)"
        what = "roster"
    else:
        visits = (workload or {}).get("recorded", {}).get("visits", 0)
        title = (
            f"Board replay from offset 0 (registry + visits topics, {total:,} events incl. "
            f"{visits:,.0f} visits' events, FastStream runtime)"
        )
        what = "board"
    rows = []
    if name == "roster":
        rows.append(
            Row(
                "replay",
                title,
                fs,
                "events/s",
                bc,
                "bare aiokafka consumer",
                vs_bare,
                "%",
                "≥ 100,000/s",
                fs >= 100_000 and not timed_out,
                f"{late}median of {rounds} rounds; FastStream starts {starts} s",
            )
        )
    rows += [
        Row(
            f"{'replay' if name == 'roster' else 'board_replay'}_vs_bare",
            f"{what.capitalize()} replay vs bare consumer ({rounds} interleaved rounds)"
            if name == "roster"
            else title,
            fs,
            "events/s",
            bc,
            "bare aiokafka consumer, same topics",
            vs_bare,
            "%",
            "≥ 50 % of bare consumer (issue 8)",
            vs_bare >= 0.5 and not timed_out,
            f"{late}raw driver: {raw_vs_bare:.0%} of bare",
        ),
        Row(
            f"{'replay' if name == 'roster' else 'board_replay'}_faststream_vs_raw",
            f"{what.capitalize()} replay: FastStream runtime vs raw aiokafka driver of the same "
            "core",
            fs,
            "events/s",
            rw,
            "Consumer on a plain AIOKafkaConsumer loop",
            vs_raw,
            "%",
            "FastStream ≥ 80 % of raw (issue 8)",
            vs_raw >= 0.8 and not timed_out,
            f"{late}{digests}; per round: "
            + ", ".join(
                f"{fast[r]['steady_rate']:,.0f} vs {raw[r]['steady_rate']:,.0f}"
                for r in range(rounds)
            )
            + (
                ""
                if vs_raw >= 0.8
                else "; more than 20 % slower: this path may keep the raw client"
            )
            + (
                f"; FastStream: one subscriber (group member) per topic, the group rebalances "
                f"as the second joins (all partitions assigned after {assigned:.1f} s; raw: one "
                "consumer for both topics)"
                if len(res["topics"]) > 1
                else ""
            ),
        ),
    ]
    if name == "roster" and "bare_decode" in res:
        decoding = res["bare_decode"]
        rows.append(
            Row(
                "replay_decode_ceiling",
                "Replay ceiling: consume + decode, no database",
                decoding["rate"],
                "events/s",
                bc,
                "bare aiokafka consumer",
                decoding["rate"] / bc,
                "%",
                "",
                None,
                "envelope + pydantic decode",
            )
        )
    return rows


def memory_rows(
    mem: MemoryLog,
    worker: dict[str, Any] | None,
    api: dict[str, Any] | None,
    api_error: str | None,
    raw: dict[str, Any] | None = None,
) -> list[Row]:
    rows = []
    if worker is not None:
        phases = worker["phases"]
        peaks = {p: phases.get(p, {}).get("peak_rss_mb") or 0.0 for p in ("relay", "replay")}
        peak = max(peaks.values())
        raw_peak = ((raw or {}).get("phases", {}).get("replay") or {}).get("peak_rss_mb")
        rows.append(
            Row(
                "rss_worker_process",
                "Peak RSS, worker-like process (relay, then replay on FastStream, rebuild's "
                "batches)",
                peak,
                "MB",
                raw_peak,
                "the same replay on the raw aiokafka driver, fresh process" if raw_peak else "",
                peak / raw_peak if raw_peak else None,
                "x",
                "< 120 MB",
                peak < 120,
                f"relay {peaks['relay']:.0f} MB, replay {peaks['replay']:.0f} MB; "
                f"{worker['rss_at_process_start_mb']:.0f} MB after start-up"
                + ("" if worker["can_reset"] else " (VmHWM not resettable)"),
            )
        )
    import_peak = mem.phases.get("import", {}).get("peak_rss_mb")
    rows.append(
        Row(
            "rss_bench_import",
            "Peak RSS of the bench process during the imports",
            import_peak,
            "MB",
            None,
            "",
            None,
            "",
            "",
            None,
            f"{mem.phases.get('import', {}).get('rss_at_start_mb') or 0:.0f} MB before",
        )
    )
    if api is not None:
        rows.append(
            Row(
                "rss_api_process",
                "Peak RSS, registry API process (serving a roster import)",
                api["peak_rss_mb"],
                "MB",
                None,
                "",
                None,
                "",
                "< 120 MB",
                api["peak_rss_mb"] < 120,
                f"idle {api['idle_rss_mb']:.0f} MB; import of "
                f"{api['import_events']:,} events over HTTP at "
                f"{api['import_rate']:,.0f}/s (streamed: < 150 MB, issue 9)",
            )
        )
        rows.append(
            Row(
                "api_import_loop_stall",
                "Longest event-loop stall, registry API during the import",
                api["loop_max_stall_s"] * 1000,
                "ms",
                api["peer_bare_csv_parse_s"] * 1000,
                "bare csv parse of the file, one go",
                None,
                "",
                "< 100 ms",
                api["loop_max_stall_s"] < 0.1,
                f"the API's tongxin_event_loop_max_stall_seconds; slowest /health "
                f"{api['health_max_latency_s'] * 1000:.0f} ms; a police token posting the file: "
                f"{api['police_refusal_status']}, "
                f"RSS {api['police_refusal_rss_growth_mb']:+.1f} MB",
            )
        )
    else:
        rows.append(
            Row(
                "rss_api_process",
                "Peak RSS, registry API process",
                None,
                "MB",
                target="< 120 MB",
                note=f"not measured: {api_error}",
            )
        )
    return rows


async def measure_deadlines(
    server_url: str, kafka: str, names: Names, args: argparse.Namespace, details: dict[str, Any]
) -> list[Row]:
    """The kit's deadlines and notifications (``bench.deadlines``), on a database of their own."""
    try:
        res = await deadlines_bench.measure(server_url, kafka, names, args.quick, keep=args.keep)
    except Exception as exc:
        log.exception("the deadlines and notifications measure failed")
        return [
            Row(
                "deadlines_fired",
                "Deadlines fired / messages delivered",
                None,
                "deadlines/s",
                note=f"not measured: {type(exc).__name__}: {exc}"[:300],
            )
        ]
    details["deadlines"] = res
    return deadlines_bench.rows(res)


async def measure_read_side(
    name: str,
    server_url: str,
    kafka: str,
    names: Names,
    args: argparse.Namespace,
    details: dict[str, Any],
) -> list[Row]:
    """A read-side service's models rebuilt and its page (``bench.agencies``, ``bench.city``)."""
    module = {"agencies": agencies_bench, "city": city_bench}[name]
    try:
        res = await module.measure(server_url, kafka, names, args.quick)
    except Exception as exc:
        log.exception("the %s measure failed", name)
        return [
            Row(f"{name}_page", f"The {name} page", None, "ms", note=f"not measured: {exc!r}"[:300])
        ]
    details[name] = res
    return module.rows(res)


# --- report -------------------------------------------------------------------------------


def _num(x: float | None, unit: str) -> str:
    if x is None:
        return "–"
    if unit == "MB":
        return f"{x:,.1f} MB"
    if unit == "ms":
        return f"{x:,.1f} ms"
    return f"{x:,.0f}/s"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "–"
    return f"{row.ratio:,.1f}×" if row.ratio_kind == "x" else f"{row.ratio * 100:,.0f} %"


def print_table(rows: list[Row], title: str) -> None:
    table = Table(title=title, show_lines=True)
    for col, kw in (
        ("Measure", {"ratio": 3}),
        ("Ours", {"justify": "right"}),
        ("Peer / ceiling (same run)", {"ratio": 2}),
        ("Ratio", {"justify": "right"}),
        ("Target", {}),
        ("Met", {"justify": "center"}),
        ("Notes", {"ratio": 2}),
    ):
        table.add_column(col, **kw)
    for r in rows:
        peer = f"{_num(r.peer, r.unit)}\n{r.peer_label}" if r.peer is not None else "–"
        met = "–" if r.met is None else ("[green]met[/green]" if r.met else "[red]not met[/red]")
        table.add_row(
            r.measure, _num(r.ours, r.unit), peer, _ratio(r), r.target or "–", met, r.note
        )
    console.print(table)


# --- main ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    # The services it starts are development stand-ins (published pseudonym secret, the
    # development keyring); the project's own PostgreSQL wants its generated password.
    os.environ.setdefault("TONGXIN_ENV", "development")
    server_url = os.environ.get("DATABASE_URL") or local_database_url()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    names = Names.fresh()
    prof = Profiler(args.profile, args.json.parent)
    mem = MemoryLog()
    details: dict[str, Any] = {}
    rows: list[Row] = []
    if args.wait_quiet > 0:
        await wait_quiet(args.wait_quiet)
    started = time.time()
    load_start, pressure_start = os.getloadavg(), cpu_pressure()
    t0 = clock()
    console.log(
        f"bench run {names.stamp} ({'quick' if args.quick else 'full'}): "
        f"PostgreSQL {urlsplit(server_url).hostname}:{urlsplit(server_url).port}, Kafka {kafka}"
    )
    await ensure_infra(server_url, kafka)
    problems: list[str] = []
    try:
        if args.only is None:
            mem.start("appends")
            rows += await measure_appends(server_url, names, sizes, prof, details)
            mem.stop()
            pipe_rows, csv_text = await measure_pipeline(
                server_url, kafka, names, sizes, prof, mem, details, no_board=args.no_board
            )
            rows += pipe_rows
            api: dict[str, Any] | None = None
            api_error = None
            if args.no_api:
                api_error = "--no-api"
            else:
                try:
                    api = await api_process_rss(
                        server_url, kafka, names.api_db, names.api_topic, csv_text
                    )
                    console.log(f"API process: peak RSS {api['peak_rss_mb']:.1f} MB")
                except Exception as exc:  # noqa: BLE001 - reported in the table
                    api_error = f"{type(exc).__name__}: {exc}"[:300]
            details["api_process"] = api
            rows += memory_rows(
                mem,
                details.get("worker_process_memory"),
                api,
                api_error,
                details.get("worker_process_memory_raw_replay"),
            )
            if args.no_visits:
                rows.append(
                    Row(
                        "visits_plan_to_board",
                        "HTTP command → visits board visible, p99",
                        None,
                        "ms",
                        target="p99 < 50 ms at 200/s",
                        note="--no-visits",
                    )
                )
            else:
                try:
                    visits = await visits_latency.measure(
                        server_url, kafka, names, sizes, keep=args.keep
                    )
                    details["visits_latency"] = visits
                    rows += visits_latency.rows(visits)
                except Exception as exc:
                    log.exception("the visits latency measure failed")
                    rows.append(
                        Row(
                            "visits_plan_to_board",
                            "HTTP command → visits board visible, p99",
                            None,
                            "ms",
                            target="p99 < 50 ms at 200/s",
                            note=f"not measured: {type(exc).__name__}: {exc}"[:300],
                        )
                    )
        if args.only == "deadlines" or (args.only is None and not args.no_deadlines):
            rows += await measure_deadlines(server_url, kafka, names, args, details)
        if args.only == "agencies" or (args.only is None and not args.no_agencies):
            rows += await measure_read_side("agencies", server_url, kafka, names, args, details)
        if args.only == "city" or (args.only is None and not args.no_city):
            rows += await measure_read_side("city", server_url, kafka, names, args, details)
    finally:
        if args.keep:
            console.log(f"kept databases {names.databases} and topic {names.topic}")
        else:
            problems = await cleanup(server_url, kafka, names)
            for p in problems:
                console.log(f"[yellow]cleanup: {p}[/yellow]")
    elapsed = clock() - t0
    title = (
        f"Tongxin benchmarks — {names.stamp} ({'quick' if args.quick else 'full'}, "
        f"{elapsed:.0f} s, {os.cpu_count()} CPUs, load {load_start[0]:.1f} → "
        f"{os.getloadavg()[0]:.1f}, CPU pressure avg60 {pressure_start.get('avg60', 0):.0f}"
        f" → {cpu_pressure().get('avg60', 0):.0f} %)"
    )
    print_table(rows, title)
    if "visits_latency" in details:
        visits_latency.print_table(
            details["visits_latency"],
            "HTTP command → visits board visible, by phase (open loop, same rate)",
        )
    for phase, text in prof.reports.items():
        console.print(
            f"[bold]profile of {phase}[/bold] (also {args.json.parent}/profile-{phase}.pstats)"
        )
        console.print(text, markup=False, highlight=False)
    out = {
        "run": {
            "stamp": names.stamp,
            "quick": args.quick,
            "started_unix": started,
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "cpu_pressure_start": pressure_start,
            "cpu_pressure_end": cpu_pressure(),
            "seconds": elapsed,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "sizes": dataclasses.asdict(sizes),
            "profiled": args.profile,
            "cleanup_problems": problems,
        },
        "rows": [dataclasses.asdict(r) for r in rows],
        "memory": mem.phases,
        "details": details,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str, ensure_ascii=False))
    console.log(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (< 60 s)")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench/results/latest.json",
        help="where to write the figures (default bench/results/latest.json)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_PHASES,
        help="cProfile one phase; writes profile-<phase>.pstats/.txt next to "
        "the JSON (profiling slows that phase: its figure is not comparable)",
    )
    parser.add_argument("--no-api", action="store_true", help="skip the API process RSS measure")
    parser.add_argument(
        "--no-visits",
        action="store_true",
        help="skip the HTTP command → visits board latency measure",
    )
    parser.add_argument(
        "--no-board",
        action="store_true",
        help="skip the visits workload and the board replays",
    )
    parser.add_argument(
        "--no-deadlines",
        action="store_true",
        help="skip the deadlines and notifications measure",
    )
    parser.add_argument(
        "--no-agencies",
        action="store_true",
        help="skip the agencies' model rebuilds and the district page",
    )
    parser.add_argument(
        "--no-city",
        action="store_true",
        help="skip the city's model rebuilds and the city page",
    )
    parser.add_argument(
        "--only",
        choices=("deadlines", "agencies", "city"),
        help="run only this phase (deadlines: the kit's deadlines and notifications, < 1 min; "
        "agencies: every agency model rebuilt and the district page of 100 schools, ~3 min; "
        "city: the city's models rebuilt over a city of 30 schools and the city page)",
    )
    parser.add_argument("--keep", action="store_true", help="keep databases and topics")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the 1-minute load average to fall "
        "below 1 (the machine is shared; figures under load are lower)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
