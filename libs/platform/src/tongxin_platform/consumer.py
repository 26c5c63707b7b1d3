"""The consumer runtime: exactly-once effects on at-least-once delivery.

- Offsets live in PostgreSQL (``consumer_offsets``), written in the same transaction as the
  handler's effects, and the consumer seeks to them whenever partitions are assigned. Kafka's own
  committed offsets are never used, so a crash anywhere replays at most the uncommitted batch,
  whose effects rolled back with it.
- The stored offset row is locked (``FOR UPDATE``) for the batch, and messages below it are
  skipped: a consumer that lost its partition in a rebalance cannot apply a batch twice.
- Per-stream versions (``consumer_streams``) drop duplicates the outbox relay may publish after a
  failure; a version ahead of the next expected one is skipped too: the relay sends it again
  after the missing one.
- A message that cannot be decoded, or whose handler keeps failing after ``max_attempts``, goes to
  ``<topic>.dlq.<group>`` with the error in headers, and the consumer goes on.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from opentelemetry import trace

from tongxin_contracts import (
    Envelope,
    EventRegistry,
    IntegrationEvent,
    dlq_topic,
    envelope_from_headers,
)
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config, reliable_producer
from tongxin_platform.telemetry import context_from_traceparent

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded event as a handler sees it."""

    envelope: Envelope
    event: IntegrationEvent
    topic: str
    partition: int
    offset: int


Handler = Callable[[asyncpg.Connection, Message], Awaitable[None]]
# Optional: applies a whole batch's messages in order (e.g. pipelined ``executemany``). When it
# fails, the batch is redone message by message with ``Handler``.
BatchHandler = Callable[[asyncpg.Connection, Sequence[Message]], Awaitable[None]]


class _NeedsCareError(Exception):
    """A batch must be redone with savepoints; ``tried`` counts attempts already made per offset."""

    def __init__(self, tried: dict[int, int], error: Exception | None = None) -> None:
        super().__init__("batch needs careful processing")
        self.tried = tried
        self.error = error


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    dead_lettered: int = 0
    batches: int = 0
    assigned: set[TopicPartition] = field(default_factory=set)


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runtime: ConsumerRuntime) -> None:
        self.runtime = runtime

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.runtime.stats.assigned -= set(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        await self.runtime.seek_to_stored(list(assigned))


class ConsumerRuntime:
    """Consumes ``topics`` as consumer group ``group`` and applies ``handler`` once per event."""

    def __init__(
        self,
        *,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        registry: EventRegistry,
        pool: asyncpg.Pool,
        bootstrap: str,
        max_attempts: int = 3,
        max_batch: int = 1000,
        search_path: str | None = None,
        replication_factor: int = 1,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.group = group
        self.topics = list(topics)
        self.handler = handler
        self.batch_handler = batch_handler
        self.registry = registry
        self.pool = pool
        self.bootstrap = bootstrap
        self.max_attempts = max_attempts
        self.max_batch = max_batch
        self.search_path = search_path
        self.replication_factor = replication_factor
        self.stats = ConsumerStats()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stop = asyncio.Event()
        self._fast_error: Exception | None = None

    def stop(self) -> None:
        self._stop.set()

    async def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        assert self._consumer is not None
        rows = await self.pool.fetch(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1",
            self.group,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        for tp in partitions:
            if tp in stored:
                self._consumer.seek(tp, stored[tp])
            else:
                await self._consumer.seek_to_beginning(tp)
        self.stats.assigned |= set(partitions)

    async def run(self) -> None:
        """Consume until ``stop()``; a failed batch is retried from the stored offsets."""
        await ensure_topics(
            self.bootstrap,
            [TopicSpec(dlq_topic(t, self.group), 1, event_topic_config()) for t in self.topics],
            replication_factor=self.replication_factor,
        )
        self._dlq = reliable_producer(self.bootstrap)
        await self._dlq.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.max_batch,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self))
        await self._consumer.start()
        try:
            while not self._stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self.max_batch)
                for tp, records in batches.items():
                    if self._stop.is_set():
                        break
                    try:
                        await self._process(tp, records)
                    except (
                        OSError,
                        KafkaError,
                        asyncpg.PostgresError,
                        asyncpg.InterfaceError,
                    ) as exc:
                        # Database or dead-letter producer unavailable: nothing of the batch was
                        # committed, so it is simply read again from the stored offsets.
                        log.warning(
                            "%s: batch on %s failed (%s); replaying it", self.group, tp, exc
                        )
                        await asyncio.sleep(0.5)
                        await self.seek_to_stored([tp])
        finally:
            await self._consumer.stop()
            await self._dlq.stop()

    async def _process(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Apply a batch in one transaction. Handlers run without savepoints (two round trips
        fewer per event); when one fails, the batch rolls back and runs again carefully: each
        handler in a savepoint, retried, then dead-lettered."""
        try:
            await self._process_batch(tp, records, careful=None)
        except _NeedsCareError as exc:
            self._fast_error = exc.error
            await self._process_batch(tp, records, careful=exc.tried)

    async def _process_batch(
        self, tp: TopicPartition, records: list[ConsumerRecord], careful: dict[int, int] | None
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if self.search_path:
                await conn.execute(f"SET LOCAL search_path TO {self.search_path}, public")
            stored = await conn.fetchval(
                """SELECT next_offset FROM consumer_offsets
                   WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE""",
                self.group,
                tp.topic,
                tp.partition,
            )
            records = [r for r in records if stored is None or r.offset >= stored]
            if not records:
                return
            decoded = [self._decode(r) for r in records]
            if careful is None and not all(isinstance(d, tuple) for d in decoded):
                raise _NeedsCareError({})  # poison inside: dead letters only in careful mode
            streams = {d[0].stream_id for d in decoded if isinstance(d, tuple)}
            versions: dict[str, int] = {
                r["stream_id"]: r["version"]
                for r in await conn.fetch(
                    """SELECT stream_id, version FROM consumer_streams
                       WHERE group_id = $1 AND stream_id = ANY($2::text[])""",
                    self.group,
                    list(streams),
                )
            }
            changed: dict[str, int] = {}
            pending: list[tuple[ConsumerRecord, Message]] = []
            for record, item in zip(records, decoded, strict=True):
                if not isinstance(item, tuple):
                    await self._dead_letter(record, item, attempts=0)
                    continue
                envelope, event = item
                last = versions.get(envelope.stream_id, 0)
                if envelope.stream_version <= last:
                    self.stats.duplicates += 1
                    continue
                if envelope.stream_version > last + 1:
                    self.stats.out_of_order += 1
                    log.warning(
                        "%s: %s v%d arrived before v%d; waiting for the relay to resend",
                        self.group,
                        envelope.stream_id,
                        envelope.stream_version,
                        last + 1,
                    )
                    continue
                message = Message(envelope, event, record.topic, record.partition, record.offset)
                if careful is None and self.batch_handler is not None:
                    pending.append((record, message))
                elif careful is None:
                    await self._apply_fast(conn, record, message)
                else:
                    await self._apply(conn, record, message, careful.get(record.offset, 0))
                versions[envelope.stream_id] = changed[envelope.stream_id] = envelope.stream_version
            if pending:
                await self._apply_batch_fast(conn, pending)
            if changed:
                await conn.execute(
                    """INSERT INTO consumer_streams (group_id, stream_id, version)
                       SELECT $1, s, v FROM unnest($2::text[], $3::int[]) AS t(s, v)
                       ON CONFLICT (group_id, stream_id)
                       DO UPDATE SET version = excluded.version""",
                    self.group,
                    list(changed),
                    list(changed.values()),
                )
            await conn.execute(
                """INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (group_id, topic, partition)
                   DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()""",
                self.group,
                tp.topic,
                tp.partition,
                records[-1].offset + 1,
            )
        self.stats.batches += 1

    def _decode(self, record: ConsumerRecord) -> tuple[Envelope, IntegrationEvent] | Exception:
        try:
            envelope = envelope_from_headers(record.headers or ())
            return envelope, self.registry.decode(envelope.type, record.value or b"")
        except Exception as exc:  # noqa: BLE001 - any decoding failure makes the record poison
            return exc

    def _span(self, record: ConsumerRecord, message: Message) -> Any:
        return _tracer.start_as_current_span(
            f"process {message.envelope.type}",
            context=context_from_traceparent(message.envelope.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.consumer.group.name": self.group,
                "messaging.destination.name": record.topic,
                "messaging.kafka.offset": record.offset,
            },
        )

    async def _apply_fast(
        self, conn: asyncpg.Connection, record: ConsumerRecord, message: Message
    ) -> None:
        with self._span(record, message):
            try:
                await self.handler(conn, message)
            except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                raise
            except Exception as exc:
                log.warning(
                    "%s: handler failed on %s: %s; redoing the batch with savepoints",
                    self.group,
                    message.envelope.id,
                    exc,
                )
                raise _NeedsCareError({record.offset: 1}, exc) from exc
        self.stats.applied += 1

    async def _apply_batch_fast(
        self, conn: asyncpg.Connection, pending: list[tuple[ConsumerRecord, Message]]
    ) -> None:
        assert self.batch_handler is not None
        for record, message in pending:
            with self._span(record, message):
                pass  # one span per event continues its trace; the work is done in one go
        try:
            await self.batch_handler(conn, [m for _, m in pending])
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            raise
        except Exception as exc:
            log.warning(
                "%s: batch handler failed: %s; redoing the batch one by one", self.group, exc
            )
            raise _NeedsCareError({}) from exc
        self.stats.applied += len(pending)

    async def _apply(
        self, conn: asyncpg.Connection, record: ConsumerRecord, message: Message, tried: int
    ) -> None:
        """Run the handler in a savepoint; retry it, then dead-letter it."""
        error: Exception | None = self._fast_error if tried else None
        for attempt in range(tried + 1, self.max_attempts + 1):
            with self._span(record, message):
                try:
                    async with conn.transaction():
                        await self.handler(conn, message)
                    self.stats.applied += 1
                    return
                except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                    raise  # the connection is gone: the whole batch is replayed
                except Exception as exc:  # noqa: BLE001 - a handler error is retried, then DLQ
                    error = exc
                    log.warning(
                        "%s: handler failed on %s (attempt %d/%d): %s",
                        self.group,
                        message.envelope.id,
                        attempt,
                        self.max_attempts,
                        exc,
                    )
        assert error is not None
        await self._dead_letter(record, error, attempts=self.max_attempts)

    async def _dead_letter(
        self, record: ConsumerRecord, error: Exception, *, attempts: int
    ) -> None:
        assert self._dlq is not None
        detail = "".join(traceback.format_exception_only(error)).strip()[:2000]
        headers = [
            *(record.headers or ()),
            ("dlq_error", detail.encode()),
            ("dlq_error_type", type(error).__name__.encode()),
            ("dlq_group", self.group.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        await self._dlq.send_and_wait(
            dlq_topic(record.topic, self.group),
            value=record.value,
            key=record.key,
            headers=headers,
        )
        self.stats.dead_lettered += 1
        log.error(
            "%s: dead-lettered %s[%d]@%d: %s",
            self.group,
            record.topic,
            record.partition,
            record.offset,
            detail,
        )
