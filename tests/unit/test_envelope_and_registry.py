"""CloudEvents binary-mode headers round-trip; the event registry decodes and upcasts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import Field

from tongxin_contracts import (
    Envelope,
    EventRegistry,
    IntegrationEvent,
    UnknownEventTypeError,
    default_registry,
    envelope_from_headers,
    envelope_to_headers,
)
from tongxin_contracts.envelope import EnvelopeError
from tongxin_contracts.registry import EventDecodeError


def test_envelope_round_trips_through_kafka_headers() -> None:
    env = Envelope(
        id="e1",
        source="/tongxin/registry",
        type="cn.tongxin.registry.StudentLeft.v1",
        time=datetime(2026, 11, 22, 8, 30, tzinfo=UTC),
        subject="student-x",
        district="330106",
        stream_id="student-x",
        stream_version=3,
        position=42,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        correlation_id="c1",
    )
    headers = envelope_to_headers(env)
    assert ("ce_specversion", b"1.0") in headers
    assert envelope_from_headers(headers) == env


def test_missing_ce_type_is_an_envelope_error_naming_it() -> None:
    with pytest.raises(EnvelopeError, match="ce_type"):
        envelope_from_headers([("ce_specversion", b"1.0"), ("ce_id", b"x")])


class _V2(IntegrationEvent):
    service: ClassVar[str] = "demo"
    name: ClassVar[str] = "Thing"
    version: ClassVar[int] = 2
    title: str = Field(description="Renamed from 'label' in v2.")


def test_an_old_payload_is_upcast_to_the_current_version() -> None:
    registry = EventRegistry([_V2])

    @registry.upcaster("demo", "Thing", 1)
    def rename(data: dict[str, object]) -> dict[str, object]:
        return {"title": data["label"]}

    event = registry.decode("cn.tongxin.demo.Thing.v1", json.dumps({"label": "x"}))
    assert event == _V2(title="x")


def test_a_version_newer_than_the_contracts_is_refused() -> None:
    with pytest.raises(UnknownEventTypeError, match="newer"):
        EventRegistry([_V2]).decode("cn.tongxin.demo.Thing.v3", b"{}")


def test_unknown_types_and_bad_bodies_are_refused_clearly() -> None:
    registry = default_registry()
    with pytest.raises(UnknownEventTypeError):
        registry.decode("cn.tongxin.registry.StudentVanished.v1", b"{}")
    with pytest.raises(UnknownEventTypeError):
        registry.decode("com.example.Other", b"{}")
    with pytest.raises(EventDecodeError, match="not JSON"):
        registry.decode("cn.tongxin.registry.StudentLeft.v1", b"\xff{")
    with pytest.raises(EventDecodeError):
        registry.decode("cn.tongxin.registry.StudentLeft.v1", b'{"student_ref": 1}')
