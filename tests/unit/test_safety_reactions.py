"""Safety's reactions wired as the worker wires them (a consumer group whose ``Apply`` is the
reaction, in the ledger's transaction), on the in-memory database and FastStream's in-memory
broker. Each trigger is delivered again — the same record produced twice (the group drops the
stream version it has) and the group replayed from offset 0 under a new id (the trigger's id
was claimed) — and the effect stays single."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tests.support.in_memory_kafka import Produced, Relayed, numbered_offsets, relayed, take_as_is
from tongxin_contracts import IntegrationEvent, Sealed, default_registry, dlq_topic
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
from tongxin_platform.reaction import Reaction
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.reactions.shredding import SHREDDING

REGISTRY, VISITS = "registry.events", "visits.events"
D, SCHOOL, OTHER, CLASS, STUDENT = "330106", "330106001", "330106002", "330106001-01", "stu_1"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 3)
SEALED = Sealed(subject=STUDENT, key_id="k", nonce="n", ciphertext="c")


@dataclass
class Group:
    consumer: Consumer
    broker: KafkaBroker
    topic: str


def group_of(reaction: Reaction, db: MemoryDatabase, topic: str, name: str = "") -> Group:
    """As ``Worker._add_reaction`` does it, for one topic."""
    transactions = MemoryTransactions(db)
    writer = Writer(transactions, default_registry(), clock=lambda: NOW)

    def bind(tx: Ledger) -> UnitOfWork:
        return MemoryUnitOfWork(db)

    consumer = Consumer(
        group=name or reaction.group,
        topics=[topic],
        apply=reaction.apply(transactions, bind, writer),
        registry=default_registry(),
        ledgers=MemoryLedgers(db),
        handles=reaction.handles,
    )
    broker = make_broker("127.0.0.1:9", service="safety")
    subscribe(broker, consumer)
    take_as_is(broker, dlq_topic(topic, name or reaction.group))
    return Group(consumer, broker, topic)


@pytest.fixture
def produced() -> Iterator[Produced]:
    with numbered_offsets() as log:
        yield log


async def deliver(g: Group, *records: Relayed) -> None:
    async with TestKafkaBroker(g.broker) as br:
        for r in records:
            await br.publish(r.value, g.topic, key=r.key, headers=r.headers)


async def replay(reaction: Reaction, db: MemoryDatabase, produced: Produced, topic: str) -> None:
    """The reaction's group replayed from offset 0 under a new id (no stream versions yet)."""
    again = group_of(reaction, db, topic, name=f"{reaction.group}.replay")
    dead = CollectedDeadLetters()
    await again.consumer.process(produced.on(topic), dead)
    assert dead.letters == []
    assert again.consumer.stats.applied >= 1, "the triggers reached the reaction again"


def emitted(db: MemoryDatabase, kind: type[IntegrationEvent]) -> list[IntegrationEvent]:
    found = [default_registry().decode(s.event_type, s.payload) for s in db.stored()]
    return [e for e in found if isinstance(e, kind)]


# --- shredding ------------------------------------------------------------------------------


def enrolled(student: str = STUDENT) -> StudentEnrolled:
    return StudentEnrolled(
        district=D,
        school_id=SCHOOL,
        student_ref=student,
        class_id=CLASS,
        age_band=AgeBand.under_14,
        age_band_on=date(2026, 9, 1),
        guardians=[Guardian(guardian_ref="gdn_1", relation="mother")],
        personal=Sealed(subject=student, key_id="k", nonce="n", ciphertext="c"),
    )


def erased(student: str = STUDENT) -> SubjectErased:
    return SubjectErased(
        district=D,
        school_id=SCHOOL,
        student_ref=student,
        reason=ErasureReason.data_subject_request,
        erased_by_role="operator",
    )


async def seal(db: MemoryDatabase, student: str, data: dict[str, Any]) -> Sealed:
    async with MemoryTransactions(db).begin() as uow:
        return await uow.keys.seal(student, data)


async def opens(db: MemoryDatabase, sealed: Sealed) -> dict[str, Any] | None:
    try:
        async with MemoryTransactions(db).read() as uow:
            return await uow.keys.open(sealed)
    except SubjectErasedError:
        return None


async def test_an_erasure_shreds_the_childs_care_notes_and_no_other_childs(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    notes = await seal(db, STUDENT, {"entrusted_name": "祖母", "note": "电话联系"})
    others = await seal(db, "stu_2", {"note": "家访"})
    g = group_of(SHREDDING, db, REGISTRY)
    await deliver(
        g,
        relayed(enrolled(), 1, service="registry"),
        relayed(erased(), 2, service="registry", event_id=uuid.uuid4()),
    )
    assert await opens(db, notes) is None
    assert await opens(db, others) == {"note": "家访"}
    assert g.consumer.stats.skipped == 1  # the enrolment: not this reaction's business
    assert db.stored() == []  # nothing to publish: the key is gone, the events unchanged


async def test_an_erasure_redelivered_or_replayed_does_not_shred_a_key_made_after_it(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await seal(db, STUDENT, {"note": "家访"})
    record = relayed(erased(), 1, service="registry", event_id=uuid.uuid4())
    g = group_of(SHREDDING, db, REGISTRY)
    await deliver(g, record, record)
    assert g.consumer.stats.duplicates == 1

    later = await seal(db, STUDENT, {"note": "转学后建档"})
    await replay(SHREDDING, db, produced, REGISTRY)
    assert await opens(db, later) == {"note": "转学后建档"}
