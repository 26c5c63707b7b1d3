"""Exactly-once effects on at-least-once delivery: what a consumer group does with a batch.

This module knows no transport: FastStream's batch subscribers hand it their records
(``tongxin_platform.messaging``), so do the unit tests. Per batch, in one transaction of the
group's ``Ledger``:

- the stored offset of each partition is locked (``FOR UPDATE``) and records below it are
  dropped: a consumer that lost its partition in a rebalance cannot apply a batch twice, and
  Kafka's own committed offsets are never needed;
- per-(source, stream) versions drop the duplicates the outbox relay may publish after a
  failure (two services' streams may share an id, so the source is part of the key); a version
  ahead of the next expected one is skipped too: the relay sends it again after the missing one;
- only the envelope is read from every record (a few headers); bodies are decoded only for the
  event types the group handles;
- the effect, the new versions, the new offsets and the dead letters commit together.

A record that cannot be decoded, or whose effect keeps failing after ``max_attempts``, goes to
``<topic>.dlq.<group>`` with the error in headers, and the group goes on. A failure of the
database or the broker raises ``TRANSIENT`` errors to the caller, which rewinds and retries.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.util.types import Attributes

from tongxin_contracts import Envelope, EventRegistry, IntegrationEvent, envelope_from_headers
from tongxin_contracts.envelope import SPECVERSION, EnvelopeError
from tongxin_platform.telemetry import context_from_traceparent

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

# Errors after which nothing of the batch was committed and it is simply read again, later:
# the database or the broker is away, or something is wrong with the system rather than with
# the event (a missing table after a deploy, a revoked grant, a deadlock). Those must never
# send a whole topic to the dead letters; the group waits, and says so in its log, until fixed.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    KafkaError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,  # admin shutdown, query cancelled
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
    asyncpg.UndefinedFunctionError,
    asyncpg.InvalidSchemaNameError,
    asyncpg.InsufficientPrivilegeError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
)

TopicPartition = tuple[str, int]
StreamKey = tuple[str, str]  # (source, stream id)


class Message:
    """One event as a handler sees it: the decoded event and where it came from. The full
    CloudEvents envelope is parsed only when asked for."""

    __slots__ = (
        "_envelope",
        "correlation_id",
        "event",
        "headers",
        "id",
        "offset",
        "partition",
        "record",
        "source",
        "stream_id",
        "stream_version",
        "topic",
        "traceparent",
        "type",
    )

    def __init__(
        self,
        record: ConsumerRecord,
        peek: Peek,
        event: IntegrationEvent | None,
    ) -> None:
        self.record = record
        self.topic, self.partition, self.offset = record.topic, record.partition, record.offset
        self.headers: Sequence[tuple[str, bytes]] = record.headers or ()
        self.id, self.source, self.type = peek.id, peek.source, peek.type
        self.stream_id, self.stream_version = peek.stream_id, peek.stream_version
        self.traceparent, self.correlation_id = peek.traceparent, peek.correlation_id
        self.event = event
        self._envelope: Envelope | None = None

    @property
    def envelope(self) -> Envelope:
        if self._envelope is None:
            self._envelope = envelope_from_headers(self.headers)
        return self._envelope

    def span(self, group: str, *, current: bool = False) -> Any:
        """A consumer span continuing the event's own trace (its ``traceparent``)."""
        attributes: Attributes = {
            "messaging.consumer.group.name": group,
            "messaging.destination.name": self.topic,
            "messaging.kafka.offset": self.offset,
            "messaging.message.id": self.id,
        }
        start = _tracer.start_as_current_span if current else _tracer.start_span
        return start(
            f"process {self.type}",
            context=context_from_traceparent(self.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        )


@dataclass(frozen=True, slots=True)
class Peek:
    """The headers a consumer needs from every record, read without parsing the rest."""

    id: str
    source: str
    type: str
    stream_id: str
    stream_version: int
    traceparent: str
    correlation_id: str


_SPEC = SPECVERSION.encode()
_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_streamid")


def peek(headers: Iterable[tuple[str, bytes]] | None) -> Peek:
    """The envelope's identity, or ``EnvelopeError`` naming what is missing or wrong."""
    h = dict(headers or ())
    missing = [k for k in _REQUIRED if not h.get(k)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
    try:
        if h["ce_specversion"] != _SPEC:
            raise EnvelopeError(f"unsupported ce_specversion {h['ce_specversion'].decode()!r}")
        return Peek(
            h["ce_id"].decode(),
            h["ce_source"].decode(),
            h["ce_type"].decode(),
            h["ce_streamid"].decode(),
            int(h.get("ce_streamversion", b"0")),
            h.get("traceparent", b"").decode(),
            h.get("ce_correlationid", b"").decode(),
        )
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"a header is not UTF-8: {exc}") from exc
    except ValueError as exc:
        raise EnvelopeError(f"bad ce_streamversion: {exc}") from exc


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: ConsumerRecord
    error: BaseException
    attempts: int

    @property
    def error_text(self) -> str:
        return "".join(traceback.format_exception_only(self.error)).strip()[:2000]


class Ledger(Protocol):
    """A consumer group's transactional state, inside one transaction (PostgreSQL:
    ``PgLedger``; tests: ``tongxin_platform.memory``). Handlers write their effects through
    the same transaction: ``conn`` (PostgreSQL) or whatever the ledger offers."""

    conn: Any

    async def lock_offsets(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]: ...

    async def versions(self, group: str, keys: Sequence[StreamKey]) -> dict[StreamKey, int]: ...

    async def save(
        self,
        group: str,
        versions: dict[StreamKey, int],
        offsets: dict[TopicPartition, int],
        applied: dict[TopicPartition, int],
        dead: Sequence[DeadLetter],
    ) -> None: ...

    def savepoint(self) -> AbstractAsyncContextManager[Any]: ...


class Ledgers(Protocol):
    """Opens a ledger transaction; reads stored offsets outside of one (rebalances)."""

    def transaction(self) -> AbstractAsyncContextManager[Ledger]: ...

    async def stored(self, group: str) -> dict[TopicPartition, int]: ...


class DeadLetters(Protocol):
    async def send(self, group: str, letter: DeadLetter) -> None: ...


# What a group does with the events it handles: a projection folds them into its tables, a
# reaction decides and appends. Called with the batch's ledger, in its transaction.
Apply = Callable[[Ledger, Sequence[Message]], Awaitable[None]]


class HandlerFailedError(Exception):
    """Raised by an ``Apply`` that knows which message failed (counts as that one's first try)."""

    def __init__(self, message: Message, error: BaseException) -> None:
        super().__init__(f"handler failed on {message.id}: {error}")
        self.message, self.error = message, error


class _NeedsCareError(Exception):
    """A batch must be redone event by event; ``tried`` counts attempts already made."""

    def __init__(self, tried: dict[TopicPartition | tuple[str, int, int], int], error: Any):
        super().__init__("batch needs careful processing")
        self.tried, self.error = tried, error


@dataclass
class ConsumerStats:
    applied: int = 0
    skipped: int = 0  # known types the group does not handle (not decoded)
    duplicates: int = 0
    out_of_order: int = 0
    dead_lettered: int = 0
    batches: int = 0
    assigned: set[TopicPartition] = field(default_factory=set)


class Consumer:
    """One consumer group reading ``topics`` and applying ``apply`` once per event."""

    def __init__(
        self,
        *,
        group: str,
        topics: Sequence[str],
        apply: Apply,
        registry: EventRegistry,
        ledgers: Ledgers,
        handles: Callable[[str], bool] | None = None,
        max_attempts: int = 3,
        max_batch: int = 1000,
        span_per_event: bool = True,
        parallel: int = 2,
    ) -> None:
        self.group = group
        self.topics = list(topics)
        self.apply = apply
        self.registry = registry
        self.ledgers = ledgers
        self.handles = handles or (lambda _type: True)
        self.max_attempts = max_attempts
        self.max_batch = max_batch
        # Live groups continue each event's trace; a rebuild from offset 0 does not (months-old
        # traces gain nothing from it, and spans cost a third of a rebuild's time).
        self.span_per_event = span_per_event
        # Partitions of a batch applied side by side, each in its own transaction: while one
        # waits for PostgreSQL, the next is decoded and folded. Rows are written in key order,
        # so two transactions never wait for each other's rows in opposite orders.
        self.parallel = max(1, parallel)
        self.stats = ConsumerStats()

    async def process(self, records: Sequence[ConsumerRecord], dead: DeadLetters) -> None:
        """Apply a batch exactly once per partition, or raise a ``TRANSIENT`` error: what was
        not committed is read again (what was is dropped by its stored offset).

        The fast path applies a partition's records in one go; when the effect fails, they roll
        back and run again carefully: each event in a savepoint, retried, then dead-lettered."""
        if not records:
            return
        parts: dict[TopicPartition, list[ConsumerRecord]] = {}
        for r in records:
            parts.setdefault((r.topic, r.partition), []).append(r)
        if len(parts) == 1 or self.parallel == 1:
            for part in parts.values():
                await self._partition(part, dead)
            return
        gate = asyncio.Semaphore(self.parallel)

        async def one(part: list[ConsumerRecord]) -> None:
            async with gate:
                await self._partition(part, dead)

        results = await asyncio.gather(*(one(p) for p in parts.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _partition(self, records: Sequence[ConsumerRecord], dead: DeadLetters) -> None:
        try:
            await self._process(records, dead, careful=None)
        except _NeedsCareError as exc:
            log.warning("%s: %s; redoing the batch event by event", self.group, exc.error)
            await self._process(records, dead, careful=exc.tried, first_error=exc.error)
        self.stats.batches += 1

    async def _process(
        self,
        records: Sequence[ConsumerRecord],
        dead: DeadLetters,
        careful: dict[Any, int] | None,
        first_error: Any = None,
    ) -> None:
        async with self.ledgers.transaction() as tx:
            tps = sorted({(r.topic, r.partition) for r in records})
            stored = await tx.lock_offsets(self.group, tps)
            fresh = [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]
            if not fresh:
                return
            peeked: list[Peek | Exception] = []
            for r in fresh:
                try:
                    peeked.append(self._peek(r))
                except Exception as exc:  # noqa: BLE001 - any unreadable envelope is poison
                    peeked.append(exc)
            keys = sorted({(p.source, p.stream_id) for p in peeked if isinstance(p, Peek)})
            versions = await tx.versions(self.group, keys)
            changed: dict[StreamKey, int] = {}
            letters: list[DeadLetter] = []
            pending: list[Message] = []
            for record, p in zip(fresh, peeked, strict=True):
                if not isinstance(p, Peek):
                    letters.append(DeadLetter(record, p, 0))
                    continue
                key = (p.source, p.stream_id)
                last = versions.get(key, 0)
                if p.stream_version <= last:
                    self.stats.duplicates += 1
                    continue
                if p.stream_version > last + 1:
                    self.stats.out_of_order += 1
                    log.warning(
                        "%s: %s v%d arrived before v%d; waiting for the relay to resend",
                        self.group,
                        p.stream_id,
                        p.stream_version,
                        last + 1,
                    )
                    continue
                # The version is taken whatever happens next: a poison event goes to the dead
                # letters and the stream goes on after it.
                versions[key] = changed[key] = p.stream_version
                if not self.handles(p.type):
                    self.stats.skipped += 1
                    continue
                try:
                    event = self.registry.decode(p.type, record.value or b"")
                except Exception as exc:  # noqa: BLE001 - an undecodable body is poison
                    letters.append(DeadLetter(record, exc, 0))
                    continue
                pending.append(Message(record, p, event))
            if careful is None:
                await self._apply_fast(tx, pending)
            else:
                letters += await self._apply_carefully(tx, pending, careful, first_error)
            for letter in letters:
                await dead.send(self.group, letter)
            last_offsets: dict[TopicPartition, int] = {}
            counts: dict[TopicPartition, int] = {}
            for r in fresh:
                last_offsets[(r.topic, r.partition)] = r.offset + 1
            for m in pending:
                counts[(m.topic, m.partition)] = counts.get((m.topic, m.partition), 0) + 1
            await tx.save(self.group, changed, last_offsets, counts, letters)
        self.stats.dead_lettered += len(letters)

    def _peek(self, record: ConsumerRecord) -> Peek:
        p = peek(record.headers)
        self.registry.model_for(p.type)  # an unknown type is poison, handled or not
        return p

    async def _apply_fast(self, tx: Ledger, pending: list[Message]) -> None:
        if not pending:
            return
        if self.span_per_event:
            for m in pending:
                with m.span(self.group):
                    pass  # one span per event continues its trace; the work is done in one go
        try:
            await self.apply(tx, pending)
        except TRANSIENT:
            raise
        except HandlerFailedError as exc:
            m = exc.message
            raise _NeedsCareError({(m.topic, m.partition, m.offset): 1}, exc.error) from exc
        except Exception as exc:
            # The culprit is unknown: the batch's try counts as every event's first.
            raise _NeedsCareError(
                {(m.topic, m.partition, m.offset): 1 for m in pending}, exc
            ) from exc
        self.stats.applied += len(pending)

    async def _apply_carefully(
        self, tx: Ledger, pending: list[Message], tried: dict[Any, int], first: Any
    ) -> list[DeadLetter]:
        """Each event in a savepoint, retried up to ``max_attempts``, then dead-lettered."""
        letters = []
        for m in pending:
            done = tried.get((m.topic, m.partition, m.offset), 0)
            error: BaseException | None = first if done else None
            applied = False
            for attempt in range(done + 1, self.max_attempts + 1):
                try:
                    async with tx.savepoint():
                        await self.apply(tx, [m])
                    applied = True
                    break
                except TRANSIENT:
                    raise  # the connection is gone: the whole batch is replayed
                except Exception as exc:  # noqa: BLE001 - a handler error is retried, then DLQ
                    error = exc.error if isinstance(exc, HandlerFailedError) else exc
                    log.warning(
                        "%s: handler failed on %s (attempt %d/%d): %s",
                        self.group,
                        m.id,
                        attempt,
                        self.max_attempts,
                        error,
                    )
            if applied:
                self.stats.applied += 1
            else:
                failure = error or RuntimeError("the handler failed")
                letters.append(DeadLetter(m.record, failure, self.max_attempts))
        return letters


def per_message(
    handler: Callable[[Any, Message], Awaitable[None]],
) -> Apply:
    """An ``Apply`` calling ``handler(conn, message)`` for each message in order."""

    async def apply(tx: Ledger, messages: Sequence[Message]) -> None:
        for m in messages:
            try:
                await handler(tx.conn, m)
            except TRANSIENT:
                raise
            except Exception as exc:
                raise HandlerFailedError(m, exc) from exc

    return apply


# --- PostgreSQL ------------------------------------------------------------------------------


class PgLedger:
    """The ledger in the service's database (tables ``consumer_offsets``, ``consumer_streams``
    and ``dead_letters``); ``conn`` is the batch's connection, inside its transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock_offsets(
        self, group: str, tps: Sequence[TopicPartition]
    ) -> dict[TopicPartition, int]:
        # An upsert that touches the row locks it even when it is new (a plain SELECT … FOR
        # UPDATE locks nothing before the first batch); ordered, so two consumers of one group
        # in a rebalance take the locks in the same order.
        rows = await self.conn.fetch(
            """INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
               SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS x(t, p) ORDER BY t, p
               ON CONFLICT (group_id, topic, partition)
               DO UPDATE SET next_offset = consumer_offsets.next_offset
               RETURNING topic, partition, next_offset""",
            group,
            [t for t, _ in tps],
            [p for _, p in tps],
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def versions(self, group: str, keys: Sequence[StreamKey]) -> dict[StreamKey, int]:
        if not keys:
            return {}
        rows = await self.conn.fetch(
            """SELECT c.source, c.stream_id, c.version FROM consumer_streams c
               JOIN unnest($2::text[], $3::text[]) AS k(source, stream_id)
                 ON c.source = k.source AND c.stream_id = k.stream_id
               WHERE c.group_id = $1""",
            group,
            [s for s, _ in keys],
            [sid for _, sid in keys],
        )
        return {(r["source"], r["stream_id"]): r["version"] for r in rows}

    async def save(
        self,
        group: str,
        versions: dict[StreamKey, int],
        offsets: dict[TopicPartition, int],
        applied: dict[TopicPartition, int],
        dead: Sequence[DeadLetter],
    ) -> None:
        # One round trip for the versions and the offsets.
        await self.conn.execute(
            """WITH s AS (
                   INSERT INTO consumer_streams (group_id, source, stream_id, version)
                   SELECT $1, s, i, v FROM unnest($2::text[], $3::text[], $4::int[]) AS t(s, i, v)
                   ON CONFLICT (group_id, source, stream_id)
                   DO UPDATE SET version = excluded.version)
               INSERT INTO consumer_offsets AS o
                   (group_id, topic, partition, next_offset, applied, dead_lettered)
               SELECT $1, t, p, n, a, d
               FROM unnest($5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::bigint[])
                   AS x(t, p, n, a, d)
               ON CONFLICT (group_id, topic, partition) DO UPDATE
               SET next_offset = excluded.next_offset, updated_at = now(),
                   applied = o.applied + excluded.applied,
                   dead_lettered = o.dead_lettered + excluded.dead_lettered""",
            group,
            [s for s, _ in versions],
            [i for _, i in versions],
            list(versions.values()),
            [t for t, _ in offsets],
            [p for _, p in offsets],
            list(offsets.values()),
            [applied.get(tp, 0) for tp in offsets],
            [sum(1 for d in dead if (d.record.topic, d.record.partition) == tp) for tp in offsets],
        )
        if dead:
            await self.conn.executemany(
                """INSERT INTO dead_letters
                       (group_id, topic, partition, "offset", error_type, error, attempts)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (
                        group,
                        d.record.topic,
                        d.record.partition,
                        d.record.offset,
                        type(d.error).__name__,
                        d.error_text,
                        d.attempts,
                    )
                    for d in dead
                ],
            )

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        return cast(AbstractAsyncContextManager[Any], self.conn.transaction())


class PgLedgers:
    """Ledger transactions on a pool of the service's database."""

    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool  # may arrive after construction (a worker opens it on startup)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Ledger]:
        assert self.pool is not None, "the ledger's pool is not open yet"
        async with self.pool.acquire() as conn, conn.transaction():
            yield PgLedger(conn)

    def transaction(self) -> AbstractAsyncContextManager[Ledger]:
        return self._transaction()

    async def stored(self, group: str) -> dict[TopicPartition, int]:
        assert self.pool is not None, "the ledger's pool is not open yet"
        rows = await self.pool.fetch(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1",
            group,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
