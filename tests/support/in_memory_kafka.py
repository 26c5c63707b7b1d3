"""FastStream's in-memory ``TestKafkaBroker`` with records numbered as Kafka numbers them, and
records made the way the outbox relay makes them.

``TestKafkaBroker`` builds every record with offset 0. The consumer glue stores the next offset
with its effects and drops records below it, so after the first record every other one would
look applied already. ``numbered_offsets()`` patches the builder so that each record produced
to a (topic, partition) takes the next offset there, and keeps what was produced, per topic.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import faststream.kafka.testing as kafka_testing
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage

from tongxin_contracts import IntegrationEvent
from tongxin_platform.eventstore import encode_payload
from tongxin_platform.outbox import record_headers


class Produced:
    """Every record produced while patched, in order, with the offset it was given."""

    def __init__(self) -> None:
        self.records: list[ConsumerRecord] = []

    def on(self, topic: str) -> list[ConsumerRecord]:
        return [r for r in self.records if r.topic == topic]

    def headers(self, topic: str) -> list[dict[str, str]]:
        return [{k: v.decode() for k, v in r.headers} for r in self.on(topic)]


@contextmanager
def numbered_offsets() -> Iterator[Produced]:
    produced = Produced()
    next_offset: dict[tuple[str, int], int] = defaultdict(int)
    original = kafka_testing.build_message

    async def build_message(*args: Any, **kwargs: Any) -> ConsumerRecord:
        record = await original(*args, **kwargs)
        # A produced record is built with its partition (``None``: the default one); the
        # handler's reply that FastStream builds after processing is not, and goes nowhere.
        if "partition" not in kwargs:
            return record
        tp = (record.topic, record.partition)
        record = dataclasses.replace(record, offset=next_offset[tp])
        next_offset[tp] += 1
        produced.records.append(record)
        return record

    with mock.patch.object(kafka_testing, "build_message", build_message):
        yield produced


def take_as_is(broker: KafkaBroker, topic: str) -> None:
    """Subscribe a witness taking the records of ``topic`` as bytes. Under the test broker a
    publisher's messages are decoded by whoever subscribes to its topic (a stand-in decodes by
    content-type), and a dead letter keeps its original's ``content-type: application/json``
    whatever its body: ``{not json`` would fail the publish, which real Kafka never does."""

    async def as_is(message: KafkaMessage) -> Any:
        return message.body

    async def witness(body: bytes) -> None:
        return None

    broker.subscriber(topic, group_id="tests.witness", decoder=as_is)(witness)


@dataclasses.dataclass(frozen=True)
class Relayed:
    """What the outbox relay sends for one stored event: value, key and CloudEvents headers
    (as ``str`` values, which is what FastStream's ``publish`` takes)."""

    value: bytes
    key: bytes
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.headers["ce_id"]


_positions = iter(range(1, 10**9))


def relayed(
    event: IntegrationEvent,
    version: int,
    *,
    service: str,
    stream_id: str | None = None,
    event_id: uuid.UUID | None = None,
    correlation_id: str = "",
    causation_id: str = "",
    recorded_at: datetime | None = None,
) -> Relayed:
    """The record the relay of ``service`` publishes for ``event``, version ``version`` of its
    stream (``stream_id``: the event's aggregate by default)."""
    stream = stream_id or event.aggregate_id()
    row = {
        "event_id": event_id or uuid.uuid4(),
        "event_type": event.ce_type(),
        "recorded_at": recorded_at or datetime(2026, 10, 15, 2, 0, tzinfo=UTC),
        "stream_id": stream,
        "district": str(getattr(event, "district", "")),
        "version": version,
        "position": next(_positions),
        "traceparent": "",
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }
    headers = {k: v.decode() for k, v in record_headers(service, row)}
    return Relayed(encode_payload(event), stream.encode(), headers)
