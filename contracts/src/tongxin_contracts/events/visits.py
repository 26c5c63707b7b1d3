"""Events of the visits service (家访), published on ``visits.events``.

A visit is one aggregate (``visit-<visit_id>``): planned, scheduled with the family (预约),
completed or cancelled, and — to count toward coverage — confirmed by a second person.
Findings open follow-up cases (``followup-<case_id>``) in the ledger (台账) under the four
measures. Each school's monthly statistics (统计表) are ``report-<school_id>-<month>``, and a
district's rules ``visit-rules-<district>``. Free text (notes, parent suggestions, actions) is
personal information of minors and travels sealed with the student's key in this service; so
do the categories of what a visit found. In clear travels only whom a finding concerns outside
the school (``referrals``) and the measure of each follow-up case (the ledger's structure,
which wellbeing and safety react to): ``docs/privacy-on-the-wire.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed, StreamName
from tongxin_contracts.events.registry import StaffRole

SERVICE = "visits"

# The visits service's aggregates and how their stream ids are spelt.
visit_stream = StreamName("visit")
case_stream = StreamName("followup")
report_stream = StreamName("report")  # report-<school_id>-<month>
rules_stream = StreamName("visit-rules")
student_text_stream = StreamName("student-text")  # the visits service's text about one student


class VisitMode(StrEnum):
    in_home = "in_home"  # 入户
    online = "online"
    phone = "phone"
    at_school = "at_school"


class VisitGoal(StrEnum):
    """The five goals of a home visit (seed 002 §4)."""

    student_performance = "student_performance"  # 交流学生表现
    family_situation = "family_situation"  # 了解家庭情况
    motivation = "motivation"  # 激发学习动力
    policy_and_safety_education = "policy_and_safety_education"  # 宣讲教育理念
    parent_opinions = "parent_opinions"  # 听取家长意见


class FindingCategory(StrEnum):
    family_hardship = "family_hardship"
    learning_difficulty = "learning_difficulty"
    family_education = "family_education"
    mental_health = "mental_health"
    physical_health = "physical_health"
    safety = "safety"
    other = "other"


class Referral(StrEnum):
    """A service outside the school that must act on what a visit found (DESIGN §1's
    reactions): wellbeing on a mental-health finding, safety on a safety finding."""

    wellbeing = "wellbeing"
    safety = "safety"


_REFERRED = {
    FindingCategory.mental_health: Referral.wellbeing,
    FindingCategory.safety: Referral.safety,
}


def referrals_of(categories: Iterable[FindingCategory | str]) -> list[Referral]:
    """The referrals the findings of these categories make, sorted (each once)."""
    return sorted({_REFERRED[FindingCategory(c)] for c in categories if c in _REFERRED})


class Measure(StrEnum):
    """The four measures (四措施) a follow-up case falls under (seed 002 §5.2.2)."""

    hardship_assistance = "hardship_assistance"  # 困难家庭帮扶
    learning_support = "learning_support"  # 学困生提升
    family_education_guidance = "family_education_guidance"  # 家庭教育指导
    mental_health_counselling = "mental_health_counselling"  # 心理健康辅导


class CancelReason(StrEnum):
    family_declined = "family_declined"
    family_unreachable = "family_unreachable"
    student_left = "student_left"
    replaced_by_another_visit = "replaced_by_another_visit"
    other = "other"


class SuggestionTopic(StrEnum):
    """What a parent's suggestion is about (seed 002 §4.5: 学校办学、班级建设、教师教书育人)."""

    school_management = "school_management"
    class_building = "class_building"
    teaching = "teaching"
    safety = "safety"
    other = "other"


class ConfirmedBy(StrEnum):
    co_visitor = "co_visitor"
    family = "family"


class FollowUpOutcome(StrEnum):
    resolved = "resolved"
    referred = "referred"  # handed to another agency (wellbeing, civil affairs…)
    student_left = "student_left"
    no_longer_needed = "no_longer_needed"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Visitor(_Strict):
    staff_ref: str = Field(description="Pseudonym of a staff member who took part in the visit.")
    role: StaffRole = Field(description="The role in which they visited (one they hold).")


# Since v2 of VisitCompleted, findings travel only sealed inside ``VisitCompleted.findings``.
class Finding(_Strict):
    category: FindingCategory = Field(description="What was found, by category.")
    measure: Measure | None = Field(
        default=None, description="The measure under which a follow-up case was opened, if any."
    )
    case_id: str | None = Field(
        default=None, description="The follow-up case this finding opened (FollowUpOpened)."
    )


class ParentSuggestion(_Strict):
    suggestion_id: str = Field(description="Id of the suggestion, unique across Tongxin.")
    topic: SuggestionTopic = Field(description="What the suggestion is about.")
    text: Sealed = Field(description="The suggestion in the parent's words, sealed (student key).")
    answer_due: date = Field(description="The school owes the family an answer by this date.")


class _VisitsEvent(IntegrationEvent):
    service: ClassVar[str] = SERVICE
    district: str = Field(description="District code (区县代码) of the school.")
    school_id: str = Field(description="Stable id of the school.")


class _VisitEvent(_VisitsEvent):
    visit_id: str = Field(description="Id of the visit (one aggregate per visit).")

    def aggregate_id(self) -> str:
        return visit_stream(self.visit_id)


class VisitPlanned(_VisitEvent):
    """A visit to one student's family was planned (家访计划)."""

    name: ClassVar[str] = "VisitPlanned"
    class_id: str = Field(description="The student's class when the visit was planned.")
    student_ref: str = Field(description="Pseudonym of the student whose family is visited.")
    planned_by: str = Field(description="staff_ref of the teacher who planned it.")
    planned_for: date = Field(description="The day, or the first day of the week, planned.")


class VisitScheduled(_VisitEvent):
    """An appointment was made with the family (预约); a later one replaces it."""

    name: ClassVar[str] = "VisitScheduled"
    appointment_at: datetime = Field(description="Agreed start of the visit (with time zone).")
    mode: VisitMode = Field(description="How the family agreed to be visited.")
    scheduled_by: str = Field(description="staff_ref of the teacher who made the appointment.")


class VisitCompleted(_VisitEvent):
    """A visit took place and was recorded, with the visitors' integrity attestation.

    It counts toward coverage only once ``VisitConfirmed`` follows. Subscribers: wellbeing and
    safety react to their ``referrals``; committees opens a feedback item per parent suggestion.
    v2: the findings' categories are sealed; v1 payloads upcast with ``findings`` null and the
    referrals and cases their findings made.
    """

    name: ClassVar[str] = "VisitCompleted"
    version: ClassVar[int] = 2
    class_id: str = Field(description="The student's class at the time of the visit.")
    student_ref: str = Field(description="Pseudonym of the student whose family was visited.")
    recorded_by: str = Field(description="staff_ref of the visitor who recorded the visit.")
    visitors: list[Visitor] = Field(min_length=1, description="Everyone who visited, with roles.")
    mode: VisitMode = Field(description="How the visit took place.")
    started_at: datetime = Field(description="When the visit started (with time zone).")
    duration_minutes: int = Field(ge=1, le=600, description="How long the visit lasted.")
    goals_covered: list[VisitGoal] = Field(description="Which of the five goals were covered.")
    findings: Sealed | None = Field(
        default=None,
        description=(
            "What was found, by category, with the measure and case each opened, sealed with "
            'the student\'s key (``{"findings": [Finding...]}``); null: nothing was found.'
        ),
    )
    referrals: list[Referral] = Field(
        default_factory=list,
        description="Services that must act on a finding (wellbeing, safety); each once.",
    )
    followup_case_ids: list[str] = Field(
        default_factory=list,
        description="Follow-up cases the findings opened (each has its FollowUpOpened).",
    )
    parent_suggestions: list[ParentSuggestion] = Field(
        description="Suggestions the family made, forwarded to the school to be answered."
    )
    notes: Sealed | None = Field(
        default=None, description="The visit notes (家访手记), sealed with the student's key."
    )
    integrity_attested: Literal[True] = Field(
        description="The visitors attest that no gift, money or meal was accepted (seed 002 §3.4)."
    )


class VisitCancelled(_VisitEvent):
    """A planned or scheduled visit will not take place."""

    name: ClassVar[str] = "VisitCancelled"
    reason: CancelReason = Field(description="Why it was cancelled.")
    cancelled_by: str = Field(description="staff_ref of who cancelled it.")


class VisitConfirmed(_VisitEvent):
    """A second person confirmed that the visit took place: from now on it counts."""

    name: ClassVar[str] = "VisitConfirmed"
    confirmed_by: ConfirmedBy = Field(description="A co-visitor, or the family by one-time code.")
    confirmer_ref: str | None = Field(
        default=None, description="staff_ref of the confirming co-visitor (none for the family)."
    )


class _FollowUpEvent(_VisitsEvent):
    case_id: str = Field(description="Id of the follow-up case (one aggregate per case).")

    def aggregate_id(self) -> str:
        return case_stream(self.case_id)


class FollowUpOpened(_FollowUpEvent):
    """A finding opened a case in the follow-up ledger (台账) under one of the four measures.

    v2: the finding's category is sealed (``detail``); the measure stays in clear (the ledger's
    structure; wellbeing reacts to mental-health counselling, safety to hardship assistance).
    """

    name: ClassVar[str] = "FollowUpOpened"
    version: ClassVar[int] = 2
    visit_id: str = Field(description="The visit whose finding opened the case.")
    class_id: str = Field(description="The student's class when the case was opened.")
    student_ref: str = Field(description="Pseudonym of the student.")
    measure: Measure = Field(description="The measure (四措施) the case falls under.")
    detail: Sealed | None = Field(
        default=None,
        description=(
            "The finding's category, sealed with the student's key (``{\"category\": ...}``); "
            "null for cases opened before v2."
        ),
    )
    owner_ref: str = Field(description="staff_ref of the staff member who owns the case.")
    opened_on: date = Field(description="The day the case was opened (China time).")
    due_date: date = Field(description="The case should be closed by this date.")


class FollowUpActionRecorded(_FollowUpEvent):
    """Something was done on a case (one-to-one guidance, assistance, a referral…)."""

    name: ClassVar[str] = "FollowUpActionRecorded"
    action_id: str = Field(description="Id of the action.")
    recorded_by: str = Field(description="staff_ref of who recorded it.")
    taken_on: date = Field(description="The day the action was taken.")
    description: Sealed = Field(description="What was done, sealed with the student's key.")


class FollowUpClosed(_FollowUpEvent):
    """A case was closed."""

    name: ClassVar[str] = "FollowUpClosed"
    outcome: FollowUpOutcome = Field(description="How the case ended.")
    closed_by: str = Field(description="staff_ref of who closed it.")
    closed_on: date = Field(description="The day it was closed.")


class MonthlyFigures(_Strict):
    """The monthly statistics (统计表) of one school, computed from its events."""

    visits_completed: int = Field(ge=0, description="Visits completed in the month.")
    visits_confirmed: int = Field(ge=0, description="…of which confirmed by a second person.")
    visits_unconfirmed: int = Field(ge=0, description="…of which not (yet) confirmed.")
    in_home: int = Field(ge=0, description="Confirmed visits in the family's home (入户).")
    online: int = Field(ge=0, description="Confirmed online visits.")
    phone: int = Field(ge=0, description="Confirmed phone visits.")
    at_school: int = Field(ge=0, description="Confirmed visits with the family at school.")
    students_visited: int = Field(ge=0, description="Distinct students with a confirmed visit.")
    special_group_students_visited: int = Field(
        ge=0, description="…of whom in a special group (八类特殊学生) per the roster when computed."
    )
    by_principals: int = Field(ge=0, description="Confirmed visits with a principal visiting.")
    by_middle_leaders: int = Field(ge=0, description="…with a middle leader visiting.")
    by_head_teachers: int = Field(ge=0, description="…with a head teacher visiting.")
    by_subject_teachers: int = Field(ge=0, description="…with a subject teacher visiting.")
    visits_cancelled: int = Field(ge=0, description="Visits cancelled in the month.")
    followups_opened: int = Field(ge=0, description="Follow-up cases opened in the month.")
    followups_closed: int = Field(ge=0, description="Follow-up cases closed in the month.")
    parent_suggestions: int = Field(ge=0, description="Parent suggestions recorded.")


class MonthlyVisitReportSubmitted(_VisitsEvent):
    """A school submitted its monthly statistics to the district bureau (due by the 30th)."""

    name: ClassVar[str] = "MonthlyVisitReportSubmitted"
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month, e.g. 2026-10.")
    revision: int = Field(ge=1, description="1 for the first submission, then 2, 3… (corrections).")
    figures: MonthlyFigures = Field(description="The figures as submitted.")
    submitted_by: str = Field(description="staff_ref (or subject) of who submitted it.")
    submitted_at: datetime = Field(description="When it was submitted.")
    due_date: date = Field(description="The day it was due (the 30th, or the month's last day).")
    late: bool = Field(description="Submitted after the due date (China time).")

    def aggregate_id(self) -> str:
        return report_stream(self.school_id, self.month)


class VisitRulesSet(IntegrationEvent):
    """A district set its visit rules (quotas, deadlines); defaults come from seeds 000 and 002."""

    service: ClassVar[str] = SERVICE
    name: ClassVar[str] = "VisitRulesSet"
    district: str = Field(description="District code the rules apply to.")
    in_home_per_year: int = Field(ge=0, description="Confirmed in-home visits per student a year.")
    head_teacher_per_semester: int = Field(
        ge=0, description="Visits per student by the class's head teacher each semester."
    )
    special_group_in_home_per_semester: int = Field(
        ge=0, description="In-home visits per special-group student each semester."
    )
    principal_students_per_year: int = Field(
        ge=0, description="Distinct students a principal visits a year."
    )
    middle_leader_students_per_year: int = Field(
        ge=0, description="Distinct students a middle leader visits a year."
    )
    report_due_day: int = Field(
        ge=1, le=31, description="Day of the month the monthly report is due (the 30th)."
    )
    followup_due_days: int = Field(ge=1, description="Days a new follow-up case has by default.")
    suggestion_answer_days: int = Field(ge=1, description="Days the school has to answer.")
    set_by: str = Field(description="Subject of the officer who set them.")

    def aggregate_id(self) -> str:
        return rules_stream(self.district)


class StudentTextShredded(IntegrationEvent):
    """The visits service deleted its own key for a student's free text, reacting to the
    registry's ``SubjectErased``: every visit note, parent suggestion and follow-up action about
    the student is unreadable from now on (crypto-shredding). Auditors see the erasure reach
    this service; the event carries no personal data."""

    service: ClassVar[str] = SERVICE
    name: ClassVar[str] = "StudentTextShredded"
    district: str = Field(description="District code of the student's school.")
    student_ref: str = Field(description="Pseudonym of the student whose text was shredded.")
    erasure_event_id: str = Field(description="ce_id of the registry's SubjectErased it follows.")
    key_existed: bool = Field(
        description="Whether this service held a key for the student (false: it had no text)."
    )

    def aggregate_id(self) -> str:
        return student_text_stream(self.student_ref)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    VisitPlanned,
    VisitScheduled,
    VisitCompleted,
    VisitCancelled,
    VisitConfirmed,
    FollowUpOpened,
    FollowUpActionRecorded,
    FollowUpClosed,
    MonthlyVisitReportSubmitted,
    VisitRulesSet,
    StudentTextShredded,
)
