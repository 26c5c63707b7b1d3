"""The parent school (家长学校) of a school and its family-education coordinator (seed 000, 001,
003, 004).

The parent school is established (or updated: a later ``ParentSchoolEstablished`` replaces the
earlier) headed by a staff member holding ``principal`` at the school (rule
``principal_heads``); its management committee are staff of the school (rule
``management_of_school``). Its teaching staff are pseudonyms: staff of the school, or outside
lecturers (a family-education expert, a police officer, a doctor) who are in no school's roster
— the view tells them apart; a staff member of ANOTHER school is refused (rule
``teachers_of_school``), being a roster person whose school is known.

Sessions need the parent school (rule ``parent_school_established``), are recorded once they
took place, and count in the school year of their day. The teaching rule per school year
(seed 000, seed 004 10 and 12): taught sessions are lectures and the holiday, term-start,
term-mid and term-end lectures — at least ``sessions`` of them totalling at least ``hours``
class hours; activities are practice, consultation and parent salons — at least
``activities``. Each part is reported with whether it is met, and the rule met when all are.

The district assesses a parent school per school year (a later assessment of the same year
replaces the earlier); the district's share of schools assessed standard is over every school
of the district's roster, against ``standard_school_target``.

The coordinator (家庭教育工作协调员) is a staff member of the school (rule
``coordinator_of_school``), led by a school leader: seed 001 says a vice-principal, and the
roster has no vice-principal role, so the leader is a staff member of the school holding
``principal`` or ``middle_leader`` (rule ``led_by_school_leader``). A new appointment replaces
the coordinator; the same appointment again changes nothing; withdrawal needs a coordinator
(rule ``coordinator_appointed``).

Pure: the deciders get the stream's history, the roster facts and ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tongxin_committees.domain.calendar import china_date, school_year_of
from tongxin_committees.domain.errors import CommitteesError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    AssessmentCriterion,
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    ParentSchoolAssessed,
    ParentSchoolEstablished,
    ParentSchoolSessionHeld,
    SessionKind,
    SessionMode,
    SessionTopic,
)

K = SessionKind
TAUGHT: frozenset[SessionKind] = frozenset(
    {K.lecture, K.holiday_lecture, K.term_start_lecture, K.term_mid_lecture, K.term_end_lecture}
)
ACTIVITIES: frozenset[SessionKind] = frozenset({K.practice, K.consultation, K.salon})
LEADER_ROLES = frozenset({"principal", "middle_leader"})


@dataclass(frozen=True, slots=True)
class StaffFacts:
    """The roster's staff: ref → (school_id, roles)."""

    staff: Mapping[str, tuple[str, frozenset[str]]]

    def of_school(self, ref: str, school_id: str) -> bool:
        found = self.staff.get(ref)
        return found is not None and found[0] == school_id

    def holds(self, ref: str, school_id: str, roles: Iterable[str]) -> bool:
        found = self.staff.get(ref)
        return found is not None and found[0] == school_id and bool(found[1] & set(roles))


@dataclass(frozen=True, slots=True)
class ParentSchoolState:
    established: ParentSchoolEstablished | None = None
    sessions: dict[str, ParentSchoolSessionHeld] = field(default_factory=dict)
    assessments: dict[str, ParentSchoolAssessed] = field(default_factory=dict)
    coordinator: CoordinatorAppointed | None = None


def fold(history: Iterable[IntegrationEvent]) -> ParentSchoolState:
    s = ParentSchoolState()
    established, coordinator = s.established, s.coordinator
    for e in history:
        match e:
            case ParentSchoolEstablished():
                established = e
            case ParentSchoolSessionHeld():
                s.sessions[e.session_id] = e
            case ParentSchoolAssessed():
                s.assessments[e.school_year] = e
            case CoordinatorAppointed():
                coordinator = e
            case CoordinatorWithdrawn():
                coordinator = None
    return ParentSchoolState(established, s.sessions, s.assessments, coordinator)


def _not_in_future(day: date, now: datetime, name: str, what: str) -> None:
    if day > china_date(now):
        raise CommitteesError(
            f"{what} is recorded once it took place", field=name, rule=f"{name}_not_in_future"
        )


# --- the parent school -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Establish:
    district: str
    school_id: str
    head_ref: str
    management: tuple[str, ...]
    teachers: tuple[str, ...]
    has_venue: bool
    curriculum_units: int
    curriculum: Sealed | None = None


def decide_establish(
    cmd: Establish, history: Sequence[IntegrationEvent], facts: StaffFacts, now: datetime
) -> list[IntegrationEvent]:
    if not facts.holds(cmd.head_ref, cmd.school_id, {"principal"}):
        raise CommitteesError(
            "the parent school is headed by the school's principal",
            field="head_ref",
            rule="principal_heads",
        )
    for i, ref in enumerate(cmd.management):
        if not facts.of_school(ref, cmd.school_id):
            raise CommitteesError(
                f"{ref} is not a staff member of this school",
                field=f"management.{i}",
                rule="management_of_school",
            )
    for i, ref in enumerate(cmd.teachers):
        if ref in facts.staff and not facts.of_school(ref, cmd.school_id):
            raise CommitteesError(
                f"{ref} is a staff member of another school",
                field=f"teachers.{i}",
                rule="teachers_of_school",
            )
    return [
        ParentSchoolEstablished(
            district=cmd.district,
            school_id=cmd.school_id,
            head_ref=cmd.head_ref,
            management=list(dict.fromkeys(cmd.management)),
            teachers=list(dict.fromkeys(cmd.teachers)),
            has_venue=cmd.has_venue,
            curriculum_units=cmd.curriculum_units,
            established_on=china_date(now),
            curriculum=cmd.curriculum,
        )
    ]


@dataclass(frozen=True, slots=True)
class RecordSession:
    district: str
    school_id: str
    session_id: str
    kind: SessionKind
    mode: SessionMode
    held_on: date
    class_hours: float
    topic: SessionTopic
    attendance: int
    recorded_by: str
    title: Sealed | None = None


def decide_session(
    cmd: RecordSession, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    state = fold(history)
    if state.established is None:
        raise CommitteesError(
            "the school has no parent school yet",
            field="school_id",
            rule="parent_school_established",
        )
    if cmd.session_id in state.sessions:
        raise CommitteesError("a session is recorded once", field="session_id", rule="session_once")
    if not 0 < cmd.class_hours <= 8:
        raise CommitteesError(
            "a session lasts more than 0 and at most 8 class hours",
            field="class_hours",
            rule="class_hours_range",
        )
    _not_in_future(cmd.held_on, now, "held_on", "a session")
    return [
        ParentSchoolSessionHeld(
            district=cmd.district,
            school_id=cmd.school_id,
            session_id=cmd.session_id,
            school_year=school_year_of(cmd.held_on),
            kind=cmd.kind,
            mode=cmd.mode,
            held_on=cmd.held_on,
            class_hours=cmd.class_hours,
            topic=cmd.topic,
            attendance=cmd.attendance,
            recorded_by=cmd.recorded_by,
            title=cmd.title,
        )
    ]


@dataclass(frozen=True, slots=True)
class Assess:
    district: str
    school_id: str
    school_year: str
    standard: bool
    criteria_met: tuple[AssessmentCriterion, ...]
    assessed_by: str


def decide_assessment(
    cmd: Assess, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """The district's assessment of a school year that has begun; a later one replaces."""
    if int(cmd.school_year[:4]) > int(school_year_of(china_date(now))[:4]):
        raise CommitteesError(
            "a school year is assessed once it has begun",
            field="school_year",
            rule="school_year_begun",
        )
    criteria = [c for c in AssessmentCriterion if c in set(cmd.criteria_met)]
    return [
        ParentSchoolAssessed(
            district=cmd.district,
            school_id=cmd.school_id,
            school_year=cmd.school_year,
            standard=cmd.standard,
            criteria_met=criteria,
            assessed_on=china_date(now),
            assessed_by=cmd.assessed_by,
        )
    ]


# --- the coordinator --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Appoint:
    district: str
    school_id: str
    staff_ref: str
    led_by: str


def decide_appointment(
    cmd: Appoint, history: Sequence[IntegrationEvent], facts: StaffFacts, now: datetime
) -> list[IntegrationEvent]:
    if not facts.of_school(cmd.staff_ref, cmd.school_id):
        raise CommitteesError(
            "the coordinator is a staff member of this school",
            field="staff_ref",
            rule="coordinator_of_school",
        )
    if not facts.holds(cmd.led_by, cmd.school_id, LEADER_ROLES):
        raise CommitteesError(
            "the coordinator is led by a school leader (principal or middle leader)",
            field="led_by",
            rule="led_by_school_leader",
        )
    current = fold(history).coordinator
    if current is not None and (current.staff_ref, current.led_by) == (cmd.staff_ref, cmd.led_by):
        return []
    return [
        CoordinatorAppointed(
            district=cmd.district,
            school_id=cmd.school_id,
            staff_ref=cmd.staff_ref,
            led_by=cmd.led_by,
            appointed_on=china_date(now),
        )
    ]


def decide_withdrawal(
    district: str, school_id: str, history: Sequence[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    current = fold(history).coordinator
    if current is None:
        raise CommitteesError(
            "the school has no coordinator to withdraw",
            field="school_id",
            rule="coordinator_appointed",
        )
    return [
        CoordinatorWithdrawn(
            district=district,
            school_id=school_id,
            staff_ref=current.staff_ref,
            withdrawn_on=china_date(now),
        )
    ]


# --- the teaching rule and the district's figures -------------------------------------------


@dataclass(frozen=True, slots=True)
class TeachingRule:
    sessions: int = 4
    hours: float = 8.0
    activities: int = 2


@dataclass(frozen=True, slots=True)
class Session:
    """A session as the figures count it."""

    school_id: str
    kind: SessionKind
    class_hours: float


def teaching(sessions: Iterable[Session], rule: TeachingRule) -> dict[str, Any]:
    """One school's sessions of a school year against the teaching rule: taught sessions (lecture
    kinds) and their class hours, activities (practice, consultation, salon), each part met and
    the rule met."""
    ss = list(sessions)
    taught = [s for s in ss if s.kind in TAUGHT]
    hours = round(sum(s.class_hours for s in taught), 2)
    activities = sum(s.kind in ACTIVITIES for s in ss)
    sessions_met = len(taught) >= rule.sessions
    hours_met = hours >= rule.hours
    activities_met = activities >= rule.activities
    return {
        "taught_sessions": len(taught),
        "taught_hours": hours,
        "activities": activities,
        "sessions_met": sessions_met,
        "hours_met": hours_met,
        "activities_met": activities_met,
        "rule_met": sessions_met and hours_met and activities_met,
    }


def district_figures(
    school_year: str,
    schools: Sequence[str],
    sessions: Iterable[Session],
    standard: Mapping[str, bool],
    coordinators: Mapping[str, str],
    established: Iterable[str],
    rule: TeachingRule,
    target: float,
) -> dict[str, Any]:
    """Per school of ``schools`` (the district's roster, or one school for a school's manager):
    the teaching rule's parts, the assessment (``None``: not assessed that year), the
    coordinator; the schools without one; the share of ``schools`` assessed standard against
    ``target``."""
    ss = list(sessions)
    has = set(established)
    rows = [
        {
            "school_id": s,
            "parent_school": s in has,
            **teaching((x for x in ss if x.school_id == s), rule),
            "assessed_standard": standard.get(s),
            "coordinator": coordinators.get(s),
        }
        for s in schools
    ]
    n_standard = sum(standard.get(s) is True for s in schools)
    share = round(n_standard / len(schools), 4) if schools else 0.0
    return {
        "school_year": school_year,
        "rule": {"sessions": rule.sessions, "hours": rule.hours, "activities": rule.activities},
        "schools": rows,
        "schools_meeting_rule": sum(r["rule_met"] for r in rows),
        "schools_without_coordinator": [r["school_id"] for r in rows if r["coordinator"] is None],
        "schools_without_parent_school": [r["school_id"] for r in rows if not r["parent_school"]],
        "standard_schools": n_standard,
        "standard_share": share,
        "standard_school_target": target,
        "standard_target_met": bool(schools) and share >= target,
    }
