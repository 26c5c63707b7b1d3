"""Commands, states and refusals of the visits service's aggregates.

Ids, the clock and sealed text are the application's business: commands carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from tongxin_contracts import Sealed
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    FindingCategory,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    ParentSuggestion,
    VisitGoal,
    VisitMode,
    Visitor,
)
from tongxin_platform import domain as kit
from tongxin_platform.domain import DomainError, NotFoundError


class VisitsError(DomainError):
    """A command the visits service refuses. ``field`` names what to correct."""


class UnknownVisitError(VisitsError, NotFoundError):
    pass


class UnknownCaseError(VisitsError, NotFoundError):
    pass


class NotAllowedError(VisitsError, kit.NotAllowedError):
    """The caller is not the person the rule asks for (e.g. confirming one's own visit)."""


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VisitRules:
    """A district's quotas and deadlines; the defaults are the seeds' (002 §5, 000 §3)."""

    in_home_per_year: int = 1
    head_teacher_per_semester: int = 1
    special_group_in_home_per_semester: int = 1
    principal_students_per_year: int = 5
    middle_leader_students_per_year: int = 10
    report_due_day: int = 30
    followup_due_days: int = 30
    suggestion_answer_days: int = 14


# --- visit ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanVisit:
    visit_id: str
    district: str
    school_id: str
    class_id: str
    student_ref: str
    planned_by: str
    planned_for: date


@dataclass(frozen=True, slots=True)
class ScheduleVisit:
    visit_id: str
    appointment_at: datetime
    mode: VisitMode
    scheduled_by: str


@dataclass(frozen=True, slots=True)
class FindingInput:
    category: FindingCategory
    measure: Measure | None = None
    case_id: str | None = None  # given by the application when ``measure`` is set
    owner_ref: str | None = None  # default: the recorder
    detail: Sealed | None = None  # the category, sealed by the application for the case


@dataclass(frozen=True, slots=True)
class CompleteVisit:
    visit_id: str
    recorded_by: str
    visitors: tuple[Visitor, ...]
    mode: VisitMode
    started_at: datetime
    duration_minutes: int
    goals: frozenset[VisitGoal]
    findings: tuple[FindingInput, ...]
    suggestions: tuple[ParentSuggestion, ...]
    notes: Sealed | None
    integrity_attested: bool
    followup_due: date
    findings_sealed: Sealed | None = None  # the findings, sealed by the application


@dataclass(frozen=True, slots=True)
class CancelVisit:
    visit_id: str
    reason: CancelReason
    cancelled_by: str


@dataclass(frozen=True, slots=True)
class ConfirmVisit:
    visit_id: str
    by: ConfirmedBy
    confirmer_ref: str | None = None  # the co-visitor's staff_ref


VisitCommand = PlanVisit | ScheduleVisit | CompleteVisit | CancelVisit | ConfirmVisit


@dataclass(frozen=True, slots=True)
class VisitState:
    status: str = "new"  # new, planned, scheduled, completed, cancelled
    district: str = ""
    school_id: str = ""
    class_id: str = ""
    student_ref: str = ""
    planned_by: str = ""
    recorded_by: str = ""
    visitor_refs: frozenset[str] = field(default_factory=frozenset)
    confirmed: bool = False


# --- follow-up case -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenFollowUp:
    case_id: str
    visit_id: str
    measure: Measure
    category: FindingCategory
    owner_ref: str
    due_date: date
    detail: Sealed | None = None  # the category, sealed by the application


@dataclass(frozen=True, slots=True)
class RecordFollowUpAction:
    case_id: str
    action_id: str
    recorded_by: str
    taken_on: date
    description: Sealed


@dataclass(frozen=True, slots=True)
class CloseFollowUp:
    case_id: str
    outcome: FollowUpOutcome
    closed_by: str
    closed_on: date


FollowUpCommand = RecordFollowUpAction | CloseFollowUp


@dataclass(frozen=True, slots=True)
class FollowUpState:
    status: str = "new"  # new, open, closed
    district: str = ""
    school_id: str = ""
    class_id: str = ""
    student_ref: str = ""
    owner_ref: str = ""
    opened_on: date | None = None


# --- monthly report and rules ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitMonthlyReport:
    district: str
    school_id: str
    month: str
    figures: MonthlyFigures
    submitted_by: str


@dataclass(frozen=True, slots=True)
class ReportState:
    revision: int = 0
    figures: MonthlyFigures | None = None


@dataclass(frozen=True, slots=True)
class SetVisitRules:
    district: str
    rules: VisitRules
    set_by: str


# --- erasure ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShredStudentText:
    """Record that this service's key for a student's text is gone (after ``SubjectErased``)."""

    district: str
    student_ref: str
    erasure_event_id: str
    key_existed: bool
