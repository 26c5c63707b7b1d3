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
    CareGroup,
    ErasureReason,
    Guardian,
    LeaveReason,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
    SubjectErased,
)
from tongxin_contracts.events.safety import (
    CareConcernRaised,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareGroupsChanged,
    ConcernSource,
    FileClosedReason,
    FileSource,
)
from tongxin_contracts.events.visits import (
    FollowUpOpened,
    Measure,
    Referral,
    VisitCompleted,
    VisitMode,
    Visitor,
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
from tongxin_safety.reactions.care_files import CARE_FILES
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


# --- care files -----------------------------------------------------------------------------


def categorised(*groups: CareGroup) -> StudentCategorised:
    return StudentCategorised(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        groups=SEALED,
        in_special_group=bool(groups),
        care_groups=list(groups),
    )


def case_opened(case_id: str, measure: Measure) -> FollowUpOpened:
    return FollowUpOpened(
        district=D,
        school_id=SCHOOL,
        case_id=case_id,
        visit_id="v1",
        class_id=CLASS,
        student_ref=STUDENT,
        measure=measure,
        owner_ref="staff_head",
        opened_on=date(2026, 10, 30),
        due_date=date(2026, 11, 30),
    )


def visit_completed(visit_id: str, referrals: list[Referral]) -> VisitCompleted:
    return VisitCompleted(
        district=D,
        school_id=SCHOOL,
        visit_id=visit_id,
        class_id=CLASS,
        student_ref=STUDENT,
        recorded_by="staff_head",
        visitors=[Visitor(staff_ref="staff_head", role="head_teacher")],
        mode=VisitMode.in_home,
        started_at=NOW,
        duration_minutes=45,
        goals_covered=[],
        findings=SEALED,
        referrals=referrals,
        parent_suggestions=[],
        integrity_attested=True,
    )


def names(db: MemoryDatabase) -> list[str]:
    return [s.event_type.split(".")[-2] for s in db.stored()]


async def test_a_child_categorised_left_behind_gets_one_file_however_often_the_roster_says_so(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    first = relayed(categorised(CareGroup.left_behind), 1, service="registry")
    again = relayed(categorised(CareGroup.left_behind), 2, service="registry")
    g = group_of(CARE_FILES, db, REGISTRY)
    await deliver(g, first, first, again)  # the relay re-sent the first; the roster said it twice
    assert g.consumer.stats.duplicates == 1
    [opened] = emitted(db, CareFileOpened)
    assert isinstance(opened, CareFileOpened)
    assert (opened.student_ref, opened.school_id, opened.source, opened.care_groups) == (
        STUDENT,
        SCHOOL,
        FileSource.categorised,
        [CareGroup.left_behind],
    )
    assert opened.opened_on == TODAY  # the reaction's clock, in China time
    [stored] = db.stored()
    assert stored.causation_id == first.id

    await replay(CARE_FILES, db, produced, REGISTRY)
    assert names(db) == ["CareFileOpened"]


async def test_the_care_groups_changing_later_are_recorded_on_the_open_file_once(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    both = categorised(CareGroup.left_behind, CareGroup.orphan_or_unsupported)
    changed = relayed(both, 2, service="registry")
    g = group_of(CARE_FILES, db, REGISTRY)
    await deliver(
        g, relayed(categorised(CareGroup.left_behind), 1, service="registry"), changed, changed
    )
    await replay(CARE_FILES, db, produced, REGISTRY)
    assert names(db) == ["CareFileOpened", "CareGroupsChanged"]
    [change] = emitted(db, CareGroupsChanged)
    assert isinstance(change, CareGroupsChanged)
    assert change.care_groups == [CareGroup.left_behind, CareGroup.orphan_or_unsupported]


async def test_a_child_in_no_care_group_gets_no_file(produced: Produced) -> None:
    db = MemoryDatabase(default_registry())
    g = group_of(CARE_FILES, db, REGISTRY)
    await deliver(g, relayed(categorised(), 1, service="registry"))
    assert db.stored() == []


async def test_a_hardship_case_opens_one_file_and_other_measures_open_none(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    hardship = relayed(case_opened("c1", Measure.hardship_assistance), 1, service="visits")
    learning = relayed(case_opened("c2", Measure.learning_support), 1, service="visits")
    second = relayed(case_opened("c3", Measure.hardship_assistance), 1, service="visits")
    g = group_of(CARE_FILES, db, VISITS)
    await deliver(g, learning, hardship, hardship, second)
    await replay(CARE_FILES, db, produced, VISITS)
    [opened] = emitted(db, CareFileOpened)
    assert isinstance(opened, CareFileOpened)
    assert (opened.source, opened.class_id, opened.care_groups) == (
        FileSource.hardship_followup,
        CLASS,
        [],
    )
    assert opened.opened_on == date(2026, 10, 30)  # the case's day
    assert names(db) == ["CareFileOpened"]


async def test_a_categorised_childs_hardship_case_leaves_the_file_as_it_is(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await deliver(
        group_of(CARE_FILES, db, REGISTRY),
        relayed(categorised(CareGroup.left_behind), 1, service="registry"),
    )
    await deliver(
        group_of(CARE_FILES, db, VISITS),
        relayed(case_opened("c1", Measure.hardship_assistance), 1, service="visits"),
    )
    assert names(db) == ["CareFileOpened"]


async def test_a_visits_safety_finding_is_one_concern_per_visit_on_a_file_opened_for_it(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    visit = relayed(
        visit_completed("v1", [Referral.safety, Referral.wellbeing]), 1, service="visits"
    )
    other = relayed(visit_completed("v2", [Referral.safety]), 1, service="visits")
    wellbeing_only = relayed(visit_completed("v3", [Referral.wellbeing]), 1, service="visits")
    g = group_of(CARE_FILES, db, VISITS)
    await deliver(g, visit, visit, wellbeing_only, other)
    await replay(CARE_FILES, db, produced, VISITS)
    assert names(db) == ["CareFileOpened", "CareConcernRaised", "CareConcernRaised"]
    [opened] = emitted(db, CareFileOpened)
    assert isinstance(opened, CareFileOpened)
    assert opened.source is FileSource.safety_concern
    concerns = emitted(db, CareConcernRaised)
    assert [(c.visit_id, c.source) for c in concerns if isinstance(c, CareConcernRaised)] == [
        ("v1", ConcernSource.visit),
        ("v2", ConcernSource.visit),
    ]
    # nothing the visitors wrote is copied: the findings stay sealed in visits
    assert all(isinstance(c, CareConcernRaised) and c.detail is None for c in concerns)


async def test_a_safety_finding_on_a_categorised_childs_file_adds_only_the_concern(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await deliver(
        group_of(CARE_FILES, db, REGISTRY),
        relayed(categorised(CareGroup.left_behind), 1, service="registry"),
    )
    await deliver(
        group_of(CARE_FILES, db, VISITS),
        relayed(visit_completed("v1", [Referral.safety]), 1, service="visits"),
    )
    assert names(db) == ["CareFileOpened", "CareConcernRaised"]


def transferred(to_school: str, district: str = D) -> StudentTransferred:
    return StudentTransferred(
        district=district,
        school_id=to_school,
        student_ref=STUDENT,
        class_id=f"{to_school}-02",
        from_school_id=SCHOOL,
        from_class_id=CLASS,
    )


async def test_a_transferred_childs_file_is_handed_over_to_the_new_school_once(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    moved = relayed(transferred(OTHER), 2, service="registry")
    g = group_of(CARE_FILES, db, REGISTRY)
    await deliver(
        g, relayed(categorised(CareGroup.left_behind), 1, service="registry"), moved, moved
    )
    await replay(CARE_FILES, db, produced, REGISTRY)
    assert names(db) == ["CareFileOpened", "CareFileHandedOver"]
    [handed] = emitted(db, CareFileHandedOver)
    assert isinstance(handed, CareFileHandedOver)
    assert (handed.school_id, handed.to_school_id, handed.to_district, handed.to_class_id) == (
        SCHOOL,
        OTHER,
        D,
        f"{OTHER}-02",
    )


async def test_a_child_who_left_has_the_file_closed_once_and_a_child_without_one_nothing(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    left = StudentLeft(
        district=D, school_id=SCHOOL, student_ref=STUDENT, reason=LeaveReason.moved_away
    )
    record = relayed(left, 2, service="registry")
    g = group_of(CARE_FILES, db, REGISTRY)
    await deliver(
        g, relayed(categorised(CareGroup.left_behind), 1, service="registry"), record, record
    )
    await replay(CARE_FILES, db, produced, REGISTRY)
    assert names(db) == ["CareFileOpened", "CareFileClosed"]
    [closed] = emitted(db, CareFileClosed)
    assert isinstance(closed, CareFileClosed)
    assert (closed.reason, closed.closed_on) == (FileClosedReason.left_school, TODAY)

    nobody = MemoryDatabase(default_registry())
    g = group_of(CARE_FILES, nobody, REGISTRY, name="safety.care_files.other")
    await deliver(
        g,
        relayed(transferred(OTHER), 1, service="registry"),
        relayed(left, 2, service="registry"),
    )
    assert nobody.stored() == []
