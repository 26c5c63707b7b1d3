"""Given a student's attention and plan streams, when a proposal, a sign-off, a removal or a move
arrives, then these events (or this refusal). Every rule of ``tongxin_wellbeing.domain.attention``
in turn, and the targeted visit's once per school year."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.events.wellbeing import (
    AttentionListProposed,
    AttentionListSignedOff,
    CarePlanClosed,
    CarePlanHandedOver,
    CarePlanOpened,
    PlanClosedReason,
    ProposalSource,
    RemovalReason,
    SignOffRole,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
    TargetedVisitRequested,
    attention_stream,
    plan_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions
from tongxin_wellbeing.domain.attention import (
    SERVICE_DECIDER,
    AlreadyDecidedError,
    Move,
    Propose,
    Remove,
    RequestVisit,
    SignOff,
    Where,
    decide_move,
    decide_proposal,
    decide_proposal_once,
    decide_removal,
    decide_sign_off,
    decide_targeted_visit,
)
from tongxin_wellbeing.domain.errors import NotEntitledError, UnknownRecordError, WellbeingError

D, SCHOOL, OTHER_SCHOOL, CLASS = "330106", "330106001", "330106002", "330106001-01"
STUDENT, PROPOSAL, PLAN = "stu_1", "prop_1", "plan_1"
HEAD, PSYCH, VP = "staff_head", "staff_psych", "staff_vp"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 China time
HERE = Where(D, SCHOOL, CLASS)
A, P = attention_stream(STUDENT), plan_stream(STUDENT)
REASON = Sealed(subject=STUDENT, key_id="k", nonce="n", ciphertext="c")


def given(*events: IntegrationEvent) -> dict[str, list[IntegrationEvent]]:
    out: dict[str, list[IntegrationEvent]] = {A: [], P: []}
    for e in events:
        out[e.aggregate_id()].append(e)
    return out


def proposed(proposal_id: str = PROPOSAL) -> AttentionListProposed:
    return AttentionListProposed(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        proposal_id=proposal_id,
        source=ProposalSource.visit,
    )


def signed(role: SignOffRole, staff_ref: str) -> AttentionListSignedOff:
    return AttentionListSignedOff(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        proposal_id=PROPOSAL,
        role=role,
        staff_ref=staff_ref,
    )


def listed() -> list[IntegrationEvent]:
    return [
        proposed(),
        signed(SignOffRole.head_teacher, HEAD),
        signed(SignOffRole.health_vp, VP),
        signed(SignOffRole.psych_teacher, PSYCH),
        StudentAddedToAttentionList(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            proposal_id=PROPOSAL,
            class_id=CLASS,
            signed_by=[HEAD, PSYCH, VP],
        ),
        CarePlanOpened(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            plan_id=PLAN,
            opened_on=date(2026, 11, 3),
            owner_ref=PSYCH,
        ),
    ]


def sign(role: SignOffRole, staff_ref: str, **changes: object) -> SignOff:
    cmd = SignOff(STUDENT, HERE, PROPOSAL, role, staff_ref, role.value, True, PLAN)
    return replace(cmd, **changes)  # type: ignore[arg-type]


def reasons(events: list[IntegrationEvent]) -> list[tuple[str, object]]:
    """Each event's name and reason, if it has one."""
    return [(e.name, getattr(e, "reason", None)) for e in events]


def propose(source: ProposalSource = ProposalSource.staff) -> Propose:
    return Propose(STUDENT, HERE, PROPOSAL, source, HEAD if source == "staff" else None, REASON)


# --- proposals -------------------------------------------------------------------------------


def test_a_staff_proposal_is_recorded_with_its_sealed_reason() -> None:
    assert decide_proposal(propose(), given(), NOW) == [
        AttentionListProposed(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            proposal_id=PROPOSAL,
            source=ProposalSource.staff,
            proposed_by=HEAD,
            reason=REASON,
        )
    ]


def test_a_second_staff_proposal_while_one_is_open_is_refused_naming_the_rule() -> None:
    with pytest.raises(AlreadyDecidedError) as refused:
        decide_proposal(propose(), given(proposed()), NOW)
    assert (refused.value.status, refused.value.rule) == (409, "one_open_proposal")


def test_a_staff_proposal_for_a_listed_student_is_refused_naming_the_rule() -> None:
    with pytest.raises(AlreadyDecidedError) as refused:
        decide_proposal(propose(), given(*listed()), NOW)
    assert refused.value.rule == "already_listed"


def test_a_reaction_proposes_once_while_a_proposal_is_open_or_the_student_is_listed() -> None:
    cmd = propose(ProposalSource.visit)
    assert [type(e) for e in decide_proposal_once(cmd, given(), NOW)] == [AttentionListProposed]
    assert decide_proposal_once(cmd, given(proposed()), NOW) == []
    assert decide_proposal_once(cmd, given(*listed()), NOW) == []


def test_a_student_removed_from_the_list_may_be_proposed_again() -> None:
    removed = StudentRemovedFromAttentionList(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        reason=RemovalReason.improved,
        decided_by=PSYCH,
    )
    history = given(*listed(), removed)
    assert [type(e) for e in decide_proposal(propose(), history, NOW)] == [AttentionListProposed]


# --- sign-offs -------------------------------------------------------------------------------


def test_the_first_two_sign_offs_are_recorded_without_a_listing() -> None:
    first = decide_sign_off(sign(SignOffRole.head_teacher, HEAD), given(proposed()), NOW)
    assert first == [signed(SignOffRole.head_teacher, HEAD)]
    history = given(proposed(), *first)
    assert decide_sign_off(sign(SignOffRole.health_vp, VP), history, NOW) == [
        signed(SignOffRole.health_vp, VP)
    ]


def test_the_third_sign_off_lists_the_student_and_opens_the_plan_owned_by_the_psych_teacher() -> (
    None
):
    history = given(
        proposed(), signed(SignOffRole.head_teacher, HEAD), signed(SignOffRole.health_vp, VP)
    )
    events = decide_sign_off(sign(SignOffRole.psych_teacher, PSYCH), history, NOW)
    assert events == listed()[3:]


def test_the_same_person_signing_in_a_second_role_is_refused_naming_the_rule() -> None:
    history = given(proposed(), signed(SignOffRole.head_teacher, HEAD))
    with pytest.raises(WellbeingError) as refused:
        decide_sign_off(sign(SignOffRole.psych_teacher, HEAD), history, NOW)
    assert (refused.value.status, refused.value.rule) == (422, "distinct_signers")


def test_a_role_signed_already_is_refused_naming_the_rule() -> None:
    history = given(proposed(), signed(SignOffRole.health_vp, VP))
    with pytest.raises(AlreadyDecidedError) as refused:
        decide_sign_off(sign(SignOffRole.health_vp, "staff_vp_2"), history, NOW)
    assert (refused.value.status, refused.value.rule) == (409, "one_sign_off_per_role")


def test_a_role_the_roster_does_not_give_the_signer_is_refused_naming_the_rule() -> None:
    with pytest.raises(NotEntitledError) as refused:
        decide_sign_off(
            sign(SignOffRole.psych_teacher, PSYCH, holds_role=False), given(proposed()), NOW
        )
    assert (refused.value.status, refused.value.rule) == (403, "role_held")


def test_signing_in_a_role_other_than_the_tokens_is_refused_naming_the_rule() -> None:
    cmd = sign(SignOffRole.health_vp, PSYCH, token_role="psych_teacher")
    with pytest.raises(NotEntitledError) as refused:
        decide_sign_off(cmd, given(proposed()), NOW)
    assert refused.value.rule == "sign_as_own_role"


def test_a_sign_off_of_an_unknown_or_closed_proposal_is_not_found() -> None:
    with pytest.raises(UnknownRecordError):
        decide_sign_off(sign(SignOffRole.head_teacher, HEAD), given(), NOW)
    cmd = sign(SignOffRole.head_teacher, HEAD, proposal_id="other")
    with pytest.raises(UnknownRecordError):
        decide_sign_off(cmd, given(proposed()), NOW)
    with pytest.raises(UnknownRecordError):
        decide_sign_off(sign(SignOffRole.head_teacher, HEAD), given(*listed()), NOW)


# --- removal ---------------------------------------------------------------------------------


def test_a_removal_records_reason_and_who_decided_and_closes_the_plan() -> None:
    events = decide_removal(Remove(STUDENT, RemovalReason.improved, VP), given(*listed()), NOW)
    assert events == [
        StudentRemovedFromAttentionList(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            reason=RemovalReason.improved,
            decided_by=VP,
        ),
        CarePlanClosed(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            plan_id=PLAN,
            reason=PlanClosedReason.no_longer_listed,
        ),
    ]


def test_removing_a_student_neither_listed_nor_proposed_is_not_found() -> None:
    with pytest.raises(UnknownRecordError) as refused:
        decide_removal(Remove(STUDENT, RemovalReason.other, VP), given(), NOW)
    assert refused.value.rule == "listed_to_remove"


def test_removing_a_proposed_student_withdraws_the_proposal_without_a_plan_to_close() -> None:
    events = decide_removal(Remove(STUDENT, RemovalReason.other, VP), given(proposed()), NOW)
    assert [type(e) for e in events] == [StudentRemovedFromAttentionList]


# --- moves -----------------------------------------------------------------------------------


def test_a_student_who_leaves_is_removed_and_their_plan_closed_by_the_service() -> None:
    events = decide_move(Move(STUDENT, None), given(*listed()), NOW)
    assert reasons(events) == [
        ("StudentRemovedFromAttentionList", RemovalReason.left_school),
        ("CarePlanClosed", PlanClosedReason.left_school),
    ]
    assert isinstance(events[0], StudentRemovedFromAttentionList)
    assert events[0].decided_by == SERVICE_DECIDER


def test_a_transfer_in_the_district_hands_the_plan_over_and_keeps_the_listing() -> None:
    there = Where(D, OTHER_SCHOOL, f"{OTHER_SCHOOL}-03")
    assert decide_move(Move(STUDENT, there), given(*listed()), NOW) == [
        CarePlanHandedOver(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            plan_id=PLAN,
            to_school_id=OTHER_SCHOOL,
            to_district=D,
        )
    ]


def test_a_second_transfer_hands_the_plan_over_from_the_school_that_holds_it() -> None:
    there = Where(D, OTHER_SCHOOL, None)
    first = decide_move(Move(STUDENT, there), given(*listed()), NOW)
    back = decide_move(Move(STUDENT, HERE), given(*listed(), *first), NOW)
    assert [(e.school_id, e.to_school_id) for e in back if isinstance(e, CarePlanHandedOver)] == [
        (OTHER_SCHOOL, SCHOOL)
    ]
    assert decide_move(Move(STUDENT, there), given(*listed(), *first), NOW) == []


def test_a_move_to_another_class_of_the_same_school_changes_nothing() -> None:
    assert decide_move(Move(STUDENT, Where(D, SCHOOL, f"{SCHOOL}-02")), given(*listed()), NOW) == []


def test_a_transfer_to_another_district_removes_the_student_and_closes_the_plan() -> None:
    events = decide_move(Move(STUDENT, Where("330108", "330108001")), given(*listed()), NOW)
    assert reasons(events) == [
        ("StudentRemovedFromAttentionList", RemovalReason.transferred),
        ("CarePlanClosed", PlanClosedReason.transferred),
    ]


def test_a_transfer_withdraws_a_proposal_signed_at_the_old_school() -> None:
    history = given(proposed(), signed(SignOffRole.head_teacher, HEAD))
    events = decide_move(Move(STUDENT, Where(D, OTHER_SCHOOL)), history, NOW)
    assert reasons(events) == [("StudentRemovedFromAttentionList", RemovalReason.transferred)]


def test_a_move_of_a_student_wellbeing_never_listed_changes_nothing() -> None:
    assert decide_move(Move(STUDENT, Where(D, OTHER_SCHOOL)), given(), NOW) == []
    assert decide_move(Move(STUDENT, None), given(), NOW) == []


# --- targeted visits -------------------------------------------------------------------------


def test_a_targeted_visit_is_requested_once_per_student_and_school_year_without_a_reason() -> None:
    cmd = RequestVisit(STUDENT, "2026-2027", HERE, "req_1")
    events = decide_targeted_visit(cmd, [], NOW)
    assert events == [
        TargetedVisitRequested(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            school_year="2026-2027",
            class_id=CLASS,
            request_id="req_1",
            requested_on=date(2026, 11, 3),
        )
    ]
    assert set(TargetedVisitRequested.model_fields) & {"reason", "risk", "band", "source"} == set()
    assert decide_targeted_visit(replace(cmd, request_id="req_2"), events, NOW) == []


# --- the two streams written together ---------------------------------------------------------


async def test_the_listing_and_the_plan_are_appended_together_to_their_own_streams() -> None:
    db = MemoryDatabase(default_registry())
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    streams = (A, P)
    await writer.run_many(streams, lambda h, now: decide_proposal(propose(), h, now))
    for cmd in (
        sign(SignOffRole.head_teacher, HEAD),
        sign(SignOffRole.health_vp, VP),
        sign(SignOffRole.psych_teacher, PSYCH),
    ):

        def decide(
            h: dict[str, list[IntegrationEvent]], now: datetime, cmd: SignOff = cmd
        ) -> list[IntegrationEvent]:
            return decide_sign_off(cmd, h, now)

        await writer.run_many(streams, decide)
    # The plan stream exists already once the student was listed: its next event follows it.
    removal = Remove(STUDENT, RemovalReason.improved, VP)
    await writer.run_many(streams, lambda h, now: decide_removal(removal, h, now))
    await writer.run_many(streams, lambda h, now: decide_proposal(propose(), h, now))
    stored = [(s.stream_id, s.version, s.event_type.split(".")[-2]) for s in db.stored()]
    assert [s for s in stored if s[0] == P] == [
        (P, 1, "CarePlanOpened"),
        (P, 2, "CarePlanClosed"),
    ]
    assert [s[1] for s in stored if s[0] == A] == [1, 2, 3, 4, 5, 6, 7]
