"""Reads of the roster part of the read model (schema ``wellbeing``): schools, students, staff,
and the school's team. Each part of the service keeps its own reads in its own module."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_wellbeing.domain.team import Team, TeamMember, team_of

W = "wellbeing"  # the read model's schema (the projection's name)


async def row(pool: asyncpg.Pool, sql: str, *args: Any) -> dict[str, Any] | None:
    r = await pool.fetchrow(sql, *args)
    return dict(r) if r is not None else None


async def school(pool: asyncpg.Pool, school_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {W}.schools WHERE school_id = $1", school_id)


async def student(pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {W}.students WHERE student_ref = $1", student_ref)


async def staff_member(pool: asyncpg.Pool, staff_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {W}.staff WHERE staff_ref = $1", staff_ref)


async def holds_role(pool: asyncpg.Pool, staff_ref: str, school_id: str, role: str) -> bool:
    """Whether the roster says this staff member holds ``role`` at ``school_id``."""
    found = await pool.fetchval(
        f"SELECT 1 FROM {W}.staff WHERE staff_ref = $1 AND school_id = $2 AND $3 = ANY(roles)",
        staff_ref,
        school_id,
        role,
    )
    return found is not None


async def enrolled_students(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT * FROM {W}.students WHERE school_id = $1 AND enrolled ORDER BY student_ref",
        school_id,
    )
    return [dict(r) for r in rows]


async def team(pool: asyncpg.Pool, school_id: str) -> Team | None:
    s = await school(pool, school_id)
    if s is None:
        return None
    staff = await pool.fetch(
        f"SELECT staff_ref, roles FROM {W}.staff WHERE school_id = $1", school_id
    )
    members = [TeamMember(r["staff_ref"], tuple(r["roles"])) for r in staff]
    return team_of(school_id, s["has_counselling_room"], members)


async def district_teams(pool: asyncpg.Pool, district: str) -> list[Team]:
    schools = await pool.fetch(
        f"SELECT school_id, has_counselling_room FROM {W}.schools WHERE district = $1"
        " ORDER BY school_id",
        district,
    )
    staff = await pool.fetch(
        f"SELECT staff_ref, school_id, roles FROM {W}.staff WHERE district = $1", district
    )
    by_school: dict[str, list[TeamMember]] = {}
    for r in staff:
        by_school.setdefault(r["school_id"], []).append(
            TeamMember(r["staff_ref"], tuple(r["roles"]))
        )
    return [
        team_of(s["school_id"], s["has_counselling_room"], by_school.get(s["school_id"], []))
        for s in schools
    ]
