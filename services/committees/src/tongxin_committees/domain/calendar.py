"""Days, school years and terms as schools count them: China time (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date

from tongxin_contracts.calendar import CHINA, china_date, school_year_of

__all__ = ["CHINA", "china_date", "school_year_of"]

# The calendar of the events' fields is the contracts' (every subscriber counts the same way).


def term_of(day: date) -> str:
    """The term a day falls in: the autumn term (September–January) is term 1, the spring term
    (February–August) term 2, e.g. '2026-2027/1'."""
    return f"{school_year_of(day)}/{1 if day.month >= 9 or day.month == 1 else 2}"
