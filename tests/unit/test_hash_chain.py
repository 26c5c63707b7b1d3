"""The per-stream hash chain: any change to a stored event, or a missing one, is detected."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.events import Ticked
from tongxin_platform.eventstore import (
    NEW_STREAM,
    ChainBrokenError,
    NewEvent,
    StoredEvent,
    chain,
    verify_chain,
)

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def stored(n: int) -> list[StoredEvent]:
    events = [
        NewEvent(uuid.UUID(int=i + 1), Ticked(district="d", stream="s", n=i), T0) for i in range(n)
    ]
    return [
        StoredEvent(position=i + 1, **{f.name: getattr(r, f.name) for f in dataclasses.fields(r)})
        for i, r in enumerate(chain("s", NEW_STREAM, events))
    ]


def test_an_untouched_stream_verifies() -> None:
    verify_chain(stored(5))


@given(st.integers(min_value=1, max_value=12), st.data())
def test_changing_any_byte_of_any_payload_breaks_the_chain(n: int, data: st.DataObject) -> None:
    events = stored(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    payload = bytearray(events[i].payload)
    j = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    payload[j] ^= 0x01
    events[i] = dataclasses.replace(events[i], payload=bytes(payload))
    with pytest.raises(ChainBrokenError):
        verify_chain(events)


def test_a_removed_event_breaks_the_chain() -> None:
    events = stored(4)
    del events[1]
    with pytest.raises(ChainBrokenError):
        verify_chain(events)


def test_a_changed_time_breaks_the_chain() -> None:
    events = stored(2)
    events[0] = dataclasses.replace(events[0], recorded_at=T0.replace(second=1))
    with pytest.raises(ChainBrokenError):
        verify_chain(events)
