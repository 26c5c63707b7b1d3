"""The wellbeing service's shredding reaction, wired as the worker wires it, on the in-memory
database and FastStream's in-memory broker: the registry's ``SubjectErased`` deletes wellbeing's
key for the student (screening answers and totals become noise), once — a redelivery changes
nothing, and a replay from offset 0 does not delete a key made after the erasure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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
from tongxin_platform.commands import Writer
from tongxin_platform.crypto import SubjectErasedError
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
from tongxin_wellbeing.reactions.shredding import SHREDDING

TOPIC = "registry.events"
D, SCHOOL, STUDENT, OTHER = "330106", "330106001", "stu_1", "stu_2"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def shredding(db: MemoryDatabase, group: str = SHREDDING.group) -> tuple[Consumer, KafkaBroker]:
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
    broker = make_broker("127.0.0.1:9", service="wellbeing")
    subscribe(broker, consumer)
    take_as_is(broker, dlq_topic(TOPIC, group))
    return consumer, broker


@pytest.fixture
def produced() -> Iterator[Produced]:
    with numbered_offsets() as log:
        yield log


def student_events(erasure: uuid.UUID) -> list[Relayed]:
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
        relayed(enrolled, 1, service="registry"),
        relayed(erased, 2, service="registry", event_id=erasure),
    ]


async def seal(db: MemoryDatabase, student: str, data: dict[str, Any]) -> Sealed:
    async with MemoryTransactions(db).begin() as uow:
        return await uow.keys.seal(student, data)


async def opens(db: MemoryDatabase, sealed: Sealed) -> dict[str, Any] | None:
    try:
        async with MemoryTransactions(db).read() as uow:
            return await uow.keys.open(sealed)
    except SubjectErasedError:
        return None


async def test_an_erasure_shreds_the_students_screening_answers_and_no_one_elses(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    answers = await seal(db, STUDENT, {"answers": [0, 0, 0, 0, 0, 0, 0, 0, 1], "total": 1})
    others = await seal(db, OTHER, {"answers": [0] * 7, "total": 0})
    consumer, broker = shredding(db)
    async with TestKafkaBroker(broker) as br:
        for r in student_events(uuid.uuid4()):
            await br.publish(r.value, TOPIC, key=r.key, headers=r.headers)
    assert await opens(db, answers) is None
    assert await opens(db, others) == {"answers": [0] * 7, "total": 0}
    assert consumer.stats.skipped == 1  # the enrolment: not this reaction's business
    assert db.stored() == []  # nothing to publish: the key is gone, the events unchanged


async def test_the_same_erasure_redelivered_or_replayed_deletes_nothing_more(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await seal(db, STUDENT, {"answers": [1] * 9, "total": 9})
    records = student_events(uuid.uuid4())
    consumer, broker = shredding(db)
    async with TestKafkaBroker(broker) as br:
        for r in records:
            await br.publish(r.value, TOPIC, key=r.key, headers=r.headers)
        await br.publish(records[1].value, TOPIC, key=records[1].key, headers=records[1].headers)
    assert consumer.stats.duplicates == 1

    # A key made for the student later survives a replay of the group from offset 0.
    later = await seal(db, STUDENT, {"answers": [0] * 9, "total": 0})
    replay, _ = shredding(db, group="wellbeing.shredding.replay")
    dead = CollectedDeadLetters()
    await replay.process(produced.on(TOPIC), dead)
    assert replay.stats.applied == 1
    assert await opens(db, later) == {"answers": [0] * 9, "total": 0}
    assert dead.letters == []
