"""The visits service's shredding reaction, wired as the worker wires it (a consumer group whose
``Apply`` is the reaction, in the ledger's transaction), on the in-memory database and
FastStream's in-memory broker: the registry's ``SubjectErased`` deletes this service's key for
the student and records one ``StudentTextShredded`` caused by it — once per erasure event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tests.support.in_memory_kafka import Produced, Relayed, numbered_offsets, relayed, take_as_is
from tongxin_contracts import Sealed, default_registry, dlq_topic
from tongxin_contracts.events.registry import (
    AgeBand,
    ErasureReason,
    Guardian,
    StudentEnrolled,
    SubjectErased,
)
from tongxin_contracts.events.visits import StudentTextShredded, student_text_stream
from tongxin_platform.commands import Writer
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.eventstore import verify_chain
from tongxin_platform.exactly_once import Consumer, Ledger
from tongxin_platform.memory import (
    CollectedDeadLetters,
    MemoryDatabase,
    MemoryLedgers,
    MemoryTransactions,
    MemoryUnitOfWork,
)
from tongxin_platform.messaging import make_broker, subscribe
from tongxin_platform.uow import UnitOfWork
from tongxin_visits.reactions.shredding import SHREDDING

TOPIC = "registry.events"
D, SCHOOL, STUDENT, OTHER = "330106", "330106001", "stu_1", "stu_2"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@dataclass
class Shredding:
    """The reaction's consumer group on the visits service's (in-memory) database."""

    db: MemoryDatabase
    transactions: MemoryTransactions
    consumer: Consumer
    broker: KafkaBroker


def shredding(db: MemoryDatabase, group: str = SHREDDING.group) -> Shredding:
    """As ``Worker._add_reaction`` does: the reaction's ``Apply`` with a unit of work bound to
    the ledger's transaction, and a writer whose appends join it."""
    transactions = MemoryTransactions(db)
    writer = Writer(transactions, default_registry(), clock=lambda: NOW)

    def bind(tx: Ledger) -> UnitOfWork:
        return MemoryUnitOfWork(db)

    consumer = Consumer(
        group=group,
        topics=[TOPIC],
        apply=SHREDDING.apply(transactions, bind, writer),
        registry=default_registry(),
        ledgers=MemoryLedgers(db),
        handles=SHREDDING.handles,
    )
    broker = make_broker("127.0.0.1:9", service="visits")
    subscribe(broker, consumer)
    take_as_is(broker, dlq_topic(TOPIC, group))
    return Shredding(db, transactions, consumer, broker)


@pytest.fixture
def produced() -> Iterator[Produced]:
    with numbered_offsets() as log:
        yield log


def student_events(*erasures: uuid.UUID) -> list[Relayed]:
    """The student's stream as the registry's relay publishes it: enrolled, then erased."""
    enrolled = StudentEnrolled(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        class_id=f"{SCHOOL}-01",
        age_band=AgeBand.under_14,
        age_band_on=date(2026, 9, 1),
        guardians=[Guardian(guardian_ref="gdn_1", relation="mother")],
        personal=Sealed(subject=STUDENT, key_id="k", nonce="n", ciphertext="c"),
    )
    erased = SubjectErased(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        reason=ErasureReason.data_subject_request,
        erased_by_role="operator",
    )
    return [
        relayed(enrolled, 1, service="registry", correlation_id="req-enrol"),
        *(
            relayed(
                erased,
                version,
                service="registry",
                event_id=event_id,
                correlation_id=f"req-erase-{version}",
                causation_id=f"req-erase-{version}",
            )
            for version, event_id in enumerate(erasures, start=2)
        ),
    ]


async def publish(br: KafkaBroker, *records: Relayed) -> None:
    for r in records:
        await br.publish(r.value, TOPIC, key=r.key, headers=r.headers)


async def seal(db: MemoryDatabase, student: str, text: str) -> Sealed:
    """Text the visits service sealed for a student (a visit's notes)."""
    async with MemoryTransactions(db).begin() as uow:
        return await uow.keys.seal(student, {"text": text})


async def opens(db: MemoryDatabase, sealed: Sealed) -> dict[str, Any] | None:
    try:
        async with MemoryTransactions(db).read() as uow:
            return await uow.keys.open(sealed)
    except SubjectErasedError:
        return None


def shredded(db: MemoryDatabase) -> list[tuple[StudentTextShredded, Any]]:
    out = []
    for stored in db.stored():
        event = default_registry().decode(stored.event_type, stored.payload)
        assert isinstance(event, StudentTextShredded), event
        out.append((event, stored))
    return out


async def test_an_erasure_deletes_the_students_key_and_records_one_shredding_caused_by_it(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    notes = await seal(db, STUDENT, "家访手记")
    others = await seal(db, OTHER, "另一个学生")
    erasure = uuid.uuid4()
    group = shredding(db)
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, *student_events(erasure))

    assert await opens(db, notes) is None
    assert await opens(db, others) == {"text": "另一个学生"}
    [(event, stored)] = shredded(db)
    assert event == StudentTextShredded(
        district=D, student_ref=STUDENT, erasure_event_id=str(erasure), key_existed=True
    )
    assert (stored.stream_id, stored.version) == (student_text_stream(STUDENT), 1)
    assert stored.causation_id == str(erasure)
    assert stored.correlation_id == "req-erase-2"  # the conversation the erasure belongs to
    assert stored.recorded_at == NOW
    # The trigger's idempotency key, the offsets and the versions committed with it.
    assert db.state.answers[(SHREDDING.scope, str(erasure))].status == 200
    assert db.state.offsets == {(SHREDDING.group, TOPIC, 0): 2}
    assert db.state.versions == {(SHREDDING.group, "/tongxin/registry", f"student-{STUDENT}"): 2}
    assert group.consumer.stats.skipped == 1  # the enrolment: not this reaction's business


async def test_the_same_erasure_seen_again_changes_nothing(produced: Produced) -> None:
    db = MemoryDatabase(default_registry())
    await seal(db, STUDENT, "家访手记")
    records = student_events(uuid.uuid4())
    live = shredding(db)
    async with TestKafkaBroker(live.broker) as br:
        await publish(br, *records)
        await publish(br, records[1])  # the relay sends it again: the group drops the version
    assert live.consumer.stats.duplicates == 1
    assert len(shredded(db)) == 1

    # The student is back, and the visits service seals new text for them …
    later = await seal(db, STUDENT, "新的家访手记")
    # … when the reaction's group is replayed from offset 0 (a new group id, no versions yet):
    # the trigger's idempotency key keeps it from running twice.
    replay = shredding(db, group="visits.shredding.replay")
    dead = CollectedDeadLetters()
    await replay.consumer.process(produced.on(TOPIC), dead)
    assert replay.consumer.stats.applied == 1  # the trigger reached the reaction …
    assert await opens(db, later) == {"text": "新的家访手记"}  # … which deleted nothing
    assert len(shredded(db)) == 1
    assert dead.letters == []
    assert db.state.offsets[("visits.shredding.replay", TOPIC, 0)] == 3


async def test_a_second_erasure_event_records_a_second_shredding(produced: Produced) -> None:
    db = MemoryDatabase(default_registry())
    notes = await seal(db, STUDENT, "家访手记")
    first, second = uuid.uuid4(), uuid.uuid4()
    group = shredding(db)
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, *student_events(first, second))
    assert await opens(db, notes) is None
    found = shredded(db)
    assert [(e.erasure_event_id, e.key_existed) for e, _ in found] == [
        (str(first), True),
        (str(second), False),  # the key was gone already
    ]
    assert [s.causation_id for _, s in found] == [str(first), str(second)]
    assert [s.version for _, s in found] == [1, 2]
    verify_chain([s for _, s in found])
    assert set(db.state.answers) == {(SHREDDING.scope, str(first)), (SHREDDING.scope, str(second))}


async def test_an_erasure_of_a_student_this_service_never_wrote_about_is_recorded_too(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    erasure = uuid.uuid4()
    group = shredding(db)
    async with TestKafkaBroker(group.broker) as br:
        await publish(br, *student_events(erasure))
    [(event, _)] = shredded(db)
    assert (event.erasure_event_id, event.key_existed) == (str(erasure), False)
