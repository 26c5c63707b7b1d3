"""What safety's read model knows of a district's roster after a registry import: its schools,
classes, pupils, guardians and staff by role, read from the database once it has all of it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import asyncpg

from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec


@dataclass
@dataclass
class Roster:
    """What safety's read model knows of the district after the import."""

    district: str
    schools: list[str]
    classes: dict[str, str]  # class_id → school_id
    students: dict[str, str]  # student_ref → class_id
    guardians: dict[str, list[str]]  # student_ref → guardian_refs
    staff: dict[str, tuple[str, list[str], list[str]]] = field(default_factory=dict)
    # staff_ref → (school_id, roles, class_ids)

    def one(self, role: str, school_id: str) -> str:
        """The first staff member of ``school_id`` holding ``role``."""
        return next(
            ref
            for ref, (s, roles, _) in sorted(self.staff.items())
            if s == school_id and role in roles
        )

    def head_of(self, class_id: str) -> str:
        return next(
            ref
            for ref, (_, roles, cls) in sorted(self.staff.items())
            if class_id in cls and "head_teacher" in roles
        )

    def of_class(self, class_id: str) -> list[str]:
        return sorted(ref for ref, c in self.students.items() if c == class_id)

    def of_school(self, school_id: str) -> list[str]:
        return sorted(ref for ref, c in self.students.items() if self.classes[c] == school_id)

    def classes_of(self, school_id: str) -> list[str]:
        return sorted(c for c, s in self.classes.items() if s == school_id)

    def guardians_of(self, school_id: str) -> list[str]:
        """The guardians of ``school_id``'s pupils, pupil by pupil."""
        return [g for ref in self.of_school(school_id) for g in self.guardians[ref]]

    def school_of(self, student_ref: str) -> str:
        return self.classes[self.students[student_ref]]


async def load_roster(pool: asyncpg.Pool, district: str) -> Roster:
    schools = [r["school_id"] for r in await pool.fetch("SELECT school_id FROM safety.schools")]
    classes = {
        r["class_id"]: r["school_id"]
        for r in await pool.fetch("SELECT class_id, school_id FROM safety.classes")
    }
    rows = await pool.fetch("SELECT student_ref, class_id, guardian_refs FROM safety.students")
    people = {
        r["staff_ref"]: (r["school_id"], list(r["roles"]), list(r["class_ids"]))
        for r in await pool.fetch("SELECT staff_ref, school_id, roles, class_ids FROM safety.staff")
    }
    return Roster(
        district,
        sorted(schools),
        classes,
        {r["student_ref"]: r["class_id"] for r in rows},
        {r["student_ref"]: list(r["guardian_refs"]) for r in rows},
        people,
    )


def roster_names(students_csv: str, staff_csv: str) -> list[str]:
    """Every person's name in the roster's files (what must never travel in clear)."""
    out: list[str] = []
    for text in (students_csv, staff_csv):
        for row in csv.DictReader(io.StringIO(text)):
            out += [v for k, v in row.items() if k and k.endswith("name") and v]
    return out


async def caught_up_roster(pool: asyncpg.Pool, spec: DemoSpec) -> Roster:
    """The roster of ``spec`` once safety's read model has all of it (the worker must run)."""
    n_students = spec.schools * spec.classes_per_school * spec.students_per_class
    n_staff = spec.schools * (4 + spec.classes_per_school)

    async def counts() -> tuple[int, int]:
        return (
            await pool.fetchval("SELECT count(*) FROM safety.students"),
            await pool.fetchval("SELECT count(*) FROM safety.staff"),
        )

    await eventually(
        counts, lambda n: n == (n_students, n_staff), timeout=90, what="the roster in safety"
    )
    return await load_roster(pool, spec.district)
