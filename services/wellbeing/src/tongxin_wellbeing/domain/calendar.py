"""Days and school years as schools count them: China time (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_date(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def school_year_of(day: date) -> str:
    """The school year a day falls in: from 1 September to 31 August, '2026-2027'."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: date, last: date) -> list[str]:
    """Every month from ``first``'s to ``last``'s, inclusive, as 'YYYY-MM'."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
