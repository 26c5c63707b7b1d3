"""Meetings of a school with its families (seed 000; seed 003): joint meetings of the school and
its parent committees (家校联席会议), parent meetings (家长会) at school, grade or class level,
open days or weeks (家长开放日/周) and reception days (家长接待日).

The rules: a meeting is recorded once, when it has taken place (not in the future); a joint
meeting (and a parent meeting naming committees) names committees of this school only (rule
``committee_of_school``: every committee id must have been formed for this school); a parent
meeting's scope names its grade or class and nothing else, its class is one of the school's,
a head teacher records only their own class's, and no more parents attend than families were
invited; an open week lasts at most 7 days; a reception day's families are received by school
leaders of this school (principal or middle leader, per the roster). Nothing a meeting records
can rank a student: the bodies and events forbid fields they do not declare, and no field is a
rank, a score or a grade point.

The figures per school year: joint meetings, parent meetings (and how many collected opinions
before and after), open days (each open day or week counts once; at least
``open_days_per_year`` → met), reception days.

Pure: the deciders get the streams' histories, the roster facts the application read, and
``now``; they answer the events or refuse naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tongxin_committees.domain.calendar import china_date
from tongxin_committees.domain.errors import CommitteesError, NotEntitledError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    CommitteeFormed,
    JointMeetingHeld,
    MeetingScope,
    OpenDayHeld,
    ParentMeetingHeld,
    ReceptionDayHeld,
    committee_stream,
    meeting_stream,
)
from tongxin_platform.domain import ConflictError


class MeetingKind(StrEnum):
    joint = "joint"
    parent = "parent"
    open_day = "open_day"
    reception_day = "reception_day"


KIND_OF: Mapping[str, MeetingKind] = {
    JointMeetingHeld.name: MeetingKind.joint,
    ParentMeetingHeld.name: MeetingKind.parent,
    OpenDayHeld.name: MeetingKind.open_day,
    ReceptionDayHeld.name: MeetingKind.reception_day,
}


# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Joint:
    committee_ids: tuple[str, ...]
    parents_attending: int
    staff_attending: int
    resolutions: int


@dataclass(frozen=True, slots=True)
class Parent:
    scope: MeetingScope
    families_invited: int
    parents_attending: int
    opinions_before: bool
    opinions_after: bool
    grade: int | None = None
    class_id: str | None = None
    committee_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenDay:
    days: int
    parents_attending: int
    opinions_collected: int


@dataclass(frozen=True, slots=True)
class Reception:
    families_received: int
    received_by: tuple[str, ...]


Details = Joint | Parent | OpenDay | Reception


@dataclass(frozen=True, slots=True)
class Recorder:
    """Who records, as the roster knows them: their ref and, for a head teacher, their class
    (``None``: a school manager, who records any meeting of the school)."""

    ref: str
    own_class: str | None = None
    head_teacher: bool = False


@dataclass(frozen=True, slots=True)
class SchoolFacts:
    """What the roster says, read before the decision: the school's classes (class → grade) and
    its leaders (staff holding principal or middle_leader)."""

    classes: Mapping[str, int]
    leaders: frozenset[str]


@dataclass(frozen=True, slots=True)
class RecordMeeting:
    meeting_id: str
    district: str
    school_id: str
    held_on: date
    recorder: Recorder
    details: Details
    minutes: Sealed | None = None


def committee_streams(details: Details) -> list[str]:
    """The committee streams a meeting's decision reads (to check each is of the school)."""
    ids = details.committee_ids if isinstance(details, Joint | Parent) else ()
    return [committee_stream(c) for c in dict.fromkeys(ids)]


def _committee_school(history: Sequence[IntegrationEvent]) -> tuple[bool, str | None]:
    formed = next((e for e in history if isinstance(e, CommitteeFormed)), None)
    return (formed is not None, formed.school_id if formed else None)


def _check_committees(
    ids: Sequence[str], school_id: str, histories: Mapping[str, Sequence[IntegrationEvent]]
) -> None:
    seen: set[str] = set()
    for i, cid in enumerate(ids):
        where = f"committee_ids.{i}"
        if cid in seen:
            raise CommitteesError("a committee is named once", field=where, rule="committee_once")
        seen.add(cid)
        formed, of = _committee_school(histories.get(committee_stream(cid), ()))
        if not formed or of != school_id:
            raise CommitteesError(
                f"committee {cid} is not a committee of this school",
                field=where,
                rule="committee_of_school",
            )


def _check_parent(cmd: RecordMeeting, p: Parent, facts: SchoolFacts) -> None:
    if p.scope is MeetingScope.grade and (p.grade is None or p.class_id is not None):
        raise CommitteesError(
            "a grade meeting names its grade (and no class)", field="grade", rule="scope_named"
        )
    if p.scope is MeetingScope.class_ and p.class_id is None:
        raise CommitteesError(
            "a class meeting names its class", field="class_id", rule="scope_named"
        )
    if p.scope is MeetingScope.school and (p.grade is not None or p.class_id is not None):
        raise CommitteesError(
            "a school meeting names no grade or class", field="scope", rule="scope_named"
        )
    if p.class_id is not None:
        if p.class_id not in facts.classes:
            raise CommitteesError(
                "the class is not one of the school's",
                field="class_id",
                rule="class_of_school",
            )
        if p.grade is not None and facts.classes[p.class_id] != p.grade:
            raise CommitteesError(
                "the class is not of that grade", field="grade", rule="class_of_grade"
            )
    if p.scope is MeetingScope.grade and p.grade not in set(facts.classes.values()):
        raise CommitteesError(
            "the school has no class of that grade", field="grade", rule="grade_of_school"
        )
    r = cmd.recorder
    if r.head_teacher and (p.scope is not MeetingScope.class_ or p.class_id != r.own_class):
        raise NotEntitledError(
            "a head teacher records their own class's parent meetings",
            field="class_id",
            rule="head_teacher_own_class",
        )
    if p.parents_attending > p.families_invited:
        raise CommitteesError(
            "no more parents attend than families were invited",
            field="parents_attending",
            rule="attending_within_invited",
        )


def decide_meeting(
    cmd: RecordMeeting,
    histories: Mapping[str, Sequence[IntegrationEvent]],
    facts: SchoolFacts,
    now: datetime,
) -> list[IntegrationEvent]:
    """A meeting recorded: one event on ``meeting-<meeting_id>``. ``histories``: the meeting's
    stream and the streams of the committees it names (``committee_streams``)."""
    if histories.get(meeting_stream(cmd.meeting_id)):
        raise ConflictError(
            "this meeting was recorded already", field="meeting_id", rule="meeting_once"
        )
    if cmd.held_on > china_date(now):
        raise CommitteesError(
            "a meeting is recorded once it took place",
            field="held_on",
            rule="held_on_not_in_future",
        )
    d = cmd.details
    if cmd.recorder.head_teacher and not isinstance(d, Parent):
        raise NotEntitledError(
            "a head teacher records their own class's parent meetings",
            field="kind",
            rule="head_teacher_own_class",
        )
    common: dict[str, Any] = {
        "district": cmd.district,
        "meeting_id": cmd.meeting_id,
        "school_id": cmd.school_id,
        "held_on": cmd.held_on,
        "recorded_by": cmd.recorder.ref,
    }
    match d:
        case Joint():
            if not d.committee_ids:
                raise CommitteesError(
                    "a joint meeting names the committees that sat",
                    field="committee_ids",
                    rule="committee_of_school",
                )
            _check_committees(d.committee_ids, cmd.school_id, histories)
            return [
                JointMeetingHeld(
                    **common,
                    committee_ids=list(d.committee_ids),
                    parents_attending=d.parents_attending,
                    staff_attending=d.staff_attending,
                    resolutions=d.resolutions,
                    minutes=cmd.minutes,
                )
            ]
        case Parent():
            _check_parent(cmd, d, facts)
            _check_committees(d.committee_ids, cmd.school_id, histories)
            return [
                ParentMeetingHeld(
                    **common,
                    scope=d.scope,
                    grade=d.grade,
                    class_id=d.class_id,
                    families_invited=d.families_invited,
                    parents_attending=d.parents_attending,
                    opinions_before=d.opinions_before,
                    opinions_after=d.opinions_after,
                    committee_ids=list(d.committee_ids),
                    minutes=cmd.minutes,
                )
            ]
        case OpenDay():
            return [
                OpenDayHeld(
                    **common,
                    days=d.days,
                    parents_attending=d.parents_attending,
                    opinions_collected=d.opinions_collected,
                )
            ]
        case Reception():
            if not d.received_by:
                raise CommitteesError(
                    "school leaders received the families",
                    field="received_by",
                    rule="received_by_leaders",
                )
            for i, ref in enumerate(d.received_by):
                if ref not in facts.leaders:
                    raise CommitteesError(
                        f"{ref} is not a leader (principal or middle leader) of this school",
                        field=f"received_by.{i}",
                        rule="received_by_leaders",
                    )
            return [
                ReceptionDayHeld(
                    **common,
                    families_received=d.families_received,
                    received_by=list(dict.fromkeys(d.received_by)),
                )
            ]
    raise AssertionError("unreachable")


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """A meeting as the read model has it (what the figures count)."""

    school_id: str
    kind: MeetingKind
    opinions_before: bool = False
    opinions_after: bool = False


def school_figures(meetings: Iterable[Held], open_days_per_year: int) -> dict[str, Any]:
    """One school's meetings of a school year, counted."""
    ms = list(meetings)
    parent = [m for m in ms if m.kind is MeetingKind.parent]
    open_days = sum(m.kind is MeetingKind.open_day for m in ms)
    return {
        "joint_meetings": sum(m.kind is MeetingKind.joint for m in ms),
        "parent_meetings": len(parent),
        "parent_meetings_opinions_before": sum(m.opinions_before for m in parent),
        "parent_meetings_opinions_after": sum(m.opinions_after for m in parent),
        "parent_meetings_opinions_before_and_after": sum(
            m.opinions_before and m.opinions_after for m in parent
        ),
        "open_days": open_days,
        "open_days_met": open_days >= open_days_per_year,
        "reception_days": sum(m.kind is MeetingKind.reception_day for m in ms),
    }


def district_figures(
    school_year: str, schools: Sequence[str], meetings: Iterable[Held], open_days_per_year: int
) -> dict[str, Any]:
    """Per school (every one of ``schools``, a school with no meeting included), the schools
    missing their open day, and the district's totals."""
    listed = set(schools)
    ms = [m for m in meetings if m.school_id in listed]
    rows = [
        {"school_id": s, **school_figures((m for m in ms if m.school_id == s), open_days_per_year)}
        for s in schools
    ]
    totals = school_figures(ms, open_days_per_year)
    del totals["open_days_met"]
    return {
        "school_year": school_year,
        "open_days_per_year": open_days_per_year,
        "schools": rows,
        "schools_without_open_day": [r["school_id"] for r in rows if not r["open_days_met"]],
        "totals": totals,
    }
