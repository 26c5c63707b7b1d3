"""Coverage rules (seed 002 §5, seed 000 §3), evaluated for one school, period and day.

- every student: ``in_home_per_year`` confirmed in-home visits in the school year;
- every student: ``head_teacher_per_semester`` confirmed visits by the head teacher of the
  student's class in the semester (any mode: seed 002 §3.3 lets the family choose);
- special-group students: ``special_group_in_home_per_semester`` confirmed in-home visits;
- principals ``principal_students_per_year`` and middle leaders
  ``middle_leader_students_per_year`` distinct students visited (confirmed) in the school year.

Only confirmed visits count. A requirement is *done* once met, *overdue* when its period ended
(before ``as_of``) unmet, and *due* otherwise. Visits after ``as_of`` do not count yet.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from tongxin_contracts.calendar import Period, semester_period, year_period
from tongxin_visits.domain.model import VisitRules

Status = Literal["done", "due", "overdue"]
STATUSES: tuple[Status, ...] = ("done", "due", "overdue")


@dataclass(frozen=True, slots=True)
class CoverageStudent:
    student_ref: str
    class_id: str
    special: bool


@dataclass(frozen=True, slots=True)
class CoverageVisit:
    student_ref: str
    day: date  # China date the visit started
    in_home: bool
    visitor_refs: frozenset[str]
    confirmed: bool


@dataclass(frozen=True, slots=True)
class CoverageStaff:
    staff_ref: str
    role: Literal["principal", "middle_leader"]


@dataclass(frozen=True, slots=True)
class Requirement:
    done: int
    required: int
    status: Status


@dataclass(frozen=True, slots=True)
class StudentCoverage:
    student_ref: str
    class_id: str
    special: bool
    in_home_year: Requirement
    head_teacher_semester: Requirement
    special_in_home_semester: Requirement | None  # None: not in a special group


@dataclass(frozen=True, slots=True)
class Tally:
    done: int = 0
    due: int = 0
    overdue: int = 0

    def add(self, status: Status) -> Tally:
        counts = {"done": self.done, "due": self.due, "overdue": self.overdue}
        counts[status] += 1
        return Tally(**counts)

    @property
    def total(self) -> int:
        return self.done + self.due + self.overdue


@dataclass(frozen=True, slots=True)
class GroupCoverage:
    """Tallies of students by requirement, for a class or a whole school."""

    students: int = 0
    in_home_year: Tally = Tally()
    head_teacher_semester: Tally = Tally()
    special_in_home_semester: Tally = Tally()


@dataclass(frozen=True, slots=True)
class StaffCoverage:
    staff_ref: str
    role: str  # principal, middle_leader, head_teacher
    requirement: Requirement
    class_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SchoolCoverage:
    year: Period
    semester: Period
    as_of: date
    school: GroupCoverage
    classes: dict[str, GroupCoverage] = field(default_factory=dict)
    staff: list[StaffCoverage] = field(default_factory=list)
    students: list[StudentCoverage] = field(default_factory=list)


def status_of(done: int, required: int, period: Period, as_of: date) -> Status:
    if done >= required:
        return "done"
    return "overdue" if as_of > period.end else "due"


def evaluate(
    *,
    students: Iterable[CoverageStudent],
    head_teachers: Mapping[str, str | None],  # class_id → head teacher's staff_ref
    leaders: Iterable[CoverageStaff],
    visits: Iterable[CoverageVisit],
    rules: VisitRules,
    school_year: str,
    semester: int,
    as_of: date,
) -> SchoolCoverage:
    year, term = year_period(school_year), semester_period(school_year, semester)
    counted = [v for v in visits if v.confirmed and v.day <= as_of and year.contains(v.day)]
    by_student: dict[str, list[CoverageVisit]] = defaultdict(list)
    for v in counted:
        by_student[v.student_ref].append(v)

    def req(done: int, required: int, period: Period) -> Requirement:
        return Requirement(done, required, status_of(done, required, period, as_of))

    out: list[StudentCoverage] = []
    for s in sorted(students, key=lambda s: (s.class_id, s.student_ref)):
        mine = by_student.get(s.student_ref, [])
        head = head_teachers.get(s.class_id)
        in_term = [v for v in mine if term.contains(v.day)]
        out.append(
            StudentCoverage(
                s.student_ref,
                s.class_id,
                s.special,
                req(sum(v.in_home for v in mine), rules.in_home_per_year, year),
                req(
                    sum(head is not None and head in v.visitor_refs for v in in_term),
                    rules.head_teacher_per_semester,
                    term,
                ),
                req(sum(v.in_home for v in in_term), rules.special_group_in_home_per_semester, term)
                if s.special
                else None,
            )
        )
    classes: dict[str, GroupCoverage] = defaultdict(GroupCoverage)
    for sc in out:
        classes[sc.class_id] = _tally(classes[sc.class_id], sc)
    school = GroupCoverage()
    for sc in out:
        school = _tally(school, sc)

    staff = [_head_teacher(ref, cid, out) for cid, ref in sorted(head_teachers.items()) if ref]
    staff = _merge_head_teachers(staff)
    for leader in sorted(leaders, key=lambda s: (s.role, s.staff_ref)):
        visited = {v.student_ref for v in counted if leader.staff_ref in v.visitor_refs}
        quota = (
            rules.principal_students_per_year
            if leader.role == "principal"
            else rules.middle_leader_students_per_year
        )
        staff.append(StaffCoverage(leader.staff_ref, leader.role, req(len(visited), quota, year)))
    return SchoolCoverage(year, term, as_of, school, dict(classes), staff, out)


def _tally(g: GroupCoverage, sc: StudentCoverage) -> GroupCoverage:
    special = g.special_in_home_semester
    if sc.special_in_home_semester is not None:
        special = special.add(sc.special_in_home_semester.status)
    return GroupCoverage(
        g.students + 1,
        g.in_home_year.add(sc.in_home_year.status),
        g.head_teacher_semester.add(sc.head_teacher_semester.status),
        special,
    )


def _head_teacher(ref: str, class_id: str, students: list[StudentCoverage]) -> StaffCoverage:
    mine = [s for s in students if s.class_id == class_id]
    done = sum(s.head_teacher_semester.status == "done" for s in mine)
    statuses = Counter(s.head_teacher_semester.status for s in mine)
    status: Status = "overdue" if statuses["overdue"] else "due" if statuses["due"] else "done"
    return StaffCoverage(ref, "head_teacher", Requirement(done, len(mine), status), (class_id,))


def _merge_head_teachers(rows: list[StaffCoverage]) -> list[StaffCoverage]:
    """A head teacher of two classes gets one row: their students together."""
    merged: dict[str, StaffCoverage] = {}
    order = {"done": 0, "due": 1, "overdue": 2}
    for r in rows:
        seen = merged.get(r.staff_ref)
        if seen is None:
            merged[r.staff_ref] = r
            continue
        worst = max(seen.requirement.status, r.requirement.status, key=order.__getitem__)
        merged[r.staff_ref] = StaffCoverage(
            r.staff_ref,
            "head_teacher",
            Requirement(
                seen.requirement.done + r.requirement.done,
                seen.requirement.required + r.requirement.required,
                worst,
            ),
            seen.class_ids + r.class_ids,
        )
    return list(merged.values())
