"""SQL shared by the education model's views: the periods a day falls in, the schools of a
district, and a helper that runs one statement for many schools at once (every KPI is computed
for a whole district in a few statements, never one query per school)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from tongxin_contracts.calendar import (
    month_bounds,
    month_of,
    report_due,
    school_year_of,
    semester_of,
    semester_period,
    year_period,
)

S = "education"  # the model's schema


@dataclass(frozen=True)
class Periods:
    """The school year and semester containing ``day`` (China dates, bounds inclusive)."""

    day: date
    school_year: str
    sy_start: date
    sem_start: date
    sem2_start: date  # the school year's second semester

    @classmethod
    def of(cls, day: date) -> Periods:
        sy = school_year_of(day)
        return cls(
            day, sy, year_period(sy).start, semester_of(day).start, semester_period(sy, 2).start
        )

    def months_due(self, due_day: int) -> list[str]:
        """The months of the school year whose report was due before ``day``."""
        out, m = [], self.sy_start
        while m <= self.day:
            month = month_of(m)
            if report_due(month, due_day) < self.day:
                out.append(month)
            m = _next_month(m)
        return out

    def month_ends(self) -> list[tuple[str, date]]:
        """Each month of the school year up to ``day``, with the day its figure is taken on
        (the month's last day; the current month: ``day``)."""
        out, m = [], self.sy_start
        while m <= self.day:
            month = month_of(m)
            out.append((month, min(month_bounds(month)[1], self.day)))
            m = _next_month(m)
        return out


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


async def fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    """One read of the model without PostgreSQL's JIT: a district's KPI statement is estimated
    expensive enough to be compiled, and compiling it took longer (0.76 s measured) than
    running it (0.2 s) — and a page is read again and again, never long enough to win it back."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SET LOCAL jit = off")
        return list(await conn.fetch(sql, *args))


async def by_school(pool: asyncpg.Pool, sql: str, *args: Any) -> dict[str, dict[str, Any]]:
    """Run ``sql`` (one row per school, column ``school_id``) → school_id → row."""
    return {r["school_id"]: dict(r) for r in await fetch(pool, sql, *args)}


async def district_schools(pool: asyncpg.Pool, district: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT * FROM {S}.schools WHERE district = $1 ORDER BY school_id", district
    )
    return [dict(r) for r in rows]


async def school(pool: asyncpg.Pool, school_id: str) -> dict[str, Any] | None:
    r = await pool.fetchrow(f"SELECT * FROM {S}.schools WHERE school_id = $1", school_id)
    return dict(r) if r is not None else None


def ids(schools: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(schools))
