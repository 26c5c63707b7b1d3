"""An in-memory stand-in for a service's database, for unit tests: the event store (same hash
chain, same concurrency rule), subject keys, tags, idempotency answers, a consumer group's
ledger and projection tables. One transaction at a time; a failed one leaves nothing behind.

Not a second implementation to trust: the same tests run against PostgreSQL in the integration
tier. It lets command handlers, projections and reactions be tested in microseconds.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tongxin_contracts import EventRegistry, IntegrationEvent, Sealed
from tongxin_platform.crypto import SubjectErasedError, open_with, seal_with
from tongxin_platform.deadline_store import Deadlines, Due
from tongxin_platform.eventstore import (
    ConcurrencyError,
    NewEvent,
    StoredEvent,
    StreamHead,
    chain,
)
from tongxin_platform.exactly_once import DeadLetter, Ledger, StreamKey, TopicPartition
from tongxin_platform.notify import Notice, Notifications
from tongxin_platform.projection import Add, Changes, Greatest, Table
from tongxin_platform.tables import greatest
from tongxin_platform.uow import (
    Answer,
    Answers,
    BaseTransactions,
    Batch,
    Events,
    Keys,
    Loaded,
    UnitOfWork,
)


@dataclass
class MemoryState:
    events: list[StoredEvent] = field(default_factory=list)
    keys: dict[str, tuple[uuid.UUID, bytes]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    offsets: dict[tuple[str, str, int], int] = field(default_factory=dict)
    versions: dict[tuple[str, str, str], int] = field(default_factory=dict)
    dead_letters: list[tuple[str, DeadLetter]] = field(default_factory=list)
    # "schema.table" → key → row
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    deadlines: dict[tuple[str, str], Due] = field(default_factory=dict)  # (kind, key) → row
    notices: dict[str, Notice] = field(default_factory=dict)  # key → the notice queued

    def copy(self) -> MemoryState:
        """A copy deep enough that changing either leaves the other as it was."""
        return MemoryState(
            list(self.events),
            dict(self.keys),
            {t: list(s) for t, s in self.tags.items()},
            {
                k: Answer(a.fingerprint, a.status, copy.deepcopy(a.body))
                for k, a in self.answers.items()
            },
            dict(self.offsets),
            dict(self.versions),
            list(self.dead_letters),
            {t: {k: dict(row) for k, row in rows.items()} for t, rows in self.tables.items()},
            dict(self.deadlines),
            dict(self.notices),
        )

    def restore(self, snapshot: MemoryState) -> None:
        self.__dict__.update(snapshot.__dict__)


class MemoryDatabase:
    """What a test inspects: ``state`` after the transactions it ran."""

    def __init__(self, registry: EventRegistry, topic: str = "memory.events") -> None:
        self.registry, self.topic = registry, topic
        self.state = MemoryState()
        self._lock = asyncio.Lock()

    def published(self) -> list[IntegrationEvent]:
        """Every stored event, decoded, in position order (what the outbox would publish)."""
        return [self.registry.decode(e.event_type, e.payload) for e in self.state.events]

    def stored(self) -> list[StoredEvent]:
        return list(self.state.events)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryState]:
        async with self._lock:
            snapshot = self.state.copy()
            try:
                yield self.state
            except BaseException:
                self.state.restore(snapshot)
                raise

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        snapshot = self.state.copy()
        try:
            yield
        except BaseException:
            self.state.restore(snapshot)
            raise


# --- units of work ---------------------------------------------------------------------------


class MemoryEvents:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def _stream(self, stream_id: str) -> list[StoredEvent]:
        return [e for e in self.db.state.events if e.stream_id == stream_id]

    async def load(self, stream_ids: Sequence[str]) -> Loaded:
        loaded = Loaded()
        for sid in stream_ids:
            for e in self._stream(sid):
                loaded.events[sid].append(self.db.registry.decode(e.event_type, e.payload))
                loaded.heads[sid] = StreamHead(e.version, e.hash)
        return loaded

    async def heads(self, stream_ids: Sequence[str]) -> dict[str, StreamHead]:
        out = {}
        for sid in stream_ids:
            if events := self._stream(sid):
                out[sid] = StreamHead(events[-1].version, events[-1].hash)
        return out

    async def stored(self, stream_id: str) -> list[StoredEvent]:
        return self._stream(stream_id)

    async def append(
        self, stream_id: str, head: StreamHead, events: Sequence[NewEvent]
    ) -> StreamHead:
        if not events:
            return head
        current = (await self.heads([stream_id])).get(stream_id, StreamHead())
        if current != head:
            raise ConcurrencyError(stream_id, head.version)
        ids = {e.event_id for e in self.db.state.events}
        for row in chain(stream_id, head, events):
            if row.event_id in ids:
                raise ValueError(f"event {row.event_id} stored twice")
            self.db.state.events.append(
                StoredEvent(
                    len(self.db.state.events) + 1,
                    row.event_id,
                    row.stream_id,
                    row.version,
                    row.event_type,
                    row.district,
                    row.recorded_at,
                    row.payload,
                    row.prev_hash,
                    row.hash,
                    row.traceparent,
                    row.correlation_id,
                    row.causation_id,
                )
            )
        last = self.db.state.events[-1]
        return StreamHead(last.version, last.hash)

    async def append_many(self, batches: Sequence[Batch]) -> int:
        n = 0
        for stream_id, head, events in batches:
            await self.append(stream_id, head, events)
            n += len(events)
        return n

    async def tag(self, tag: str, stream_ids: Sequence[str]) -> None:
        tagged = self.db.state.tags.setdefault(tag, [])
        tagged += [s for s in stream_ids if s not in tagged]

    async def tagged(self, tag: str) -> list[tuple[IntegrationEvent, datetime]]:
        streams = set(self.db.state.tags.get(tag, ()))
        decode = self.db.registry.decode
        return [
            (decode(e.event_type, e.payload), e.recorded_at)
            for e in self.db.state.events
            if e.stream_id in streams
        ]


class MemoryKeys:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    async def keys_for(self, subjects: Sequence[str]) -> dict[str, tuple[uuid.UUID, bytes]]:
        keys = self.db.state.keys
        for s in subjects:
            keys.setdefault(s, (uuid.uuid4(), os.urandom(32)))
        return {s: keys[s] for s in subjects}

    async def seal(self, subject: str, data: dict[str, Any]) -> Sealed:
        key_id, key = (await self.keys_for([subject]))[subject]
        return seal_with(key_id, key, subject, data)

    async def open(self, sealed: Sealed) -> dict[str, Any]:
        for key_id, key in self.db.state.keys.values():
            if str(key_id) == sealed.key_id:
                return open_with(key, sealed)
        raise SubjectErasedError(f"subject {sealed.subject} has been erased")

    async def open_many(self, sealed: Sequence[Sealed]) -> list[dict[str, Any] | None]:
        keys = {str(key_id): key for key_id, key in self.db.state.keys.values()}
        return [open_with(keys[s.key_id], s) if s.key_id in keys else None for s in sealed]

    async def erase(self, subject: str) -> bool:
        return self.db.state.keys.pop(subject, None) is not None

    async def has(self, subject: str) -> bool:
        return subject in self.db.state.keys


class MemoryAnswers:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    async def claim(self, scope: str, key: str, fingerprint: str) -> Answer | None:
        found = self.db.state.answers.get((scope, key))
        if found is None:
            self.db.state.answers[(scope, key)] = Answer(fingerprint, 0, {})
        return found

    async def remember(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        fp = self.db.state.answers[(scope, key)].fingerprint
        self.db.state.answers[(scope, key)] = Answer(fp, status, copy.deepcopy(body))

    async def remember_refusal(
        self, scope: str, key: str, fingerprint: str, status: int, body: dict[str, Any]
    ) -> None:
        self.db.state.answers.setdefault((scope, key), Answer(fingerprint, status, body))


class MemoryDeadlines:
    """Deadline rows in ``state.deadlines``; claimed rows are not locked (one transaction at a
    time)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    async def set(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
        *,
        move: bool = False,
    ) -> bool:
        rows = self.db.state.deadlines
        found = rows.get((kind, key))
        if found is not None and (not move or found.fired_at is not None):
            return False
        rows[(kind, key)] = Due(kind, key, due_at, copy.deepcopy(dict(payload or {})))
        return True

    async def cancel(self, kind: str, key: str) -> bool:
        found = self.db.state.deadlines.get((kind, key))
        if found is None or found.fired_at is not None:
            return False
        del self.db.state.deadlines[(kind, key)]
        return True

    async def get(self, kind: str, key: str) -> Due | None:
        return self.db.state.deadlines.get((kind, key))

    async def claim_due(self, now: datetime, kinds: Sequence[str], limit: int) -> list[Due]:
        due = [
            d
            for d in self.db.state.deadlines.values()
            if d.fired_at is None and d.due_at <= now and d.kind in kinds
        ]
        return sorted(due, key=lambda d: d.due_at)[:limit]

    async def mark_fired(self, kind: str, key: str, now: datetime) -> None:
        rows = self.db.state.deadlines
        rows[(kind, key)] = replace(rows[(kind, key)], fired_at=now)

    async def mark_failed(self, kind: str, key: str, error: str) -> None:
        rows = self.db.state.deadlines
        d = rows[(kind, key)]
        rows[(kind, key)] = replace(d, attempts=d.attempts + 1, last_error=error)


class MemoryNotifications:
    """The notices queued, by key, in ``state.notices`` (delivery is the integration tier's)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    async def enqueue(self, notice: Notice) -> int:
        if notice.key in self.db.state.notices:
            return 0
        self.db.state.notices[notice.key] = notice
        return 1


class MemoryUnitOfWork:
    conn = None

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.events: Events = MemoryEvents(db)
        self.keys: Keys = MemoryKeys(db)
        self.answers: Answers = MemoryAnswers(db)
        self.deadlines: Deadlines = MemoryDeadlines(db)
        self.notifications: Notifications = MemoryNotifications(db)

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        return self.db.savepoint()


class MemoryTransactions(BaseTransactions):
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    @asynccontextmanager
    async def _open_memory(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        if write:
            async with self.db.transaction():
                yield MemoryUnitOfWork(self.db)
        else:
            yield MemoryUnitOfWork(self.db)

    def _open(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        return self._open_memory(write=write)


# --- consumer ledger and projection tables ---------------------------------------------------


class MemoryTables:
    """Projection tables as dicts of rows; the ``conn`` a projection writes through."""

    def __init__(self, db: MemoryDatabase, tables: dict[str, Table]) -> None:
        self.db, self.tables = db, tables

    def rows(self, schema: str, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        return self.db.state.tables.setdefault(f"{schema}.{table}", {})

    def apply_changes(self, schema: str, changes: Changes) -> None:
        changes.statements(schema)  # the same checks as on PostgreSQL (columns, keys)
        for name, key, op in changes.rows():
            table, rows = self.tables[name], self.rows(schema, name)
            if op.kind == "delete":
                rows.pop(key, None)
            elif op.kind == "upsert" and key not in rows:
                row = {c: _default(table.type_of(c), d) for c, d in table.columns.items()}
                row.update(zip(table.key, key, strict=True))
                row.update(op.cols)
                rows[key] = row
            elif key in rows:
                _update(rows[key], op.cols)


def _update(row: dict[str, Any], cols: dict[str, Any]) -> None:
    for col, value in cols.items():
        if isinstance(value, Add):
            row[col] = (row[col] or 0) + value.n
        elif isinstance(value, Greatest):
            row[col] = greatest(row[col], value.value)
        else:
            row[col] = value


def _default(kind: str, declaration: str) -> Any:
    """The value PostgreSQL gives a column from its ``DEFAULT`` (the few literals used here)."""
    found = re.search(r"DEFAULT\s+('[^']*'|\S+)", declaration)
    if not found:
        return None
    literal = found.group(1).split("::")[0]
    if literal.startswith("'") and kind in ("jsonb", "json"):
        return json.loads(literal.strip("'"))
    if literal == "'{}'" and kind.endswith("[]"):
        return []
    if literal in ("true", "false"):
        return literal == "true"
    if literal.lstrip("-").isdigit():
        return int(literal)
    return literal.strip("'")


class MemoryLedger:
    def __init__(self, db: MemoryDatabase, conn: Any) -> None:
        self.db, self.conn = db, conn

    async def lock_offsets(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return {tp: self.db.state.offsets.get((group, *tp), 0) for tp in tps}

    async def versions(self, group: str, keys: Sequence[StreamKey]) -> dict[StreamKey, int]:
        found = self.db.state.versions
        return {k: found[(group, *k)] for k in keys if (group, *k) in found}

    async def save(
        self,
        group: str,
        versions: dict[StreamKey, int],
        offsets: dict[TopicPartition, int],
        applied: dict[TopicPartition, int],
        dead: Sequence[DeadLetter],
    ) -> None:
        for (source, stream), v in versions.items():
            self.db.state.versions[(group, source, stream)] = v
        for (topic, partition), n in offsets.items():
            self.db.state.offsets[(group, topic, partition)] = n
        self.db.state.dead_letters += [(group, d) for d in dead]

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        return self.db.savepoint()


class MemoryLedgers:
    """Ledger transactions in memory; ``conn`` is whatever the group's handler writes through
    (``MemoryTables`` for a projection)."""

    def __init__(self, db: MemoryDatabase, conn: Any = None) -> None:
        self.db, self.conn = db, conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Ledger]:
        async with self.db.transaction():
            yield MemoryLedger(self.db, self.conn)

    def transaction(self) -> AbstractAsyncContextManager[Ledger]:
        return self._transaction()

    async def stored(self, group: str) -> dict[TopicPartition, int]:
        return {(t, p): n for (g, t, p), n in self.db.state.offsets.items() if g == group}


class CollectedDeadLetters:
    """Dead letters kept in a list, for tests that run a consumer without Kafka."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, DeadLetter]] = []

    async def send(self, group: str, letter: DeadLetter) -> None:
        self.letters.append((group, letter))
