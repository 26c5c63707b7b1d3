"""DESIGN.md §8: HTTP command → agency read model visible, p99 < 50 ms at 200 commands/s.

    uv run python -m bench.visits_latency [--quick] [--json bench/results/visits-latency.json]

Also run by ``bench.run`` (skip it there with ``--no-visits``).

Set-up: a small roster (160 students, 4 classes) is imported into a registry database of the run
and relayed to a registry topic of the run; a visits worker process (the outbox relay and the
board projection, as ``tongxin-visits worker`` runs them, with a consumer group of the run)
builds the board from it; the visits API runs as ``tongxin-visits serve`` on a free 127.0.0.1
port, with a throw-away token key. Tokens are the classes' head teachers', read off the board.

The load is open-loop: command ``i`` is sent at ``t0 + i/rate`` whatever the earlier answers.
A watcher polls the read model every 3 ms (``SELECT visit_id, status FROM board.visits WHERE
visit_id = ANY($1)``) for every command answered and not yet seen there; a command's latency runs
from sending its request to the first poll that sees its effect (the row for a plan,
``status = 'completed'`` for a completion). The visits topic of the run stores the broker's
append time (``LogAppendTime``), which splits that latency into answer → appended to Kafka (the
relay's share) → visible (the consumer's and the projection's share).

Phases, in this order, each after a 1 s warm-up and once the processes are idle again:
1. floor (before): a trivial FastAPI endpoint (same uvicorn set-up, its own process) doing one
   asyncpg INSERT per request; its row is visible as soon as it answers, so its latency is the
   floor of HTTP + PostgreSQL + watcher on this machine at the same rate.
2. visits, ``POST /visits`` (plan) at the rate: the measure against the target.
3. floor (after): the peer again (the figure is the mean of both p99s).
4. visits, ``POST /visits`` at half the rate: the same path when the API keeps up (the
   machine's 2 cores also run PostgreSQL, Kafka, the worker and the load).
5. visits, plan and ``POST /visits/{id}/complete`` alternating (a completion seals notes and a
   suggestion and opens a follow-up case: about twice a plan's work), at the rate.
6. direct: plans through ``VisitsService`` in the bench process (no HTTP, no auth, no FastAPI)
   at the rate: the command → event store → outbox relay → Kafka → projection path alone.

The load's HTTP client is a minimal keep-alive HTTP/1.1 client (``RawHttp``): httpx costs
2–4 ms of CPU per request on this machine and its pool degrades with concurrency, so at
200/s it measures itself (``--client httpx`` to see it).

Everything it creates (databases ``bench_<stamp>_v*``, topics ``bench-<stamp>.v*`` and their
dead-letter topics, three processes) is dropped or stopped at the end. Traffic goes to 127.0.0.1
only; every loop is bounded by a count and a time limit. Nothing asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from bench.common import (
    FULL,
    PARTITIONS,
    QUICK,
    CpuMeter,
    Names,
    Row,
    Sizes,
    _proc_cpu_seconds,
    clock,
    cpu_pressure,
    kafka_broker,
    peak_rss_mb,
    postgres_backends,
    rss_mb,
)
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import dlq_topic
from tongxin_contracts.calendar import CHINA, china_date
from tongxin_platform.db import create_pool, ensure_database
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.settings import DEFAULT_KAFKA, service_database_url
from tongxin_platform.testing import local_database_url

log = logging.getLogger("bench")
console = Console(width=None if sys.stdout.isatty() else 170)
ROOT = Path(__file__).resolve().parents[1]

TARGET_MS = 50.0
ROSTER = DemoSpec(district="330106", schools=1, classes_per_school=4, students_per_class=40)
POLL_SECONDS = 0.003  # the watcher's pause between two polls of the read model
REQUEST_TIMEOUT = 10.0  # per HTTP request
DRAIN_TIMEOUT = 30.0  # after the last answer: how long effects may take to become visible
WARMUP_SECONDS = 1.0
KEEP_ALIVE = 4.0  # uvicorn closes a connection idle for 5 s: never reuse one idle this long

VISITS_WATCH = "SELECT visit_id, status FROM board.visits WHERE visit_id = ANY($1::text[])"
FLOOR_WATCH = "SELECT visit_id, status FROM floor_visits WHERE visit_id = ANY($1::text[])"
FLOOR_DDL = """CREATE TABLE IF NOT EXISTS floor_visits (
    visit_id text PRIMARY KEY, student_ref text NOT NULL, planned_for date NOT NULL,
    status text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())"""


# --- the load ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pupil:
    student_ref: str
    district: str
    school_id: str
    class_id: str
    teacher: str  # the class's head teacher's staff_ref


@dataclasses.dataclass
class Sample:
    """One command: perf_counter times (s), and the wall clock at sending (for Kafka)."""

    kind: str  # "plan" or "complete"
    pupil: Pupil
    sent: float
    sent_wall: float
    due: float
    visit_id: str | None = None
    answered: float | None = None
    visible: float | None = None
    error: str | None = None


class RefusedError(Exception):
    pass


Sender = Callable[[str, Pupil, str | None], Awaitable[str]]


def completion_body(teacher: str) -> dict[str, Any]:
    """A realistic completion: sealed notes and suggestion, a finding opening a follow-up."""
    return {
        "visitors": [{"staff_ref": teacher, "role": "head_teacher"}],
        "mode": "in_home",
        "started_at": (now_utc() - timedelta(hours=3)).astimezone(CHINA).isoformat(),
        "duration_minutes": 50,
        "goals_covered": ["student_performance", "family_situation", "parent_opinions"],
        "findings": [{"category": "mental_health", "measure": "mental_health_counselling"}],
        "parent_suggestions": [{"topic": "safety", "text": "放学路口希望有老师值守"}],
        "notes": "孩子近来睡眠不好，家长愿意配合学校。",
        "integrity_attested": True,
    }


class Client(Protocol):
    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes]: ...

    async def close_idle(self) -> None: ...


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for the load: JSON POSTs with a Content-Length
    answer, as uvicorn gives them. httpx costs 2–4 ms of CPU per request on this machine (more
    as its pool grows), so at 200/s it would measure itself; this costs a tenth of that."""

    def __init__(self, host: str, port: int, max_connections: int = 64) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._slots = asyncio.Semaphore(max_connections)
        self.opened = 0

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        payload = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        ).encode()
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(head + payload)
                block = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                status = int(block[9:12])
                fields = dict(
                    line.split(":", 1) for line in block.lower().split("\r\n")[1:] if ":" in line
                )
                answer = await reader.readexactly(int(fields["content-length"]))
            except BaseException:
                writer.close()
                raise
            if fields.get("connection", "").strip() == "close":
                writer.close()
            else:
                self._idle.append((reader, writer, clock()))
        return status, answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if clock() - since < KEEP_ALIVE and not reader.at_eof():
                return reader, writer
            writer.close()
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def close_idle(self) -> None:
        """Drop the kept connections (between phases)."""
        idle, self._idle = self._idle, []
        for _, writer, _ in idle:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class HttpxClient:
    """The same interface over ``httpx.AsyncClient`` (``--client httpx``: to compare)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        r = await self.http.post(path, json=body, headers=headers)
        return r.status_code, r.content

    async def close_idle(self) -> None:
        return None


def http_sender(http: Client, tokens: dict[tuple[str, str], dict[str, str]]) -> Sender:
    async def send(kind: str, pupil: Pupil, visit_id: str | None) -> str:
        headers = tokens[(pupil.teacher, pupil.class_id)]
        if kind == "plan":
            body = {"student_ref": pupil.student_ref, "planned_for": str(china_date(now_utc()))}
            status, answer = await http.post("/visits", body, headers)
        else:
            status, answer = await http.post(
                f"/visits/{visit_id}/complete", completion_body(pupil.teacher), headers
            )
        if status != 200:
            raise RefusedError(f"HTTP {status}: {answer[:200].decode(errors='replace')}")
        return str(json.loads(answer)["visit_id"]) if kind == "plan" else str(visit_id)

    return send


def floor_sender(http: Client) -> Sender:
    async def send(kind: str, pupil: Pupil, visit_id: str | None) -> str:
        body = {"student_ref": pupil.student_ref, "planned_for": str(china_date(now_utc()))}
        status, answer = await http.post("/floor/visits", body, {})
        if status != 200:
            raise RefusedError(f"HTTP {status}: {answer[:200].decode(errors='replace')}")
        return str(json.loads(answer)["visit_id"])

    return send


def direct_sender(service: Any) -> Sender:
    """``VisitsService``'s plan called in this process: the command path without HTTP, auth and
    FastAPI (plans only: the direct phase is the peer of the plan measure)."""
    # The service's commands are grouped by kind (``service.visits.plan``) or flat (older).
    plan = getattr(service, "visits", service).plan

    async def send(kind: str, pupil: Pupil, visit_id: str | None) -> str:
        return str(
            await plan(
                district=pupil.district,
                school_id=pupil.school_id,
                class_id=pupil.class_id,
                student_ref=pupil.student_ref,
                planned_by=pupil.teacher,
                planned_for=china_date(now_utc()),
            )
        )

    return send


class Watcher:
    """Polls the read model for every answered command not yet seen there."""

    def __init__(self, conn: asyncpg.Connection, query: str, interval: float) -> None:
        self.conn, self.query, self.interval = conn, query, interval
        self.pending: dict[str, Sample] = {}
        self.completable: collections.deque[str] = collections.deque()
        self.polls = 0
        self.poll_seconds = 0.0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set when nothing is pending after a poll
        self._stop = False

    def watch(self, s: Sample) -> None:
        assert s.visit_id is not None
        self.pending[s.visit_id] = s
        self._idle.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stop:
            if not self.pending:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                continue
            started = clock()
            rows = await self.conn.fetch(self.query, list(self.pending))
            now = clock()
            self.polls += 1
            self.poll_seconds += now - started
            for r in rows:
                s = self.pending.get(r["visit_id"])
                if s is None or (s.kind == "complete" and r["status"] != "completed"):
                    continue
                s.visible = now
                del self.pending[r["visit_id"]]
                if s.kind == "plan":
                    self.completable.append(r["visit_id"])
            if not self.pending:
                self._idle.set()
            await asyncio.sleep(self.interval)

    async def drain(self, limit: float) -> None:
        """Wait (at most ``limit`` s) until every watched command has been seen."""
        if self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), limit)


async def drive(
    send: Sender,
    pupils: list[Pupil],
    watcher: Watcher,
    rate: float,
    seconds: float,
    mix: bool,
) -> tuple[list[Sample], dict[str, float]]:
    """Open loop: command ``i`` goes at ``t0 + i/rate`` whatever the earlier ones do."""
    n = max(1, round(rate * seconds))
    samples: list[Sample] = []
    tasks: set[asyncio.Task[None]] = set()
    of_visit: dict[str, Pupil] = {}
    plans = 0

    async def one(s: Sample, target: str | None) -> None:
        try:
            s.visit_id = await asyncio.wait_for(send(s.kind, s.pupil, target), REQUEST_TIMEOUT)
            s.answered = clock()
        except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
            s.error = f"{type(exc).__name__}: {exc}"[:300]
            return
        if s.kind == "plan":
            of_visit[s.visit_id] = s.pupil
        watcher.watch(s)

    t0 = clock() + 0.01
    for i in range(n):
        due = t0 + i / rate
        if (delay := due - clock()) > 0:
            await asyncio.sleep(delay)
        target = None
        if mix and i % 2 == 1 and watcher.completable:
            target = watcher.completable.popleft()
            kind, pupil = "complete", of_visit[target]
        else:
            kind, pupil = "plan", pupils[plans % len(pupils)]
            plans += 1
        s = Sample(kind, pupil, clock(), time.time(), due)
        samples.append(s)
        task = asyncio.create_task(one(s, target))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sending = samples[-1].sent - samples[0].sent if len(samples) > 1 else 0.0
    if tasks:
        await asyncio.wait(set(tasks), timeout=REQUEST_TIMEOUT + 5)
    await watcher.drain(DRAIN_TIMEOUT)
    return samples, {
        "sending_seconds": sending,
        "achieved_rate": (len(samples) - 1) / sending if sending > 0 else float("nan"),
    }


# --- figures -------------------------------------------------------------------------------


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0–100)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(xs: list[float]) -> dict[str, float]:
    """Percentiles of seconds, in ms."""
    ms = [x * 1000 for x in xs]
    return {
        "n": float(len(ms)),
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": sum(ms) / len(ms) if ms else float("nan"),
    }


def figures(name: str, samples: list[Sample], extra: dict[str, Any]) -> dict[str, Any]:
    ok = [s for s in samples if s.answered is not None]
    seen = [s for s in ok if s.visible is not None]
    errors = collections.Counter(s.error[:120] for s in samples if s.error)
    t0 = samples[0].sent if samples else 0.0
    by_second: dict[int, list[float]] = collections.defaultdict(list)
    for s in seen:
        assert s.visible is not None
        by_second[int(s.sent - t0)].append(s.visible - s.sent)
    out: dict[str, Any] = {
        "phase": name,
        "commands": len(samples),
        "answered": len(ok),
        "errors": len(samples) - len(ok),
        "error_kinds": dict(errors),
        "not_visible": len(ok) - len(seen),
        "http_ms": summary([s.answered - s.sent for s in ok if s.answered is not None]),
        "visible_ms": summary([s.visible - s.sent for s in seen if s.visible is not None]),
        "answer_to_visible_ms": summary(
            [s.visible - s.answered for s in seen if s.visible and s.answered]
        ),
        "send_lateness_ms": summary([max(0.0, s.sent - s.due) for s in samples]),
        "visible_p99_by_second_ms": [
            round(pct(v, 99) * 1000, 1) for _, v in sorted(by_second.items())
        ],
        **extra,
    }
    for kind in ("plan", "complete"):
        mine = [s for s in seen if s.kind == kind]
        if mine:
            out[kind] = {
                "commands": sum(1 for s in samples if s.kind == kind),
                "http_ms": summary([s.answered - s.sent for s in mine if s.answered]),
                "visible_ms": summary([s.visible - s.sent for s in mine if s.visible]),
            }
    return out


def kafka_split(samples: list[Sample], appended: dict[tuple[str, str], float]) -> dict[str, Any]:
    """Answer → appended to Kafka (broker's LogAppendTime) → visible, from wall clocks."""
    to_kafka, to_visible = [], []
    for s in samples:
        if s.visit_id is None or s.answered is None or s.visible is None:
            continue
        ts = appended.get((s.visit_id, s.kind))
        if ts is None:
            continue
        to_kafka.append(ts - (s.sent_wall + (s.answered - s.sent)))
        to_visible.append(s.sent_wall + (s.visible - s.sent) - ts)
    return {
        "answer_to_appended_ms": summary(to_kafka),
        "appended_to_visible_ms": summary(to_visible),
    }


async def appended_times(kafka: str, topic: str, limit: float) -> dict[tuple[str, str], float]:
    """(visit_id, "plan" | "complete") → when the broker appended its record (s since epoch)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: dict[tuple[str, str], float] = {}
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]  # as created
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        deadline = clock() + limit
        left = {tp for tp in parts if end[tp] > 0}
        while left and clock() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                for rec in records:
                    # ce_type is cn.tongxin.visits.<Name>.v<version>
                    name = dict(rec.headers).get("ce_type", b"..").decode().split(".")[-2]
                    kind = {"VisitPlanned": "plan", "VisitCompleted": "complete"}.get(name, "")
                    stream = (rec.key or b"").decode()
                    if kind and stream.startswith("visit-"):
                        out[(stream.removeprefix("visit-"), kind)] = rec.timestamp / 1000
                if records and records[-1].offset + 1 >= end[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()
    return out


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclasses.dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    errors: IO[bytes]

    def tail(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-2000:]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 5)
        self.errors.close()


async def start_child(name: str, argv: list[str], env: dict[str, str]) -> Child:
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Child.stop
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=errors
    )
    return Child(name, proc, errors)


async def wait_healthy(child: Child, base: str, limit: float = 60.0) -> None:
    deadline = clock() + limit
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while True:
            if child.proc.returncode is not None or clock() > deadline:
                raise RuntimeError(f"{child.name} did not start: {child.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


def token_keys(directory: Path) -> tuple[bytes, bytes]:
    from tongxin_platform.auth import dev_keypair

    return dev_keypair(directory)


# --- the floor peer: one INSERT behind FastAPI ----------------------------------------------


class FloorPlan(BaseModel):
    student_ref: str
    planned_for: date


def floor_app(database_url: str) -> FastAPI:
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await create_pool(database_url, max_size=10)
        try:
            yield
        finally:
            await state["pool"].close()

    app = FastAPI(title="bench floor", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/floor/visits")
    async def plan(body: FloorPlan) -> dict[str, str]:
        visit_id = str(uuid.uuid4())
        await state["pool"].execute(
            "INSERT INTO floor_visits (visit_id, student_ref, planned_for, status)"
            " VALUES ($1, $2, $3, 'planned')",
            visit_id,
            body.student_ref,
            body.planned_for,
        )
        return {"visit_id": visit_id}

    return app


def floor_main(argv: list[str]) -> int:
    import uvicorn

    database_url, port = argv[0], int(argv[1])
    uvicorn.run(floor_app(database_url), host="127.0.0.1", port=port, log_level="warning")
    return 0


def worker_main(argv: list[str]) -> int:
    """The visits worker (the kit's ``Worker``: outbox relay and board projection on FastStream,
    as ``tongxin-visits worker`` runs them) with the run's own consumer group: the service's
    fixed group is shared with every other visits worker on the broker (tests), whose joins and
    leaves would rebalance this one mid-measure. The shredding reaction is left out (nothing is
    erased here; its group would be a shared one too)."""
    from tongxin_platform.worker import Worker, WorkerOptions, serve
    from tongxin_visits.bootstrap import SERVICE
    from tongxin_visits.config import VisitsSettings

    database, topic, registry_topic, group = argv

    async def main(stop: asyncio.Event) -> None:
        settings = VisitsSettings(
            database_name=database, topic=topic, registry_topic=registry_topic
        )
        options = WorkerOptions(reactions=False, groups={"board": group}, tune_gc=True)
        await Worker(SERVICE, settings, options).run(stop)

    serve(main)
    return 0


# --- the measure ---------------------------------------------------------------------------


async def import_roster(server_url: str, kafka: str, database: str, topic: str) -> int:
    """Import the roster into the run's registry and relay it; return the students imported."""
    from tongxin_registry.bootstrap import bootstrap
    from tongxin_registry.config import RegistrySettings

    settings = RegistrySettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka, DATABASE_URL=server_url, database_name=database, topic=topic
    )
    reg = await bootstrap(settings)
    try:
        students, staff = demo_roster(ROSTER)
        imported = await reg.service.import_students(students)
        await reg.service.import_staff(staff)
        relay = OutboxRelay(
            service="registry", database_url=reg.runtime.database_url, bootstrap=kafka
        )
        task = asyncio.create_task(relay.run())
        try:
            deadline = clock() + 60
            while await reg.pool.fetchval("SELECT count(*) FROM outbox") > 0:
                if clock() > deadline or task.done():
                    raise RuntimeError("the registry's outbox was not relayed within 60 s")
                await asyncio.sleep(0.1)
        finally:
            relay.stop()
            await asyncio.wait_for(task, 30)
        return int(imported.rows)
    finally:
        await reg.close()


async def board_pupils(url: str, expected: int, worker: Child, limit: float) -> list[Pupil]:
    """Wait for the worker to put the roster on the board; return its students."""
    deadline = clock() + limit
    found: list[Pupil] = []
    while clock() < deadline:
        if worker.proc.returncode is not None:
            raise RuntimeError(f"the visits worker stopped: {worker.tail()}")
        try:
            conn = await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.5)
            continue
        try:
            rows = await conn.fetch(
                "SELECT s.student_ref, s.district, s.school_id, s.class_id, t.staff_ref"
                " FROM board.students s JOIN board.staff t ON s.class_id = ANY(t.class_ids)"
                " AND 'head_teacher' = ANY(t.roles) WHERE s.enrolled ORDER BY s.student_ref"
            )
            found = [Pupil(*r) for r in rows]
        except asyncpg.PostgresError:
            found = []
        finally:
            await conn.close()
        if len(found) >= expected:
            return found
        await asyncio.sleep(0.5)
    raise RuntimeError(
        f"the roster did not reach the board in {limit:.0f} s: {len(found)} of "
        f"{expected} students; worker: {worker.tail()}"
    )


async def settle(pids: Callable[[], list[int]], limit: float = 30.0) -> float:
    """Wait (at most ``limit`` s) until the processes use less than 10 % of a core over 0.5 s
    (a saturated API still works off requests whose clients gave up); return the wait."""
    start = clock()
    while clock() - start < limit:
        before = {p: _proc_cpu_seconds(p) for p in pids()}
        await asyncio.sleep(0.5)
        if sum(_proc_cpu_seconds(p) - c for p, c in before.items()) < 0.05:
            break
    return clock() - start


@dataclasses.dataclass
class Phase:
    key: str
    name: str
    send: Sender
    watch_url: str
    watch_query: str
    seconds: float
    mix: bool
    cpu: dict[str, Callable[[], list[int]]]
    client: Client | None = None
    rate_factor: float = 1.0  # of the run's rate


async def phase(ph: Phase, pupils: list[Pupil], rate: float) -> tuple[dict[str, Any], list[Sample]]:
    """Once the processes are idle: a warm-up (discarded), then the measured window."""
    rate *= ph.rate_factor
    idle_wait = await settle(
        lambda: [p for f in ph.cpu.values() for p in f() if f is not kafka_broker]
    )
    conn = await asyncpg.connect(ph.watch_url)
    try:
        if ph.client is not None:
            await ph.client.close_idle()
        warm = Watcher(conn, ph.watch_query, POLL_SECONDS)
        task = asyncio.create_task(warm.run())
        try:
            await drive(ph.send, pupils, warm, rate, WARMUP_SECONDS, ph.mix)
        finally:
            warm.stop()
            await task
        await asyncio.sleep(0.5)
        if ph.client is not None:
            await ph.client.close_idle()
        watcher = Watcher(conn, ph.watch_query, POLL_SECONDS)
        task = asyncio.create_task(watcher.run())
        load, pressure = os.getloadavg()[0], cpu_pressure().get("avg10", 0.0)
        meter = CpuMeter(ph.cpu)
        meter.start()
        try:
            samples, timing = await drive(ph.send, pupils, watcher, rate, ph.seconds, ph.mix)
        finally:
            shares = meter.stop()
            watcher.stop()
            await task
    finally:
        await conn.close()
    res = figures(
        ph.name,
        samples,
        {
            "offered_rate": rate,
            **timing,
            **shares,
            "settled_seconds": idle_wait,
            "watcher_polls": watcher.polls,
            "watcher_query_ms": 1000 * watcher.poll_seconds / max(1, watcher.polls),
            "loadavg_1m_start": load,
            "loadavg_1m_end": os.getloadavg()[0],
            "cpu_pressure_avg10_start": pressure,
            "cpu_pressure_avg10_end": cpu_pressure().get("avg10", 0.0),
        },
    )
    v, h = res["visible_ms"], res["http_ms"]
    console.log(
        f"{ph.name}: {res['commands']} commands at {res['achieved_rate']:.0f}/s, "
        f"{res['errors']} errors, {res['not_visible']} not visible; answer p50 {h['p50']:.1f} "
        f"p99 {h['p99']:.1f} ms; visible p50 {v['p50']:.1f} p95 {v['p95']:.1f} p99 "
        f"{v['p99']:.1f} max {v['max']:.1f} ms (load {load:.1f}, CPU pressure {pressure:.0f} %)"
        + cpu_text(res)
    )
    for msg, count in res["error_kinds"].items():
        console.log(f"  {count} × {msg}", markup=False, highlight=False)
    return res, samples


def cpu_text(res: dict[str, Any]) -> str:
    parts = [
        f"{k.removesuffix('_cpu_share')} {v:.0%}"
        for k, v in res.items()
        if k.endswith("_cpu_share")
    ]
    return f"  (CPU: {', '.join(parts)})" if parts else ""


async def cleanup(server_url: str, kafka: str, names: Names) -> list[str]:
    problems = []
    try:
        conn = await asyncpg.connect(service_database_url(server_url, "postgres"))
        try:
            for db in names.visits_databases:
                await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        problems.append(f"dropping databases: {exc}")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, request_timeout_ms=30000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        topics = list(names.visits_topics)
        ours = [
            t
            for t in (*topics, *(dlq_topic(t, names.visits_group) for t in topics))
            if t in existing
        ]
        if ours:
            await admin.delete_topics(ours)
    except Exception as exc:  # noqa: BLE001 - a leftover topic is reported, not fatal
        problems.append(f"deleting topics: {exc}")
    finally:
        await admin.close()
    return problems


@contextlib.asynccontextmanager
async def load_clients(
    kind: str, api_port: int, floor_port: int
) -> AsyncIterator[tuple[Client, Client]]:
    """The load's HTTP clients for the visits API and the floor (``raw`` or ``httpx``)."""
    if kind == "raw":
        yield RawHttp("127.0.0.1", api_port), RawHttp("127.0.0.1", floor_port)
        return
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}", limits=limits, timeout=REQUEST_TIMEOUT
        ) as http,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{floor_port}", limits=limits, timeout=REQUEST_TIMEOUT
        ) as fhttp,
    ):
        yield HttpxClient(http), HttpxClient(fhttp)


@dataclasses.dataclass
class Stack:
    """The run's processes and what the load needs of them."""

    worker: Child
    api: Child
    floor: Child
    api_port: int
    floor_port: int
    floor_url: str
    pupils: list[Pupil]
    tokens: dict[tuple[str, str], dict[str, str]]


async def start_stack(
    server_url: str, kafka: str, names: Names, tmp: Path, children: list[Child]
) -> Stack:
    """Topics, the roster, the worker, the visits API and the floor API (appended to
    ``children`` as they start, so that the caller stops them whatever happens)."""
    from tongxin_platform.auth import Principal, Role, mint

    registry_db, visits_db, floor_db = names.visits_databases
    registry_topic, visits_topic = names.visits_topics
    t = clock()
    appended_time = {**event_topic_config(), "message.timestamp.type": "LogAppendTime"}
    await ensure_topics(
        kafka,
        [
            TopicSpec(registry_topic, PARTITIONS, event_topic_config()),
            TopicSpec(visits_topic, PARTITIONS, appended_time),
        ],
    )
    students = await import_roster(server_url, kafka, registry_db, registry_topic)
    env = {
        **os.environ,
        "DATABASE_URL": server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "VISITS_DATABASE_NAME": visits_db,
        "VISITS_TOPIC": visits_topic,
        "VISITS_REGISTRY_TOPIC": registry_topic,
    }
    worker = await start_child(
        "the visits worker",
        [
            sys.executable,
            "-m",
            "bench.visits_latency",
            "_worker",
            visits_db,
            visits_topic,
            registry_topic,
            names.visits_group,
        ],
        env,
    )
    children.append(worker)
    pupils = await board_pupils(service_database_url(server_url, visits_db), students, worker, 120)
    console.log(
        f"visits: roster of {students} students relayed and on the board in {clock() - t:.1f} s"
    )
    private, public = token_keys(tmp)
    api_port, floor_port = free_port(), free_port()
    api = await start_child(
        "the visits API",
        [
            str(Path(sys.executable).parent / "tongxin-visits"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ],
        {**env, "TONGXIN_JWT_PUBLIC_KEY": public.decode()},
    )
    children.append(api)
    floor_url = await ensure_database(server_url, floor_db)
    conn = await asyncpg.connect(floor_url)
    try:
        await conn.execute(FLOOR_DDL)
    finally:
        await conn.close()
    floor = await start_child(
        "the floor API",
        [sys.executable, "-m", "bench.visits_latency", "_floor", floor_url, str(floor_port)],
        env,
    )
    children.append(floor)
    await wait_healthy(api, f"http://127.0.0.1:{api_port}")
    await wait_healthy(floor, f"http://127.0.0.1:{floor_port}")
    tokens = {
        (p.teacher, p.class_id): {
            "authorization": "Bearer "
            + mint(
                private,
                Principal(p.teacher, Role.head_teacher, p.district, p.school_id, p.class_id),
                ttl=3600,
            )
        }
        for p in pupils
    }
    return Stack(worker, api, floor, api_port, floor_port, floor_url, pupils, tokens)


async def measure(
    server_url: str,
    kafka: str,
    names: Names,
    sizes: Sizes,
    *,
    keep: bool = False,
    client_kind: str = "raw",
) -> dict[str, Any]:
    """Set up, run the five phases, tear down; return the figures."""
    from tongxin_visits.bootstrap import bootstrap as visits_bootstrap
    from tongxin_visits.config import VisitsSettings

    _, visits_db, floor_db = names.visits_databases
    registry_topic, visits_topic = names.visits_topics
    visits_url = service_database_url(server_url, visits_db)
    rate = sizes.visits_rate
    children: list[Child] = []
    out: dict[str, Any] = {
        "client": client_kind,
        "roster": dataclasses.asdict(ROSTER),
        "rate": rate,
        "poll_ms": POLL_SECONDS * 1000,
        "phases": {},
    }
    samples: dict[str, list[Sample]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="tongxin-bench-") as tmp:
            st = await start_stack(server_url, kafka, names, Path(tmp), children)
            rss_idle = {"api": rss_mb(st.api.proc.pid), "worker": rss_mb(st.worker.proc.pid)}
            api_pid, worker_pid, floor_pid = st.api.proc.pid, st.worker.proc.pid, st.floor.proc.pid
            visits_cpu = {
                "api": lambda: [api_pid],
                "worker": lambda: [worker_pid],
                "server": postgres_backends(visits_db),
                "kafka": kafka_broker,
            }
            floor_cpu = {"api": lambda: [floor_pid], "server": postgres_backends(floor_db)}
            direct = await visits_bootstrap(
                VisitsSettings(
                    KAFKA_BOOTSTRAP_SERVERS=kafka,
                    DATABASE_URL=server_url,
                    database_name=visits_db,
                    topic=visits_topic,
                    registry_topic=registry_topic,
                )
            )
            try:
                async with load_clients(client_kind, st.api_port, st.floor_port) as (http, fhttp):
                    floor_send = floor_sender(fhttp)
                    visits_send = http_sender(http, st.tokens)
                    peer, main_s = sizes.visits_peer_seconds, sizes.visits_seconds
                    phases = [
                        Phase(
                            "floor_before",
                            "floor (before)",
                            floor_send,
                            st.floor_url,
                            FLOOR_WATCH,
                            peer,
                            False,
                            floor_cpu,
                            fhttp,
                        ),
                        Phase(
                            "visits_plan",
                            "visits: POST /visits",
                            visits_send,
                            visits_url,
                            VISITS_WATCH,
                            main_s,
                            False,
                            visits_cpu,
                            http,
                        ),
                        Phase(
                            "floor_after",
                            "floor (after)",
                            floor_send,
                            st.floor_url,
                            FLOOR_WATCH,
                            peer,
                            False,
                            floor_cpu,
                            fhttp,
                        ),
                        Phase(
                            "visits_half",
                            f"visits: POST /visits at {rate / 2:.0f}/s",
                            visits_send,
                            visits_url,
                            VISITS_WATCH,
                            peer,
                            False,
                            visits_cpu,
                            http,
                            rate_factor=0.5,
                        ),
                        Phase(
                            "visits_mixed",
                            "visits: plan + complete",
                            visits_send,
                            visits_url,
                            VISITS_WATCH,
                            main_s,
                            True,
                            visits_cpu,
                            http,
                        ),
                        Phase(
                            "direct",
                            "direct: VisitsService.plan, no HTTP",
                            direct_sender(direct.service),
                            visits_url,
                            VISITS_WATCH,
                            peer,
                            False,
                            {k: v for k, v in visits_cpu.items() if k != "api"},
                        ),
                    ]
                    for ph in phases:
                        out["phases"][ph.key], samples[ph.key] = await phase(ph, st.pupils, rate)
            finally:
                await direct.close()
            out["rss_mb"] = {
                "api_idle": rss_idle["api"],
                "api_peak": peak_rss_mb(api_pid),
                "worker_idle": rss_idle["worker"],
                "worker_peak": peak_rss_mb(worker_pid),
            }
            appended = await appended_times(kafka, visits_topic, 60)
            for key in ("visits_plan", "visits_half", "visits_mixed", "direct"):
                p = out["phases"][key]
                p.update(kafka_split(samples[key], appended))
                a, b = p["answer_to_appended_ms"], p["appended_to_visible_ms"]
                console.log(
                    f"{p['phase']}: answer → appended to Kafka p50 {a['p50']:.1f} p99 "
                    f"{a['p99']:.1f} ms; appended → visible p50 {b['p50']:.1f} p99 "
                    f"{b['p99']:.1f} ms"
                )
    finally:
        for child in reversed(children):
            try:
                await child.stop()
            except Exception as exc:  # noqa: BLE001 - reported, cleanup goes on
                console.log(f"[yellow]stopping {child.name}: {exc}[/yellow]")
        if keep:
            console.log(f"kept databases {names.visits_databases} and topics {names.visits_topics}")
            out["cleanup_problems"] = []
        else:
            out["cleanup_problems"] = await cleanup(server_url, kafka, names)
            for p in out["cleanup_problems"]:
                console.log(f"[yellow]cleanup: {p}[/yellow]")
    return out


def floor_p99(res: dict[str, Any]) -> float:
    """The floor's p99: the mean of its runs before and after the plan measure."""
    runs = [float(res["phases"][k]["visible_ms"]["p99"]) for k in ("floor_before", "floor_after")]
    return sum(runs) / len(runs)


def _met(p: dict[str, Any], rate: float) -> bool:
    return bool(
        p["visible_ms"]["p99"] < TARGET_MS
        and p["achieved_rate"] >= 0.95 * rate
        and p["errors"] == 0
        and p["not_visible"] == 0
    )


def _note(p: dict[str, Any]) -> str:
    v, h, a = p["visible_ms"], p["http_ms"], p.get("answer_to_appended_ms", {})
    return (
        f"p50 {v['p50']:.1f}, p95 {v['p95']:.1f}, max {v['max']:.0f} ms; answer p50 "
        f"{h['p50']:.1f}, p99 {h['p99']:.1f} ms; answer → in Kafka p50 {a.get('p50', 0):.1f} ms; "
        f"{p['achieved_rate']:.0f}/s sent, {p['errors']} errors, {p['not_visible']} not visible"
    )


def rows(res: dict[str, Any]) -> list[Row]:
    """The report's rows (also bench.run's summary table)."""
    ph, rate = res["phases"], res["rate"]
    floor = floor_p99(res)
    target = f"p99 < {TARGET_MS:.0f} ms at {rate:.0f}/s"
    out = []
    for key, measure, tgt in (
        (
            "visits_plan",
            f"HTTP command → visits board visible, p99 (POST /visits at {rate:.0f}/s, "
            f"{ph['visits_plan']['commands']:,} commands)",
            target,
        ),
        ("visits_half", f"… POST /visits at half the rate ({rate / 2:.0f}/s)", ""),
        ("visits_mixed", f"… plan and complete alternating at {rate:.0f}/s", target),
        (
            "direct",
            f"Command → board visible without HTTP (VisitsService.plan in the bench "
            f"process, {rate:.0f}/s)",
            "",
        ),
    ):
        p = ph[key]
        out.append(
            Row(
                f"visits_{key.removeprefix('visits_')}_to_board",
                measure,
                p["visible_ms"]["p99"],
                "ms",
                floor,
                "trivial FastAPI + 1 asyncpg INSERT, same rate and watcher (p99)",
                p["visible_ms"]["p99"] / floor,
                "x",
                tgt,
                _met(p, rate) if tgt else None,
                _note(p),
                {"visible_ms": p["visible_ms"], "http_ms": p["http_ms"]},
            )
        )
    return out


def print_table(res: dict[str, Any], title: str) -> None:
    table = Table(title=title, show_lines=True)
    for col in (
        "Phase",
        "Commands",
        "Rate /s",
        "Errors / unseen",
        "Answer p50 / p99 ms",
        "Visible p50 / p95 / p99 / max ms",
        "Answer → in Kafka → visible, p50 (p99) ms",
        "CPU",
    ):
        table.add_column(col, justify="left" if col in ("Phase", "CPU") else "right")
    for p in res["phases"].values():
        h, v = p["http_ms"], p["visible_ms"]
        split = "–"
        if "answer_to_appended_ms" in p:
            a, b = p["answer_to_appended_ms"], p["appended_to_visible_ms"]
            split = f"{a['p50']:.1f} ({a['p99']:.1f}) → {b['p50']:.1f} ({b['p99']:.1f})"
        table.add_row(
            p["phase"],
            f"{p['commands']:,}",
            f"{p['achieved_rate']:.0f} of {p['offered_rate']:.0f}",
            f"{p['errors']} / {p['not_visible']}",
            f"{h['p50']:.1f} / {h['p99']:.1f}",
            f"{v['p50']:.1f} / {v['p95']:.1f} / {v['p99']:.1f} / {v['max']:.1f}",
            split,
            cpu_text(p).strip().removeprefix("(CPU: ").removesuffix(")"),
        )
    console.print(table)


async def run(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    # The services it starts are development stand-ins (published pseudonym secret, the
    # development keyring); the project's own PostgreSQL wants its generated password.
    os.environ.setdefault("TONGXIN_ENV", "development")
    server_url = os.environ.get("DATABASE_URL") or local_database_url()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    names = Names.fresh()
    started, load = time.time(), os.getloadavg()
    pressure = cpu_pressure()
    t0 = clock()
    console.log(
        f"visits latency {names.stamp} ({'quick' if args.quick else 'full'}): "
        f"PostgreSQL {server_url.rsplit('@', 1)[-1]}, Kafka {kafka}"
    )
    res = await measure(server_url, kafka, names, sizes, keep=args.keep, client_kind=args.client)
    title = (
        f"HTTP command → visits board visible — {names.stamp} "
        f"({'quick' if args.quick else 'full'}, {clock() - t0:.0f} s, {os.cpu_count()} CPUs, "
        f"load {load[0]:.1f} → {os.getloadavg()[0]:.1f}, CPU pressure avg60 "
        f"{pressure.get('avg60', 0):.0f} → {cpu_pressure().get('avg60', 0):.0f} %)"
    )
    print_table(res, title)
    report = rows(res)
    for r in report:
        met = "–" if r.met is None else ("met" if r.met else "not met")
        target = f"; {r.target}: {met}" if r.target else ""
        console.log(f"{r.measure}: p99 {r.ours:.1f} ms (floor {r.peer:.1f} ms){target}")
    out = {
        "run": {
            "stamp": names.stamp,
            "quick": args.quick,
            "started_unix": started,
            "seconds": clock() - t0,
            "loadavg_start": load,
            "loadavg_end": os.getloadavg(),
            "cpu_pressure_start": pressure,
            "cpu_pressure_end": cpu_pressure(),
            "sizes": dataclasses.asdict(sizes),
        },
        "rows": [dataclasses.asdict(r) for r in report],
        "details": res,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str, ensure_ascii=False))
    console.log(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    if argv[:1] == ["_floor"]:
        return floor_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench.visits_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="5 s windows: a smoke run")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench/results/visits-latency.json",
        help="where to write the figures (default bench/results/visits-latency.json)",
    )
    parser.add_argument("--keep", action="store_true", help="keep databases and topics")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the load's HTTP client (default: a minimal keep-alive client; httpx costs 2–4 ms "
        "of CPU per request here)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
