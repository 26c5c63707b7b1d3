"""Tongxin integration events: the single source of truth for what travels on Kafka.

A subscriber installs this package and gets typed events::

    from tongxin_contracts import default_registry, envelope_from_headers
    envelope = envelope_from_headers(record.headers)
    event = default_registry().decode(envelope.type, record.value)
"""

from tongxin_contracts.base import IntegrationEvent, Sealed
from tongxin_contracts.catalog import default_registry
from tongxin_contracts.envelope import Envelope, envelope_from_headers, envelope_to_headers
from tongxin_contracts.registry import EventRegistry, UnknownEventTypeError
from tongxin_contracts.topics import TOPICS, dlq_topic

__all__ = [
    "TOPICS",
    "Envelope",
    "EventRegistry",
    "IntegrationEvent",
    "Sealed",
    "UnknownEventTypeError",
    "default_registry",
    "dlq_topic",
    "envelope_from_headers",
    "envelope_to_headers",
]
