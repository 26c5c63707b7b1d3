"""Reads of meetings and the parent school (from the read model): a school's meetings of a
school year, the meetings a committee sat in, the district's meeting figures; the school's
parent school with its sessions, the teaching rule's figures, the assessment and the
coordinator; the district's parent-school figures. Minutes, curricula and titles stay sealed:
the lists say only whether there are any. What is met is the domain's (``school_figures``,
``teaching``, ``district_figures``)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_committees.application import queries
from tongxin_committees.application.queries import S
from tongxin_committees.domain import meetings as m
from tongxin_committees.domain import parent_school as ps
from tongxin_contracts.events.committees import SessionKind

_MEETING_COLUMNS = """meeting_id, school_id, kind, held_on, school_year, recorded_by,
    committee_ids, scope, grade, class_id, families_invited, parents_attending, staff_attending,
    resolutions, opinions_before, opinions_after, days, opinions_collected, families_received,
    received_by, minutes IS NOT NULL AS has_minutes"""


def _meeting(r: asyncpg.Record) -> dict[str, Any]:
    """A meeting's row without the fields its kind does not have."""
    return {k: v for k, v in dict(r).items() if v is not None}


async def school_meetings(
    pool: asyncpg.Pool, school_id: str, school_year: str
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"""SELECT {_MEETING_COLUMNS} FROM {S}.meetings
             WHERE school_id = $1 AND school_year = $2 ORDER BY held_on, meeting_id""",
        school_id,
        school_year,
    )
    return [_meeting(r) for r in rows]


async def committee_meetings(pool: asyncpg.Pool, committee_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"""SELECT {_MEETING_COLUMNS} FROM {S}.meetings
             WHERE $1 = ANY(committee_ids) ORDER BY held_on, meeting_id""",
        committee_id,
    )
    return [_meeting(r) for r in rows]


async def _schools(pool: asyncpg.Pool, district: str, own: str | None) -> list[str]:
    return [
        s["school_id"]
        for s in await queries.district_schools(pool, district)
        if own is None or s["school_id"] == own
    ]


async def meeting_figures(
    pool: asyncpg.Pool, district: str, school_year: str, own: str | None, open_days_per_year: int
) -> dict[str, Any]:
    schools = await _schools(pool, district, own)
    rows = await pool.fetch(
        f"""SELECT school_id, kind, opinions_before, opinions_after FROM {S}.meetings
             WHERE district = $1 AND school_year = $2""",
        district,
        school_year,
    )
    held = [
        m.Held(
            r["school_id"],
            m.MeetingKind(r["kind"]),
            bool(r["opinions_before"]),
            bool(r["opinions_after"]),
        )
        for r in rows
    ]
    return {
        "district": district,
        **m.district_figures(school_year, schools, held, open_days_per_year),
    }


async def parent_school(
    pool: asyncpg.Pool, school_id: str, school_year: str, rule: ps.TeachingRule
) -> dict[str, Any]:
    """The school's parent school (``None`` if not established), its sessions of the school
    year, the teaching rule's figures, the year's assessment and the coordinator."""
    found = await queries.row(
        pool,
        f"""SELECT head_ref, management, teachers, has_venue, curriculum_units, established_on,
                   curriculum IS NOT NULL AS has_curriculum
              FROM {S}.parent_schools WHERE school_id = $1""",
        school_id,
    )
    if found is not None:
        staff = await pool.fetch(
            f"SELECT staff_ref FROM {S}.staff WHERE school_id = $1 AND staff_ref = ANY($2::text[])",
            school_id,
            list(found["teachers"]),
        )
        of_school = {r["staff_ref"] for r in staff}
        found["outside_lecturers"] = [t for t in found["teachers"] if t not in of_school]
    sessions = [
        dict(r)
        for r in await pool.fetch(
            f"""SELECT session_id, kind, mode, held_on, class_hours, topic, attendance,
                       recorded_by, title IS NOT NULL AS has_title
                  FROM {S}.parent_school_sessions WHERE school_id = $1 AND school_year = $2
                 ORDER BY held_on, session_id""",
            school_id,
            school_year,
        )
    ]
    assessment = await queries.row(
        pool,
        f"""SELECT standard, criteria_met, assessed_on, assessed_by
              FROM {S}.parent_school_assessments WHERE school_id = $1 AND school_year = $2""",
        school_id,
        school_year,
    )
    coordinator = await queries.row(
        pool,
        f"SELECT staff_ref, led_by, appointed_on FROM {S}.coordinators WHERE school_id = $1",
        school_id,
    )
    counted = [ps.Session(school_id, SessionKind(s["kind"]), s["class_hours"]) for s in sessions]
    return {
        "school_id": school_id,
        "school_year": school_year,
        "parent_school": found,
        "sessions": sessions,
        "teaching_rule": {
            "rule": {"sessions": rule.sessions, "hours": rule.hours, "activities": rule.activities},
            **ps.teaching(counted, rule),
        },
        "assessment": assessment,
        "coordinator": coordinator,
    }


async def parent_school_figures(
    pool: asyncpg.Pool,
    district: str,
    school_year: str,
    own: str | None,
    rule: ps.TeachingRule,
    target: float,
) -> dict[str, Any]:
    schools = await _schools(pool, district, own)
    sessions = [
        ps.Session(r["school_id"], SessionKind(r["kind"]), r["class_hours"])
        for r in await pool.fetch(
            f"""SELECT school_id, kind, class_hours FROM {S}.parent_school_sessions
                 WHERE district = $1 AND school_year = $2""",
            district,
            school_year,
        )
    ]
    standard = {
        r["school_id"]: r["standard"]
        for r in await pool.fetch(
            f"""SELECT school_id, standard FROM {S}.parent_school_assessments
                 WHERE district = $1 AND school_year = $2""",
            district,
            school_year,
        )
    }
    coordinators = {
        r["school_id"]: r["staff_ref"]
        for r in await pool.fetch(
            f"SELECT school_id, staff_ref FROM {S}.coordinators WHERE district = $1", district
        )
    }
    established = [
        r["school_id"]
        for r in await pool.fetch(
            f"SELECT school_id FROM {S}.parent_schools WHERE district = $1", district
        )
    ]
    return {
        "district": district,
        **ps.district_figures(
            school_year, schools, sessions, standard, coordinators, established, rule, target
        ),
    }
