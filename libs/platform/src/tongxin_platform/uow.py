"""The unit of work: everything a command writes commits together, or nothing does.

Command handlers see only the ports below, so they run against PostgreSQL (``PgTransactions``)
and against the in-memory fake of ``tongxin_platform.memory`` alike:

- ``events``: load streams, append (optimistic concurrency, hash chain, outbox), tag streams;
- ``keys``: the per-subject data keys that seal personal data (crypto-shredding);
- ``answers``: the answers to ``Idempotency-Key`` commands, recorded with their events;
- ``deadlines``: deadline rows set or cancelled with the command (``tongxin_platform.deadlines``);
- ``notifications``: messages to people, queued with the command (``tongxin_platform.notify``).

A unit of work opened while another is active in the same task joins it (a savepoint): an HTTP
command records its idempotency key and its events in one transaction, and a reaction appends
in the transaction that stores its consumer offsets.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg

from tongxin_contracts import EventRegistry, IntegrationEvent, Sealed
from tongxin_platform.crypto import KeyStore, SubjectErasedError, seal_with
from tongxin_platform.deadline_store import Deadlines, PgDeadlines
from tongxin_platform.eventstore import (
    NEW_STREAM,
    EventStore,
    NewEvent,
    StoredEvent,
    StreamHead,
)
from tongxin_platform.notify import DEVELOPMENT_ROUTES, Notifications, PgNotifications, Routes

__all__ = ["SubjectErasedError"]


class Loaded:
    """Streams read in one go: their events (decoded) and their heads."""

    def __init__(self) -> None:
        self.events: dict[str, list[IntegrationEvent]] = defaultdict(list)
        self.heads: dict[str, StreamHead] = {}

    def of(self, stream_id: str) -> list[IntegrationEvent]:
        return self.events.get(stream_id, [])

    def head(self, stream_id: str) -> StreamHead:
        return self.heads.get(stream_id, NEW_STREAM)


Batch = tuple[str, StreamHead, Sequence[NewEvent]]


class Events(Protocol):
    async def load(self, stream_ids: Sequence[str]) -> Loaded: ...

    async def append(
        self, stream_id: str, head: StreamHead, events: Sequence[NewEvent]
    ) -> StreamHead: ...

    async def append_many(self, batches: Sequence[Batch]) -> int: ...

    async def heads(self, stream_ids: Sequence[str]) -> dict[str, StreamHead]: ...

    async def stored(self, stream_id: str) -> list[StoredEvent]:
        """A stream's events as stored (positions, hashes): an audit's view."""
        ...

    async def tag(self, tag: str, stream_ids: Sequence[str]) -> None:
        """Remember that ``stream_ids`` belong to ``tag`` (e.g. ``school:<id>``)."""

    async def tagged(self, tag: str) -> list[tuple[IntegrationEvent, datetime]]:
        """Every event of the streams tagged ``tag``, in store order, with when recorded."""
        ...


class Keys(Protocol):
    async def keys_for(self, subjects: Sequence[str]) -> dict[str, tuple[uuid.UUID, bytes]]:
        """The key of each subject, made if missing."""
        ...

    async def seal(self, subject: str, data: dict[str, Any]) -> Sealed: ...

    async def open(self, sealed: Sealed) -> dict[str, Any]: ...

    async def open_many(self, sealed: Sequence[Sealed]) -> list[dict[str, Any] | None]:
        """Each opened, ``None`` where the subject was erased (one round trip for all)."""
        ...

    async def erase(self, subject: str) -> bool:
        """Delete the subject's key; whether there was one."""
        ...

    async def has(self, subject: str) -> bool:
        """Whether the subject has a key (none: never sealed for, or erased)."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    fingerprint: str
    status: int
    body: dict[str, Any]


async def open_text(keys: Keys, sealed: Sealed | None) -> str | None:
    """A sealed ``{"text": ...}`` in clear; ``None`` when nothing was sealed or its subject's
    key was erased (the text is gone, the record stays)."""
    if sealed is None:
        return None
    with suppress(SubjectErasedError):
        return str((await keys.open(sealed))["text"])
    return None


class Answers(Protocol):
    async def claim(self, scope: str, key: str, fingerprint: str) -> Answer | None:
        """Take ``key`` for this transaction (``None``), waiting while another transaction
        holds it; or the answer it got (a repeated request)."""
        ...

    async def remember(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        """The answer to the key this transaction claimed, committed with its events."""

    async def remember_refusal(
        self, scope: str, key: str, fingerprint: str, status: int, body: dict[str, Any]
    ) -> None:
        """A refusal, outside the command's rolled-back transaction (first answer wins)."""


class UnitOfWork(Protocol):
    events: Events
    keys: Keys
    answers: Answers
    deadlines: Deadlines
    notifications: Notifications
    conn: Any  # the PostgreSQL connection, for a service's own tables; None in the fake

    def savepoint(self) -> AbstractAsyncContextManager[Any]: ...


_current: ContextVar[UnitOfWork | None] = ContextVar("tongxin_unit_of_work", default=None)


def current() -> UnitOfWork | None:
    """The unit of work active in this task, if any."""
    return _current.get()


class Transactions(Protocol):
    """Opens units of work: ``begin`` for writes (commits on success, rolls back on error),
    ``read`` for reads. Either joins the unit of work already active in the task."""

    def begin(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]: ...


class BaseTransactions:
    """Joining and the ambient unit of work; subclasses open the real ones."""

    def _open(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        raise NotImplementedError

    @asynccontextmanager
    async def _enter(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        outer = _current.get()
        if outer is not None:
            if write:
                async with outer.savepoint():
                    yield outer
            else:
                yield outer
            return
        async with self._open(write=write) as uow:
            token = _current.set(uow)
            try:
                yield uow
            finally:
                _current.reset(token)

    def begin(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self._enter(write=True)

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self._enter(write=False)

    @asynccontextmanager
    async def joining(self, uow: UnitOfWork) -> AsyncIterator[UnitOfWork]:
        """Make ``uow`` the active unit of work of this task (e.g. a consumer's batch)."""
        token = _current.set(uow)
        try:
            yield uow
        finally:
            _current.reset(token)


# --- PostgreSQL ------------------------------------------------------------------------------


class PgEvents:
    def __init__(self, conn: asyncpg.Connection, store: EventStore, registry: EventRegistry):
        self.conn, self.store, self.registry = conn, store, registry

    async def load(self, stream_ids: Sequence[str]) -> Loaded:
        # One index probe per stream, whatever the statistics: ``stream_id = ANY($1)`` (or a
        # join) on a table not analysed yet, e.g. during a fresh database's first imports, is
        # planned as a scan of the whole table, which the import's own transaction keeps
        # growing. ``OFFSET 0`` keeps the lateral subquery a per-stream lookup.
        rows = await self.conn.fetch(
            """SELECT e.stream_id, e.version, e.hash, e.event_type, e.payload
               FROM (SELECT DISTINCT unnest($1::text[]) AS id) s
               CROSS JOIN LATERAL (SELECT stream_id, version, hash, event_type, payload
                                   FROM events WHERE stream_id = s.id OFFSET 0) e
               ORDER BY e.stream_id, e.version""",
            list(stream_ids),
        )
        loaded = Loaded()
        decode = self.registry.decode
        for r in rows:
            loaded.events[r["stream_id"]].append(decode(r["event_type"], bytes(r["payload"])))
            loaded.heads[r["stream_id"]] = StreamHead(r["version"], bytes(r["hash"]))
        return loaded

    async def append(
        self, stream_id: str, head: StreamHead, events: Sequence[NewEvent]
    ) -> StreamHead:
        return await self.store.append(self.conn, stream_id, head, events)

    async def append_many(self, batches: Sequence[Batch]) -> int:
        return await self.store.append_many(self.conn, batches)

    async def heads(self, stream_ids: Sequence[str]) -> dict[str, StreamHead]:
        return await self.store.heads(self.conn, stream_ids)

    async def stored(self, stream_id: str) -> list[StoredEvent]:
        return await self.store.load(self.conn, stream_id)

    async def tag(self, tag: str, stream_ids: Sequence[str]) -> None:
        await self.conn.execute(
            """INSERT INTO stream_tags (tag, stream_id) SELECT $1, s FROM unnest($2::text[]) s
               ON CONFLICT DO NOTHING""",
            tag,
            list(stream_ids),
        )

    async def tagged(self, tag: str) -> list[tuple[IntegrationEvent, datetime]]:
        rows = await self.conn.fetch(
            """SELECT e.event_type, e.payload, e.recorded_at FROM events e
               JOIN stream_tags t ON t.stream_id = e.stream_id
               WHERE t.tag = $1 ORDER BY e.position""",
            tag,
        )
        decode = self.registry.decode
        return [(decode(r["event_type"], bytes(r["payload"])), r["recorded_at"]) for r in rows]


class PgKeys:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.store = conn, KeyStore()

    async def keys_for(self, subjects: Sequence[str]) -> dict[str, tuple[uuid.UUID, bytes]]:
        return await self.store.keys_for(self.conn, list(subjects))

    async def seal(self, subject: str, data: dict[str, Any]) -> Sealed:
        key_id, key = (await self.keys_for([subject]))[subject]
        return seal_with(key_id, key, subject, data)

    async def open(self, sealed: Sealed) -> dict[str, Any]:
        return await self.store.open(self.conn, sealed)

    async def open_many(self, sealed: Sequence[Sealed]) -> list[dict[str, Any] | None]:
        return await self.store.open_many(self.conn, sealed)

    async def erase(self, subject: str) -> bool:
        return await self.store.erase(self.conn, subject)

    async def has(self, subject: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM subject_keys WHERE subject = $1)", subject
            )
        )


class PgAnswers:
    def __init__(self, conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
        self.conn, self.pool = conn, pool

    async def claim(self, scope: str, key: str, fingerprint: str) -> Answer | None:
        # A concurrent transaction holding the same key makes this INSERT wait for its end:
        # after its commit the row is there and its answer is read; after its rollback, ours.
        claimed = await self.conn.fetchval(
            """INSERT INTO idempotency_keys (scope, key, fingerprint, status, body)
               VALUES ($1, $2, $3, 0, '{}'::jsonb) ON CONFLICT (scope, key) DO NOTHING
               RETURNING true""",
            scope,
            key,
            fingerprint,
        )
        if claimed:
            return None
        row = await self.conn.fetchrow(
            "SELECT fingerprint, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
            scope,
            key,
        )
        assert row is not None, "a key that conflicted is committed"
        return Answer(row["fingerprint"], row["status"], dict(row["body"]))

    async def remember(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        await self.conn.execute(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE scope = $1 AND key = $2",
            scope,
            key,
            status,
            json.loads(json.dumps(body)),
        )

    async def remember_refusal(
        self, scope: str, key: str, fingerprint: str, status: int, body: dict[str, Any]
    ) -> None:
        await self.pool.execute(
            """INSERT INTO idempotency_keys (scope, key, fingerprint, status, body)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING""",
            scope,
            key,
            fingerprint,
            status,
            json.loads(json.dumps(body)),
        )


class PgUnitOfWork:
    def __init__(
        self,
        conn: asyncpg.Connection,
        pool: asyncpg.Pool,
        store: EventStore,
        registry: EventRegistry,
        routes: Routes = DEVELOPMENT_ROUTES,
    ) -> None:
        self.conn = conn
        self.events: Events = PgEvents(conn, store, registry)
        self.keys: Keys = PgKeys(conn)
        self.answers: Answers = PgAnswers(conn, pool)
        self.deadlines: Deadlines = PgDeadlines(conn)
        self.notifications: Notifications = PgNotifications(conn, routes)

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        return cast(AbstractAsyncContextManager[Any], self.conn.transaction())


class PgTransactions(BaseTransactions):
    """Units of work on a pool of the service's database; ``routes`` say where a queued
    notification goes (``TONGXIN_ALERT_WEBHOOKS``)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        registry: EventRegistry,
        routes: Routes = DEVELOPMENT_ROUTES,
    ) -> None:
        self.pool, self.store, self.registry, self.routes = pool, store, registry, routes

    def on(self, conn: asyncpg.Connection) -> PgUnitOfWork:
        """A unit of work inside a transaction the caller already holds on ``conn``."""
        return PgUnitOfWork(conn, self.pool, self.store, self.registry, self.routes)

    @asynccontextmanager
    async def _open_pg(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        async with self.pool.acquire() as conn:
            if write:
                async with conn.transaction():
                    yield self.on(conn)
            else:
                yield self.on(conn)

    def _open(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        return self._open_pg(write=write)
