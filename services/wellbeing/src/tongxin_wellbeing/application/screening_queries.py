"""Reads of screening's part of the read model: a district's instruments, a school's campaign
and its coverage (enrolled, offered, consented, refused, screened — counts, no student)."""

from __future__ import annotations

from typing import Any

import asyncpg

from tongxin_wellbeing.application.queries import W, row

# One school's figures for one year; $1 school_id, $2 school_year.
_FIGURES = f"""
    (SELECT count(*) FROM {W}.students st WHERE st.school_id = $1 AND st.enrolled) AS enrolled,
    (SELECT count(*) FROM {W}.screening_years y
      WHERE y.school_id = $1 AND y.school_year = $2 AND y.offered) AS offered,
    (SELECT count(*) FROM {W}.screening_years y
      WHERE y.school_id = $1 AND y.school_year = $2 AND y.consent = 'consented') AS consented,
    (SELECT count(*) FROM {W}.screening_years y
      WHERE y.school_id = $1 AND y.school_year = $2 AND y.consent = 'refused') AS refused,
    (SELECT count(*) FROM {W}.screening_years y
      WHERE y.school_id = $1 AND y.school_year = $2 AND y.screenings > 0) AS screened,
    (SELECT count(*) FROM {W}.screening_years y
      WHERE y.school_id = $1 AND y.school_year = $2 AND y.flags > 0) AS flagged,
    (SELECT count(*) FROM {W}.students st
      WHERE st.school_id = $1 AND st.enrolled AND NOT EXISTS (
          SELECT 1 FROM {W}.screening_years y
           WHERE y.student_ref = st.student_ref AND y.school_year = $2 AND y.offered))
      AS not_offered
"""


def _coverage(r: dict[str, Any]) -> dict[str, Any]:
    enrolled, not_offered = int(r["enrolled"]), int(r["not_offered"])
    return {
        "enrolled": enrolled,
        "offered": int(r["offered"]),
        "consented": int(r["consented"]),
        "refused": int(r["refused"]),
        "screened": int(r["screened"]),
        "flagged": int(r["flagged"]),
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
    r = await pool.fetchrow(f"SELECT {_FIGURES}", school_id, school_year)
    assert r is not None
    return _coverage(dict(r))


async def district_coverage(
    pool: asyncpg.Pool, district: str, school_year: str
) -> list[dict[str, Any]]:
    """One row per school of the district, with or without a campaign that year."""
    schools = await pool.fetch(
        f"""SELECT s.school_id, s.school_name, c.school_id IS NOT NULL AS campaign_open
            FROM {W}.schools s
            LEFT JOIN {W}.campaigns c ON c.school_id = s.school_id AND c.school_year = $2
            WHERE s.district = $1 ORDER BY s.school_id""",
        district,
        school_year,
    )
    out = []
    for s in schools:
        figures = await school_coverage(pool, s["school_id"], school_year)
        out.append(
            {
                "school_id": s["school_id"],
                "school_name": s["school_name"],
                "campaign_open": s["campaign_open"],
                **figures,
            }
        )
    return out


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
