"""Days, school years and terms as schools count them: China time (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_date(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def school_year_of(day: date) -> str:
    """The school year a day falls in: from 1 September to 31 August, '2026-2027'."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def term_of(day: date) -> str:
    """The term a day falls in: the autumn term (September–January) is term 1, the spring term
    (February–August) term 2, e.g. '2026-2027/1'."""
    return f"{school_year_of(day)}/{1 if day.month >= 9 or day.month == 1 else 2}"
