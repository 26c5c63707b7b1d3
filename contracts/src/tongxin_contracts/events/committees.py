"""Events of the committees service (家长委员会 · 家长学校), published on ``committees.events``.

Parent committees and family–school engagement: what travels here is decided per field
(``docs/privacy-on-the-wire.md``):

- committee members are guardians, by pseudonym (``guardian_ref``, the roster's); their names
  travel sealed with the guardian's key (subject ``guardian-<guardian_ref>``); no event here
  names a student: a seat says which class its member represents, never through which child;
- what people write (a charter, a parent's feedback and the school's answer, minutes and
  resolutions, a removal's note, a parent-school session's title) travels sealed — with the
  school's key (subject ``school-<school_id>``), or the district's (``district-<code>``) for a
  district committee and the bureau director's mailbox;
- in clear travel the facts the bureaus count: committees per level and their seats, who holds
  which seat for which class, elections and by-elections, feedback by channel and topic with its
  due day and whether it was answered on time, meetings with attendance counts, parent-school
  sessions by kind with class hours, the district's standard-parent-school assessment, the
  school's family-education coordinator.

Nothing here can carry a student's rank or score (seed 003: no public ranking of grades): every
model forbids fields it does not declare.

Aggregates (stream ids, spelt only here):

- ``committee-<committee_id>``: one committee at class, grade, school or district level: its
  charter, nominations, election, by-elections and members leaving;
- ``feedback-desk-<desk_id>``: who handles each channel (专人管理) of a school (desk id = the
  school id) or of a district (``district-<code>``, the bureau director's mailbox);
- ``feedback-<item_id>``: one item of parents' voice: received, assigned, answered;
- ``meeting-<meeting_id>``: one joint meeting, parent meeting, open day or week, reception day;
- ``parent-school-<school_id>``: the school's parent school (家长学校), its sessions, the
  district's assessment of it, and the school's family-education coordinator.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.base import IntegrationEvent, Sealed, StreamName

SERVICE = "committees"

committee_stream = StreamName("committee")  # committee-<committee_id>
feedback_desk_stream = StreamName("feedback-desk")  # feedback-desk-<school_id | district-<code>>
feedback_stream = StreamName("feedback")  # feedback-<item_id>
meeting_stream = StreamName("meeting")  # meeting-<meeting_id>
parent_school_stream = StreamName("parent-school")  # parent-school-<school_id>

SCHOOL_YEAR = r"^\d{4}-\d{4}$"


def district_desk(district: str) -> str:
    """The desk id of a district's own channels (the bureau director's mailbox)."""
    return f"district-{district}"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _CommitteesEvent(IntegrationEvent):
    service: ClassVar[str] = SERVICE
    district: str = Field(description="District code (区县代码).")


# --- committees at class, grade, school and district level ------------------------------------


class CommitteeLevel(StrEnum):
    """三级家委会 (class, grade, school), and a district committee where a district runs one."""

    class_ = "class"
    grade = "grade"
    school = "school"
    district = "district"


class SeatRole(StrEnum):
    chair = "chair"  # 主任
    vice_chair = "vice_chair"  # 副主任
    secretary = "secretary"  # 秘书长
    member = "member"  # 委员


class Seat(_Strict):
    """A seat filled by a guardian: which class (or, on a district committee, which school) the
    member represents, never through which child."""

    guardian_ref: str = Field(description="Pseudonym of the guardian (the roster's).")
    role: SeatRole = Field(description="The seat's role.")
    class_id: str | None = Field(
        default=None, description="The class the member represents (class, grade, school level)."
    )
    school_id: str | None = Field(
        default=None, description="The school the member represents (district level)."
    )
    standing: bool = Field(
        default=False, description="A member of the district committee's standing committee (常委)."
    )


class ResignReason(StrEnum):
    personal = "personal"
    moved_away = "moved_away"
    child_left = "child_left"
    other = "other"


class RemovalReason(StrEnum):
    breach_of_charter = "breach_of_charter"  # 违反章程
    repeated_absence = "repeated_absence"
    conduct = "conduct"
    other = "other"


class EndingReason(StrEnum):
    last_child_left = "last_child_left"  # the guardian's last child left the committee's scope


class _Committee(_CommitteesEvent):
    committee_id: str = Field(description="Id of the committee.")
    school_id: str | None = Field(description="The school; null for a district committee.")

    def aggregate_id(self) -> str:
        return committee_stream(self.committee_id)


class CommitteeFormed(_Committee):
    """A committee was formed for a term, with its number of seats."""

    name: ClassVar[str] = "CommitteeFormed"
    level: CommitteeLevel = Field(description="Class, grade, school or district.")
    grade: int | None = Field(default=None, ge=1, le=12, description="The grade (grade level).")
    class_id: str | None = Field(default=None, description="The class (class level).")
    seats: int = Field(ge=1, le=99, description="Seats on the committee.")
    term_start: date = Field(description="First day of the committee's term.")
    term_end: date = Field(description="Last day of the committee's term.")
    formed_on: date = Field(description="The day (China time).")
    formed_by: str = Field(description="Pseudonym of who formed it (staff or bureau officer).")


class CharterAdopted(_Committee):
    """The committee's charter (章程), or a new version of it, was adopted."""

    name: ClassVar[str] = "CharterAdopted"
    version_no: int = Field(ge=1, description="Version of the charter, from 1.")
    articles: int = Field(ge=1, description="Number of articles.")
    adopted_on: date = Field(description="The day (China time).")
    adopted_by: str = Field(description="Pseudonym of who recorded it.")
    text: Sealed = Field(description="The charter's text, sealed with the school's key.")


class CandidateNominated(_Committee):
    """A guardian of a child enrolled in the committee's scope stood for the next election
    (round 0) or by-election (round n)."""

    name: ClassVar[str] = "CandidateNominated"
    round_no: int = Field(ge=0, description="0 for the election, n for the n-th by-election.")
    guardian_ref: str = Field(description="Pseudonym of the guardian.")
    class_id: str | None = Field(default=None, description="The class they would represent.")
    represents_school_id: str | None = Field(
        default=None, description="The school they would represent (district level)."
    )
    nominated_on: date = Field(description="The day (China time).")
    nominated_by: str = Field(description="Pseudonym of who recorded the nomination.")
    guardian_name: Sealed = Field(description="The guardian's name, sealed with their key.")


class CommitteeElected(_Committee):
    """The election's result: the seats and roles filled for the term."""

    name: ClassVar[str] = "CommitteeElected"
    round_no: int = Field(ge=0, description="Always 0: the election.")
    level: CommitteeLevel = Field(description="The committee's level.")
    elected_on: date = Field(description="The day (China time).")
    term_start: date = Field(description="First day of the term.")
    term_end: date = Field(description="Last day of the term.")
    seats: int = Field(ge=1, description="Seats on the committee.")
    members: list[Seat] = Field(description="The seats filled.")
    voters: int | None = Field(default=None, ge=0, description="Guardians who voted, if counted.")
    recorded_by: str = Field(description="Pseudonym of who recorded the result.")


class ByElectionHeld(_Committee):
    """A by-election (补选) filled vacated seats, or seated a class without a representative."""

    name: ClassVar[str] = "ByElectionHeld"
    round_no: int = Field(ge=1, description="The n-th by-election of the term.")
    held_on: date = Field(description="The day (China time).")
    members: list[Seat] = Field(description="The seats filled.")
    seats: int = Field(ge=1, description="Seats on the committee after the by-election.")
    recorded_by: str = Field(description="Pseudonym of who recorded the result.")


class MemberResigned(_Committee):
    name: ClassVar[str] = "MemberResigned"
    guardian_ref: str = Field(description="The member who resigned.")
    reason: ResignReason = Field(description="Why.")
    resigned_on: date = Field(description="The day (China time).")
    recorded_by: str = Field(description="Pseudonym of who recorded it (the member or staff).")


class MemberRemoved(_Committee):
    """A member was removed, with the reason and who decided."""

    name: ClassVar[str] = "MemberRemoved"
    guardian_ref: str = Field(description="The member removed.")
    reason: RemovalReason = Field(description="Why.")
    removed_on: date = Field(description="The day (China time).")
    decided_by: str = Field(description="Pseudonym of who decided.")
    note: Sealed | None = Field(default=None, description="Sealed with the school's key.")


class MembershipEnding(_Committee):
    """The member's last child left the committee's scope: the seat ends on ``ends_on`` (the
    end of the school term, or of the committee's term if sooner)."""

    name: ClassVar[str] = "MembershipEnding"
    guardian_ref: str = Field(description="The member leaving.")
    reason: EndingReason = Field(description="Why.")
    ends_on: date = Field(description="The seat's last day.")


# --- parents' voice, answered on time ---------------------------------------------------------


class Channel(StrEnum):
    """Where parents' voice comes in (seed 000; seed 003 三、(六)), each with a named handler."""

    bureau_mailbox = "bureau_mailbox"  # 局长信箱 (the district's desk)
    principal_mailbox = "principal_mailbox"  # 校长信箱
    hotline = "hotline"  # 热线
    committee = "committee"  # a parent committee passes it on
    home_visit = "home_visit"  # a parent suggestion recorded at a home visit (visits)


class FeedbackTopic(StrEnum):
    """What the feedback is about; the first five are visits' suggestion topics."""

    school_management = "school_management"
    class_building = "class_building"
    teaching = "teaching"
    safety = "safety"
    other = "other"
    homework_burden = "homework_burden"  # 减负
    food = "food"
    fees = "fees"


class AnswerDecision(StrEnum):
    """The school's decision on the feedback."""

    adopted = "adopted"  # 采纳
    partly_adopted = "partly_adopted"
    explained = "explained"  # not adopted, with the reasons explained to the family
    referred = "referred"  # passed to the department that decides it


class FeedbackHandlerNamed(_CommitteesEvent):
    """Who handles one channel at a school or a district (专人管理); a later one replaces."""

    name: ClassVar[str] = "FeedbackHandlerNamed"
    desk_id: str = Field(description="The school id, or ``district-<code>``.")
    school_id: str | None = Field(description="The school; null for the district's desk.")
    channel: Channel = Field(description="The channel.")
    handler_ref: str = Field(description="Pseudonym of the handler (staff or bureau officer).")
    named_on: date = Field(description="The day (China time).")
    named_by: str = Field(description="Pseudonym of who named them.")

    def aggregate_id(self) -> str:
        return feedback_desk_stream(self.desk_id)


class _Feedback(_CommitteesEvent):
    item_id: str = Field(description="Id of the feedback item.")
    school_id: str = Field(description="The school the feedback is about and that answers.")

    def aggregate_id(self) -> str:
        return feedback_stream(self.item_id)


class ParentFeedbackReceived(_Feedback):
    """An item of parents' voice came in, with the day the school owes an answer."""

    name: ClassVar[str] = "ParentFeedbackReceived"
    channel: Channel = Field(description="Where it came in.")
    topic: FeedbackTopic = Field(description="What it is about.")
    received_on: date = Field(description="The day (China time).")
    due_on: date = Field(description="The school's answer is due by this day.")
    handler_ref: str | None = Field(
        default=None, description="The channel's named handler when it came in; null if none."
    )
    received_by: str = Field(description="Pseudonym of who recorded it (or ``visits``).")
    committee_id: str | None = Field(
        default=None, description="The committee it came through or is addressed to."
    )
    visit_id: str | None = Field(default=None, description="The home visit (channel home_visit).")
    suggestion_id: str | None = Field(
        default=None, description="The visit's suggestion (channel home_visit)."
    )
    text: Sealed | None = Field(
        default=None,
        description="The feedback, sealed with the school's key; null for a home visit's "
        "suggestion, whose text stays sealed in visits.",
    )


class ParentFeedbackAssigned(_Feedback):
    name: ClassVar[str] = "ParentFeedbackAssigned"
    assignee_ref: str = Field(description="staff_ref of who prepares the answer.")
    assigned_on: date = Field(description="The day (China time).")
    assigned_by: str = Field(description="Pseudonym of who assigned it.")


class ParentFeedbackAnswered(_Feedback):
    """The school answered with its decision. For a home visit's suggestion, visits shows the
    suggestion answered (it consumes this event)."""

    name: ClassVar[str] = "ParentFeedbackAnswered"
    channel: Channel = Field(description="Where it came in.")
    decision: AnswerDecision = Field(description="The school's decision.")
    answered_on: date = Field(description="The day (China time).")
    due_on: date = Field(description="The day the answer was due.")
    on_time: bool = Field(description="Answered by the due day.")
    answered_by: str = Field(description="Pseudonym of who answered.")
    visit_id: str | None = Field(default=None, description="The home visit (channel home_visit).")
    suggestion_id: str | None = Field(
        default=None, description="The visit's suggestion (channel home_visit)."
    )
    answer: Sealed = Field(description="The answer, sealed with the school's key.")


# --- meetings ------------------------------------------------------------------------------------


class MeetingScope(StrEnum):
    school = "school"
    grade = "grade"
    class_ = "class"


class _Meeting(_CommitteesEvent):
    meeting_id: str = Field(description="Id of the meeting.")
    school_id: str = Field(description="The school.")
    held_on: date = Field(description="The (first) day (China time).")
    recorded_by: str = Field(description="Pseudonym of who recorded it.")

    def aggregate_id(self) -> str:
        return meeting_stream(self.meeting_id)


class JointMeetingHeld(_Meeting):
    """A joint meeting of the school and its parent committees (家校联席会议)."""

    name: ClassVar[str] = "JointMeetingHeld"
    committee_ids: list[str] = Field(description="The committees that sat.")
    parents_attending: int = Field(ge=0, description="Committee members present.")
    staff_attending: int = Field(ge=0, description="Staff present.")
    resolutions: int = Field(ge=0, description="Resolutions adopted.")
    minutes: Sealed | None = Field(
        default=None, description="Minutes and resolutions, sealed with the school's key."
    )


class ParentMeetingHeld(_Meeting):
    """A parent meeting (家长会): opinions collected before and after; nothing ranks students."""

    name: ClassVar[str] = "ParentMeetingHeld"
    scope: MeetingScope = Field(description="School, grade or class.")
    grade: int | None = Field(default=None, ge=1, le=12, description="The grade (grade scope).")
    class_id: str | None = Field(default=None, description="The class (class scope).")
    families_invited: int = Field(ge=0, description="Families invited.")
    parents_attending: int = Field(ge=0, description="Parents present.")
    opinions_before: bool = Field(description="Parents' opinions were collected beforehand.")
    opinions_after: bool = Field(description="Parents' opinions were collected afterwards.")
    committee_ids: list[str] = Field(
        default_factory=list, description="Committees that took part, if any."
    )
    minutes: Sealed | None = Field(default=None, description="Sealed with the school's key.")


class OpenDayHeld(_Meeting):
    """The school opened to parents for a day or a week (家长开放日/周)."""

    name: ClassVar[str] = "OpenDayHeld"
    days: int = Field(ge=1, le=7, description="1 for an open day, up to 7 for an open week.")
    parents_attending: int = Field(ge=0, description="Parents who came.")
    opinions_collected: int = Field(ge=0, description="Written opinions collected.")


class ReceptionDayHeld(_Meeting):
    """A reception day (家长接待日): school leaders received parents."""

    name: ClassVar[str] = "ReceptionDayHeld"
    families_received: int = Field(ge=0, description="Families received.")
    received_by: list[str] = Field(description="staff_refs of the leaders who received them.")


# --- the parent school and the family-education coordinator -------------------------------------


class SessionKind(StrEnum):
    """Sessions of the parent school (seed 000; seed 004 10, 12)."""

    lecture = "lecture"  # 讲座: taught
    practice = "practice"  # 实践活动
    consultation = "consultation"  # 咨询
    salon = "salon"  # 主题式家长沙龙
    holiday_lecture = "holiday_lecture"  # 假期家长课
    term_start_lecture = "term_start_lecture"  # 开学第一课 (for parents)
    term_mid_lecture = "term_mid_lecture"
    term_end_lecture = "term_end_lecture"


class SessionMode(StrEnum):
    in_person = "in_person"
    online = "online"  # 网上家长学校, 手机家教课堂


class SessionTopic(StrEnum):
    child_development = "child_development"
    mental_health = "mental_health"
    safety = "safety"
    study_habits = "study_habits"
    parent_child_communication = "parent_child_communication"
    rule_of_law = "rule_of_law"
    reading = "reading"
    health_and_sport = "health_and_sport"
    other = "other"


class AssessmentCriterion(StrEnum):
    """What a standard parent school (规范化家长学校) is assessed against (seed 000 三、(三))."""

    principal_heads = "principal_heads"  # the principal is its head
    management_committee = "management_committee"
    venue = "venue"  # a fixed office and teaching place
    teaching_staff = "teaching_staff"
    curriculum = "curriculum"
    teaching_plan_met = "teaching_plan_met"  # the sessions and hours of the year
    records = "records"  # attendance and teaching records


class _ParentSchool(_CommitteesEvent):
    school_id: str = Field(description="The school.")

    def aggregate_id(self) -> str:
        return parent_school_stream(self.school_id)


class ParentSchoolEstablished(_ParentSchool):
    """The school's parent school, headed by the principal; a later one updates it."""

    name: ClassVar[str] = "ParentSchoolEstablished"
    head_ref: str = Field(description="staff_ref of its head: the principal.")
    management: list[str] = Field(description="staff_refs of its management committee.")
    teachers: list[str] = Field(description="Pseudonyms of its teaching staff.")
    has_venue: bool = Field(description="It has a fixed office and teaching place.")
    curriculum_units: int = Field(ge=0, description="Units in its curriculum.")
    established_on: date = Field(description="The day (China time).")
    curriculum: Sealed | None = Field(
        default=None, description="The curriculum and venue, sealed with the school's key."
    )


class ParentSchoolSessionHeld(_ParentSchool):
    name: ClassVar[str] = "ParentSchoolSessionHeld"
    session_id: str = Field(description="Id of the session.")
    school_year: str = Field(pattern=SCHOOL_YEAR, description="e.g. 2026-2027.")
    kind: SessionKind = Field(description="Lecture, practice, consultation, salon, …")
    mode: SessionMode = Field(description="In person or online.")
    held_on: date = Field(description="The day (China time).")
    class_hours: float = Field(gt=0, le=8, description="Class hours (课时).")
    topic: SessionTopic = Field(description="What it was about.")
    attendance: int = Field(ge=0, description="Parents attending.")
    recorded_by: str = Field(description="Pseudonym of who recorded it.")
    title: Sealed | None = Field(default=None, description="Sealed with the school's key.")


class ParentSchoolAssessed(_ParentSchool):
    """The district assessed the parent school against its criteria for a school year."""

    name: ClassVar[str] = "ParentSchoolAssessed"
    school_year: str = Field(pattern=SCHOOL_YEAR, description="e.g. 2026-2027.")
    standard: bool = Field(description="Assessed a standard parent school (规范化家长学校).")
    criteria_met: list[AssessmentCriterion] = Field(description="The criteria it met.")
    assessed_on: date = Field(description="The day (China time).")
    assessed_by: str = Field(description="Pseudonym of the bureau officer.")


class CoordinatorAppointed(_ParentSchool):
    """The school's family-education coordinator (家庭教育工作协调员), led by a vice-principal
    (seed 001)."""

    name: ClassVar[str] = "CoordinatorAppointed"
    staff_ref: str = Field(description="The coordinator, from the roster.")
    led_by: str = Field(description="staff_ref of the school leader who leads the work.")
    appointed_on: date = Field(description="The day (China time).")


class CoordinatorWithdrawn(_ParentSchool):
    name: ClassVar[str] = "CoordinatorWithdrawn"
    staff_ref: str = Field(description="The coordinator withdrawn.")
    withdrawn_on: date = Field(description="The day (China time).")


EVENTS: tuple[type[IntegrationEvent], ...] = (
    CommitteeFormed,
    CharterAdopted,
    CandidateNominated,
    CommitteeElected,
    ByElectionHeld,
    MemberResigned,
    MemberRemoved,
    MembershipEnding,
    FeedbackHandlerNamed,
    ParentFeedbackReceived,
    ParentFeedbackAssigned,
    ParentFeedbackAnswered,
    JointMeetingHeld,
    ParentMeetingHeld,
    OpenDayHeld,
    ReceptionDayHeld,
    ParentSchoolEstablished,
    ParentSchoolSessionHeld,
    ParentSchoolAssessed,
    CoordinatorAppointed,
    CoordinatorWithdrawn,
)
