"""Given a student's plan (一生一策), when a monthly review arrives, then it is recorded sealed (or
refused naming the rule); and which months are overdue on a given day. Also the read model's
rows for the list and the plan, folded in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.unit.test_roster_and_board_projections import folded_every_way
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import (
    AttentionListProposed,
    AttentionListSignedOff,
    CarePlanClosed,
    CarePlanHandedOver,
    CarePlanOpened,
    CarePlanReviewed,
    PlanClosedReason,
    ProposalSource,
    SignOffRole,
    StudentAddedToAttentionList,
)
from tongxin_wellbeing.domain.attention import AlreadyDecidedError
from tongxin_wellbeing.domain.errors import UnknownRecordError, WellbeingError
from tongxin_wellbeing.domain.plans import ReviewPlan, decide_review, overdue_months
from tongxin_wellbeing.projections.read_model import WELLBEING

D, SCHOOL, STUDENT, PLAN, PSYCH = "330106", "330106001", "stu_1", "plan_1", "staff_psych"
SEALED = Sealed(subject=STUDENT, key_id="k", nonce="n", ciphertext="c")
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 10 December, China time


def opened(on: date = date(2026, 10, 20)) -> CarePlanOpened:
    return CarePlanOpened(
        district=D, school_id=SCHOOL, student_ref=STUDENT, plan_id=PLAN, opened_on=on,
        owner_ref=PSYCH,
    )  # fmt: skip


def reviewed(month: str) -> CarePlanReviewed:
    return CarePlanReviewed(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        plan_id=PLAN,
        month=month,
        reviewed_by=PSYCH,
        review=SEALED,
    )


def review(month: str) -> ReviewPlan:
    return ReviewPlan(STUDENT, month, PSYCH, SEALED)


def test_a_review_of_a_month_of_an_open_plan_is_recorded_sealed() -> None:
    assert decide_review(review("2026-11"), [opened()], NOW) == [reviewed("2026-11")]
    # The opening month and the current month may be reviewed too.
    assert decide_review(review("2026-10"), [opened()], NOW) == [reviewed("2026-10")]
    assert decide_review(review("2026-12"), [opened()], NOW) == [reviewed("2026-12")]


def test_a_second_review_of_the_same_month_is_refused_naming_the_rule() -> None:
    with pytest.raises(AlreadyDecidedError) as refused:
        decide_review(review("2026-11"), [opened(), reviewed("2026-11")], NOW)
    assert (refused.value.status, refused.value.rule) == (409, "one_review_per_month")


def test_a_review_of_a_month_before_the_plan_or_not_yet_begun_is_refused() -> None:
    with pytest.raises(WellbeingError) as before:
        decide_review(review("2026-09"), [opened()], NOW)
    assert before.value.rule == "month_in_plan"
    with pytest.raises(WellbeingError) as future:
        decide_review(review("2027-01"), [opened()], NOW)
    assert future.value.rule == "month_not_future"


def test_a_review_without_an_open_plan_is_refused() -> None:
    closed = CarePlanClosed(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        plan_id=PLAN,
        reason=PlanClosedReason.no_longer_listed,
    )
    histories: list[list[IntegrationEvent]] = [[], [opened(), closed]]
    for history in histories:
        with pytest.raises(UnknownRecordError) as refused:
            decide_review(review("2026-11"), history, NOW)
        assert refused.value.rule == "open_plan"


def test_a_review_after_a_handover_is_recorded_at_the_receiving_school() -> None:
    handed = CarePlanHandedOver(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        plan_id=PLAN,
        to_school_id="330106002",
        to_district=D,
    )
    [e] = decide_review(review("2026-11"), [opened(), handed], NOW)
    assert isinstance(e, CarePlanReviewed)
    assert e.school_id == "330106002"


def test_every_month_ended_without_a_review_since_the_plan_opened_is_overdue() -> None:
    start = date(2026, 10, 20)
    assert overdue_months(start, [], date(2026, 10, 31)) == []  # October has not ended
    assert overdue_months(start, [], date(2026, 11, 1)) == ["2026-10"]
    assert overdue_months(start, ["2026-10"], date(2026, 12, 10)) == ["2026-11"]
    assert overdue_months(start, ["2026-10", "2026-11"], date(2026, 12, 31)) == []
    assert overdue_months(start, ["2026-11"], date(2027, 2, 1)) == ["2026-10", "2026-12", "2027-01"]


async def test_the_read_model_keeps_the_listing_sign_offs_plan_and_sealed_reviews() -> None:
    events: list[IntegrationEvent] = [
        AttentionListProposed(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            proposal_id="prop_1",
            source=ProposalSource.screening,
        ),
        AttentionListSignedOff(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            proposal_id="prop_1",
            role=SignOffRole.psych_teacher,
            staff_ref=PSYCH,
        ),
        StudentAddedToAttentionList(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            proposal_id="prop_1",
            class_id=f"{SCHOOL}-01",
            signed_by=["h", PSYCH, "v"],
        ),
        opened(),
        reviewed("2026-10"),
        CarePlanHandedOver(
            district=D,
            school_id=SCHOOL,
            student_ref=STUDENT,
            plan_id=PLAN,
            to_school_id="330106002",
            to_district=D,
        ),
    ]
    tables = await folded_every_way(WELLBEING, events)
    attention = tables["attention"][(STUDENT,)]
    assert (attention["status"], attention["school_id"]) == ("listed", "330106002")
    assert attention["signed_by"] == ["h", PSYCH, "v"]
    assert tables["attention_sign_offs"][("prop_1", "psych_teacher")]["staff_ref"] == PSYCH
    plan = tables["plans"][(STUDENT,)]
    assert (plan["status"], plan["school_id"], plan["owner_ref"]) == ("open", "330106002", PSYCH)
    stored = tables["plan_reviews"][(PLAN, "2026-10")]["review"]
    assert Sealed.model_validate_json(stored) == SEALED
