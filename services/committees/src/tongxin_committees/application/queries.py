"""Reads of the roster part of the read model (schema ``committees``): schools, classes, students,
staff. Each part of the service keeps its own reads in its own module."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_platform.roster_part import RosterReads

S = "committees"  # the read model's schema (the projection's name)


_ROSTER = RosterReads(S)
row = _ROSTER.row
school = _ROSTER.school
district_schools = _ROSTER.district_schools
class_ = _ROSTER.class_
student = _ROSTER.student
staff_member = _ROSTER.staff_member
holds_role = _ROSTER.holds_role


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
