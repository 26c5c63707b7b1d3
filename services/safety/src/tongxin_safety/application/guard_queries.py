"""Reads of the guard part of the read model: a school's posts and shifts, completion rates per
school and district, the vice-principals, law hours and fire-safety contacts per school (no
child in any of it; people by pseudonym)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from tongxin_safety.application.queries import S
from tongxin_safety.domain.guard import Completion, completion, status_of
from tongxin_safety.domain.vice_principals import (
    Appointment,
    Lesson,
    SchoolVicePrincipals,
    school_status,
)


async def posts(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT post_id, place, police_station, established_on FROM {S}.guard_posts"
        " WHERE school_id = $1 ORDER BY established_on, post_id",
        school_id,
    )
    return [dict(r) for r in rows]


async def shifts(
    pool: asyncpg.Pool, school_id: str, first: date, last: date, today: date
) -> list[dict[str, Any]]:
    """The school's shifts of ``first``..``last``, each with its status as of ``today``."""
    rows = await pool.fetch(
        f"SELECT * FROM {S}.guard_shifts WHERE school_id = $1 AND on_day BETWEEN $2 AND $3"
        " ORDER BY on_day, period, post_id",
        school_id,
        first,
        last,
    )
    return [
        {
            "shift_id": r["shift_id"],
            "post_id": r["post_id"],
            "on": r["on_day"],
            "period": r["period"],
            "guards": [
                {"kind": k, "ref": ref}
                for k, ref in zip(r["guard_kinds"], r["guard_refs"], strict=True)
            ],
            "status": status_of(r["on_day"], r["outcome"], today).value,
            "guards_present": list(r["guards_present"] or []),
            "missed_reason": r["missed_reason"],
            "recorded_by": r["recorded_by"],
        }
        for r in rows
    ]


async def completions(
    pool: asyncpg.Pool,
    district: str,
    first: date,
    last: date,
    today: date,
    target: float,
    school_id: str | None = None,
) -> dict[str, tuple[int, Completion]]:
    """Every school of the district (or the one asked): its posts and its completion."""
    where = "district = $1" + (" AND school_id = $2" if school_id else "")
    args: list[Any] = [district, *([school_id] if school_id else [])]
    schools = [
        r["school_id"]
        for r in await pool.fetch(
            f"SELECT school_id FROM {S}.schools WHERE {where} ORDER BY school_id", *args
        )
    ]
    post_counts = {
        r["school_id"]: r["n"]
        for r in await pool.fetch(
            f"SELECT school_id, count(*) AS n FROM {S}.guard_posts WHERE {where}"
            " GROUP BY school_id",
            *args,
        )
    }
    n = len(args)
    found: dict[str, list[tuple[date, str | None]]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT school_id, on_day, outcome FROM {S}.guard_shifts WHERE {where}"
        f" AND on_day BETWEEN ${n + 1} AND ${n + 2}",
        *args,
        first,
        last,
    ):
        found[r["school_id"]].append((r["on_day"], r["outcome"]))
    return {s: (post_counts.get(s, 0), completion(found[s], today, target)) for s in schools}


async def vice_principals(
    pool: asyncpg.Pool,
    district: str,
    school_year: str,
    today: date,
    target: float,
    school_id: str | None = None,
) -> list[SchoolVicePrincipals]:
    """Every school of the district (or the one asked): vice-principals, law hours of the year,
    fire-safety contacts still on the school's staff."""
    where = "district = $1" + (" AND school_id = $2" if school_id else "")
    args: list[Any] = [district, *([school_id] if school_id else [])]
    n = len(args)
    schools = [
        r["school_id"]
        for r in await pool.fetch(
            f"SELECT school_id FROM {S}.schools WHERE {where} ORDER BY school_id", *args
        )
    ]
    appointments: dict[str, list[Appointment]] = defaultdict(list)
    for r in await pool.fetch(f"SELECT * FROM {S}.vice_principals WHERE {where}", *args):
        appointments[r["school_id"]].append(
            Appointment(
                r["post"], r["appointee_ref"], r["from_org"], r["appointed_on"], r["term_until"]
            )
        )
    lessons: dict[str, list[Lesson]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT * FROM {S}.law_lessons WHERE {where} AND school_year = ${n + 1}",
        *args,
        school_year,
    ):
        lessons[r["school_id"]].append(
            Lesson(r["lesson_id"], r["given_on"], r["hours"], r["given_by"])
        )
    contacts: dict[str, list[str]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT c.school_id, c.staff_ref FROM {S}.fire_safety_contacts c"
        f" JOIN {S}.staff s ON s.staff_ref = c.staff_ref AND s.school_id = c.school_id"
        f" WHERE c.{where.replace(' AND ', ' AND c.')}",
        *args,
    ):
        contacts[r["school_id"]].append(r["staff_ref"])
    return [
        school_status(s, school_year, appointments[s], lessons[s], contacts[s], today, target)
        for s in schools
    ]
