"""Request bodies and path parameters of the visits API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.registry import StaffRole
from tongxin_contracts.events.visits import (
    CancelReason,
    FindingCategory,
    FollowUpOutcome,
    Measure,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
)
from tongxin_platform.fields import IDENT, Day, Moment, Ref

MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"

VisitId = Annotated[str, Path(pattern=IDENT, description="Visit id.")]
CaseId = Annotated[str, Path(pattern=IDENT, description="Follow-up case id.")]
SchoolId = Annotated[str, Path(pattern=IDENT, description="School id.")]
ClassId = Annotated[str, Path(pattern=IDENT, description="Class id.")]
StudentRef = Annotated[str, Path(pattern=IDENT, description="The student's pseudonym (stu_…).")]
District = Annotated[str, Path(pattern=IDENT, description="District code.")]
Month = Annotated[str, Path(pattern=MONTH, description="Month, e.g. 2026-10.")]
Semester = Annotated[int | None, Query(ge=1, le=2, description="Semester (default: current).")]
# Free text: bounded, no NUL (PostgreSQL refuses it; a 422 names the field instead).
FreeText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanBody(_Body):
    student_ref: Ref = Field(description="The student whose family will be visited.")
    planned_for: Day = Field(description="The day (or first day of the week) planned.")


class ScheduleBody(_Body):
    appointment_at: Moment = Field(description="Agreed start, with its time zone.")
    mode: VisitMode = Field(description="How the family agreed to be visited.")


class VisitorBody(_Body):
    staff_ref: Ref = Field(description="A visitor's staff_ref (the recorder is one of them).")
    role: StaffRole = Field(description="The role they visited in; one they hold at the school.")


class FindingBody(_Body):
    category: FindingCategory
    measure: Measure | None = Field(
        default=None, description="Open a follow-up case under this measure (四措施)."
    )
    owner_ref: Ref | None = Field(
        default=None, description="Who owns the case (default: the recorder)."
    )


class SuggestionBody(_Body):
    topic: SuggestionTopic
    text: FreeText = Field(description="The suggestion in the parent's words (sealed).")


class CompleteBody(_Body):
    visitors: list[VisitorBody] = Field(min_length=1, max_length=10)
    mode: VisitMode
    started_at: Moment = Field(description="When the visit started, with its time zone.")
    duration_minutes: int = Field(ge=1, le=600)
    goals_covered: list[VisitGoal] = Field(description="Which of the five goals were covered.")
    findings: list[FindingBody] = Field(default_factory=list, max_length=20)
    parent_suggestions: list[SuggestionBody] = Field(default_factory=list, max_length=20)
    notes: FreeText | None = Field(default=None, description="Visit notes (家访手记), sealed.")
    integrity_attested: bool = Field(
        description="No gifts, money or meals were accepted (required to be true)."
    )


class CancelBody(_Body):
    reason: CancelReason


class FamilyConfirmBody(_Body):
    code: str = Field(pattern=r"^\d{6}$", description="The six-digit code the family received.")


class OpenFollowUpBody(_Body):
    measure: Measure
    category: FindingCategory
    owner_ref: Ref | None = Field(default=None, description="Default: the caller.")
    due_date: Day | None = Field(default=None, description="Default: the district's rule.")


class ActionBody(_Body):
    taken_on: Day
    description: FreeText = Field(description="What was done (sealed).")


class CloseBody(_Body):
    outcome: FollowUpOutcome
    closed_on: Day


class RulesBody(_Body):
    in_home_per_year: int = Field(default=1, ge=0, le=20)
    head_teacher_per_semester: int = Field(default=1, ge=0, le=20)
    special_group_in_home_per_semester: int = Field(default=1, ge=0, le=20)
    principal_students_per_year: int = Field(default=5, ge=0, le=1000)
    middle_leader_students_per_year: int = Field(default=10, ge=0, le=1000)
    report_due_day: int = Field(default=30, ge=1, le=31)
    followup_due_days: int = Field(default=30, ge=1, le=365)
    suggestion_answer_days: int = Field(default=14, ge=1, le=365)
