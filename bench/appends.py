"""Measures 1–3: single-event appends with 8 writers, against raw inserts and ``eventsourcing``.

Every writer owns its streams (so no writer ever conflicts with another) and, for each event,
either starts a new stream or appends to one of its existing streams, half and half. The stream's
head is kept in memory, as a command handler that just loaded the stream would have it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import BenchTicked, CpuMeter, clock, postgres_backends
from tongxin_platform.eventstore import NEW_STREAM, EventStore, NewEvent, StreamHead, now_utc

NEW_SHARE = 0.5  # share of events that start a new stream
DISTRICT = "330106"

RAW_DDL = """
CREATE TABLE IF NOT EXISTS raw_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  uuid    NOT NULL,
    stream_id text    NOT NULL,
    version   integer NOT NULL,
    payload   bytea   NOT NULL
)"""
RAW_INSERT = (
    "INSERT INTO raw_events (event_id, stream_id, version, payload) VALUES ($1, $2, $3, $4)"
)


@dataclass
class Writer:
    """One writer's streams and their heads (version, hash)."""

    prefix: str
    rng: random.Random
    streams: list[str] = field(default_factory=list)
    heads: list[StreamHead] = field(default_factory=list)
    n: int = 0

    def pick(self) -> tuple[int, str, StreamHead]:
        """(index or -1 for a new stream, stream id, head)."""
        self.n += 1
        if not self.streams or self.rng.random() < NEW_SHARE:
            return -1, f"{self.prefix}-{len(self.streams)}", NEW_STREAM
        i = self.rng.randrange(len(self.streams))
        return i, self.streams[i], self.heads[i]

    def done(self, i: int, stream: str, head: StreamHead) -> None:
        if i < 0:
            self.streams.append(stream)
            self.heads.append(head)
        else:
            self.heads[i] = head


Op = Callable[[asyncpg.Connection, Writer], Awaitable[None]]


def ours(store: EventStore) -> Op:
    """``EventStore.append``: one statement (head check, event row, outbox row), autocommit."""

    async def op(conn: asyncpg.Connection, w: Writer) -> None:
        i, sid, head = w.pick()
        event = NewEvent(uuid.uuid4(), BenchTicked(district=DISTRICT, stream=sid, n=w.n), now_utc())
        w.done(i, sid, await store.append(conn, sid, head, [event]))

    return op


def ours_with_head_lookup(store: EventStore) -> Op:
    """A command's real path: in one transaction, read the stream's head, then append."""

    async def op(conn: asyncpg.Connection, w: Writer) -> None:
        i, sid, _ = w.pick()
        event = NewEvent(uuid.uuid4(), BenchTicked(district=DISTRICT, stream=sid, n=w.n), now_utc())
        async with conn.transaction():
            head = await store.head(conn, sid)
            w.done(i, sid, await store.append(conn, sid, head, [event]))

    return op


def raw() -> Op:
    """The ceiling: one plain INSERT of a comparable row (uuid, text, int, same-size bytea)."""

    async def op(conn: asyncpg.Connection, w: Writer) -> None:
        i, sid, head = w.pick()
        payload = f'{{"district":"{DISTRICT}","stream":"{sid}","n":{w.n}}}'.encode()
        await conn.execute(RAW_INSERT, uuid.uuid4(), sid, head.version + 1, payload)
        w.done(i, sid, StreamHead(head.version + 1, None))

    return op


async def run_writers(
    conns: list[asyncpg.Connection],
    op: Op,
    prefix: str,
    seconds: float,
    warmup: float,
    database: str,
) -> dict[str, float]:
    """Each connection runs ``op`` back to back for ``seconds`` (after ``warmup``); events/s."""
    writers = [Writer(f"{prefix}-w{i}", random.Random(f"{prefix}-{i}")) for i in range(len(conns))]

    async def loop(conn: asyncpg.Connection, w: Writer, until: float) -> int:
        count = 0
        while clock() < until:
            await op(conn, w)
            count += 1
        return count

    if warmup > 0:
        until = clock() + warmup
        await asyncio.gather(*(loop(c, w, until) for c, w in zip(conns, writers, strict=True)))
    meter = CpuMeter({"server": postgres_backends(database)})
    meter.start()
    start = clock()
    counts = await asyncio.gather(
        *(loop(c, w, start + seconds) for c, w in zip(conns, writers, strict=True))
    )
    elapsed = clock() - start
    return {
        "events": float(sum(counts)),
        "seconds": elapsed,
        "rate": sum(counts) / elapsed,
        **meter.stop(),
    }


# --- the eventsourcing library (psycopg, threads) -------------------------------------------


class EsTick(Aggregate):
    """The ``eventsourcing`` twin of ``BenchTicked``: the same three fields in every event."""

    @event("Started")
    def __init__(self, district: str, stream: str, n: int) -> None:
        self.district, self.stream, self.n = district, stream, n

    @event("Ticked")
    def tick(self, district: str, stream: str, n: int) -> None:
        self.n = n


class BenchApp(Application[Any]):
    pass


def eventsourcing_app(
    dbname: str, host: str, port: int, user: str, password: str, threads: int
) -> BenchApp:
    """An ``eventsourcing`` Application on PostgreSQL, its table created in ``dbname``."""
    return BenchApp(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": user,
            "POSTGRES_PASSWORD": password,
            "POSTGRES_POOL_SIZE": str(threads),
            "POSTGRES_MAX_OVERFLOW": "0",
            "CREATE_TABLE": "y",
        }
    )


def run_eventsourcing(
    app: BenchApp, threads: int, prefix: str, seconds: float, warmup: float, database: str
) -> dict[str, float]:
    """``threads`` threads, each saving one event per ``app.save`` (new/existing aggregates)."""
    aggregates: list[list[Any]] = [[] for _ in range(threads)]

    def loop(i: int, until: float) -> int:
        rng = random.Random(f"{prefix}-{i}")
        mine = aggregates[i]
        count = 0
        while clock() < until:
            sid = f"{prefix}-w{i}-{len(mine)}"
            if not mine or rng.random() < NEW_SHARE:
                agg = EsTick(district=DISTRICT, stream=sid, n=count)
                mine.append(agg)
            else:
                agg = mine[rng.randrange(len(mine))]
                agg.tick(district=DISTRICT, stream=agg.stream, n=count)
            app.save(agg)
            count += 1
        return count

    with ThreadPoolExecutor(threads) as pool:
        if warmup > 0:
            until = clock() + warmup
            list(pool.map(lambda i: loop(i, until), range(threads)))
        meter = CpuMeter({"server": postgres_backends(database)})
        meter.start()
        start = clock()
        counts = list(pool.map(lambda i: loop(i, start + seconds), range(threads)))
        elapsed = clock() - start
    return {
        "events": float(sum(counts)),
        "seconds": elapsed,
        "rate": sum(counts) / elapsed,
        **meter.stop(),
    }
