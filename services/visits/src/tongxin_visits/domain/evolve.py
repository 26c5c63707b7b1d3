"""Evolve: how each event changes its aggregate's state, and ``fold`` over a history.

Pure, like the deciders; a state is rebuilt from the event store on every command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import singledispatch
from typing import TypeVar

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.visits import (
    FollowUpActionRecorded,
    FollowUpClosed,
    FollowUpOpened,
    MonthlyVisitReportSubmitted,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitPlanned,
    VisitRulesSet,
    VisitScheduled,
)
from tongxin_visits.domain.model import FollowUpState, ReportState, VisitRules, VisitState

S = TypeVar("S")


@singledispatch
def evolve(event: IntegrationEvent, state: object) -> object:
    raise TypeError(f"no evolve for {type(event).__name__}")


@evolve.register
def _(event: VisitPlanned, state: object) -> VisitState:
    return VisitState(
        "planned",
        event.district,
        event.school_id,
        event.class_id,
        event.student_ref,
        event.planned_by,
    )


@evolve.register
def _(event: VisitScheduled, state: object) -> VisitState:
    assert isinstance(state, VisitState)
    return replace(state, status="scheduled")


@evolve.register
def _(event: VisitCompleted, state: object) -> VisitState:
    assert isinstance(state, VisitState)
    return replace(
        state,
        status="completed",
        recorded_by=event.recorded_by,
        visitor_refs=frozenset(v.staff_ref for v in event.visitors),
    )


@evolve.register
def _(event: VisitCancelled, state: object) -> VisitState:
    assert isinstance(state, VisitState)
    return replace(state, status="cancelled")


@evolve.register
def _(event: VisitConfirmed, state: object) -> VisitState:
    assert isinstance(state, VisitState)
    return replace(state, confirmed=True)


@evolve.register
def _(event: FollowUpOpened, state: object) -> FollowUpState:
    return FollowUpState(
        "open",
        event.district,
        event.school_id,
        event.class_id,
        event.student_ref,
        event.owner_ref,
        event.opened_on,
    )


@evolve.register
def _(event: FollowUpActionRecorded, state: object) -> FollowUpState:
    assert isinstance(state, FollowUpState)
    return state


@evolve.register
def _(event: FollowUpClosed, state: object) -> FollowUpState:
    assert isinstance(state, FollowUpState)
    return replace(state, status="closed")


@evolve.register
def _(event: MonthlyVisitReportSubmitted, state: object) -> ReportState:
    return ReportState(event.revision, event.figures)


@evolve.register
def _(event: VisitRulesSet, state: object) -> VisitRules:
    return rules_of(event)


def rules_of(event: VisitRulesSet) -> VisitRules:
    return VisitRules(
        in_home_per_year=event.in_home_per_year,
        head_teacher_per_semester=event.head_teacher_per_semester,
        special_group_in_home_per_semester=event.special_group_in_home_per_semester,
        principal_students_per_year=event.principal_students_per_year,
        middle_leader_students_per_year=event.middle_leader_students_per_year,
        report_due_day=event.report_due_day,
        followup_due_days=event.followup_due_days,
        suggestion_answer_days=event.suggestion_answer_days,
    )


def fold(events: Iterable[IntegrationEvent], initial: S) -> S:
    state: object = initial
    for e in events:
        state = evolve(e, state)
    return state  # type: ignore[return-value]
