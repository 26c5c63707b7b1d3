"""CloudEvents 1.0 in Kafka binary mode: attributes travel as ``ce_*`` headers, data as the value.

Extension attributes used by Tongxin: ``traceparent`` (W3C trace context), ``district``,
``correlationid``, ``causationid``, and the producer store's coordinates ``streamid``,
``streamversion`` and ``position`` (consumers use stream versions to drop duplicates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """A Kafka record whose headers are not a valid Tongxin CloudEvent."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    district: str
    stream_id: str
    stream_version: int
    position: int
    dataschema: str = ""
    traceparent: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    specversion: str = SPECVERSION
    content_type: str = CONTENT_TYPE


def envelope_to_headers(env: Envelope) -> list[tuple[str, bytes]]:
    pairs = [
        ("ce_specversion", env.specversion),
        ("ce_id", env.id),
        ("ce_source", env.source),
        ("ce_type", env.type),
        ("ce_time", env.time.isoformat()),
        ("ce_subject", env.subject),
        ("content-type", env.content_type),
        ("ce_dataschema", env.dataschema),
        ("ce_district", env.district),
        ("ce_streamid", env.stream_id),
        ("ce_streamversion", str(env.stream_version)),
        ("ce_position", str(env.position)),
        ("ce_correlationid", env.correlation_id),
        ("ce_causationid", env.causation_id),
        ("traceparent", env.traceparent),
    ]
    return [(k, v.encode()) for k, v in pairs if v]


_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_streamid")


def envelope_from_headers(headers: Iterable[tuple[str, bytes]]) -> Envelope:
    """Parse the CloudEvents headers of a record; raise ``EnvelopeError`` naming what is wrong."""
    try:
        h = {k: v.decode() for k, v in headers}
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"a header is not UTF-8: {exc}") from exc
    missing = [k for k in _REQUIRED if not h.get(k)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported ce_specversion {h['ce_specversion']!r}")
    try:
        time = datetime.fromisoformat(h["ce_time"])
        version = int(h.get("ce_streamversion", "0"))
        position = int(h.get("ce_position", "0"))
    except ValueError as exc:
        raise EnvelopeError(f"bad ce_time, ce_streamversion or ce_position: {exc}") from exc
    return Envelope(
        id=h["ce_id"],
        source=h["ce_source"],
        type=h["ce_type"],
        time=time,
        subject=h.get("ce_subject", ""),
        district=h.get("ce_district", ""),
        stream_id=h["ce_streamid"],
        stream_version=version,
        position=position,
        dataschema=h.get("ce_dataschema", ""),
        traceparent=h.get("traceparent", ""),
        correlation_id=h.get("ce_correlationid", ""),
        causation_id=h.get("ce_causationid", ""),
        content_type=h.get("content-type", CONTENT_TYPE),
    )
