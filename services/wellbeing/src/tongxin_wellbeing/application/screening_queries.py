"""Reads of screening's part of the read model: a district's instruments, a school's campaign
and its coverage (enrolled, offered, consented, refused, screened — counts, no student)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_wellbeing.application.queries import W, row


def _figures_sql(where: str) -> str:
    """Coverage per school, in one statement: ``where`` picks the schools (a district's, or
    one); $2 is the school year. Students are counted where they are enrolled now; the year's
    offers, decisions and screenings where the student's year was recorded."""
    return f"""
    WITH s AS (SELECT school_id, school_name FROM {W}.schools WHERE {where}),
    enrolled AS (
        SELECT st.school_id, count(*) AS enrolled,
               count(*) FILTER (WHERE y.offered IS NOT TRUE) AS not_offered
        FROM {W}.students st
        LEFT JOIN {W}.screening_years y
               ON y.student_ref = st.student_ref AND y.school_year = $2
        WHERE st.enrolled AND st.school_id IN (SELECT school_id FROM s)
        GROUP BY st.school_id),
    years AS (
        SELECT school_id,
               count(*) FILTER (WHERE offered) AS offered,
               count(*) FILTER (WHERE consent = 'consented') AS consented,
               count(*) FILTER (WHERE consent = 'refused') AS refused,
               count(*) FILTER (WHERE screenings > 0) AS screened,
               count(*) FILTER (WHERE flags > 0) AS flagged
        FROM {W}.screening_years
        WHERE school_year = $2 AND school_id IN (SELECT school_id FROM s)
        GROUP BY school_id)
    SELECT s.school_id, s.school_name,
           EXISTS (SELECT 1 FROM {W}.campaigns c
                   WHERE c.school_id = s.school_id AND c.school_year = $2) AS campaign_open,
           coalesce(e.enrolled, 0) AS enrolled, coalesce(e.not_offered, 0) AS not_offered,
           coalesce(y.offered, 0) AS offered, coalesce(y.consented, 0) AS consented,
           coalesce(y.refused, 0) AS refused, coalesce(y.screened, 0) AS screened,
           coalesce(y.flagged, 0) AS flagged
    FROM s
    LEFT JOIN enrolled e ON e.school_id = s.school_id
    LEFT JOIN years y ON y.school_id = s.school_id
    ORDER BY s.school_id"""


_SCHOOL = _figures_sql("school_id = $1")
_DISTRICT = _figures_sql("district = $1")


def _coverage(r: dict[str, Any]) -> dict[str, Any]:
    enrolled, not_offered = int(r.get("enrolled", 0)), int(r.get("not_offered", 0))
    return {
        "enrolled": enrolled,
        "offered": int(r.get("offered", 0)),
        "consented": int(r.get("consented", 0)),
        "refused": int(r.get("refused", 0)),
        "screened": int(r.get("screened", 0)),
        "flagged": int(r.get("flagged", 0)),
        "not_offered": not_offered,
        # Seed 004: once a year, full coverage — every enrolled student offered.
        "full_coverage": enrolled > 0 and not_offered == 0,
    }


async def campaign(pool: asyncpg.Pool, school_id: str, school_year: str) -> dict[str, Any] | None:
    return await row(
        pool,
        f"""SELECT school_id, school_year, district, instruments, exam_from, exam_to
            FROM {W}.campaigns WHERE school_id = $1 AND school_year = $2""",
        school_id,
        school_year,
    )


async def school_coverage(pool: asyncpg.Pool, school_id: str, school_year: str) -> dict[str, Any]:
    rows = await pool.fetch(_SCHOOL, school_id, school_year)
    return _coverage(dict(rows[0])) if rows else _coverage({})


async def district_coverage(
    pool: asyncpg.Pool, district: str, school_year: str
) -> list[dict[str, Any]]:
    """One row per school of the district, with or without a campaign that year."""
    rows = await pool.fetch(_DISTRICT, district, school_year)
    return [
        {
            "school_id": r["school_id"],
            "school_name": r["school_name"],
            "campaign_open": r["campaign_open"],
            **_coverage(dict(r)),
        }
        for r in rows
    ]


async def district_instruments(pool: asyncpg.Pool, district: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"""SELECT instrument_id, title, revision, items, max_answer, bands, self_harm_items
            FROM {W}.instruments WHERE district = $1 ORDER BY instrument_id""",
        district,
    )
    return [dict(r) for r in rows]


async def student_years(pool: asyncpg.Pool, student_ref: str) -> list[dict[str, Any]]:
    """The student's screening years: offered, the latest consent decision, how many screenings."""
    rows = await pool.fetch(
        f"""SELECT school_year, school_id, offered, consent, screenings
            FROM {W}.screening_years WHERE student_ref = $1 ORDER BY school_year DESC""",
        student_ref,
    )
    return [dict(r) for r in rows]
