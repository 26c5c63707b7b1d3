"""The roster as a service's read model keeps it (from ``registry.events``): schools, classes
with their head teacher, students (school, class, enrolled, guardians' pseudonyms) and staff
with their roles — one part of a service's one projection, declared once here so that every
service reading the roster keeps the same tables with the same handlers, and reads them the
same way (``RosterReads``, in the service's own schema)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    StaffAssigned,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN = "text", "text NOT NULL"


SCHOOLS = Table("schools", ("school_id",), {"school_id": T, "district": NN, "school_name": NN})
# With ``extended``: what an education authority's model also keeps of a school and a student.
SCHOOLS_EXTENDED = Table(
    "schools",
    ("school_id",),
    {
        "school_id": T,
        "district": NN,
        "school_name": NN,
        "stage": T,
        "has_counselling_room": "boolean NOT NULL DEFAULT false",
    },
    indexes={"schools_by_district": "(district, school_id)"},
)
STUDENT_EXTENDED = {"in_special_group": "boolean NOT NULL DEFAULT false"}


def register_schools(p: Projection, *, extended: bool = False) -> None:
    """Only the schools (a model that needs their names and districts, not the roster);
    ``extended``: their stage and counselling room too (``SCHOOLS_EXTENDED``)."""

    @p.on(SchoolRegistered)
    def _(e: SchoolRegistered, rows: Changes) -> None:
        if extended:
            rows["schools"].upsert(
                e.school_id,
                district=e.district,
                school_name=e.school_name,
                stage=e.stage.value,
                has_counselling_room=e.has_counselling_room,
            )
        else:
            rows["schools"].upsert(e.school_id, district=e.district, school_name=e.school_name)


def roster_tables(
    student_indexes: Mapping[str, str] | None = None, *, extended: bool = False
) -> list[Table]:
    """The four tables; ``student_indexes``: the service's own extra indexes on ``students``
    (e.g. committees finds guardians: ``USING gin (guardian_refs)``). ``extended`` (an education
    authority's model): schools with their stage and counselling room, students with
    ``in_special_group`` (the tables of the other services stay exactly as they are)."""
    student_columns = {
        "student_ref": T,
        "district": NN,
        "school_id": NN,
        "class_id": NN,
        "enrolled": "boolean NOT NULL",
        "guardian_refs": "text[] NOT NULL DEFAULT '{}'",
    }
    if extended:
        student_columns |= STUDENT_EXTENDED
    return [
        SCHOOLS_EXTENDED if extended else SCHOOLS,
        Table(
            "classes",
            ("class_id",),
            {
                "class_id": T,
                "school_id": NN,
                "district": NN,
                "grade": "integer NOT NULL",
                "head_teacher_ref": T,
            },
        ),
        Table(
            "students",
            ("student_ref",),
            student_columns,
            indexes={"students_by_school": "(school_id, class_id)", **(student_indexes or {})},
        ),
        Table(
            "staff",
            ("staff_ref",),
            {
                "staff_ref": T,
                "district": NN,
                "school_id": NN,
                "roles": "text[] NOT NULL",
                "class_ids": "text[] NOT NULL",
            },
            indexes={"staff_by_school": "(school_id)"},
        ),
    ]


def register_roster(p: Projection, *, extended: bool = False) -> None:
    """The handlers of the roster's events, on the service's one read model; ``extended``: the
    tables of ``roster_tables(extended=True)`` (and StudentCategorised's special group)."""

    register_schools(p, extended=extended)

    if extended:
        p.on(StudentCategorised)(_categorised)

    @p.on(ClassOpened)
    def _(e: ClassOpened, rows: Changes) -> None:
        rows["classes"].upsert(
            e.class_id,
            school_id=e.school_id,
            district=e.district,
            grade=e.grade,
            head_teacher_ref=e.head_teacher_ref,
        )

    @p.on(StudentEnrolled)
    def _(e: StudentEnrolled, rows: Changes) -> None:
        rows["students"].upsert(
            e.student_ref,
            district=e.district,
            school_id=e.school_id,
            class_id=e.class_id,
            enrolled=True,
            guardian_refs=[g.guardian_ref for g in e.guardians],
        )

    @p.on(StudentTransferred)
    def _(e: StudentTransferred, rows: Changes) -> None:
        rows["students"].update(
            e.student_ref, district=e.district, school_id=e.school_id, class_id=e.class_id
        )

    @p.on(StudentLeft)
    def _(e: StudentLeft, rows: Changes) -> None:
        rows["students"].update(e.student_ref, enrolled=False)

    @p.on(StaffAssigned)
    def _(e: StaffAssigned, rows: Changes) -> None:
        rows["staff"].upsert(
            e.staff_ref,
            district=e.district,
            school_id=e.school_id,
            roles=sorted(r.value for r in e.roles),
            class_ids=sorted(e.class_ids),
        )


def _categorised(e: StudentCategorised, rows: Changes) -> None:
    rows["students"].update(e.student_ref, in_special_group=e.in_special_group)


class RosterReads:
    """Reads of the roster part in ``schema`` (the service's projection's name)."""

    def __init__(self, schema: str) -> None:
        self.s = schema

    async def row(self, pool: asyncpg.Pool, sql: str, *args: Any) -> dict[str, Any] | None:
        r = await pool.fetchrow(sql, *args)
        return dict(r) if r is not None else None

    async def school(self, pool: asyncpg.Pool, school_id: str) -> dict[str, Any] | None:
        return await self.row(
            pool, f"SELECT * FROM {self.s}.schools WHERE school_id = $1", school_id
        )

    async def district_schools(self, pool: asyncpg.Pool, district: str) -> list[dict[str, Any]]:
        rows = await pool.fetch(
            f"SELECT * FROM {self.s}.schools WHERE district = $1 ORDER BY school_id", district
        )
        return [dict(r) for r in rows]

    async def class_(self, pool: asyncpg.Pool, class_id: str) -> dict[str, Any] | None:
        return await self.row(pool, f"SELECT * FROM {self.s}.classes WHERE class_id = $1", class_id)

    async def student(self, pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
        sql = f"SELECT * FROM {self.s}.students WHERE student_ref = $1"
        return await self.row(pool, sql, student_ref)

    async def staff_member(self, pool: asyncpg.Pool, staff_ref: str) -> dict[str, Any] | None:
        return await self.row(pool, f"SELECT * FROM {self.s}.staff WHERE staff_ref = $1", staff_ref)

    async def holds_role(
        self, pool: asyncpg.Pool, staff_ref: str, school_id: str, role: str
    ) -> bool:
        """Whether the roster says this staff member holds ``role`` at ``school_id``."""
        found = await pool.fetchval(
            f"SELECT 1 FROM {self.s}.staff"
            f" WHERE staff_ref = $1 AND school_id = $2 AND $3 = ANY(roles)",
            staff_ref,
            school_id,
            role,
        )
        return found is not None
