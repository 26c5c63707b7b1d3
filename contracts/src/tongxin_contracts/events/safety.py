"""Events of the safety service (护平安 警校同步), published on ``safety.events``.

Children's safety records: what travels here is decided per field
(``docs/privacy-on-the-wire.md``):

- no name, address, phone number or free text travels in clear: a child is a ``student_ref``,
  a carer, a guard or a vice-principal a pseudonym (``*_ref``) with the organisation they speak
  for; what people write (why a risk level changed, a contact's note, who the parents entrusted
  the child to, an incident's account, a hazard's description) travels sealed — with the
  student's key for a child's file or incident, with the school's key (subject
  ``school-<school_id>``) for a hazard;
- in clear travel the facts the agencies count or act on: that a child has a care file and why
  (the care group), which carer kinds are paired and accepted, the risk level and its rhythm,
  the days of contacts, whether the parents' notice exists, guard shifts and their outcome,
  inspections and hazards by kind with owner and deadline, incidents by category with the
  mandatory report's delay, the guidance committee's referral and decision by category.

Aggregates (stream ids, spelt only here):

- ``care-file-<student_ref>``: one child, one file (一人一档): pairings, risk, contacts,
  the parents' notice and contacts, concerns, hand-over and closing;
- ``guard-post-<post_id>``: a guard post (校家警护学岗) of a school;
- ``guard-shift-<shift_id>``: one shift at a post, scheduled then completed or missed;
- ``school-safety-<school_id>``: the school's vice-principals from outside, their law-education
  lessons and the school's fire-safety contacts (消防安全明白人);
- ``inspection-<inspection_id>``: one inspection, its hazards and their rectification;
- ``incident-<incident_id>``: one incident and its mandatory report (强制报告);
- ``guidance-<referral_id>``: a referral to the special education guidance committee
  (专门教育指导委员会) and its decision.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed, StreamName
from tongxin_contracts.events.registry import CareGroup

SERVICE = "safety"

care_file_stream = StreamName("care-file")  # care-file-<student_ref>
guard_post_stream = StreamName("guard-post")  # guard-post-<post_id>
guard_shift_stream = StreamName("guard-shift")  # guard-shift-<shift_id>
school_safety_stream = StreamName("school-safety")  # school-safety-<school_id>
inspection_stream = StreamName("inspection")  # inspection-<inspection_id>
incident_stream = StreamName("incident")  # incident-<incident_id>
guidance_stream = StreamName("guidance")  # guidance-<referral_id>

SCHOOL_YEAR = r"^\d{4}-\d{4}$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- one child, one file ------------------------------------------------------------------


class FileSource(StrEnum):
    """Why the file was opened."""

    categorised = "categorised"  # the roster put the child in a care group (StudentCategorised)
    hardship_followup = "hardship_followup"  # visits opened a hardship case (FollowUpOpened)
    by_hand = "by_hand"  # the school opened it
    safety_concern = "safety_concern"  # a home visit's safety finding (VisitCompleted) on a
    #                                    child without a file: the concern needs a file to sit on


class CarerKind(StrEnum):
    """The four kinds of carer each file is paired with (结对)."""

    school = "school"  # a teacher of the school
    community = "community"  # the village or residents' committee (村/社区)
    civil_affairs = "civil_affairs"  # 民政 (children's director / supervisor)
    womens_federation = "womens_federation"  # 妇联


class DeclineReason(StrEnum):
    out_of_area = "out_of_area"  # the child does not live where the carer serves
    caseload_full = "caseload_full"
    conflict_of_interest = "conflict_of_interest"
    other = "other"


class RiskLevel(StrEnum):
    """Set by the school; sets the contact rhythm (a district setting per level)."""

    low = "low"
    medium = "medium"
    high = "high"


class ContactMode(StrEnum):
    home_visit = "home_visit"
    phone = "phone"
    video = "video"
    at_school = "at_school"


class EntrustedRelation(StrEnum):
    """Who the parents entrusted the child to (委托照护, MPL art. 22–23): the relation only; the
    person travels sealed."""

    grandparent = "grandparent"
    other_relative = "other_relative"
    family_friend = "family_friend"
    other = "other"


class ConcernSource(StrEnum):
    visit = "visit"  # a home visit's safety finding (visits' VisitCompleted)
    staff = "staff"  # a member of staff or a carer raised it


class ConcernOutcome(StrEnum):
    no_action_needed = "no_action_needed"
    risk_level_raised = "risk_level_raised"
    reported_to_police = "reported_to_police"
    referred_to_civil_affairs = "referred_to_civil_affairs"
    monitored = "monitored"


class FileClosedReason(StrEnum):
    left_school = "left_school"  # StudentLeft
    no_longer_in_need = "no_longer_in_need"  # the care groups no longer apply
    transferred_out_of_district = "transferred_out_of_district"
    other = "other"


class _SafetyEvent(IntegrationEvent):
    service: ClassVar[str] = SERVICE
    district: str = Field(description="District code (区县代码) of the school.")
    school_id: str = Field(description="Stable id of the school (学校标识码).")


class _CareFile(_SafetyEvent):
    student_ref: str = Field(description="Pseudonym of the child.")

    def aggregate_id(self) -> str:
        return care_file_stream(self.student_ref)


class CareFileOpened(_CareFile):
    """One child, one file (一人一档): opened once per child, whatever opened it first."""

    name: ClassVar[str] = "CareFileOpened"
    class_id: str | None = Field(default=None, description="The child's class when opened.")
    source: FileSource = Field(description="What opened it.")
    care_groups: list[CareGroup] = Field(
        default_factory=list,
        description="The care groups the child is in (left-behind, unsupported); may be empty "
        "for a hardship case or a file opened by hand.",
    )
    opened_on: date = Field(description="The day (China time).")
    opened_by: str | None = Field(default=None, description="staff_ref, for a file opened by hand.")


class CareGroupsChanged(_CareFile):
    """The roster changed the child's care groups (e.g. parents came home)."""

    name: ClassVar[str] = "CareGroupsChanged"
    care_groups: list[CareGroup] = Field(description="The care groups now.")


class CarerPaired(_CareFile):
    """A carer was asked to pair with the child (结对). It counts once the carer accepts."""

    name: ClassVar[str] = "CarerPaired"
    pairing_id: str = Field(description="Id of the pairing.")
    kind: CarerKind = Field(description="Which of the four kinds.")
    carer_ref: str = Field(description="Pseudonym of the carer (a staff_ref for the school).")
    org: str = Field(
        description="The organisation the carer serves in: the school id, the village or "
        "community id, the civil affairs office or the women's federation branch."
    )
    paired_on: date = Field(description="The day (China time).")
    paired_by: str = Field(description="staff_ref of who asked.")


class CarerAccepted(_CareFile):
    name: ClassVar[str] = "CarerAccepted"
    pairing_id: str = Field(description="The pairing accepted.")
    kind: CarerKind = Field(description="Its kind.")
    accepted_on: date = Field(description="The day (China time).")


class CarerDeclined(_CareFile):
    """The carer declined: the kind shows as missing again."""

    name: ClassVar[str] = "CarerDeclined"
    pairing_id: str = Field(description="The pairing declined.")
    kind: CarerKind = Field(description="Its kind.")
    reason: DeclineReason = Field(description="Why.")
    declined_on: date = Field(description="The day (China time).")


class CarerReleased(_CareFile):
    """An accepted carer stopped caring for the child (moved, retired, replaced)."""

    name: ClassVar[str] = "CarerReleased"
    pairing_id: str = Field(description="The pairing ended.")
    kind: CarerKind = Field(description="Its kind.")
    released_on: date = Field(description="The day (China time).")


class RiskLevelSet(_CareFile):
    """The school set, changed or (at the term's review) confirmed the child's risk level."""

    name: ClassVar[str] = "RiskLevelSet"
    level: RiskLevel = Field(description="The level now.")
    previous: RiskLevel | None = Field(default=None, description="The level before, if any.")
    set_on: date = Field(description="The day (China time); a review each term at least.")
    set_by: str = Field(description="staff_ref of who set it.")
    reason: Sealed | None = Field(
        default=None, description="Sealed with the child's key: why (required for a change)."
    )


class CareContactLogged(_CareFile):
    """A paired carer was in contact with the child (per carer; the rhythm counts them)."""

    name: ClassVar[str] = "CareContactLogged"
    pairing_id: str = Field(description="The carer's pairing.")
    kind: CarerKind = Field(description="The carer's kind.")
    contact_on: date = Field(description="The day (China time).")
    mode: ContactMode = Field(description="How.")
    note: Sealed | None = Field(default=None, description="Sealed with the child's key.")


class CareNoticeRecorded(_CareFile):
    """The parents' written notice of who cares for a left-behind child (委托照护告知,
    MPL art. 23): the relation in clear, the person sealed."""

    name: ClassVar[str] = "CareNoticeRecorded"
    relation: EntrustedRelation = Field(description="The entrusted carer's relation.")
    notice_on: date = Field(description="The day of the notice (China time).")
    entrusted: Sealed = Field(
        description="Sealed with the child's key: the entrusted carer's name and contact."
    )


class ParentContactRecorded(_CareFile):
    """The parents were last in contact with the left-behind child on this day (the law asks
    for at least weekly)."""

    name: ClassVar[str] = "ParentContactRecorded"
    contact_on: date = Field(description="The day of the parents' contact (China time).")
    mode: ContactMode = Field(description="How.")


class CareConcernRaised(_CareFile):
    """A safety concern on the child's file, for the school to assess."""

    name: ClassVar[str] = "CareConcernRaised"
    concern_id: str = Field(description="Id of the concern.")
    source: ConcernSource = Field(description="A home visit's finding, or a person.")
    visit_id: str | None = Field(default=None, description="The visit, for a visit's finding.")
    raised_on: date = Field(description="The day (China time).")
    raised_by: str | None = Field(default=None, description="Pseudonym of who raised it.")
    detail: Sealed | None = Field(default=None, description="Sealed with the child's key.")


class CareConcernAssessed(_CareFile):
    name: ClassVar[str] = "CareConcernAssessed"
    concern_id: str = Field(description="The concern assessed.")
    outcome: ConcernOutcome = Field(description="What the school decided.")
    assessed_on: date = Field(description="The day (China time).")
    assessed_by: str = Field(description="staff_ref of who assessed.")
    note: Sealed | None = Field(default=None, description="Sealed with the child's key.")


class CareFileHandedOver(_CareFile):
    """The child moved school: the file goes to the receiving school (school_id is the old)."""

    name: ClassVar[str] = "CareFileHandedOver"
    to_school_id: str = Field(description="The receiving school.")
    to_district: str = Field(description="District of the receiving school.")
    to_class_id: str | None = Field(default=None, description="The child's new class.")
    handed_over_on: date = Field(description="The day (China time).")


class CareFileClosed(_CareFile):
    name: ClassVar[str] = "CareFileClosed"
    reason: FileClosedReason = Field(description="Why.")
    closed_on: date = Field(description="The day (China time).")


# --- guard posts and the school's vice-principals ---------------------------------------------


class PostPlace(StrEnum):
    school_gate = "school_gate"
    crossing = "crossing"
    bus_stop = "bus_stop"
    other = "other"


class GuardKind(StrEnum):
    """Who stands at a 校家警护学岗: police, school staff, parent volunteers."""

    police = "police"
    staff = "staff"
    parent_volunteer = "parent_volunteer"


class ShiftPeriod(StrEnum):
    morning = "morning"  # arrival
    noon = "noon"
    afternoon = "afternoon"  # dismissal


class MissedReason(StrEnum):
    no_show = "no_show"
    called_away = "called_away"
    weather = "weather"
    other = "other"


class Guard(_Strict):
    kind: GuardKind = Field(description="Police, staff or a parent volunteer.")
    ref: str = Field(description="Pseudonym of the guard (a staff_ref, a guardian_ref, …).")


class GuardPostEstablished(_SafetyEvent):
    name: ClassVar[str] = "GuardPostEstablished"
    post_id: str = Field(description="Id of the post.")
    place: PostPlace = Field(description="Where it stands.")
    police_station: str | None = Field(
        default=None, description="Id of the police station (派出所) that staffs it."
    )
    established_on: date = Field(description="The day (China time).")

    def aggregate_id(self) -> str:
        return guard_post_stream(self.post_id)


class _Shift(_SafetyEvent):
    shift_id: str = Field(description="Id of the shift.")
    post_id: str = Field(description="The post.")

    def aggregate_id(self) -> str:
        return guard_shift_stream(self.shift_id)


class GuardShiftScheduled(_Shift):
    name: ClassVar[str] = "GuardShiftScheduled"
    on: date = Field(description="The day (China time).")
    period: ShiftPeriod = Field(description="Morning, noon or afternoon.")
    guards: list[Guard] = Field(description="Who is to stand.")


class GuardShiftCompleted(_Shift):
    name: ClassVar[str] = "GuardShiftCompleted"
    on: date = Field(description="The day (China time).")
    guards_present: list[GuardKind] = Field(description="The kinds of guard who stood.")
    recorded_by: str = Field(description="Pseudonym of who recorded it.")


class GuardShiftMissed(_Shift):
    name: ClassVar[str] = "GuardShiftMissed"
    on: date = Field(description="The day (China time).")
    reason: MissedReason = Field(description="Why.")
    recorded_by: str = Field(description="Pseudonym of who recorded it.")


class VicePost(StrEnum):
    legal = "legal"  # 法治副校长 (MoE Order No. 52)
    fire = "fire"  # 消防副校长


class AppointeeOrg(StrEnum):
    """Where a vice-principal from outside comes from."""

    police = "police"
    court = "court"
    procuratorate = "procuratorate"
    justice = "justice"
    fire_rescue = "fire_rescue"


class _SchoolSafety(_SafetyEvent):
    def aggregate_id(self) -> str:
        return school_safety_stream(self.school_id)


class VicePrincipalAppointed(_SchoolSafety):
    name: ClassVar[str] = "VicePrincipalAppointed"
    post: VicePost = Field(description="Legal or fire vice-principal.")
    appointee_ref: str = Field(description="Pseudonym of the appointee.")
    from_org: AppointeeOrg = Field(description="Where the appointee comes from.")
    appointed_on: date = Field(description="The day (China time).")
    term_until: date | None = Field(default=None, description="End of the term, if set.")


class LawLessonGiven(_SchoolSafety):
    """Law education (法治教育) given by the legal vice-principal: hours count per school year
    (≥ 4 by MoE Order No. 52)."""

    name: ClassVar[str] = "LawLessonGiven"
    lesson_id: str = Field(description="Id of the lesson.")
    school_year: str = Field(pattern=SCHOOL_YEAR, description="School year, e.g. '2026-2027'.")
    given_on: date = Field(description="The day (China time).")
    hours: float = Field(gt=0, le=8, description="Class hours given.")
    given_by: str = Field(description="Pseudonym of the legal vice-principal.")


class FireSafetyContactNamed(_SchoolSafety):
    """A staff member named one of the school's fire-safety contacts (消防安全明白人)."""

    name: ClassVar[str] = "FireSafetyContactNamed"
    staff_ref: str = Field(description="The staff member.")
    named_on: date = Field(description="The day (China time).")


class FireSafetyContactWithdrawn(_SchoolSafety):
    name: ClassVar[str] = "FireSafetyContactWithdrawn"
    staff_ref: str = Field(description="The staff member.")
    withdrawn_on: date = Field(description="The day (China time).")


# --- inspections --------------------------------------------------------------------------------


class InspectionKind(StrEnum):
    fire = "fire"  # 消防
    buildings = "buildings"  # self-built and dangerous buildings (自建房、危房)
    order_and_traffic = "order_and_traffic"  # public order and traffic around the school
    food_shops = "food_shops"  # food shops near the school (市场监管)
    stationery_shops = "stationery_shops"  # stationery shops near the school (市场监管)


class Inspector(StrEnum):
    fire_rescue = "fire_rescue"
    housing = "housing"  # 住建
    police = "police"
    market_regulation = "market_regulation"
    education = "education"
    school = "school"  # the school's own check


class HazardOwner(StrEnum):
    """Who must rectify a hazard."""

    school = "school"
    shop_operator = "shop_operator"
    property_owner = "property_owner"
    traffic_police = "traffic_police"
    community = "community"
    other = "other"


class HazardSeverity(StrEnum):
    general = "general"  # 一般隐患
    major = "major"  # 重大隐患


class _Inspection(_SafetyEvent):
    inspection_id: str = Field(description="Id of the inspection.")

    def aggregate_id(self) -> str:
        return inspection_stream(self.inspection_id)


class InspectionCompleted(_Inspection):
    name: ClassVar[str] = "InspectionCompleted"
    kind: InspectionKind = Field(description="What was inspected.")
    inspector: Inspector = Field(description="Which agency inspected.")
    inspected_on: date = Field(description="The day (China time).")
    inspected_by: str = Field(description="Pseudonym of the inspector.")
    reinspection_of: str | None = Field(
        default=None, description="The earlier inspection this one re-inspects."
    )
    hazards_found: int = Field(ge=0, description="How many hazards this inspection reported.")


class HazardReported(_Inspection):
    name: ClassVar[str] = "HazardReported"
    hazard_id: str = Field(description="Id of the hazard.")
    kind: InspectionKind = Field(description="The inspection's kind.")
    severity: HazardSeverity = Field(description="General or major.")
    owner: HazardOwner = Field(description="Who must rectify it.")
    rectify_by: date = Field(description="The rectification deadline (China time).")
    detail: Sealed | None = Field(
        default=None, description="Sealed with the school's key: what and where."
    )


class HazardRectified(_Inspection):
    """A re-inspection found the hazard rectified (appended to the hazard's inspection)."""

    name: ClassVar[str] = "HazardRectified"
    hazard_id: str = Field(description="The hazard closed.")
    rectified_on: date = Field(description="The re-inspection's day (China time).")
    reinspection_id: str = Field(description="The re-inspection that closed it.")
    within_deadline: bool = Field(description="Whether by ``rectify_by``.")


# --- incidents and the mandatory report ---------------------------------------------------


class IncidentCategory(StrEnum):
    """What happened. Categories marked in ``MANDATORY`` must be reported immediately to the
    police, civil affairs and education (MPL art. 11; 强制报告 of the 2020 opinions)."""

    sexual_abuse = "sexual_abuse"
    physical_abuse = "physical_abuse"
    neglect_or_abandonment = "neglect_or_abandonment"
    domestic_violence = "domestic_violence"
    trafficking_or_abduction = "trafficking_or_abduction"
    unexplained_injury = "unexplained_injury"
    serious_bullying = "serious_bullying"
    self_harm = "self_harm"
    bullying = "bullying"
    accident = "accident"
    traffic_accident = "traffic_accident"
    serious_misbehaviour = "serious_misbehaviour"  # 严重不良行为 → guidance committee
    other = "other"


MANDATORY: frozenset[IncidentCategory] = frozenset(
    {
        IncidentCategory.sexual_abuse,
        IncidentCategory.physical_abuse,
        IncidentCategory.neglect_or_abandonment,
        IncidentCategory.domestic_violence,
        IncidentCategory.trafficking_or_abduction,
        IncidentCategory.unexplained_injury,
        IncidentCategory.serious_bullying,
    }
)


class Department(StrEnum):
    """Departments a mandatory report goes to (MPL art. 11: police, civil affairs, education
    and the others concerned)."""

    police = "police"
    civil_affairs = "civil_affairs"
    education = "education"
    health = "health"
    procuratorate = "procuratorate"
    womens_federation = "womens_federation"


REQUIRED_DEPARTMENTS: frozenset[Department] = frozenset(
    {Department.police, Department.civil_affairs, Department.education}
)


class _Incident(_SafetyEvent):
    incident_id: str = Field(description="Id of the incident.")

    def aggregate_id(self) -> str:
        return incident_stream(self.incident_id)


class IncidentReported(_Incident):
    name: ClassVar[str] = "IncidentReported"
    category: IncidentCategory = Field(description="What happened.")
    student_refs: list[str] = Field(default_factory=list, description="Children involved.")
    occurred_at: datetime = Field(description="When it happened (UTC).")
    recorded_at: datetime = Field(description="When the school recorded it (UTC).")
    recorded_by: str = Field(description="staff_ref of who recorded it.")
    mandatory_report_required: bool = Field(description="Whether MPL art. 11 applies.")
    report_due_at: datetime | None = Field(
        default=None, description="When an unreported incident is escalated (UTC)."
    )
    account: Sealed | None = Field(
        default=None,
        description="Sealed with the first child's key (or the school's): what happened.",
    )


class MandatoryReportFiled(_Incident):
    """The school reported the incident to the departments (MPL art. 11)."""

    name: ClassVar[str] = "MandatoryReportFiled"
    departments: list[Department] = Field(description="Departments reported to.")
    filed_at: datetime = Field(description="When (UTC).")
    filed_by: str = Field(description="staff_ref of who filed it.")
    delay_seconds: int = Field(ge=0, description="From ``recorded_at`` to ``filed_at``.")
    late: bool = Field(description="Whether it came after ``report_due_at``.")


class MandatoryReportEscalated(_Incident):
    """Not reported in time: escalated, once, to the district education bureau."""

    name: ClassVar[str] = "MandatoryReportEscalated"
    category: IncidentCategory = Field(description="The incident's category.")
    report_due_at: datetime = Field(description="The deadline that passed (UTC).")
    escalated_at: datetime = Field(description="When (UTC).")


class Misbehaviour(StrEnum):
    """Serious misbehaviour (严重不良行为, Prevention of Juvenile Delinquency Law art. 38)."""

    gang_fighting = "gang_fighting"
    carrying_weapons = "carrying_weapons"
    bullying_or_extortion = "bullying_or_extortion"
    theft_or_vandalism = "theft_or_vandalism"
    drugs = "drugs"
    other_serious = "other_serious"


class CommitteeMember(StrEnum):
    """Who sits on the special education guidance committee."""

    political_legal = "political_legal"  # 政法委
    education = "education"
    justice = "justice"
    police = "police"
    psychologist = "psychologist"


class GuidanceDecision(StrEnum):
    special_school = "special_school"  # 专门学校
    correctional_education = "correctional_education"  # 专门矫治教育
    school_guidance = "school_guidance"  # back to the school with guidance measures
    no_measure = "no_measure"


class _Guidance(_SafetyEvent):
    referral_id: str = Field(description="Id of the referral.")

    def aggregate_id(self) -> str:
        return guidance_stream(self.referral_id)


class GuidanceCommitteeReferral(_Guidance):
    """A minor with serious misbehaviour referred to the special education guidance committee."""

    name: ClassVar[str] = "GuidanceCommitteeReferral"
    student_ref: str = Field(description="Pseudonym of the minor.")
    misbehaviour: Misbehaviour = Field(description="The serious misbehaviour.")
    incident_id: str | None = Field(default=None, description="The incident, if one.")
    referred_on: date = Field(description="The day (China time).")
    referred_by: str = Field(description="Pseudonym of who referred.")


class GuidanceCommitteeDecided(_Guidance):
    name: ClassVar[str] = "GuidanceCommitteeDecided"
    decision: GuidanceDecision = Field(description="What the committee decided.")
    decided_on: date = Field(description="The day (China time).")
    members_present: list[CommitteeMember] = Field(description="Who sat.")


EVENTS: tuple[type[IntegrationEvent], ...] = (
    CareFileOpened,
    CareGroupsChanged,
    CarerPaired,
    CarerAccepted,
    CarerDeclined,
    CarerReleased,
    RiskLevelSet,
    CareContactLogged,
    CareNoticeRecorded,
    ParentContactRecorded,
    CareConcernRaised,
    CareConcernAssessed,
    CareFileHandedOver,
    CareFileClosed,
    GuardPostEstablished,
    GuardShiftScheduled,
    GuardShiftCompleted,
    GuardShiftMissed,
    VicePrincipalAppointed,
    LawLessonGiven,
    FireSafetyContactNamed,
    FireSafetyContactWithdrawn,
    InspectionCompleted,
    HazardReported,
    HazardRectified,
    IncidentReported,
    MandatoryReportFiled,
    MandatoryReportEscalated,
    GuidanceCommitteeReferral,
    GuidanceCommitteeDecided,
)
