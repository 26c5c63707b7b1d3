"""Filed, late or missing per district, as of a day: the district's plan and its December
summary (one each), the schools' visit plans (one per school of the district) — all of the
calendar year of ``as_of`` — and the schools' monthly visit statistics (one per school) for each
month of the school year of ``as_of`` that is due by then, and the month of ``as_of`` itself."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

import asyncpg

from tongxin_city.application.kpi_values import FilingRow
from tongxin_city.config import CitySettings
from tongxin_city.domain.filings import annual_due, monthly_due, stats_months, tally
from tongxin_contracts.events.city import FilingKind

S = "filings"  # the read model's schema

Kind = Literal["district_plan", "school_visit_plan", "monthly_stats", "december_summary"]


async def filings(pool: asyncpg.Pool, settings: CitySettings, as_of: date) -> list[FilingRow]:
    """Every district's filings of the year of ``as_of``, as of that day."""
    return await _rows(pool, settings, as_of, None)


async def district_filings(
    pool: asyncpg.Pool, settings: CitySettings, district: str, as_of: date
) -> list[FilingRow]:
    """One district's rows of ``filings``."""
    return await _rows(pool, settings, as_of, district)


async def known_district(pool: asyncpg.Pool, district: str) -> bool:
    """Whether the city has heard of ``district`` (a school of it, or a filing)."""
    found: bool = await pool.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {S}.schools WHERE district = $1)"
        f" OR EXISTS (SELECT 1 FROM {S}.filings WHERE district = $1)",
        district,
    )
    return found


def row(
    district: str,
    kind: Kind,
    due: date,
    first_days: list[date | None],
    as_of: date,
    period: str | None = None,
) -> FilingRow:
    """One kind of filing of one district for one period (default: the year of ``due``)."""
    t = tally(due, first_days, as_of)
    return FilingRow(
        district=district,
        kind=kind,
        period=period or str(due.year),
        due=due,
        expected=t.expected,
        on_time=t.on_time,
        late=t.late,
        missing=t.missing,
        pending=t.pending,
    )


async def _rows(
    pool: asyncpg.Pool, settings: CitySettings, as_of: date, only: str | None
) -> list[FilingRow]:
    year, deadlines = as_of.year, settings.deadlines
    months = stats_months(as_of, deadlines.monthly_stats_day)
    async with pool.acquire() as conn:
        schools = await conn.fetch(
            f"SELECT school_id, district FROM {S}.schools WHERE $1::text IS NULL OR district = $1",
            only,
        )
        filed = await conn.fetch(
            f"SELECT district, kind, school_id, first_filed_on FROM {S}.filings"
            " WHERE year = $1 AND ($2::text IS NULL OR district = $2)",
            year,
            only,
        )
        reports = await conn.fetch(
            f"SELECT school_id, month, first_on FROM {S}.monthly_reports"
            " WHERE month = ANY($1::text[])",
            months,
        )
    by_district: dict[str, list[str]] = defaultdict(list)
    for s in schools:
        by_district[s["district"]].append(s["school_id"])
    own: dict[tuple[str, str], date] = {}
    plans: dict[str, date] = {}
    for f in filed:
        by_district.setdefault(f["district"], [])
        if f["school_id"] is None:
            own[(f["district"], f["kind"])] = f["first_filed_on"]
        else:
            plans[f["school_id"]] = f["first_filed_on"]
    firsts = {(r["school_id"], r["month"]): r["first_on"] for r in reports}

    out: list[FilingRow] = []
    for district in sorted(by_district):
        school_ids = sorted(by_district[district])
        own_plan = own.get((district, FilingKind.district_plan.value))
        summary = own.get((district, FilingKind.december_summary.value))
        out.append(
            row(
                district,
                "district_plan",
                annual_due(year, deadlines.district_plan),
                [own_plan],
                as_of,
            )
        )
        out.append(
            row(
                district,
                "school_visit_plan",
                annual_due(year, deadlines.school_visit_plan),
                [plans.get(s) for s in school_ids],
                as_of,
            )
        )
        out.append(
            row(
                district,
                "december_summary",
                annual_due(year, deadlines.december_summary),
                [summary],
                as_of,
            )
        )
        for month in months:
            due = monthly_due(month, deadlines.monthly_stats_day)
            first_days = [firsts.get((s, month)) for s in school_ids]
            out.append(row(district, "monthly_stats", due, first_days, as_of, month))
    return out
