"""One student, one plan (一生一策): the monthly review, and which months are overdue.

- a review is recorded for one month of an open plan: not before the month the plan opened
  (``month_in_plan``), not a month that has not begun (``month_not_future``), and once per month
  (``one_review_per_month``, a 409: a second review of a month is refused, not a revision —
  what was recorded stays as it was; the next month's review says what changed);
- a month that has ended without a review since the plan opened — the month it opened
  included — is overdue while the plan is open.

Pure: the day is given (China time).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.wellbeing import CarePlanReviewed
from tongxin_wellbeing.domain.attention import AlreadyDecidedError, fold_plan
from tongxin_wellbeing.domain.calendar import china_date, month_of, months_between
from tongxin_wellbeing.domain.errors import UnknownRecordError, WellbeingError


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    student_ref: str
    month: str  # 'YYYY-MM'
    reviewed_by: str
    review: Sealed  # emotional state, interventions, next step: sealed by the application


def decide_review(
    cmd: ReviewPlan, history: list[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    plan = fold_plan(history)
    if not plan.open or plan.plan_id is None or plan.opened_on is None:
        raise UnknownRecordError(
            "the student has no open plan (a plan opens when they are listed)",
            "student_ref",
            rule="open_plan",
        )
    opened = month_of(date.fromisoformat(plan.opened_on))
    if cmd.month < opened:
        raise WellbeingError(
            f"the plan opened in {opened}: {cmd.month} is before it", "month", rule="month_in_plan"
        )
    if cmd.month > month_of(china_date(now)):
        raise WellbeingError(
            f"{cmd.month} has not begun: a review records a month that has",
            "month",
            rule="month_not_future",
        )
    if cmd.month in plan.months:
        raise AlreadyDecidedError(
            f"the plan has its review for {cmd.month} already (one per month; the next "
            "month's review records what changed)",
            "month",
            rule="one_review_per_month",
        )
    return [
        CarePlanReviewed(
            district=plan.district or "",
            school_id=plan.school_id or "",
            student_ref=cmd.student_ref,
            plan_id=plan.plan_id,
            month=cmd.month,
            reviewed_by=cmd.reviewed_by,
            review=cmd.review,
        )
    ]


def overdue_months(opened_on: date, reviewed: Collection[str], as_of: date) -> list[str]:
    """The months that have ended by ``as_of`` — from the month the plan opened — without a
    review."""
    this_month = month_of(as_of)
    return [
        m for m in months_between(opened_on, as_of) if m < this_month and m not in set(reviewed)
    ]
