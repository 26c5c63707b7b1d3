"""Deciders: ``decide_*(command, state, now) -> events`` and ``evolve(state, event) -> state``.

Pure: no I/O, no clock (``now`` is a parameter), no ids (commands carry them).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TypeVar

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import china_date, month_bounds, parse_month, report_due
from tongxin_contracts.events.visits import (
    ConfirmedBy,
    FollowUpActionRecorded,
    FollowUpClosed,
    FollowUpOpened,
    MonthlyVisitReportSubmitted,
    StudentTextShredded,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitPlanned,
    VisitRulesSet,
    VisitScheduled,
    referrals_of,
)
from tongxin_visits.domain.model import (
    CancelVisit,
    CompleteVisit,
    ConfirmVisit,
    FollowUpCommand,
    FollowUpState,
    NotAllowedError,
    OpenFollowUp,
    PlanVisit,
    RecordFollowUpAction,
    ReportState,
    ScheduleVisit,
    SetVisitRules,
    ShredStudentText,
    SubmitMonthlyReport,
    UnknownCaseError,
    UnknownVisitError,
    VisitCommand,
    VisitRules,
    VisitsError,
    VisitState,
)

S = TypeVar("S")
# Clocks of phones drift; a visit "started" a little in the future is still believable.
CLOCK_SKEW = timedelta(minutes=10)
# An appointment may be entered the evening after it was agreed, not weeks later.
LATE_APPOINTMENT = timedelta(days=1)
# Visits are recorded within the school year they belong to, appointments made for it.
HORIZON = timedelta(days=366)


def decide_visit(cmd: VisitCommand, state: VisitState, now: datetime) -> list[IntegrationEvent]:
    if isinstance(cmd, PlanVisit):
        if state.status != "new":
            raise VisitsError(f"visit {cmd.visit_id} already exists", "visit_id")
        return [
            VisitPlanned(
                district=cmd.district,
                school_id=cmd.school_id,
                visit_id=cmd.visit_id,
                class_id=cmd.class_id,
                student_ref=cmd.student_ref,
                planned_by=cmd.planned_by,
                planned_for=cmd.planned_for,
            )
        ]
    if state.status == "new":
        raise UnknownVisitError(f"no visit {cmd.visit_id}", "visit_id")
    ids = {"district": state.district, "school_id": state.school_id, "visit_id": cmd.visit_id}
    if isinstance(cmd, ScheduleVisit):
        _must_be_open(state, "scheduled")
        if cmd.appointment_at < now - LATE_APPOINTMENT:
            raise VisitsError(
                "an appointment more than a day in the past cannot be made", "appointment_at"
            )
        if cmd.appointment_at > now + HORIZON:
            raise VisitsError("an appointment is made at most a year ahead", "appointment_at")
        return [
            VisitScheduled(
                **ids,
                appointment_at=cmd.appointment_at,
                mode=cmd.mode,
                scheduled_by=cmd.scheduled_by,
            )
        ]
    if isinstance(cmd, CancelVisit):
        _must_be_open(state, "cancelled")
        return [VisitCancelled(**ids, reason=cmd.reason, cancelled_by=cmd.cancelled_by)]
    if isinstance(cmd, CompleteVisit):
        return _complete(cmd, state, now)
    return _confirm(cmd, state)


def _must_be_open(state: VisitState, verb: str) -> None:
    if state.status in ("completed", "cancelled"):
        raise VisitsError(f"the visit is {state.status}; it cannot be {verb}", "status")


def _complete(cmd: CompleteVisit, state: VisitState, now: datetime) -> list[IntegrationEvent]:
    _must_be_open(state, "completed")
    if not cmd.integrity_attested:
        raise VisitsError(
            "a visit is recorded only with the integrity attestation: no gifts, money or meals "
            "accepted (seed 002 §3.4)",
            "integrity_attested",
        )
    refs = [v.staff_ref for v in cmd.visitors]
    if len(set(refs)) != len(refs):
        raise VisitsError("a visitor is listed twice", "visitors")
    if cmd.recorded_by not in refs:
        raise NotAllowedError(
            "the person recording a visit must be one of its visitors", "visitors"
        )
    if cmd.started_at > now + CLOCK_SKEW:
        raise VisitsError("a visit cannot be recorded before it started", "started_at")
    if cmd.started_at < now - HORIZON:
        raise VisitsError("a visit is recorded within a year of taking place", "started_at")
    if not 1 <= cmd.duration_minutes <= 600:
        raise VisitsError("a visit lasts between 1 and 600 minutes", "duration_minutes")
    if not cmd.goals:
        raise VisitsError("name at least one of the five goals the visit covered", "goals_covered")
    cases = []
    for n, f in enumerate(cmd.findings):
        if f.measure is None:
            continue
        if f.case_id is None:
            raise VisitsError("a finding with a measure needs a case id", f"findings.{n}")
        cases.append(
            FollowUpOpened(
                district=state.district,
                school_id=state.school_id,
                case_id=f.case_id,
                visit_id=cmd.visit_id,
                class_id=state.class_id,
                student_ref=state.student_ref,
                measure=f.measure,
                detail=f.detail,
                owner_ref=f.owner_ref or cmd.recorded_by,
                opened_on=china_date(now),
                due_date=cmd.followup_due,
            )
        )
    completed = VisitCompleted(
        district=state.district,
        school_id=state.school_id,
        visit_id=cmd.visit_id,
        class_id=state.class_id,
        student_ref=state.student_ref,
        recorded_by=cmd.recorded_by,
        visitors=list(cmd.visitors),
        mode=cmd.mode,
        started_at=cmd.started_at,
        duration_minutes=cmd.duration_minutes,
        goals_covered=sorted(cmd.goals),
        # The categories travel sealed; in clear only whom they concern outside the school.
        findings=cmd.findings_sealed,
        referrals=referrals_of(f.category for f in cmd.findings),
        followup_case_ids=[c.case_id for c in cases],
        parent_suggestions=list(cmd.suggestions),
        notes=cmd.notes,
        integrity_attested=True,
    )
    return [completed, *cases]


def _confirm(cmd: ConfirmVisit, state: VisitState) -> list[IntegrationEvent]:
    if state.status != "completed":
        raise VisitsError(
            f"only a completed visit can be confirmed; this one is {state.status}", "status"
        )
    if cmd.by is ConfirmedBy.co_visitor:
        if cmd.confirmer_ref == state.recorded_by:
            raise NotAllowedError(
                "a visit is confirmed by a second person: its recorder cannot confirm it"
            )
        if cmd.confirmer_ref not in state.visitor_refs:
            raise NotAllowedError("only a co-visitor named in the visit can confirm it")
    if state.confirmed:
        return []
    return [
        VisitConfirmed(
            district=state.district,
            school_id=state.school_id,
            visit_id=cmd.visit_id,
            confirmed_by=cmd.by,
            confirmer_ref=cmd.confirmer_ref if cmd.by is ConfirmedBy.co_visitor else None,
        )
    ]


def decide_open_followup(
    cmd: OpenFollowUp, visit: VisitState, case: FollowUpState, now: datetime
) -> list[IntegrationEvent]:
    if visit.status != "completed":
        raise VisitsError("follow-up cases are opened from a completed visit", "visit_id")
    if case.status != "new":
        raise VisitsError(f"case {cmd.case_id} already exists", "case_id")
    return [
        FollowUpOpened(
            district=visit.district,
            school_id=visit.school_id,
            case_id=cmd.case_id,
            visit_id=cmd.visit_id,
            class_id=visit.class_id,
            student_ref=visit.student_ref,
            measure=cmd.measure,
            detail=cmd.detail,
            owner_ref=cmd.owner_ref,
            opened_on=china_date(now),
            due_date=cmd.due_date,
        )
    ]


def decide_followup(cmd: FollowUpCommand, state: FollowUpState) -> list[IntegrationEvent]:
    if state.status == "new":
        raise UnknownCaseError(f"no follow-up case {cmd.case_id}", "case_id")
    if state.status == "closed":
        raise VisitsError("the case is closed", "status")
    ids = {"district": state.district, "school_id": state.school_id, "case_id": cmd.case_id}
    if isinstance(cmd, RecordFollowUpAction):
        return [
            FollowUpActionRecorded(
                **ids,
                action_id=cmd.action_id,
                recorded_by=cmd.recorded_by,
                taken_on=cmd.taken_on,
                description=cmd.description,
            )
        ]
    if state.opened_on is not None and cmd.closed_on < state.opened_on:
        raise VisitsError("a case cannot close before it opened", "closed_on")
    return [
        FollowUpClosed(**ids, outcome=cmd.outcome, closed_by=cmd.closed_by, closed_on=cmd.closed_on)
    ]


def decide_report(
    cmd: SubmitMonthlyReport, state: ReportState, rules: VisitRules, now: datetime
) -> list[IntegrationEvent]:
    try:
        parse_month(cmd.month)
    except ValueError as exc:
        raise VisitsError(str(exc), "month") from exc
    today = china_date(now)
    if month_bounds(cmd.month)[0] > today:
        raise VisitsError(f"month {cmd.month} has not begun", "month")
    if state.figures == cmd.figures:
        return []  # the same figures again: nothing new to report
    due = report_due(cmd.month, rules.report_due_day)
    return [
        MonthlyVisitReportSubmitted(
            district=cmd.district,
            school_id=cmd.school_id,
            month=cmd.month,
            revision=state.revision + 1,
            figures=cmd.figures,
            submitted_by=cmd.submitted_by,
            submitted_at=now,
            due_date=due,
            late=today > due,
        )
    ]


def decide_rules(cmd: SetVisitRules, current: VisitRules | None) -> list[IntegrationEvent]:
    if current == cmd.rules:
        return []
    return [VisitRulesSet(district=cmd.district, set_by=cmd.set_by, **asdict(cmd.rules))]


def decide_shredding(
    cmd: ShredStudentText, history: list[IntegrationEvent]
) -> list[IntegrationEvent]:
    """One ``StudentTextShredded`` per erasure of the student."""
    done = {e.erasure_event_id for e in history if isinstance(e, StudentTextShredded)}
    if cmd.erasure_event_id in done:
        return []
    return [
        StudentTextShredded(
            district=cmd.district,
            student_ref=cmd.student_ref,
            erasure_event_id=cmd.erasure_event_id,
            key_existed=cmd.key_existed,
        )
    ]
