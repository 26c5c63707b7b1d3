"""The filings the bureaus track: the city's own filings (one row per filing, its first day and
its revisions), the schools' monthly visit statistics (one row per school and month, the first
report's day) and the schools each district has (ids and district: no person)."""

from __future__ import annotations

from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.city import FilingSubmitted
from tongxin_contracts.events.registry import SchoolRegistered
from tongxin_contracts.events.visits import MonthlyVisitReportSubmitted
from tongxin_platform.projection import Changes, Projection, Table

FILINGS = Projection(
    "filings",
    group="city.filings",
    sources=("city", "registry", "visits"),
    tables=[
        Table("schools", ("school_id",), {"school_id": "text", "district": "text NOT NULL"}),
        Table(
            "filings",
            ("filing_id",),
            {
                "filing_id": "text",
                "district": "text NOT NULL",
                "kind": "text NOT NULL",
                "year": "integer NOT NULL",
                "school_id": "text",
                "first_filed_on": "date NOT NULL",
                "last_filed_on": "date NOT NULL",
                "revisions": "integer NOT NULL",
            },
            indexes={"filings_by_year": "(year, district)"},
        ),
        Table(
            "monthly_reports",
            ("school_id", "month"),
            {
                "school_id": "text",
                "month": "text",
                "district": "text NOT NULL",
                "first_on": "date NOT NULL",
            },
            indexes={"monthly_reports_by_month": "(month)"},
        ),
    ],
)


@FILINGS.on(SchoolRegistered)
def _(e: SchoolRegistered, rows: Changes) -> None:
    rows["schools"].upsert(e.school_id, district=e.district)


@FILINGS.on(FilingSubmitted)
def _(e: FilingSubmitted, rows: Changes) -> None:
    # Every submission carries the first one's day, and a filing's submissions come in order
    # (one stream, one key): the latest one sets the row.
    rows["filings"].upsert(
        e.aggregate_id(),
        district=e.district,
        kind=e.kind.value,
        year=e.year,
        school_id=e.school_id,
        first_filed_on=e.first_filed_on,
        last_filed_on=e.filed_on,
        revisions=e.revision,
    )


@FILINGS.on(MonthlyVisitReportSubmitted)
def _(e: MonthlyVisitReportSubmitted, rows: Changes) -> None:
    # The first report decides on time or late; a correction (revision 2, 3…) changes nothing.
    if e.revision == 1:
        rows["monthly_reports"].upsert(
            (e.school_id, e.month), district=e.district, first_on=china_date(e.submitted_at)
        )
