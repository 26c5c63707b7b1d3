"""The event store: append with optimistic concurrency, global position, per-stream hash chain.

An append is one SQL statement: it checks that the stream's head is the one the caller decided
on (version *and* hash), inserts the events and their outbox rows. No table lock: concurrent
writers of different streams never wait for each other, and a writer of the same stream either
waits for the row it conflicts with or fails with ``ConcurrencyError``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from opentelemetry import trace

from tongxin_contracts import IntegrationEvent


class ConcurrencyError(Exception):
    """Someone appended to the stream since the caller loaded it (HTTP 409 at the edge)."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is no longer at version {expected_version}: reload and retry"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class ChainBrokenError(Exception):
    """A stored event does not hash to what the chain says: the store was altered."""


@dataclass(frozen=True, slots=True)
class StreamHead:
    """Where a stream stands: its last version and that event's hash (``0``/``None``: new)."""

    version: int = 0
    hash: bytes | None = None


NEW_STREAM = StreamHead()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to be stored: the contract model plus its envelope metadata."""

    event_id: uuid.UUID
    event: IntegrationEvent
    recorded_at: datetime
    traceparent: str = ""
    correlation_id: str = ""
    causation_id: str = ""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    position: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    event_type: str
    district: str
    recorded_at: datetime
    payload: bytes
    prev_hash: bytes | None
    hash: bytes
    traceparent: str
    correlation_id: str
    causation_id: str


def encode_payload(event: IntegrationEvent) -> bytes:
    return event.model_dump_json().encode()


def event_hash(
    prev_hash: bytes | None,
    *,
    event_id: uuid.UUID,
    stream_id: str,
    version: int,
    event_type: str,
    district: str,
    recorded_at: datetime,
    payload: bytes,
) -> bytes:
    """sha256(prev_hash ‖ header ‖ payload): each event's hash covers the one before it.

    The payload is hashed as stored (ciphertext for personal data), so the chain still verifies
    after a subject's key is deleted.
    """
    h = hashlib.sha256(prev_hash or b"")
    # Each field length-prefixed, so that no two different headers hash alike.
    for field in (
        event_id.bytes,
        stream_id.encode(),
        version.to_bytes(4, "big"),
        event_type.encode(),
        district.encode(),
        _utc_iso(recorded_at).encode(),
    ):
        h.update(len(field).to_bytes(4, "big"))
        h.update(field)
    h.update(payload)
    return h.digest()


def _utc_iso(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware")
    return t.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class _Row:
    event_id: uuid.UUID
    stream_id: str
    version: int
    event_type: str
    district: str
    recorded_at: datetime
    payload: bytes
    prev_hash: bytes | None
    hash: bytes
    traceparent: str
    correlation_id: str
    causation_id: str


def chain(stream_id: str, head: StreamHead, events: Sequence[NewEvent]) -> list[_Row]:
    """Number and hash ``events`` as the continuation of the stream at ``head``."""
    rows: list[_Row] = []
    prev, version = head.hash, head.version
    for e in events:
        version += 1
        payload = encode_payload(e.event)
        district = str(getattr(e.event, "district", ""))
        h = event_hash(
            prev,
            event_id=e.event_id,
            stream_id=stream_id,
            version=version,
            event_type=e.event.ce_type(),
            district=district,
            recorded_at=e.recorded_at,
            payload=payload,
        )
        rows.append(
            _Row(
                e.event_id,
                stream_id,
                version,
                e.event.ce_type(),
                district,
                e.recorded_at,
                payload,
                prev,
                h,
                e.traceparent,
                e.correlation_id,
                e.causation_id,
            )
        )
        prev = h
    return rows


_COLUMNS = (
    "event_id, stream_id, version, event_type, district, recorded_at, payload, prev_hash, hash,"
    " traceparent, correlation_id, causation_id"
)

# One round trip: check the head, insert the events, insert their outbox rows.
_APPEND = f"""
WITH head_ok AS (
    SELECT ($2::int = 0 AND $3::bytea IS NULL)
        OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2 AND hash = $3) AS ok
), ins AS (
    INSERT INTO events ({_COLUMNS})
    SELECT r.* FROM unnest($4::uuid[], $5::text[], $6::int[], $7::text[], $8::text[],
                           $9::timestamptz[], $10::bytea[], $11::bytea[], $12::bytea[],
                           $13::text[], $14::text[], $15::text[]) AS r, head_ok
    WHERE head_ok.ok
    RETURNING position
)
INSERT INTO outbox (position, topic) SELECT position, $16 FROM ins RETURNING position
"""

# The same for one event, with plain parameters: most commands append one event, and arrays of
# one element cost encoding work on every call.
_APPEND_ONE = f"""
WITH head_ok AS (
    SELECT ($2::int = 0 AND $3::bytea IS NULL)
        OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2 AND hash = $3) AS ok
), ins AS (
    INSERT INTO events ({_COLUMNS})
    SELECT $4::uuid, $1, $5::int, $6, $7, $8::timestamptz, $9::bytea, $3::bytea, $10::bytea,
           $11, $12, $13
    FROM head_ok WHERE head_ok.ok
    RETURNING position
)
INSERT INTO outbox (position, topic) SELECT position, $14 FROM ins RETURNING position
"""


def _columns(rows: Sequence[_Row]) -> list[list[object]]:
    return [
        [r.event_id for r in rows],
        [r.stream_id for r in rows],
        [r.version for r in rows],
        [r.event_type for r in rows],
        [r.district for r in rows],
        [r.recorded_at for r in rows],
        [r.payload for r in rows],
        [r.prev_hash for r in rows],
        [r.hash for r in rows],
        [r.traceparent for r in rows],
        [r.correlation_id for r in rows],
        [r.causation_id for r in rows],
    ]


# Rows of a bulk append are COPYed here first; ON COMMIT DELETE ROWS empties it per transaction.
_STAGING = """CREATE TEMP TABLE IF NOT EXISTS staged_events (
    event_id uuid, stream_id text, version integer, event_type text, district text,
    recorded_at timestamptz, payload bytea, prev_hash bytea, hash bytea, traceparent text,
    correlation_id text, causation_id text) ON COMMIT DELETE ROWS"""

_SELECT = f"SELECT position, {_COLUMNS} FROM events"


def _stored(r: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        position=r["position"],
        event_id=r["event_id"],
        stream_id=r["stream_id"],
        version=r["version"],
        event_type=r["event_type"],
        district=r["district"],
        recorded_at=r["recorded_at"],
        payload=bytes(r["payload"]),
        prev_hash=None if r["prev_hash"] is None else bytes(r["prev_hash"]),
        hash=bytes(r["hash"]),
        traceparent=r["traceparent"],
        correlation_id=r["correlation_id"],
        causation_id=r["causation_id"],
    )


_tracer = trace.get_tracer(__name__)


def _span(events: Sequence[NewEvent], topic: str) -> trace.Span:
    """The store's write in the command's trace: how many events, of which types (never a
    stream id: it may name a person), queued in the outbox for which topic."""
    span = _tracer.start_span("append events", kind=trace.SpanKind.INTERNAL)
    span.set_attribute("tongxin.events", len(events))
    span.set_attribute("tongxin.event_types", sorted({e.event.ce_type() for e in events}))
    span.set_attribute("tongxin.outbox.topic", topic)
    return span


class EventStore:
    """A service's event store; every appended event is also queued for ``topic``. Each append
    is an ``append events`` span (its outbox rows then become the relay's ``publish`` spans)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    async def append(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        stream_id: str,
        head: StreamHead,
        events: Sequence[NewEvent],
    ) -> StreamHead:
        """Append ``events`` after ``head``; raise ``ConcurrencyError`` if the stream moved."""
        if not events:
            return head
        with trace.use_span(_span(events, self.topic), end_on_exit=True):
            return await self._append(conn, stream_id, head, events)

    async def _append(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        stream_id: str,
        head: StreamHead,
        events: Sequence[NewEvent],
    ) -> StreamHead:
        rows = chain(stream_id, head, events)
        try:
            if len(rows) == 1:
                r = rows[0]
                positions = await conn.fetch(
                    _APPEND_ONE,
                    stream_id,
                    head.version,
                    head.hash,
                    r.event_id,
                    r.version,
                    r.event_type,
                    r.district,
                    r.recorded_at,
                    r.payload,
                    r.hash,
                    r.traceparent,
                    r.correlation_id,
                    r.causation_id,
                    self.topic,
                )
            else:
                positions = await conn.fetch(
                    _APPEND, stream_id, head.version, head.hash, *_columns(rows), self.topic
                )
        except asyncpg.UniqueViolationError as exc:
            if "event_id" in str(exc.constraint_name or ""):
                raise
            raise ConcurrencyError(stream_id, head.version) from exc
        if len(positions) != len(rows):
            raise ConcurrencyError(stream_id, head.version)
        return StreamHead(rows[-1].version, rows[-1].hash)

    async def append_many(
        self,
        conn: asyncpg.Connection,
        batches: Sequence[tuple[str, StreamHead, Sequence[NewEvent]]],
    ) -> int:
        """Append to many streams in the caller's transaction (bulk imports): COPY, then insert.

        Every batch's head is checked in SQL; any stream that moved fails the whole call with
        ``ConcurrencyError`` and the caller's transaction rolls back.
        """
        events = [e for _, _, evs in batches for e in evs]
        if not events:
            return 0
        with trace.use_span(_span(events, self.topic), end_on_exit=True):
            return await self._append_many(conn, batches)

    async def _append_many(
        self,
        conn: asyncpg.Connection,
        batches: Sequence[tuple[str, StreamHead, Sequence[NewEvent]]],
    ) -> int:
        rows = [row for sid, head, evs in batches for row in chain(sid, head, evs)]
        if not rows:
            return 0
        heads = [(sid, head) for sid, head, evs in batches if evs]
        await conn.execute(_STAGING)
        # An earlier call in this transaction left its rows: TRUNCATE, not DELETE (deleted rows
        # stay in the heap until the transaction ends, and every later scan would read them).
        await conn.execute("TRUNCATE staged_events")
        await conn.copy_records_to_table(
            "staged_events",
            records=[
                (
                    r.event_id,
                    r.stream_id,
                    r.version,
                    r.event_type,
                    r.district,
                    r.recorded_at,
                    r.payload,
                    r.prev_hash,
                    r.hash,
                    r.traceparent,
                    r.correlation_id,
                    r.causation_id,
                )
                for r in rows
            ],
            columns=[c.strip() for c in _COLUMNS.split(",")],
        )
        moved = await conn.fetchval(
            """SELECT h.sid FROM unnest($1::text[], $2::int[], $3::bytea[]) AS h(sid, v, hash)
               WHERE NOT ((h.v = 0 AND h.hash IS NULL AND NOT EXISTS
                              (SELECT 1 FROM events e WHERE e.stream_id = h.sid))
                          OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = h.sid
                                     AND e.version = h.v AND e.hash = h.hash
                                     AND NOT EXISTS (SELECT 1 FROM events n
                                          WHERE n.stream_id = h.sid AND n.version = h.v + 1)))
               LIMIT 1""",
            [s for s, _ in heads],
            [h.version for _, h in heads],
            [h.hash for _, h in heads],
        )
        if moved is not None:
            head = dict(heads)[moved]
            raise ConcurrencyError(moved, head.version)
        try:
            inserted = await conn.fetchval(
                f"""WITH ins AS (
                        INSERT INTO events ({_COLUMNS})
                        SELECT {_COLUMNS} FROM staged_events ORDER BY stream_id, version
                        RETURNING position)
                    , ob AS (INSERT INTO outbox (position, topic)
                             SELECT position, $1 FROM ins RETURNING 1)
                    SELECT count(*) FROM ob""",
                self.topic,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConcurrencyError(str(exc.detail or "?"), -1) from exc
        return int(inserted)

    async def head(self, conn: asyncpg.Connection | asyncpg.Pool, stream_id: str) -> StreamHead:
        row = await conn.fetchrow(
            "SELECT version, hash FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
            stream_id,
        )
        return NEW_STREAM if row is None else StreamHead(row["version"], bytes(row["hash"]))

    async def heads(
        self, conn: asyncpg.Connection | asyncpg.Pool, stream_ids: Sequence[str]
    ) -> dict[str, StreamHead]:
        rows = await conn.fetch(
            """SELECT DISTINCT ON (stream_id) stream_id, version, hash FROM events
               WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version DESC""",
            list(stream_ids),
        )
        return {r["stream_id"]: StreamHead(r["version"], bytes(r["hash"])) for r in rows}

    async def load(
        self, conn: asyncpg.Connection | asyncpg.Pool, stream_id: str
    ) -> list[StoredEvent]:
        rows = await conn.fetch(f"{_SELECT} WHERE stream_id = $1 ORDER BY version", stream_id)
        return [_stored(r) for r in rows]

    async def read_all(
        self, conn: asyncpg.Connection, *, after: int = 0, batch: int = 5000
    ) -> AsyncIterator[StoredEvent]:
        """Every event in position order (an audit's view; the caller holds a transaction)."""
        async for r in conn.cursor(
            f"{_SELECT} WHERE position > $1 ORDER BY position", after, prefetch=batch
        ):
            yield _stored(r)


async def read_streams(conn: asyncpg.Connection) -> AsyncIterator[list[StoredEvent]]:
    """Every stream's events, one stream at a time, in (stream, version) order (for audits:
    ``verify_chain`` each one while memory holds one stream). The caller holds a transaction."""
    current: list[StoredEvent] = []
    async for r in conn.cursor(f"{_SELECT} ORDER BY stream_id, version", prefetch=5000):
        e = _stored(r)
        if current and current[0].stream_id != e.stream_id:
            yield current
            current = []
        current.append(e)
    if current:
        yield current


def verify_chain(events: Sequence[StoredEvent]) -> None:
    """Raise ``ChainBrokenError`` unless ``events`` (one stream, in version order) chain up."""
    prev: bytes | None = None
    for i, e in enumerate(events, start=1):
        if e.version != i:
            raise ChainBrokenError(f"{e.stream_id}: version {e.version} where {i} was expected")
        expected = event_hash(
            prev,
            event_id=e.event_id,
            stream_id=e.stream_id,
            version=e.version,
            event_type=e.event_type,
            district=e.district,
            recorded_at=e.recorded_at,
            payload=e.payload,
        )
        if e.prev_hash != prev or e.hash != expected:
            raise ChainBrokenError(f"{e.stream_id}: event version {e.version} does not verify")
        prev = e.hash


def now_utc() -> datetime:
    return datetime.now(UTC)
