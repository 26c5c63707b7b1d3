"""Days and school years as schools count them: China time (UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date

from tongxin_contracts.calendar import CHINA, china_date, month_of, school_year_of

__all__ = ["CHINA", "china_date", "month_of", "school_year_of"]

# The calendar of the events' fields is the contracts' (every subscriber counts the same way).


def months_between(first: date, last: date) -> list[str]:
    """Every month from ``first``'s to ``last``'s, inclusive, as 'YYYY-MM'."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
