"""FastStream is the messaging runtime: every consumer group is a FastStream batch subscriber
per topic on a ``KafkaBroker``, with the platform's exactly-once glue plugged in.

- ``AckPolicy.MANUAL`` and no auto-commit: Kafka's committed offsets are never relied on. The
  offsets live in PostgreSQL with the effects (``tongxin_platform.consumer``), and a rebalance
  ``listener`` seeks every assigned partition to them.
- A parser that reads nothing but the records (the glue peeks at a few headers and decodes the
  bodies of the types it handles), and no FastDepends validation of the batch.
- A dead-letter publisher per topic and group (``<topic>.dlq.<group>``), declared on the broker
  so the AsyncAPI document shows it.
- FastStream's OpenTelemetry middleware (a span per batch, linked to each event's trace; the
  glue adds a child span of each event's ``traceparent``) and its Prometheus middleware.
- When a batch fails for a transient reason (database or broker away), the subscriber's
  consumer is rewound to the batch and the next try waits a little longer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import Context
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord
from aiokafka import TopicPartition as AioTopicPartition
from faststream.kafka import KafkaBroker, KafkaMessage, Topic
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry

from tongxin_contracts import IntegrationEvent, dlq_topic
from tongxin_platform.exactly_once import (
    TRANSIENT,
    Consumer,
    DeadLetter,
)
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config

log = logging.getLogger(__name__)

# getmany waits up to this long for records; FastStream then sleeps as long again when none
# came, so it bounds the latency a quiet group adds to an event (and its idle wake-ups).
BATCH_TIMEOUT_MS = 10


def make_broker(
    bootstrap: str,
    *,
    service: str,
    metrics: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
    description: str = "",
) -> KafkaBroker:
    """A broker for a service's consumer groups and its dead-letter publishers."""
    middlewares: list[Any] = [KafkaTelemetryMiddleware(tracer_provider=tracer_provider)]
    if metrics is not None:
        middlewares.append(KafkaPrometheusMiddleware(registry=metrics, app_name=service))
    return KafkaBroker(
        bootstrap,
        client_id=f"tongxin-{service}",
        acks="all",
        enable_idempotence=True,
        # Topics are created explicitly, with their configs (infinite retention): subscribers
        # declare theirs with ``declare=False``, so FastStream never creates one.
        allow_auto_create_topics=True,
        apply_types=False,  # the glue decodes; FastDepends would validate every batch again
        graceful_timeout=15.0,
        middlewares=middlewares,
        log_level=logging.DEBUG,  # one line per batch is noise; failures are logged here
        description=description or f"Tongxin {service}: consumer groups and dead letters",
    )


async def ensure_dead_letter_topics(
    bootstrap: str, consumers: Sequence[Consumer], replication_factor: int = 1
) -> None:
    await ensure_topics(
        bootstrap,
        [
            TopicSpec(dlq_topic(t, c.group), 1, event_topic_config())
            for c in consumers
            for t in c.topics
        ],
        replication_factor=replication_factor,
    )


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, seek each partition to the offset stored with the group's effects."""

    def __init__(self, consumer: Consumer, kafka: Callable[[], AIOKafkaConsumer | None]) -> None:
        self.consumer, self.kafka = consumer, kafka

    async def on_partitions_revoked(self, revoked: Sequence[AioTopicPartition]) -> None:
        self.consumer.stats.assigned -= {(tp.topic, tp.partition) for tp in revoked}

    async def on_partitions_assigned(self, assigned: Sequence[AioTopicPartition]) -> None:
        kafka = self.kafka()
        if kafka is None:
            return
        try:
            stored = await self.consumer.ledgers.stored(self.consumer.group)
        except TRANSIENT as exc:
            # Reading from the start is slow but still correct: the batch's locked offset
            # drops whatever was applied already.
            log.warning(
                "%s: stored offsets unreadable (%s); from the start", self.consumer.group, exc
            )
            stored = {}
        for tp in assigned:
            at = stored.get((tp.topic, tp.partition))
            if at is None:
                await kafka.seek_to_beginning(tp)
            else:
                kafka.seek(tp, at)
        self.consumer.stats.assigned |= {(tp.topic, tp.partition) for tp in assigned}


class Publishers:
    """Dead letters through FastStream publishers, one per (topic, group)."""

    def __init__(self) -> None:
        self.by_topic: dict[tuple[str, str], Any] = {}

    async def send(self, group: str, letter: DeadLetter) -> None:
        r = letter.record
        headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
        headers.update(
            dlq_error=letter.error_text,
            dlq_error_type=type(letter.error).__name__,
            dlq_group=group,
            dlq_topic=r.topic,
            dlq_partition=str(r.partition),
            dlq_offset=str(r.offset),
            dlq_attempts=str(letter.attempts),
        )
        publisher = self.by_topic[(r.topic, group)]
        await publisher.publish(r.value or b"", key=r.key, headers=headers)
        log.error(
            "%s: dead-lettered %s[%d]@%d: %s",
            group,
            r.topic,
            r.partition,
            r.offset,
            letter.error_text,
        )


def _rewind(kafka: AIOKafkaConsumer | None, records: Sequence[ConsumerRecord]) -> None:
    """Seek each partition of a failed batch back to its first record: read it again."""
    if kafka is None:
        return
    first: dict[tuple[str, int], int] = {}
    for r in records:
        first.setdefault((r.topic, r.partition), r.offset)
    for (topic, partition), offset in first.items():
        try:
            kafka.seek(AioTopicPartition(topic, partition), offset)
        except Exception as exc:  # noqa: BLE001 - a revoked partition is the new owner's
            log.debug("rewind of %s/%d skipped: %s", topic, partition, exc)


class _Backoff:
    def __init__(self) -> None:
        self.wait = 0.0

    def next(self) -> float:
        self.wait = min(max(self.wait * 2, 0.5), 10.0)
        return self.wait

    def reset(self) -> None:
        self.wait = 0.0


def subscribe(
    broker: KafkaBroker,
    consumer: Consumer,
    *,
    types_by_topic: Mapping[str, Sequence[type[IntegrationEvent]]] | None = None,
    description: str = "",
) -> None:
    """Register ``consumer`` on ``broker``: one batch subscriber for all of the group's topics
    (one member of the group: its partitions are assigned in one go, with no second rebalance
    when another member would join), and a dead-letter publisher per topic.
    ``types_by_topic`` documents the events each topic carries to the group."""
    dead = Publishers()
    holder: dict[str, Any] = {}

    def kafka() -> AIOKafkaConsumer | None:
        sub = holder.get("sub")
        return None if sub is None else sub.consumer

    # Coroutines, with one parameter each: FastStream runs plain functions in a thread pool
    # and hands a second parameter its default parser.
    parse = _parser(kafka, live=consumer.span_per_event)
    topics = ", ".join(consumer.topics)
    sub = broker.subscriber(
        *(Topic(t, declare=False) for t in consumer.topics),
        batch=True,
        group_id=consumer.group,
        max_records=consumer.max_batch,
        batch_timeout_ms=BATCH_TIMEOUT_MS,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        ack_policy=AckPolicy.MANUAL,
        listener=SeekToStored(consumer, kafka),
        parser=parse,
        decoder=_records_of,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        title=consumer.group,
        description=description or f"Consumer group {consumer.group} reading {topics}.",
    )
    holder["sub"] = sub
    for topic in consumer.topics:
        dead.by_topic[(topic, consumer.group)] = broker.publisher(
            Topic(dlq_topic(topic, consumer.group), declare=False),
            title=f"{dlq_topic(topic, consumer.group)}:Publisher",
            description=(
                f"Dead letters of {consumer.group} from {topic}: the original value, key and "
                "headers, plus dlq_error, dlq_error_type, dlq_attempts, dlq_group, dlq_topic, "
                "dlq_partition, dlq_offset."
            ),
            schema=bytes,
        )
    types = [t for topic in consumer.topics for t in (types_by_topic or {}).get(topic, ())]
    sub(_handler(consumer, kafka, dead, types))


def _parser(
    kafka: Callable[[], AIOKafkaConsumer | None], *, live: bool
) -> Callable[[tuple[ConsumerRecord, ...]], Awaitable[KafkaMessage]]:
    async def parse(records: tuple[ConsumerRecord, ...]) -> KafkaMessage:
        # Only what FastStream's middlewares read; the glue reads the records themselves.
        first = records[0] if records else None
        return KafkaMessage(
            raw_message=records,
            body=[r.value or b"" for r in records],
            batch_headers=[_link(r) for r in records] if live else [],
            message_id=f"{first.topic}-{first.partition}-{first.offset}" if first else "",
            consumer=kafka() or _NoConsumer(),
        )

    return parse


async def _records_of(msg: KafkaMessage) -> Any:
    return msg.raw_message


def documented(types: Sequence[type[IntegrationEvent]]) -> Any:
    """``A | B | …`` of event classes, for a payload schema in the AsyncAPI document."""
    return functools.reduce(operator.or_, types)


def _link(r: ConsumerRecord) -> dict[str, str]:
    out = {"correlation_id": ""}
    for key, value in r.headers or ():
        if key == "traceparent":
            out["traceparent"] = value.decode(errors="replace")
        elif key == "ce_id":
            out["correlation_id"] = value.decode(errors="replace")
    return out


class _NoConsumer:
    async def commit(self) -> None:
        return None

    def seek(self, partition: Any, offset: int) -> None:
        return None


def _handler(
    consumer: Consumer,
    kafka: Callable[[], AIOKafkaConsumer | None],
    dead: Publishers,
    types: Sequence[type[IntegrationEvent]],
) -> Callable[[Any], Awaitable[None]]:
    backoff = _Backoff()

    async def handle(batch: Any) -> None:
        records: Sequence[ConsumerRecord] = batch
        try:
            # In a task with a context of its own: FastStream keeps the message (the whole
            # batch) in a context variable, and every timer started while the batch is handled
            # (asyncpg's idle and statement-cache timers: minutes) copies the context and would
            # keep the batch alive with it.
            await asyncio.create_task(consumer.process(records, dead), context=Context())
            backoff.reset()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            transient = isinstance(exc, TRANSIENT)
            log.log(
                logging.WARNING if transient else logging.ERROR,
                "%s: batch of %d failed (%s: %s); it will be read again",
                consumer.group,
                len(records),
                type(exc).__name__,
                exc,
                exc_info=not transient,
            )
            _rewind(kafka(), records)
            await asyncio.sleep(backoff.next())

    # The annotation documents the payload in the AsyncAPI document; nothing validates it
    # (``apply_types=False``): the glue decodes only what it handles.
    payload: Any = list[documented(types)] if types else list[bytes]  # type: ignore[misc]
    handle.__annotations__ = {"batch": payload, "return": None}
    handle.__name__ = consumer.group.replace(".", "_").replace("-", "_")
    handle.__doc__ = f"Applies batches of events as consumer group {consumer.group}."
    return handle
