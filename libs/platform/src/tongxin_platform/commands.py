"""The write side's loop, shared by services: load streams → decide → append, and start over
from the load when another writer got there first (``ConcurrencyError``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

import asyncpg

from tongxin_contracts import EventRegistry, IntegrationEvent
from tongxin_platform.eventstore import (
    NEW_STREAM,
    ConcurrencyError,
    EventStore,
    NewEvent,
    StreamHead,
)
from tongxin_platform.telemetry import current_traceparent

T = TypeVar("T")
MAX_ATTEMPTS = 5


class Loaded:
    """Streams read in one go: their events (decoded) and their heads."""

    def __init__(self) -> None:
        self.events: dict[str, list[IntegrationEvent]] = defaultdict(list)
        self.heads: dict[str, StreamHead] = {}

    def of(self, stream_id: str) -> list[IntegrationEvent]:
        return self.events.get(stream_id, [])

    def head(self, stream_id: str) -> StreamHead:
        return self.heads.get(stream_id, NEW_STREAM)


async def load_streams(
    conn: asyncpg.Connection, registry: EventRegistry, stream_ids: Sequence[str]
) -> Loaded:
    rows = await conn.fetch(
        """SELECT stream_id, version, hash, event_type, payload FROM events
           WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version""",
        list(stream_ids),
    )
    loaded = Loaded()
    for r in rows:
        loaded.events[r["stream_id"]].append(registry.decode(r["event_type"], bytes(r["payload"])))
        loaded.heads[r["stream_id"]] = StreamHead(r["version"], bytes(r["hash"]))
    return loaded


def new_events(
    events: Sequence[IntegrationEvent],
    now: datetime,
    correlation_id: str = "",
    *,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> list[NewEvent]:
    """Wrap decided events for the store, in the current trace."""
    tp = current_traceparent()
    return [NewEvent(new_id(), e, now, tp, correlation_id) for e in events]


async def retrying(attempt: Callable[[], Awaitable[T]], attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``attempt`` again (from its load) after a concurrent change, up to ``attempts`` times."""
    for n in range(1, attempts + 1):
        try:
            return await attempt()
        except ConcurrencyError:
            if n == attempts:
                raise
    raise AssertionError("unreachable")


Decide = Callable[[list[IntegrationEvent], datetime], list[IntegrationEvent]]
# Runs in the command's transaction before the load (e.g. seal text, redeem a code) …
Before = Callable[[asyncpg.Connection, datetime], Awaitable[None]]
# … or after the append, with the streams written to (e.g. index them).
After = Callable[[asyncpg.Connection, list[str]], Awaitable[None]]


class Writer:
    """A service's write side: load one stream, decide on its history, append what was decided.

    Decided events go to their own aggregates' streams (a visit may open follow-up cases), all
    in one transaction; a concurrent change starts the attempt over from the load.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        registry: EventRegistry,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.pool, self.store, self.registry = pool, store, registry
        self.clock, self.new_id = clock, new_id

    async def history(self, stream_id: str) -> list[IntegrationEvent]:
        async with self.pool.acquire() as conn:
            return (await load_streams(conn, self.registry, [stream_id])).of(stream_id)

    async def run(
        self,
        stream_id: str,
        decide: Decide,
        *,
        before: Before | None = None,
        after: After | None = None,
    ) -> list[IntegrationEvent]:
        async def attempt() -> list[IntegrationEvent]:
            now = self.clock()
            async with self.pool.acquire() as conn, conn.transaction():
                if before is not None:
                    await before(conn, now)
                loaded = await load_streams(conn, self.registry, [stream_id])
                decided = decide(loaded.of(stream_id), now)
                by_stream: dict[str, list[IntegrationEvent]] = defaultdict(list)
                for e in decided:
                    by_stream[e.aggregate_id()].append(e)
                batches = [
                    (sid, loaded.head(sid), new_events(evs, now, new_id=self.new_id))
                    for sid, evs in by_stream.items()
                ]
                if len(batches) == 1:
                    await self.store.append(conn, *batches[0])
                elif batches:
                    await self.store.append_many(conn, batches)
                if after is not None and batches:
                    await after(conn, list(by_stream))
                return decided

        return await retrying(attempt)
