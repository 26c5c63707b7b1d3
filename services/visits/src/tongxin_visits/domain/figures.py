"""The monthly statistics (统计表) of one school, computed from its events.

A visit belongs to the month (China time) in which it started; a cancellation to the month it
was recorded in; a case to the month it opened or closed. Figures by mode, by visitor and of
students count confirmed visits only, so that the district sees what a second person vouched
for; ``visits_unconfirmed`` shows the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import china_date, month_bounds
from tongxin_contracts.events.registry import StaffRole
from tongxin_contracts.events.visits import (
    FollowUpClosed,
    FollowUpOpened,
    MonthlyFigures,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitMode,
)


def monthly_figures(
    events: Iterable[tuple[IntegrationEvent, datetime]], month: str, special: set[str]
) -> MonthlyFigures:
    """``events``: the school's visit and follow-up events with the time each was recorded;
    ``special``: the students who are in a special group."""
    first, last = month_bounds(month)

    def within(d: date) -> bool:
        return first <= d <= last

    completed: dict[str, VisitCompleted] = {}
    confirmed: set[str] = set()
    cancelled = opened = closed = 0
    for event, recorded_at in events:
        if isinstance(event, VisitCompleted) and within(china_date(event.started_at)):
            completed[event.visit_id] = event
        elif isinstance(event, VisitConfirmed):
            confirmed.add(event.visit_id)
        elif isinstance(event, VisitCancelled) and within(china_date(recorded_at)):
            cancelled += 1
        elif isinstance(event, FollowUpOpened) and within(event.opened_on):
            opened += 1
        elif isinstance(event, FollowUpClosed) and within(event.closed_on):
            closed += 1
    vouched = [v for v in completed.values() if v.visit_id in confirmed]
    students = {v.student_ref for v in vouched}

    def modes(mode: VisitMode) -> int:
        return sum(v.mode is mode for v in vouched)

    def by(role: StaffRole) -> int:
        return sum(any(p.role is role for p in v.visitors) for v in vouched)

    return MonthlyFigures(
        visits_completed=len(completed),
        visits_confirmed=len(vouched),
        visits_unconfirmed=len(completed) - len(vouched),
        in_home=modes(VisitMode.in_home),
        online=modes(VisitMode.online),
        phone=modes(VisitMode.phone),
        at_school=modes(VisitMode.at_school),
        students_visited=len(students),
        special_group_students_visited=len(students & special),
        by_principals=by(StaffRole.principal),
        by_middle_leaders=by(StaffRole.middle_leader),
        by_head_teachers=by(StaffRole.head_teacher),
        by_subject_teachers=by(StaffRole.subject_teacher),
        visits_cancelled=cancelled,
        followups_opened=opened,
        followups_closed=closed,
        parent_suggestions=sum(len(v.parent_suggestions) for v in completed.values()),
    )
