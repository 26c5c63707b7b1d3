"""School years, semesters and report months as the events' fields mean them (``school_year``
"2026-2027", ``month`` "2026-10", a semester 1 or 2), on China's civil calendar: part of the
contract, so that every subscriber counts the same way.

A school year runs from 1 September to 31 August; its first semester ends on 31 January, the
second takes February to August. Dates are taken in China Standard Time (UTC+8, no daylight
saving), whatever zone an instant was sent in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def china_date(t: datetime) -> date:
    if t.tzinfo is None:
        raise ValueError("a time without a zone cannot be placed on the calendar")
    return t.astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class Period:
    """A school year (``semester`` 0) or one of its semesters (1 or 2); bounds inclusive."""

    school_year: str
    semester: int
    start: date
    end: date

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def __str__(self) -> str:
        return self.school_year + (f" semester {self.semester}" if self.semester else "")


def parse_school_year(text: str) -> int:
    """``2026-2027`` → 2026; anything else is a ``ValueError`` naming the expected form."""
    first, sep, second = text.partition("-")
    if not (sep and first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise ValueError(f"school year {text!r}: expected e.g. 2026-2027")
    return int(first)


def school_year_of(d: date) -> str:
    first = d.year if d.month >= 9 else d.year - 1
    return f"{first}-{first + 1}"


def year_period(school_year: str) -> Period:
    first = parse_school_year(school_year)
    return Period(school_year, 0, date(first, 9, 1), date(first + 1, 8, 31))


def semester_period(school_year: str, semester: int) -> Period:
    first = parse_school_year(school_year)
    if semester == 1:
        return Period(school_year, 1, date(first, 9, 1), date(first + 1, 1, 31))
    if semester == 2:
        return Period(school_year, 2, date(first + 1, 2, 1), date(first + 1, 8, 31))
    raise ValueError(f"semester {semester}: expected 1 or 2")


def semester_of(d: date) -> Period:
    school_year = school_year_of(d)
    return semester_period(school_year, 1 if d.month >= 9 or d.month == 1 else 2)


def parse_month(text: str) -> tuple[int, int]:
    year, sep, month = text.partition("-")
    if not (sep and len(year) == 4 and year.isdigit() and month.isdigit() and len(month) == 2):
        raise ValueError(f"month {text!r}: expected e.g. 2026-10")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"month {text!r}: no such month")
    return int(year), int(month)


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    year, m = parse_month(month)
    return date(year, m, 1), date(year, m, calendar.monthrange(year, m)[1])


def report_due(month: str, due_day: int) -> date:
    """The due date of a month's report: its ``due_day`` (the 30th), or its last day if shorter."""
    start, end = month_bounds(month)
    return start.replace(day=min(due_day, end.day))
