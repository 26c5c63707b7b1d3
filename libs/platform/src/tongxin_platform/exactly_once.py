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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from tongxin_contracts import EventRegistry
from tongxin_platform.ledger import DeadLetters, Ledger, Ledgers, PgLedger, PgLedgers
from tongxin_platform.records import (
    DeadLetter,
    Message,
    Peek,
    StreamKey,
    TopicPartition,
    peek,
)

__all__ = [
    "TRANSIENT",
    "Apply",
    "Consumer",
    "ConsumerStats",
    "DeadLetter",
    "DeadLetters",
    "HandlerFailedError",
    "Ledger",
    "Ledgers",
    "Message",
    "PgLedger",
    "PgLedgers",
    "StreamKey",
    "TopicPartition",
    "per_message",
]

log = logging.getLogger(__name__)

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
