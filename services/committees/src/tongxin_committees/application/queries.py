"""Reads of the roster part of the read model (schema ``committees``): schools, classes, students,
staff. Each part of the service keeps its own reads in its own module."""

from __future__ import annotations

from typing import Any

import asyncpg

S = "committees"  # the read model's schema (the projection's name)


async def row(pool: asyncpg.Pool, sql: str, *args: Any) -> dict[str, Any] | None:
    r = await pool.fetchrow(sql, *args)
    return dict(r) if r is not None else None


async def school(pool: asyncpg.Pool, school_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {S}.schools WHERE school_id = $1", school_id)


async def district_schools(pool: asyncpg.Pool, district: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT * FROM {S}.schools WHERE district = $1 ORDER BY school_id", district
    )
    return [dict(r) for r in rows]


async def class_(pool: asyncpg.Pool, class_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {S}.classes WHERE class_id = $1", class_id)


async def student(pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {S}.students WHERE student_ref = $1", student_ref)


async def staff_member(pool: asyncpg.Pool, staff_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {S}.staff WHERE staff_ref = $1", staff_ref)


async def holds_role(pool: asyncpg.Pool, staff_ref: str, school_id: str, role: str) -> bool:
    """Whether the roster says this staff member holds ``role`` at ``school_id``."""
    found = await pool.fetchval(
        f"SELECT 1 FROM {S}.staff WHERE staff_ref = $1 AND school_id = $2 AND $3 = ANY(roles)",
        staff_ref,
        school_id,
        role,
    )
    return found is not None


async def school_classes(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    """The school's classes, by grade then id (a school committee seats a parent of each)."""
    rows = await pool.fetch(
        f"SELECT * FROM {S}.classes WHERE school_id = $1 ORDER BY grade, class_id", school_id
    )
    return [dict(r) for r in rows]


async def guardian_classes(pool: asyncpg.Pool, guardian_ref: str) -> list[dict[str, Any]]:
    """Where the guardian's children are enrolled now (district, school, class, grade): the
    scopes the guardian may stand for. No student is returned."""
    rows = await pool.fetch(
        f"SELECT DISTINCT s.district, s.school_id, s.class_id, c.grade"
        f" FROM {S}.students s JOIN {S}.classes c USING (class_id)"
        f" WHERE s.enrolled AND $1 = ANY(s.guardian_refs)"
        f" ORDER BY s.school_id, s.class_id",
        guardian_ref,
    )
    return [dict(r) for r in rows]
