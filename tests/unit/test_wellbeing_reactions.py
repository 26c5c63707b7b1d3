"""Wellbeing's reactions wired as the worker wires them (a consumer group whose ``Apply`` is the
reaction, in the ledger's transaction), on the in-memory database and FastStream's in-memory
broker. Each trigger is delivered again — the relay re-sending it (the group drops the stream
version it has) and the group replayed from offset 0 (the trigger's id was claimed) — and the
effect stays single."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from tests.support.in_memory_kafka import Produced, Relayed, numbered_offsets, relayed, take_as_is
from tongxin_contracts import IntegrationEvent, Sealed, default_registry, dlq_topic
from tongxin_contracts.events.registry import LeaveReason, StudentLeft, StudentTransferred
from tongxin_contracts.events.visits import (
    FollowUpOpened,
    Measure,
    Referral,
    VisitCompleted,
    VisitMode,
    Visitor,
)
from tongxin_contracts.events.wellbeing import (
    AttentionListProposed,
    CarePlanOpened,
    ProposalSource,
    RemovalReason,
    RiskFlag,
    ScreeningFlagged,
    StudentAddedToAttentionList,
    TargetedVisitRequested,
)
from tongxin_platform.commands import Writer
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
from tongxin_wellbeing.domain.attention import Remove, decide_removal, streams_of
from tongxin_wellbeing.reactions.proposals import PROPOSALS
from tongxin_wellbeing.reactions.targeted_visits import TARGETED_VISITS
from tongxin_wellbeing.reactions.transfers import TRANSFERS

D, SCHOOL, OTHER, CLASS, STUDENT = "330106", "330106001", "330106002", "330106001-01", "stu_1"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
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
    broker = make_broker("127.0.0.1:9", service="wellbeing")
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
        opened_on=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
    )


def flagged(risk: RiskFlag, screening_id: str = "scr_1") -> ScreeningFlagged:
    return ScreeningFlagged(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        school_year="2026-2027",
        screening_id=screening_id,
        instrument_id="phq9",
        band="moderately_severe",
        risk=risk,
    )


async def test_visits_and_cases_saying_the_same_student_make_one_proposal_even_redelivered(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    visit = relayed(visit_completed("v1", [Referral.wellbeing]), 1, service="visits")
    other_visit = relayed(visit_completed("v2", [Referral.wellbeing]), 1, service="visits")
    case = relayed(case_opened("c1", Measure.mental_health_counselling), 1, service="visits")
    g = group_of(PROPOSALS, db, "visits.events")
    await deliver(g, visit, visit, case, other_visit)  # the first visit sent twice by the relay
    assert g.consumer.stats.duplicates == 1
    [proposal] = emitted(db, AttentionListProposed)
    assert isinstance(proposal, AttentionListProposed)
    assert (proposal.student_ref, proposal.source) == (STUDENT, ProposalSource.visit)
    assert proposal.reason is None
    assert proposal.proposed_by is None
    [stored] = db.stored()
    assert stored.causation_id == visit.id  # caused by the first visit

    await replay(PROPOSALS, db, produced, "visits.events")
    assert len(emitted(db, AttentionListProposed)) == 1


async def test_a_visit_without_a_wellbeing_referral_or_another_measure_proposes_nobody(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    g = group_of(PROPOSALS, db, "visits.events")
    await deliver(
        g,
        relayed(visit_completed("v1", [Referral.safety]), 1, service="visits"),
        relayed(case_opened("c1", Measure.hardship_assistance), 1, service="visits"),
    )
    assert emitted(db, AttentionListProposed) == []


async def test_a_flagged_screening_proposes_the_student_once_even_redelivered(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    first = relayed(flagged(RiskFlag.elevated), 1, service="wellbeing")
    second = relayed(flagged(RiskFlag.high, "scr_2"), 2, service="wellbeing")
    g = group_of(PROPOSALS, db, "wellbeing.events")
    await deliver(g, first, first, second)
    [proposal] = emitted(db, AttentionListProposed)
    assert isinstance(proposal, AttentionListProposed)
    assert proposal.source is ProposalSource.screening
    await replay(PROPOSALS, db, produced, "wellbeing.events")
    assert len(emitted(db, AttentionListProposed)) == 1


async def listed_student(db: MemoryDatabase) -> None:
    """The student listed at ``SCHOOL`` with an open plan (appended as the commands do)."""
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    added = StudentAddedToAttentionList(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        proposal_id="p1",
        class_id=CLASS,
        signed_by=["h", "p", "v"],
    )
    plan = CarePlanOpened(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        plan_id="plan_1",
        opened_on=date(2026, 11, 3),
        owner_ref="p",
    )
    for e in (added, plan):
        await writer.run(e.aggregate_id(), lambda h, now, e=e: [e])  # type: ignore[misc]


def names(db: MemoryDatabase) -> list[str]:
    return [s.event_type.split(".")[-2] for s in db.stored()]


async def test_a_transfer_in_the_district_hands_the_plan_over_once_even_redelivered(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await listed_student(db)
    moved = StudentTransferred(
        district=D,
        school_id=OTHER,
        student_ref=STUDENT,
        class_id=f"{OTHER}-02",
        from_school_id=SCHOOL,
        from_class_id=CLASS,
    )
    record = relayed(moved, 1, service="registry")
    g = group_of(TRANSFERS, db, "registry.events")
    await deliver(g, record, record)
    await replay(TRANSFERS, db, produced, "registry.events")
    assert names(db) == ["StudentAddedToAttentionList", "CarePlanOpened", "CarePlanHandedOver"]


async def test_a_student_who_left_is_removed_and_the_plan_closed_once_even_redelivered(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    await listed_student(db)
    left = StudentLeft(
        district=D, school_id=SCHOOL, student_ref=STUDENT, reason=LeaveReason.moved_away
    )
    record = relayed(left, 1, service="registry")
    g = group_of(TRANSFERS, db, "registry.events")
    await deliver(g, record, record)
    await replay(TRANSFERS, db, produced, "registry.events")
    assert names(db)[2:] == ["StudentRemovedFromAttentionList", "CarePlanClosed"]


async def test_a_listing_and_a_high_risk_flag_ask_for_one_targeted_visit_even_redelivered(
    produced: Produced,
) -> None:
    db = MemoryDatabase(default_registry())
    added = StudentAddedToAttentionList(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        proposal_id="p1",
        class_id=CLASS,
        signed_by=["h", "p", "v"],
    )
    listing = relayed(added, 1, service="wellbeing", event_id=uuid.uuid4())
    high = relayed(flagged(RiskFlag.high), 1, service="wellbeing")
    g = group_of(TARGETED_VISITS, db, "wellbeing.events")
    await deliver(g, high, high, listing, listing)
    await replay(TARGETED_VISITS, db, produced, "wellbeing.events")
    [request] = emitted(db, TargetedVisitRequested)
    assert isinstance(request, TargetedVisitRequested)
    assert (request.student_ref, request.school_year, request.class_id) == (
        STUDENT,
        "2026-2027",
        None,  # the flag came first: it knows no class (visits finds it in its roster)
    )


async def test_an_elevated_flag_asks_for_no_targeted_visit(produced: Produced) -> None:
    db = MemoryDatabase(default_registry())
    g = group_of(TARGETED_VISITS, db, "wellbeing.events")
    await deliver(g, relayed(flagged(RiskFlag.elevated), 1, service="wellbeing"))
    assert emitted(db, TargetedVisitRequested) == []


async def test_a_visit_replayed_after_the_student_was_removed_does_not_propose_them_again(
    produced: Produced,
) -> None:
    """The proposal rule alone would let an old visit propose a removed student anew: the
    trigger's claimed id is what keeps a replay from doing it."""
    db = MemoryDatabase(default_registry())
    g = group_of(PROPOSALS, db, "visits.events")
    await deliver(g, relayed(visit_completed("v1", [Referral.wellbeing]), 1, service="visits"))
    assert len(emitted(db, AttentionListProposed)) == 1
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    removal = Remove(STUDENT, RemovalReason.other, "staff_vp")
    await writer.run_many(streams_of(STUDENT), lambda h, now: decide_removal(removal, h, now))

    await replay(PROPOSALS, db, produced, "visits.events")
    assert len(emitted(db, AttentionListProposed)) == 1
