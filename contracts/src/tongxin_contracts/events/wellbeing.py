"""Events of the wellbeing service (心阳光 医教互促), published on ``wellbeing.events``.

Minors' mental-health information: the most sensitive data of the system. What travels here is
decided per field (``docs/privacy-on-the-wire.md``):

- item answers and total scores never leave the service (there is no field for them);
- a screening that needs attention travels as ``ScreeningFlagged`` with the instrument, the
  band and the risk flag only — a *screening* result, never a diagnosis;
- what staff write about a student (a care plan's review, a proposal's reason, a referral's
  note) travels sealed with the student's key in this service;
- in clear travel the facts other services and the agencies count or act on: coverage
  (offered, consented, refused, screened), that a student is proposed, listed or removed, that a
  plan exists and was reviewed in a month, a referral's hospital and deadline, its
  acknowledgement or escalation.

Aggregates (stream ids, spelt only here):

- ``campaign-<school_id>-<school_year>``: a school's yearly screening campaign;
- ``screening-<student_ref>-<school_year>``: one student's year: offer, consent, screenings, flags;
- ``attention-<student_ref>``: the student's place on the attention list (关注名单);
- ``plan-<student_ref>``: the student's plan (一生一策) and its monthly reviews;
- ``referral-<referral_id>``: one crisis referral to a specialist hospital (1小时响应通道);
- ``instrument-<district>-<instrument_id>``: a district's own screening instrument;
- ``school-wellbeing-<school_id>-<school_year>``: training and psychology classes of a school;
- ``visit-request-<student_ref>-<school_year>``: a targeted home visit (重点家访) asked of visits.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed, StreamName

SERVICE = "wellbeing"

campaign_stream = StreamName("campaign")  # campaign-<school_id>-<school_year>
screening_stream = StreamName("screening")  # screening-<student_ref>-<school_year>
attention_stream = StreamName("attention")  # attention-<student_ref>
plan_stream = StreamName("plan")  # plan-<student_ref>
referral_stream = StreamName("referral")  # referral-<referral_id>
instrument_stream = StreamName("instrument")  # instrument-<district>-<instrument_id>
school_wellbeing_stream = StreamName("school-wellbeing")  # school-wellbeing-<school>-<year>
visit_request_stream = StreamName("visit-request")  # visit-request-<student_ref>-<year>

SCHOOL_YEAR = r"^\d{4}-\d{4}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConsentDecision(StrEnum):
    consented = "consented"
    refused = "refused"


class ConsentGivenBy(StrEnum):
    """Who decided: a guardian (always needed under 14, PIPL art. 31), or a student of 14 or
    more for themself."""

    guardian = "guardian"
    student = "student"


class RiskFlag(StrEnum):
    """How urgent a flagged screening is. ``high`` is immediate: a positive self-harm item
    (whatever the total) or the instrument's highest band."""

    elevated = "elevated"
    high = "high"


class ProposalSource(StrEnum):
    screening = "screening"  # a ScreeningFlagged of this service
    staff = "staff"  # a member of staff proposed it
    visit = "visit"  # a home visit's mental-health finding (visits' VisitCompleted)
    followup = "followup"  # a mental-health follow-up case (visits' FollowUpOpened)


class SignOffRole(StrEnum):
    """The three roles that form the attention list together (seed 004)."""

    head_teacher = "head_teacher"
    psych_teacher = "psych_teacher"
    health_vp = "health_vp"


class RemovalReason(StrEnum):
    improved = "improved"  # the team agrees attention is no longer needed
    transferred = "transferred"  # handed over to the receiving school
    left_school = "left_school"
    other = "other"


class PlanClosedReason(StrEnum):
    no_longer_listed = "no_longer_listed"
    transferred = "transferred"
    left_school = "left_school"
    other = "other"


class Bureau(StrEnum):
    district_education = "district_education"  # 区教育局
    district_health = "district_health"  # 区卫健局


class ReferralOutcome(StrEnum):
    treated_as_outpatient = "treated_as_outpatient"
    admitted = "admitted"
    no_treatment_needed = "no_treatment_needed"
    family_declined = "family_declined"
    other = "other"


class TrainingTopic(StrEnum):
    """Training of seed 004: crisis identification for head and psychology teachers, the
    classroom emotion module for every subject teacher, sessions for parents."""

    crisis_identification = "crisis_identification"
    classroom_emotion_module = "classroom_emotion_module"
    parent_session = "parent_session"


class ClassSessionKind(StrEnum):
    psychology_class = "psychology_class"  # 心理健康课
    group_counselling = "group_counselling"  # 团体辅导


class Band(_Strict):
    """One band of an instrument's total: ``low``–``high`` inclusive."""

    label: str = Field(description="Name of the band, e.g. 'moderate'.")
    low: int = Field(ge=0, description="Lowest total in the band.")
    high: int = Field(ge=0, description="Highest total in the band.")
    flag: RiskFlag | None = Field(
        default=None, description="The risk flag a total in this band raises; none: not flagged."
    )


class _WellbeingEvent(IntegrationEvent):
    service: ClassVar[str] = SERVICE
    district: str = Field(description="District code (区县代码) of the school.")
    school_id: str = Field(description="Stable id of the school (学校标识码).")


class _StudentYear(_WellbeingEvent):
    student_ref: str = Field(description="Pseudonym of the student.")
    school_year: str = Field(pattern=SCHOOL_YEAR, description="School year, e.g. '2026-2027'.")

    def aggregate_id(self) -> str:
        return screening_stream(self.student_ref, self.school_year)


class InstrumentDefined(IntegrationEvent):
    """A district added (or revised) a screening instrument of its own. Definitions are data:
    item count, answer scale, bands; item texts stay with the district."""

    service: ClassVar[str] = SERVICE
    name: ClassVar[str] = "InstrumentDefined"
    district: str = Field(description="District code of the district that defined it.")
    instrument_id: str = Field(description="Id of the instrument, e.g. 'phq9' or 'district-sdq'.")
    title: str = Field(description="Display name of the instrument.")
    revision: int = Field(ge=1, description="Revision of the definition, from 1.")
    items: int = Field(ge=1, description="Number of items.")
    max_answer: int = Field(ge=1, description="Highest answer to one item (answers from 0).")
    bands: list[Band] = Field(description="Bands of the total, in order, covering 0..max.")
    self_harm_items: list[int] = Field(
        description="1-based items where any answer above 0 is an immediate high-risk flag."
    )

    def aggregate_id(self) -> str:
        return instrument_stream(self.district, self.instrument_id)


class ScreeningCampaignOpened(_WellbeingEvent):
    """A school opened its yearly screening campaign, bound to the physical examination."""

    name: ClassVar[str] = "ScreeningCampaignOpened"
    school_year: str = Field(pattern=SCHOOL_YEAR, description="School year, e.g. '2026-2027'.")
    instruments: list[str] = Field(description="Ids of the instruments used.")
    exam_from: date = Field(description="First day of the school's physical examination.")
    exam_to: date = Field(description="Last day of the physical examination.")

    def aggregate_id(self) -> str:
        return campaign_stream(self.school_id, self.school_year)


class ScreeningOffered(_StudentYear):
    """The screening was offered to the student's family (full coverage: every enrolled
    student is offered)."""

    name: ClassVar[str] = "ScreeningOffered"


class ConsentRecorded(_StudentYear):
    """A consent or refusal for this school year's screening."""

    name: ClassVar[str] = "ConsentRecorded"
    decision: ConsentDecision = Field(description="Consented or refused.")
    given_by: ConsentGivenBy = Field(description="A guardian, or the student (14 or over).")
    guardian_ref: str | None = Field(
        default=None, description="Pseudonym of the guardian who decided, when one did."
    )
    recorded_on: date = Field(description="The day the decision was recorded (China time).")


class ScreeningCompleted(_StudentYear):
    """The student was screened with one instrument. No answer and no score: see
    ``ScreeningFlagged`` for what needs attention."""

    name: ClassVar[str] = "ScreeningCompleted"
    screening_id: str = Field(description="Id of this screening.")
    instrument_id: str = Field(description="The instrument used.")
    completed_on: date = Field(description="The day of the screening (China time).")


class ScreeningFlagged(_StudentYear):
    """A screening result needs attention (a screening, never a diagnosis)."""

    name: ClassVar[str] = "ScreeningFlagged"
    screening_id: str = Field(description="The screening that raised it.")
    instrument_id: str = Field(description="The instrument used.")
    band: str = Field(description="The band of the total, e.g. 'moderately_severe'.")
    risk: RiskFlag = Field(description="Elevated, or high (immediate attention).")


class _Attention(_WellbeingEvent):
    student_ref: str = Field(description="Pseudonym of the student.")

    def aggregate_id(self) -> str:
        return attention_stream(self.student_ref)


class AttentionListProposed(_Attention):
    """The student was proposed for the attention list; a listing needs three sign-offs."""

    name: ClassVar[str] = "AttentionListProposed"
    proposal_id: str = Field(description="Id of the proposal.")
    source: ProposalSource = Field(description="Where the proposal came from.")
    proposed_by: str | None = Field(
        default=None, description="staff_ref of the proposer, for a staff proposal."
    )
    reason: Sealed | None = Field(
        default=None, description="Sealed with the student's key: the proposer's words."
    )


class AttentionListSignedOff(_Attention):
    """One of the three roles signed a proposal off."""

    name: ClassVar[str] = "AttentionListSignedOff"
    proposal_id: str = Field(description="The proposal signed off.")
    role: SignOffRole = Field(description="The role in which they signed.")
    staff_ref: str = Field(description="Pseudonym of the staff member who signed.")


class StudentAddedToAttentionList(_Attention):
    """Listed: three distinct people holding the three roles in the school signed off."""

    name: ClassVar[str] = "StudentAddedToAttentionList"
    proposal_id: str = Field(description="The proposal that was signed off.")
    class_id: str | None = Field(default=None, description="The student's class when listed.")
    signed_by: list[str] = Field(description="staff_refs of the three who signed.")


class StudentRemovedFromAttentionList(_Attention):
    """No longer listed, with the reason and who decided."""

    name: ClassVar[str] = "StudentRemovedFromAttentionList"
    reason: RemovalReason = Field(description="Why the student was removed.")
    decided_by: str = Field(description="staff_ref of who decided (or the service on a transfer).")


class _Plan(_WellbeingEvent):
    student_ref: str = Field(description="Pseudonym of the student.")
    plan_id: str = Field(description="Id of the plan.")

    def aggregate_id(self) -> str:
        return plan_stream(self.student_ref)


class CarePlanOpened(_Plan):
    """One student, one plan (一生一策) for a listed student."""

    name: ClassVar[str] = "CarePlanOpened"
    opened_on: date = Field(description="The day the plan was opened (China time).")
    owner_ref: str = Field(description="staff_ref of the plan's owner (usually the psych teacher).")


class CarePlanReviewed(_Plan):
    """The plan's review for one month: state, interventions and next step travel sealed."""

    name: ClassVar[str] = "CarePlanReviewed"
    month: str = Field(pattern=MONTH, description="The month reviewed, 'YYYY-MM'.")
    reviewed_by: str = Field(description="staff_ref of the reviewer.")
    review: Sealed = Field(
        description="Sealed with the student's key: emotional state, interventions, next step."
    )


class CarePlanHandedOver(_Plan):
    """The student moved school: the plan goes to the receiving school's team."""

    name: ClassVar[str] = "CarePlanHandedOver"
    to_school_id: str = Field(description="The receiving school.")
    to_district: str = Field(description="District of the receiving school.")


class CarePlanClosed(_Plan):
    name: ClassVar[str] = "CarePlanClosed"
    reason: PlanClosedReason = Field(description="Why the plan was closed.")


class _Referral(_WellbeingEvent):
    referral_id: str = Field(description="Id of the referral.")

    def aggregate_id(self) -> str:
        return referral_stream(self.referral_id)


class CrisisReferred(_Referral):
    """A crisis referral to a specialist hospital (1小时响应通道): the hospital must acknowledge
    it by ``acknowledge_by``."""

    name: ClassVar[str] = "CrisisReferred"
    student_ref: str = Field(description="Pseudonym of the student.")
    hospital_id: str = Field(description="Id of the receiving specialist hospital.")
    referred_by: str = Field(description="staff_ref of who referred.")
    referred_at: datetime = Field(description="When the referral was made (UTC).")
    acknowledge_by: datetime = Field(description="The hospital's deadline (UTC).")
    note: Sealed | None = Field(
        default=None, description="Sealed with the student's key: what the hospital needs to know."
    )


class GuardianNotified(_Referral):
    """A guardian was told of the referral (through the notification port; no content here)."""

    name: ClassVar[str] = "GuardianNotified"
    student_ref: str = Field(description="Pseudonym of the student.")
    guardian_ref: str = Field(description="Pseudonym of the guardian notified.")


class ReferralAcknowledged(_Referral):
    name: ClassVar[str] = "ReferralAcknowledged"
    hospital_id: str = Field(description="The hospital that acknowledged.")
    acknowledged_at: datetime = Field(description="When (UTC).")
    within_deadline: bool = Field(description="Whether it came by ``acknowledge_by``.")


class ReferralEscalated(_Referral):
    """Not acknowledged in time: escalated, once, to both district bureaus."""

    name: ClassVar[str] = "ReferralEscalated"
    hospital_id: str = Field(description="The hospital that did not acknowledge in time.")
    acknowledge_by: datetime = Field(description="The deadline that passed (UTC).")
    escalated_at: datetime = Field(description="When it was escalated (UTC).")
    escalated_to: list[Bureau] = Field(description="The bureaus it was escalated to.")


class ReferralResolved(_Referral):
    name: ClassVar[str] = "ReferralResolved"
    outcome: ReferralOutcome = Field(description="What came of it.")
    resolved_on: date = Field(description="The day (China time).")


class _SchoolYearFact(_WellbeingEvent):
    school_year: str = Field(pattern=SCHOOL_YEAR, description="School year, e.g. '2026-2027'.")

    def aggregate_id(self) -> str:
        return school_wellbeing_stream(self.school_id, self.school_year)


class TrainingRecorded(_SchoolYearFact):
    """A training session and who attended it (staff by pseudonym; parents as a count)."""

    name: ClassVar[str] = "TrainingRecorded"
    training_id: str = Field(description="Id of the session.")
    topic: TrainingTopic = Field(description="What it trained.")
    held_on: date = Field(description="The day (China time).")
    staff_refs: list[str] = Field(default_factory=list, description="Staff who attended.")
    parent_count: int = Field(default=0, ge=0, description="Parents who attended.")


class ClassSessionHeld(_SchoolYearFact):
    """A psychology class or a group counselling session held for one class."""

    name: ClassVar[str] = "ClassSessionHeld"
    session_id: str = Field(description="Id of the session.")
    class_id: str = Field(description="The class.")
    kind: ClassSessionKind = Field(description="Psychology class or group counselling.")
    held_on: date = Field(description="The day (China time).")


class TargetedVisitRequested(_WellbeingEvent):
    """A targeted home visit (重点家访) is asked of the student's head teacher. The reason is not
    given: visits shows the request without it."""

    name: ClassVar[str] = "TargetedVisitRequested"
    student_ref: str = Field(description="Pseudonym of the student.")
    school_year: str = Field(pattern=SCHOOL_YEAR, description="School year, e.g. '2026-2027'.")
    class_id: str | None = Field(default=None, description="The student's class, if known.")
    request_id: str = Field(description="Id of the request.")
    requested_on: date = Field(description="The day (China time).")

    def aggregate_id(self) -> str:
        return visit_request_stream(self.student_ref, self.school_year)


EVENTS: tuple[type[IntegrationEvent], ...] = (
    InstrumentDefined,
    ScreeningCampaignOpened,
    ScreeningOffered,
    ConsentRecorded,
    ScreeningCompleted,
    ScreeningFlagged,
    AttentionListProposed,
    AttentionListSignedOff,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
    CarePlanOpened,
    CarePlanReviewed,
    CarePlanHandedOver,
    CarePlanClosed,
    CrisisReferred,
    GuardianNotified,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralResolved,
    TrainingRecorded,
    ClassSessionHeld,
    TargetedVisitRequested,
)
