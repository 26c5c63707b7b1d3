"""The exactly-once glue as the worker runs it — a FastStream batch subscriber per topic with
the platform's ``Consumer`` behind it — on FastStream's in-memory broker and the in-memory
ledger: each event applied once, duplicates and early versions dropped (per source and
stream), poison records dead-lettered while the group goes on, offsets and versions stored
with the effects."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import Field

from tests.support.events import Ticked
from tests.support.in_memory_kafka import (
    Produced,
    Relayed,
    numbered_offsets,
    relayed,
    take_as_is,
)
from tongxin_contracts import EventRegistry, IntegrationEvent, dlq_topic
from tongxin_platform.exactly_once import Apply, Consumer, Message, per_message
from tongxin_platform.memory import (
    CollectedDeadLetters,
    MemoryDatabase,
    MemoryLedgers,
    MemoryTables,
)
from tongxin_platform.messaging import make_broker, subscribe
from tongxin_platform.projection import Add, Changes, Projection, Table

TOPIC = "proof.events"
GROUP = "proof.ticks"
DLQ = dlq_topic(TOPIC, GROUP)
SOURCE = "/tongxin/proof"


class Tocked(IntegrationEvent):
    """A known event type the test group does not handle."""

    service: ClassVar[str] = "proof"
    name: ClassVar[str] = "Tocked"
    district: str = Field(description="District.")
    stream: str = Field(description="Stream.")

    def aggregate_id(self) -> str:
        return self.stream


REGISTRY = EventRegistry([Ticked, Tocked])
TICKS = Projection(
    "ticks",
    group=GROUP,
    sources=("proof",),
    tables=[
        Table(
            "ticks",
            ("stream", "n"),
            {
                "stream": "text",
                "n": "integer",
                "district": "text NOT NULL",
                "applied": "integer NOT NULL DEFAULT 0",  # how often the effect ran
            },
        )
    ],
)


@TICKS.on(Ticked)
def _tick(e: Ticked, rows: Changes) -> None:
    rows["ticks"].upsert((e.stream, e.n), district=e.district)
    rows["ticks"].update((e.stream, e.n), applied=Add(1))


@dataclass
class Group:
    """One consumer group of the test: its database, its ``Consumer``, its broker."""

    db: MemoryDatabase
    consumer: Consumer
    broker: KafkaBroker

    def ticks(self) -> dict[tuple[str, int], int]:
        """(stream, n) → how often the tick's effect was applied."""
        rows = self.db.state.tables.get(f"{TICKS.schema}.ticks", {})
        return {key: row["applied"] for key, row in rows.items()}

    def offsets(self) -> dict[tuple[str, int], int]:
        return {(t, p): n for (g, t, p), n in self.db.state.offsets.items() if g == GROUP}

    def versions(self) -> dict[tuple[str, str], int]:
        return {(s, i): v for (g, s, i), v in self.db.state.versions.items() if g == GROUP}

    def dead_publisher(self) -> Any:
        return next(p for p in self.broker.publishers if p.topic == DLQ)


def make_group(apply: Apply | None = None) -> Group:
    db = MemoryDatabase(REGISTRY)
    consumer = Consumer(
        group=GROUP,
        topics=[TOPIC],
        apply=apply or TICKS.apply_to(TICKS.schema),
        registry=REGISTRY,
        ledgers=MemoryLedgers(db, MemoryTables(db, TICKS.tables)),
        handles=TICKS.handles,
    )
    # An address nothing listens on: the in-memory broker must never connect.
    broker = make_broker("127.0.0.1:9", service="proof")
    subscribe(broker, consumer)
    take_as_is(broker, DLQ)
    return Group(db, consumer, broker)


@pytest.fixture
def produced() -> Iterator[Produced]:
    with numbered_offsets() as log:
        yield log


def tick(stream: str, n: int, version: int | None = None, *, service: str = "proof") -> Relayed:
    return relayed(Ticked(district="d", stream=stream, n=n), version or n, service=service)


async def publish(br: KafkaBroker, *records: Relayed, partition: int | None = None) -> None:
    for r in records:
        await br.publish(r.value, TOPIC, key=r.key, headers=r.headers, partition=partition)


# --- once per event ---------------------------------------------------------------------------


async def test_each_event_is_applied_once_and_its_offset_and_version_are_stored(
    produced: Produced,
) -> None:
    group = make_group()
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, tick("s-1", 1), tick("s-1", 2), tick("s-2", 1), tick("s-1", 3))
    assert [r.offset for r in produced.on(TOPIC)] == [0, 1, 2, 3]
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 3): 1, ("s-2", 1): 1}
    assert group.offsets() == {(TOPIC, 0): 4}
    assert group.versions() == {(SOURCE, "s-1"): 3, (SOURCE, "s-2"): 1}
    assert group.consumer.stats.applied == 4


async def test_offsets_are_stored_per_partition(produced: Produced) -> None:
    group = make_group()
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, tick("s-1", 1), tick("s-1", 2), tick("s-1", 3), partition=0)
        await publish(br, tick("s-2", 1), tick("s-2", 2), partition=1)
    assert group.offsets() == {(TOPIC, 0): 3, (TOPIC, 1): 2}
    assert group.versions() == {(SOURCE, "s-1"): 3, (SOURCE, "s-2"): 2}
    assert len(group.ticks()) == 5


async def test_a_version_published_again_is_dropped(produced: Produced) -> None:
    group = make_group()
    first, second = tick("s-1", 1), tick("s-1", 2)
    async with TestKafkaBroker(group.broker) as br:
        # The relay may send again what it sent before a failure: at later offsets.
        await publish(br, first, second, first, second, tick("s-1", 3))
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 3): 1}
    assert group.consumer.stats.duplicates == 2
    assert group.offsets() == {(TOPIC, 0): 5}
    assert group.versions() == {(SOURCE, "s-1"): 3}


async def test_a_version_ahead_of_the_next_expected_is_skipped_until_the_relay_resends_it(
    produced: Produced,
) -> None:
    group = make_group()
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, tick("s-1", 1), tick("s-1", 3))
        assert group.ticks() == {("s-1", 1): 1}
        assert group.versions() == {(SOURCE, "s-1"): 1}
        assert group.offsets() == {(TOPIC, 0): 2}  # the offset moves on all the same
        assert group.consumer.stats.out_of_order == 1
        await publish(br, tick("s-1", 2), tick("s-1", 3))  # the relay resends, in order
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 3): 1}
    assert group.versions() == {(SOURCE, "s-1"): 3}


async def test_two_sources_with_the_same_stream_id_are_both_applied(produced: Produced) -> None:
    group = make_group()
    async with TestKafkaBroker(group.broker) as br:
        await publish(
            br,
            tick("s-1", 1, service="proof"),
            tick("s-1", 101, version=1, service="other"),
            tick("s-1", 102, version=2, service="other"),
            tick("s-1", 2, service="proof"),
        )
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 101): 1, ("s-1", 102): 1}
    assert group.versions() == {(SOURCE, "s-1"): 2, ("/tongxin/other", "s-1"): 2}


async def test_an_event_of_a_type_the_group_does_not_handle_takes_its_version_unread(
    produced: Produced,
) -> None:
    group = make_group()
    unread = relayed(Tocked(district="d", stream="s-1"), 2, service="proof")
    async with TestKafkaBroker(group.broker) as br:
        # Not decoded: even a body that is not JSON is no poison for this group.
        await publish(br, tick("s-1", 1), Relayed(b"{not json", unread.key, unread.headers))
        await publish(br, tick("s-1", 3))
        assert group.dead_publisher().mock.call_count == 0
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 3): 1}
    assert group.versions() == {(SOURCE, "s-1"): 3}
    assert group.consumer.stats.skipped == 1


async def test_a_batch_read_again_after_a_rebalance_changes_nothing(produced: Produced) -> None:
    group = make_group()
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, tick("s-1", 1), tick("s-1", 2), tick("s-2", 1))
    before = (group.ticks(), group.offsets(), group.versions(), group.consumer.stats.applied)
    dead = CollectedDeadLetters()
    # The records below the stored offset arrive again (another consumer had the partition).
    await group.consumer.process(produced.on(TOPIC), dead)
    assert (group.ticks(), group.offsets(), group.versions()) == before[:3]
    assert group.consumer.stats.applied == before[3]
    assert dead.letters == []


# --- poison records ---------------------------------------------------------------------------


async def test_unreadable_records_go_to_the_dead_letters_and_the_next_events_are_applied(
    produced: Produced,
) -> None:
    group = make_group()
    unknown = relayed(Ticked(district="d", stream="s-u", n=1), 1, service="proof")
    unknown.headers["ce_type"] = "cn.tongxin.proof.Tacked.v1"
    not_json = tick("s-1", 2)
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, tick("s-1", 1))
        await br.publish(b"no headers at all", TOPIC, key=b"z")
        await publish(br, unknown, Relayed(b"{not json", not_json.key, not_json.headers))
        await publish(br, tick("s-1", 3), tick("s-2", 1))

        dead = group.dead_publisher()
        assert dead.mock.call_count == 3
        for error_type in ("EnvelopeError", "UnknownEventTypeError", "EventDecodeError"):
            await dead.assert_any_call(
                headers={"dlq_error_type": error_type, "dlq_group": GROUP, "dlq_topic": TOPIC}
            )
    letters = produced.headers(DLQ)
    assert [(h["dlq_error_type"], h["dlq_offset"], h["dlq_attempts"]) for h in letters] == [
        ("EnvelopeError", "1", "0"),
        ("UnknownEventTypeError", "2", "0"),
        ("EventDecodeError", "3", "0"),
    ]
    assert [r.value for r in produced.on(DLQ)] == [
        b"no headers at all",
        unknown.value,
        b"{not json",
    ]
    assert "not JSON" in letters[2]["dlq_error"]
    assert letters[1]["ce_type"] == "cn.tongxin.proof.Tacked.v1"  # the original headers kept
    # The next events are applied: the undecodable v2 took its version, so v3 follows it.
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 3): 1, ("s-2", 1): 1}
    assert group.versions() == {(SOURCE, "s-1"): 3, (SOURCE, "s-2"): 1}
    assert group.offsets() == {(TOPIC, 0): 6}
    assert [
        (g, d.record.offset, type(d.error).__name__) for g, d in group.db.state.dead_letters
    ] == [
        (GROUP, 1, "EnvelopeError"),
        (GROUP, 2, "UnknownEventTypeError"),
        (GROUP, 3, "EventDecodeError"),
    ]
    assert group.consumer.stats.dead_lettered == 3


class CursedTickError(Exception):
    pass


async def test_an_effect_that_keeps_failing_is_tried_three_times_then_dead_lettered_and_its_stream_goes_on(  # noqa: E501
    produced: Produced,
) -> None:
    tries: Counter[int] = Counter()

    async def handler(tables: MemoryTables, m: Message) -> None:
        assert isinstance(m.event, Ticked)
        await TICKS.write(tables, TICKS.schema, TICKS.fold([m.event]))  # undone on failure
        if m.event.n == 3:
            tries[m.event.n] += 1
            raise CursedTickError("tick 3 is cursed")

    group = make_group(per_message(handler))
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, *(tick("s-1", n) for n in range(1, 6)))
        assert group.dead_publisher().mock.call_count == 1
    assert tries == {3: 3}
    [letter] = produced.headers(DLQ)
    assert (letter["dlq_attempts"], letter["dlq_error_type"]) == ("3", "CursedTickError")
    assert letter["dlq_offset"] == "2"
    assert "cursed" in letter["dlq_error"]
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 4): 1, ("s-1", 5): 1}
    assert group.versions() == {(SOURCE, "s-1"): 5}
    assert group.offsets() == {(TOPIC, 0): 5}
    assert [(d.record.offset, d.attempts) for _, d in group.db.state.dead_letters] == [(2, 3)]


async def test_a_projection_handler_that_keeps_failing_runs_as_often_as_its_dead_letter_says(
    produced: Produced,
) -> None:
    # The worker's projections apply a whole batch at once (``Projection.apply_to``), so a
    # failure does not name its event; the dead letter still says how often it was tried.
    runs: Counter[int] = Counter()
    cursed = Projection(
        "cursed", group=GROUP, sources=("proof",), tables=list(TICKS.tables.values())
    )

    @cursed.on(Ticked)
    def _(e: Ticked, rows: Changes) -> None:
        if e.n == 3:
            runs[e.n] += 1
            raise CursedTickError("tick 3 is cursed")
        _tick(e, rows)

    group = make_group(cursed.apply_to(TICKS.schema))
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, *(tick("s-1", n) for n in range(1, 5)))
    [letter] = produced.headers(DLQ)
    assert group.ticks() == {("s-1", 1): 1, ("s-1", 2): 1, ("s-1", 4): 1}
    assert runs[3] == int(letter["dlq_attempts"]) == group.consumer.max_attempts
