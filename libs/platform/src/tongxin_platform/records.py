"""What a consumer reads from a Kafka record: a few CloudEvents headers (``peek``), the decoded
event for the types it handles (``Message``), or the record itself as a dead letter."""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.util.types import Attributes

from tongxin_contracts import Envelope, IntegrationEvent, envelope_from_headers
from tongxin_contracts.envelope import SPECVERSION, EnvelopeError
from tongxin_platform.telemetry import context_from_traceparent

_tracer = trace.get_tracer(__name__)

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
