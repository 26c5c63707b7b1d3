"""Events of the city aggregator (市教育局), published on ``city.events``: the filings the
bureaus track (seed 000 三: districts' and city-run schools' implementation plans to the city by
20 April, the December summary; seed 002 七: schools' visit plans by 28 April).

Nothing here names a person: the role that filed is recorded, never who; no text travels (a
filing's document stays with the bureau). The schools' monthly visit statistics are the visits
service's ``MonthlyVisitReportSubmitted``; the city only reads them.

Aggregates (stream ids, spelt only here):

- ``filing-<district>-<kind>-<year>`` for a district's own filing (its plan, its December
  summary), ``filing-<district>-<kind>-<year>-<school_id>`` for a school's visit plan: every
  submission of one filing, the first one and its revisions.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tongxin_contracts.base import IntegrationEvent, StreamName

SERVICE = "city"

filing_stream = StreamName("filing")  # filing-<district>-<kind>-<year>[-<school_id>]


class FilingKind(StrEnum):
    """What is filed: the district's plan (to the city by 20 April), a school's visit plan (to
    the district by 28 April), the district's December summary."""

    district_plan = "district_plan"
    school_visit_plan = "school_visit_plan"
    december_summary = "december_summary"


class FiledAs(StrEnum):
    """The role that filed (never who)."""

    bureau_officer = "bureau_officer"
    principal = "principal"


def filing_id(district: str, kind: FilingKind, year: int, school_id: str | None) -> str:
    """The stream id of one filing: the district's own, or one school's."""
    parts = [district, kind.value, str(year)]
    if school_id is not None:
        parts.append(school_id)
    return filing_stream(*parts)


class FilingSubmitted(IntegrationEvent):
    """A filing was submitted to the bureau (revision 1), or revised (2, 3…): the first one's
    day decides whether it was on time."""

    service: ClassVar[str] = SERVICE
    name: ClassVar[str] = "FilingSubmitted"
    district: str = Field(description="District code (区县代码) the filing belongs to.")
    kind: FilingKind = Field(description="What was filed.")
    year: int = Field(ge=2000, le=2100, description="The calendar year the filing is for.")
    school_id: str | None = Field(
        default=None, description="The school whose visit plan it is (school_visit_plan only)."
    )
    filed_on: date = Field(description="The day this submission was filed (China time).")
    first_filed_on: date = Field(
        description="The day of the first submission (revision 1): on time or late by it."
    )
    revision: int = Field(ge=1, description="1 for the first submission, then 2, 3… (revisions).")
    filed_as: FiledAs = Field(description="The role that filed it (never who).")

    def aggregate_id(self) -> str:
        return filing_id(self.district, self.kind, self.year, self.school_id)


EVENTS: tuple[type[IntegrationEvent], ...] = (FilingSubmitted,)
