"""The filings the bureaus track (seed 000 三, seed 002 七): given a filing's past submissions,
when a district or a school files, then this submission (or this refusal); given a due day, a
first filed day and a day, then on time, late, missing or pending; the months of statistics
shown as of a day; the read model folded from the events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin_city.domain.filings import (
    FileFiling,
    FilingError,
    Status,
    UnknownSchoolError,
    annual_due,
    decide_filing,
    monthly_due,
    stats_months,
    status,
    tally,
)
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import CHINA
from tongxin_contracts.events.city import FiledAs, FilingKind, FilingSubmitted, filing_id
from tongxin_platform.domain import NotFoundError

TODAY = date(2026, 11, 20)
D = "330106"
PLAN = FileFiling(
    D, FilingKind.district_plan, 2026, None, date(2026, 4, 18), FiledAs.bureau_officer
)
SCHOOL_PLAN = FileFiling(
    D, FilingKind.school_visit_plan, 2026, "330106001", date(2026, 4, 27), FiledAs.principal
)


def filed(cmd: FileFiling, history: list[IntegrationEvent] | None = None) -> FilingSubmitted:
    [event] = decide_filing(cmd, history or [], D if cmd.school_id else None, TODAY)
    assert isinstance(event, FilingSubmitted)
    return event


# --- the decider ----------------------------------------------------------------------------


def test_a_districts_plan_filed_for_the_first_time_is_revision_one_of_its_own_stream() -> None:
    event = filed(PLAN)
    assert (event.revision, event.filed_on, event.first_filed_on) == (
        1,
        PLAN.filed_on,
        PLAN.filed_on,
    )
    assert event.aggregate_id() == "filing-330106-district_plan-2026"
    assert event.filed_as is FiledAs.bureau_officer


def test_a_schools_visit_plan_is_on_the_schools_own_stream() -> None:
    event = filed(SCHOOL_PLAN)
    assert event.aggregate_id() == filing_id(D, FilingKind.school_visit_plan, 2026, "330106001")
    assert event.aggregate_id() == "filing-330106-school_visit_plan-2026-330106001"


def test_a_revision_counts_on_and_keeps_the_first_day() -> None:
    first = filed(PLAN)
    second = filed(replace(PLAN, filed_on=date(2026, 5, 6)), [first])
    third = filed(replace(PLAN, filed_on=date(2026, 6, 1)), [first, second])
    assert (second.revision, second.first_filed_on, second.filed_on) == (
        2,
        date(2026, 4, 18),
        date(2026, 5, 6),
    )
    assert (third.revision, third.first_filed_on) == (3, date(2026, 4, 18))


def test_a_revision_dated_before_the_previous_submission_is_refused() -> None:
    first = filed(PLAN)
    with pytest.raises(FilingError) as refused:
        filed(replace(PLAN, filed_on=date(2026, 4, 17)), [first])
    assert (refused.value.field, refused.value.rule) == ("filed_on", "revision_after_previous")


def test_a_filing_dated_in_the_future_is_refused() -> None:
    with pytest.raises(FilingError) as refused:
        filed(replace(PLAN, filed_on=TODAY + timedelta(days=1)))
    assert (refused.value.field, refused.value.rule) == ("filed_on", "filed_not_in_future")


def test_a_filing_dated_before_its_year_is_refused() -> None:
    with pytest.raises(FilingError) as refused:
        filed(replace(PLAN, filed_on=date(2025, 12, 31)))
    assert (refused.value.field, refused.value.rule) == ("filed_on", "filed_within_year")


@pytest.mark.parametrize("kind", [FilingKind.district_plan, FilingKind.december_summary])
def test_a_districts_own_filing_naming_a_school_is_refused(kind: FilingKind) -> None:
    cmd = replace(PLAN, kind=kind, school_id="330106001")
    with pytest.raises(FilingError) as refused:
        decide_filing(cmd, [], D, TODAY)
    assert (refused.value.field, refused.value.rule) == (
        "school_id",
        "district_filing_names_no_school",
    )


def test_a_school_visit_plan_without_a_school_is_refused() -> None:
    with pytest.raises(FilingError) as refused:
        decide_filing(replace(SCHOOL_PLAN, school_id=None), [], None, TODAY)
    assert (refused.value.field, refused.value.rule) == ("school_id", "school_plan_names_school")


def test_a_school_visit_plan_of_an_unknown_school_is_not_found() -> None:
    with pytest.raises(UnknownSchoolError) as refused:
        decide_filing(SCHOOL_PLAN, [], None, TODAY)
    assert isinstance(refused.value, NotFoundError)
    assert (refused.value.field, refused.value.rule) == ("school_id", "known_school")


def test_a_school_visit_plan_of_another_districts_school_is_refused() -> None:
    with pytest.raises(FilingError) as refused:
        decide_filing(SCHOOL_PLAN, [], "330105", TODAY)
    assert (refused.value.field, refused.value.rule) == ("school_id", "school_of_district")


# --- due days and status --------------------------------------------------------------------


def test_the_yearly_filings_are_due_on_their_month_day_of_the_year() -> None:
    assert annual_due(2026, "04-20") == date(2026, 4, 20)
    assert annual_due(2026, "12-31") == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("month", "due"),
    [
        ("2026-11", date(2026, 11, 30)),
        ("2027-01", date(2027, 1, 30)),
        ("2027-02", date(2027, 2, 28)),  # February is shorter: its last day
        ("2028-02", date(2028, 2, 29)),  # a leap year's
    ],
)
def test_the_monthly_statistics_are_due_on_the_30th_or_the_months_last_day(
    month: str, due: date
) -> None:
    assert monthly_due(month, 30) == due


DUE = date(2026, 4, 20)


@pytest.mark.parametrize(
    ("first", "as_of", "expected"),
    [
        (date(2026, 4, 18), date(2026, 11, 20), Status.on_time),
        (date(2026, 4, 20), date(2026, 4, 20), Status.on_time),  # on the due day itself
        (date(2026, 4, 21), date(2026, 11, 20), Status.late),
        (None, date(2026, 4, 21), Status.missing),
        (None, date(2026, 4, 20), Status.pending),  # due today, not filed yet
        (None, date(2026, 3, 1), Status.pending),
        (date(2026, 4, 25), date(2026, 4, 22), Status.missing),  # filed after the day asked
        (date(2026, 4, 10), date(2026, 4, 5), Status.pending),
    ],
)
def test_a_filings_status_as_of_a_day(first: date | None, as_of: date, expected: Status) -> None:
    assert status(DUE, first, as_of) is expected


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@given(due=days, first=st.none() | days, as_of=days, later=st.integers(0, 400))
def test_a_filing_is_late_or_missing_only_after_its_due_day_and_never_comes_back(
    due: date, first: date | None, as_of: date, later: int
) -> None:
    s = status(due, first, as_of)
    if s in (Status.late, Status.missing):
        assert as_of > due
    if s is Status.pending:
        assert as_of <= due
    after = status(due, first, as_of + timedelta(days=later))
    if s in (Status.on_time, Status.late):
        assert after is s  # settled for good
    if s is Status.missing:
        assert after in (Status.missing, Status.late)  # filed late at the earliest


def test_a_tally_counts_each_expected_filing_once() -> None:
    t = tally(DUE, [date(2026, 4, 1), date(2026, 4, 30), None, None], date(2026, 5, 1))
    assert (t.expected, t.on_time, t.late, t.missing, t.pending) == (4, 1, 1, 2, 0)


@pytest.mark.parametrize(
    ("as_of", "months"),
    [
        (date(2026, 9, 3), ["2026-09"]),
        (date(2026, 10, 30), ["2026-09", "2026-10"]),
        (date(2026, 11, 20), ["2026-09", "2026-10", "2026-11"]),
        (
            date(2027, 3, 1),
            ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03"],
        ),
        (
            date(2027, 8, 15),  # the summer: every reporting month of the year, August none
            [f"2026-{m:02d}" for m in (9, 10, 11, 12)] + [f"2027-{m:02d}" for m in range(1, 8)],
        ),
    ],
)
def test_the_months_of_statistics_shown_are_those_due_and_the_current_one(
    as_of: date, months: list[str]
) -> None:
    assert stats_months(as_of, 30) == months


# --- the read model -------------------------------------------------------------------------


async def test_the_read_model_keeps_each_filings_first_day_and_each_schools_first_report() -> None:
    from tongxin_city.application.filings import Filings
    from tongxin_city.projections.filings import FILINGS
    from tongxin_contracts import default_registry
    from tongxin_contracts.events.registry import SchoolRegistered, SchoolStage
    from tongxin_contracts.events.visits import MonthlyFigures, MonthlyVisitReportSubmitted
    from tongxin_platform.commands import Writer
    from tongxin_platform.memory import MemoryDatabase, MemoryTables, MemoryTransactions

    now = datetime(2026, 11, 20, 4, tzinfo=UTC)
    db = MemoryDatabase(default_registry())
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: now)
    filings = Filings(writer, pool=None)  # district filings: no school read
    await filings.file(PLAN)
    await filings.file(replace(PLAN, filed_on=date(2026, 5, 6)))

    figures = MonthlyFigures(**dict.fromkeys(MonthlyFigures.model_fields, 0))

    def report(revision: int, day: int) -> MonthlyVisitReportSubmitted:
        return MonthlyVisitReportSubmitted(
            district=D,
            school_id="330106001",
            month="2026-10",
            revision=revision,
            figures=figures,
            submitted_by="stf_1",
            submitted_at=datetime(2026, 10, day, 23, 30, tzinfo=CHINA),
            due_date=date(2026, 10, 30),
            late=day > 30,
        )

    school = SchoolRegistered(
        district=D,
        school_id="330106001",
        school_name="西湖小学",
        stage=SchoolStage.primary,
        has_counselling_room=True,
    )
    tables = MemoryTables(db, FILINGS.tables)
    events = [school, *db.published(), report(1, 29), report(2, 31)]
    await FILINGS.write(tables, FILINGS.schema, FILINGS.fold(events))

    assert tables.rows("filings", "schools") == {
        ("330106001",): {"school_id": "330106001", "district": D}
    }
    [row] = tables.rows("filings", "filings").values()
    assert (row["first_filed_on"], row["last_filed_on"], row["revisions"]) == (
        date(2026, 4, 18),
        date(2026, 5, 6),
        2,
    )
    [monthly] = tables.rows("filings", "monthly_reports").values()
    assert monthly["first_on"] == date(2026, 10, 29)  # China's day of the first report
    stored = " ".join(
        str(v) for r in tables.rows("filings", "monthly_reports").values() for v in r.values()
    )
    assert "stf_1" not in stored  # who submitted is never kept
