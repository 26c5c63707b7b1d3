"""The request fields every service's routes share, defined once: a day this century, a moment
(an aware datetime) this century, an identifier, a school year (body, query and path forms), an
``as_of`` day, a school's id and a district's code in a path, the ``Idempotency-Key`` header,
and an optional from/to range of days checked in order and bounded.

Their refusals are the same in every service: a malformed value is a 422 problem+json naming
the field (FastAPI's validation), a range out of order or too long a 422 naming the field
``from`` and the rule ``date_range``. A route keeps its own descriptions where its meaning is
its own (``Field(description=...)`` on a body field wins over the one here; a parameter's own
``Query``/``Path`` replaces the one here, so it repeats the pattern or alias it needs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Header, Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from tongxin_platform.http import ProblemError

# Ids, pseudonyms and codes made by the services: short, and safe in a URL and a log line.
IDENT = r"^[A-Za-z0-9_\-]{1,64}$"
YEAR = r"^20\d{2}-20\d{2}$"
# Days this century only: year 1 or 9999 would pass a plain date, then break the China
# calendar (UTC+8 overflows) or PostgreSQL, and poison every report of the school.
FIRST, LAST = date(2000, 1, 1), date(2099, 12, 31)


def _this_century(d: date) -> date:
    if not FIRST <= d <= LAST:
        raise ValueError(f"must be between {FIRST} and {LAST}")
    return d


def _moment_this_century(t: datetime) -> datetime:
    _this_century(t.date())  # the local date first: converting year 9999 to UTC overflows
    _this_century(t.astimezone(UTC).date())
    return t


def _consecutive(text: str | None) -> str | None:
    # The pattern has let through only 20xx-20yy; the years must also follow each other.
    if text is not None and int(text[5:]) != int(text[:4]) + 1:
        raise ValueError("a school year is two consecutive years, e.g. 2026-2027")
    return text


Day = Annotated[date, AfterValidator(_this_century)]
Moment = Annotated[AwareDatetime, AfterValidator(_moment_this_century)]
Ref = Annotated[str, StringConstraints(pattern=IDENT)]
SchoolYear = Annotated[
    str,
    Field(pattern=YEAR, description="School year, e.g. '2026-2027'."),
    AfterValidator(_consecutive),
]
SchoolYearQuery = Annotated[
    str | None,
    Query(pattern=YEAR, description="School year, e.g. '2026-2027' (default: the current one)."),
    AfterValidator(_consecutive),
]
SchoolYearPath = Annotated[
    str,
    Path(pattern=YEAR, description="School year, e.g. '2026-2027'."),
    AfterValidator(_consecutive),
]
AsOf = Annotated[
    Day | None, Query(description="The day (China time) to answer for (default: today).")
]
Key = Annotated[str | None, Header(description="Repeat a command safely: same key, same answer.")]
SchoolId = Annotated[str, Path(pattern=IDENT, description="A school's id.")]
DistrictId = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="A district code.")]


def day_range(
    first: date | None,
    last: date | None,
    *,
    today: date,
    start: Callable[[date], date],
    longest: timedelta | None = None,
) -> tuple[date, date]:
    """The days ``first`` to ``last`` of an optional from/to range: ``last`` defaults to
    ``today``, ``first`` to ``start(last)`` (each route says where its ranges start). A range
    out of order, or longer than ``longest``, is refused naming ``from`` and ``date_range``.
    Take ``first`` and ``last`` as ``Day``: a day outside the century is refused before this,
    so that ``start`` never counts back from year 1."""
    last = last or today
    first = first or start(last)
    if first > last or (longest is not None and last - first > longest):
        bound = "" if longest is None else f", and at most {longest.days} days before it"
        raise ProblemError(
            422,
            "Refused",
            f"from: must not be after to{bound}",
            field="from",
            rule="date_range",
        )
    return first, last
