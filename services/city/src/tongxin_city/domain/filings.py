"""The filings the bureaus track, as pure rules (seed 000 三, seed 002 七).

- What may be filed: a district's plan and its December summary name no school; a school's
  visit plan names a school of that district. A filing's day is not in the future and not before
  its year. A second filing of the same thing is a revision: it keeps the first one's day, which
  decides whether the filing was on time.
- When each is due: the plans and the summary on a month-day of their year (settings), the
  monthly visit statistics on the ``monthly_stats_day`` of their month, or the month's last day
  when the month is shorter (February).
- What a filing is as of a day: on time (first filed by its due day), late (first filed after
  it), missing (due day passed, nothing filed yet) or pending (not due yet, nothing filed yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import month_of, parse_school_year, report_due, school_year_of
from tongxin_contracts.events.city import FiledAs, FilingKind, FilingSubmitted
from tongxin_platform.domain import DomainError, NotFoundError

DISTRICT_KINDS = frozenset({FilingKind.district_plan, FilingKind.december_summary})

# The months a school reports its visit statistics for: September to July of the school year
# (the August holiday has none). Seed 002 七: "每月30日前报送当月家访统计表".
STATS_MONTHS = (9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7)


class FilingError(DomainError):
    """422: a filing the rules refuse."""


class UnknownSchoolError(FilingError, NotFoundError):
    """404: the filing names a school the city has not heard of."""


@dataclass(frozen=True, slots=True)
class FileFiling:
    """Submit (or revise) one filing."""

    district: str
    kind: FilingKind
    year: int
    school_id: str | None
    filed_on: date
    filed_as: FiledAs


def check_school(cmd: FileFiling, school_district: str | None) -> None:
    """A school's visit plan names a school of the filing's district; a district's own filing
    names none. ``school_district``: the district of ``cmd.school_id`` as the roster has it
    (None: not a school the city knows)."""
    if cmd.kind in DISTRICT_KINDS:
        if cmd.school_id is not None:
            raise FilingError(
                f"a {cmd.kind.value} is the district's own: it names no school",
                field="school_id",
                rule="district_filing_names_no_school",
            )
        return
    if cmd.school_id is None:
        raise FilingError(
            "a school_visit_plan names its school",
            field="school_id",
            rule="school_plan_names_school",
        )
    if school_district is None:
        raise UnknownSchoolError("no such school", field="school_id", rule="known_school")
    if school_district != cmd.district:
        raise FilingError(
            "the school is not a school of this district",
            field="school_id",
            rule="school_of_district",
        )


def decide_filing(
    cmd: FileFiling,
    history: Sequence[IntegrationEvent],
    school_district: str | None,
    today: date,
) -> list[IntegrationEvent]:
    """The submission of ``cmd`` on its filing's stream (``history``): revision 1, or the next
    revision keeping the first one's day. ``today``: the day in China by the service's clock."""
    check_school(cmd, school_district)
    if cmd.filed_on > today:
        raise FilingError(
            f"filed_on {cmd.filed_on} is in the future (today is {today})",
            field="filed_on",
            rule="filed_not_in_future",
        )
    if cmd.filed_on < date(cmd.year, 1, 1):
        raise FilingError(
            f"filed_on {cmd.filed_on} is before the year {cmd.year}",
            field="filed_on",
            rule="filed_within_year",
        )
    earlier = [e for e in history if isinstance(e, FilingSubmitted)]
    if earlier and cmd.filed_on < earlier[-1].filed_on:
        raise FilingError(
            f"a revision is filed on or after the previous one ({earlier[-1].filed_on})",
            field="filed_on",
            rule="revision_after_previous",
        )
    first = earlier[0].first_filed_on if earlier else cmd.filed_on
    return [
        FilingSubmitted(
            district=cmd.district,
            kind=cmd.kind,
            year=cmd.year,
            school_id=cmd.school_id,
            filed_on=cmd.filed_on,
            first_filed_on=first,
            revision=len(earlier) + 1,
            filed_as=cmd.filed_as,
        )
    ]


# --- when due, and what a filing is as of a day ---------------------------------------------


class Status(StrEnum):
    on_time = "on_time"
    late = "late"
    missing = "missing"  # past due, nothing filed
    pending = "pending"  # not due yet, nothing filed


def annual_due(year: int, month_day: str) -> date:
    """A yearly filing's due day: ``"04-20"`` of ``year``."""
    month, day = month_day.split("-")
    return date(year, int(month), int(day))


def monthly_due(month: str, stats_day: int) -> date:
    """The monthly statistics' due day: ``stats_day`` of the month, or its last day if shorter."""
    return report_due(month, stats_day)


def status(due: date, first_filed: date | None, as_of: date) -> Status:
    """A filing as of ``as_of``: a filing first made after ``as_of`` was not made yet then."""
    if first_filed is not None and first_filed <= as_of:
        return Status.on_time if first_filed <= due else Status.late
    return Status.missing if as_of > due else Status.pending


@dataclass(frozen=True, slots=True)
class Tally:
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0

    @property
    def expected(self) -> int:
        return self.on_time + self.late + self.missing + self.pending


def tally(due: date, first_days: Iterable[date | None], as_of: date) -> Tally:
    """How many of the expected filings (one first day, or None, each) are on time, late,
    missing or pending as of ``as_of``."""
    counts = dict.fromkeys(Status, 0)
    for first in first_days:
        counts[status(due, first, as_of)] += 1
    return Tally(
        counts[Status.on_time], counts[Status.late], counts[Status.missing], counts[Status.pending]
    )


def stats_months(as_of: date, stats_day: int) -> list[str]:
    """The months of ``as_of``'s school year whose statistics are shown as of that day: every
    reporting month due by then, and the month of ``as_of`` itself (pending until its day)."""
    first = parse_school_year(school_year_of(as_of))
    months = [f"{first if m >= 9 else first + 1:04d}-{m:02d}" for m in STATS_MONTHS]
    current = month_of(as_of)
    return [m for m in months if monthly_due(m, stats_day) <= as_of or m == current]
