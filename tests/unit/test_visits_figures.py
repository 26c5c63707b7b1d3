"""The monthly statistics (统计表) computed from a school's events, and the China calendar they
and the coverage rules are counted on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.calendar import (
    CHINA,
    Period,
    china_date,
    month_bounds,
    month_of,
    parse_month,
    parse_school_year,
    report_due,
    school_year_of,
    semester_of,
    semester_period,
    year_period,
)
from tongxin_contracts.events.registry import StaffRole
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    ParentSuggestion,
    SuggestionTopic,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitGoal,
    VisitMode,
    Visitor,
)
from tongxin_visits.domain.figures import monthly_figures

DISTRICT, SCHOOL = "330106", "sch_1"
SEALED = Sealed(subject="stu_1", key_id="k", nonce="n", ciphertext="c")
HEAD = Visitor(staff_ref="stf_head", role=StaffRole.head_teacher)
PRINCIPAL = Visitor(staff_ref="stf_pri", role=StaffRole.principal)
LEADER = Visitor(staff_ref="stf_mid", role=StaffRole.middle_leader)
TEACHER = Visitor(staff_ref="stf_sub", role=StaffRole.subject_teacher)
NEW_YORK = timezone(timedelta(hours=-4))
OCTOBER_RECORDED = datetime(2026, 10, 20, 4, 0, tzinfo=UTC)


def in_china(month: int, day: int, hour: int = 15, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=CHINA)


def done(
    visit_id: str,
    started_at: datetime,
    mode: VisitMode = VisitMode.in_home,
    visitors: tuple[Visitor, ...] = (HEAD,),
    student_ref: str = "stu_1",
    suggestions: int = 0,
) -> VisitCompleted:
    return VisitCompleted(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id=visit_id,
        class_id="c1",
        student_ref=student_ref,
        recorded_by=visitors[0].staff_ref,
        visitors=list(visitors),
        mode=mode,
        started_at=started_at,
        duration_minutes=40,
        goals_covered=[VisitGoal.parent_opinions],
        parent_suggestions=[
            ParentSuggestion(
                suggestion_id=f"{visit_id}-{n}",
                topic=SuggestionTopic.school_management,
                text=SEALED,
                answer_due=date(2026, 11, 15),
            )
            for n in range(suggestions)
        ],
        notes=None,
        integrity_attested=True,
    )


def confirmation(visit_id: str) -> VisitConfirmed:
    return VisitConfirmed(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id=visit_id,
        confirmed_by=ConfirmedBy.family,
    )


def cancellation(visit_id: str) -> VisitCancelled:
    return VisitCancelled(
        district=DISTRICT,
        school_id=SCHOOL,
        visit_id=visit_id,
        reason=CancelReason.student_left,
        cancelled_by="stf_head",
    )


def opened(case_id: str, on: date) -> FollowUpOpened:
    return FollowUpOpened(
        district=DISTRICT,
        school_id=SCHOOL,
        case_id=case_id,
        visit_id="v1",
        class_id="c1",
        student_ref="stu_1",
        measure=Measure.hardship_assistance,
        owner_ref="stf_head",
        opened_on=on,
        due_date=on + timedelta(days=30),
    )


def closed(case_id: str, on: date) -> FollowUpClosed:
    return FollowUpClosed(
        district=DISTRICT,
        school_id=SCHOOL,
        case_id=case_id,
        outcome=FollowUpOutcome.resolved,
        closed_by="stf_head",
        closed_on=on,
    )


def at(*events: IntegrationEvent) -> list[tuple[IntegrationEvent, datetime]]:
    """Events recorded on 20 October, unless their own time says otherwise."""
    return [(e, OCTOBER_RECORDED) for e in events]


# --- monthly figures ------------------------------------------------------------------------


def test_a_schools_october_is_counted_on_china_dates() -> None:
    events = at(
        # stu_1 (special): in home on 5 Oct, online at 00:30 on 1 Oct in China (30 Sep in UTC)
        done("v1", in_china(10, 5), suggestions=1),
        confirmation("v1"),
        done("v2", datetime(2026, 9, 30, 16, 30, tzinfo=UTC), VisitMode.online, (PRINCIPAL, HEAD)),
        confirmation("v2"),
        # stu_2: a phone visit nobody confirmed, with two suggestions
        done("v3", in_china(10, 12), VisitMode.phone, (TEACHER,), "stu_2", suggestions=2),
        # stu_3: at school, confirmed in November (a confirmation counts whenever it came)
        done("v4", in_china(10, 31, 23), VisitMode.at_school, (LEADER, TEACHER), "stu_3"),
        # not October in China: 00:30 on 1 November, and 23:00 on 30 September
        done("v5", datetime(2026, 10, 31, 16, 30, tzinfo=UTC), student_ref="stu_4"),
        confirmation("v5"),
        done("v6", in_china(9, 30, 23), student_ref="stu_5"),
        confirmation("v6"),
        opened("case_1", date(2026, 10, 1)),
        opened("case_2", date(2026, 9, 30)),
        closed("case_3", date(2026, 10, 31)),
        closed("case_4", date(2026, 11, 1)),
    )
    events.append((confirmation("v4"), datetime(2026, 11, 3, tzinfo=UTC)))
    # cancellations count in the month (China time) they were recorded: v7 (23:59 on 31 Oct) and
    # v9 (00:00 on 1 Oct) do; v8 and v10 (1 Nov in China, still 31 Oct in UTC) do not
    events.append((cancellation("v7"), datetime(2026, 10, 31, 15, 59, tzinfo=UTC)))
    events.append((cancellation("v8"), datetime(2026, 10, 31, 16, 0, tzinfo=UTC)))
    events.append((cancellation("v9"), datetime(2026, 9, 30, 16, 0, tzinfo=UTC)))
    events.append((cancellation("v10"), datetime(2026, 10, 31, 17, 0, tzinfo=UTC)))

    assert monthly_figures(events, "2026-10", {"stu_1", "stu_5"}) == MonthlyFigures(
        visits_completed=4,
        visits_confirmed=3,
        visits_unconfirmed=1,
        in_home=1,
        online=1,
        phone=0,
        at_school=1,
        students_visited=2,
        special_group_students_visited=1,
        by_principals=1,
        by_middle_leaders=1,
        by_head_teachers=2,
        by_subject_teachers=1,
        visits_cancelled=2,
        followups_opened=1,
        followups_closed=1,
        parent_suggestions=3,
    )


def test_a_visit_started_just_after_midnight_in_china_belongs_to_the_next_month() -> None:
    events = at(done("v5", datetime(2026, 10, 31, 16, 30, tzinfo=UTC)), confirmation("v5"))
    november = monthly_figures(events, "2026-11", set())
    assert (november.visits_completed, november.visits_confirmed, november.in_home) == (1, 1, 1)
    assert monthly_figures(events, "2026-10", set()).visits_completed == 0


def test_a_confirmation_alone_counts_nothing_and_twice_counts_once() -> None:
    lonely = monthly_figures(at(confirmation("v1")), "2026-10", {"stu_1"})
    assert lonely == MonthlyFigures(**dict.fromkeys(MonthlyFigures.model_fields, 0))
    twice = monthly_figures(
        at(done("v1", in_china(10, 5)), confirmation("v1"), confirmation("v1")), "2026-10", set()
    )
    assert (twice.visits_completed, twice.visits_confirmed, twice.visits_unconfirmed) == (1, 1, 0)


def test_unconfirmed_visits_are_neither_by_mode_by_visitor_nor_students() -> None:
    figures = monthly_figures(
        at(done("v1", in_china(10, 5), visitors=(PRINCIPAL,))), "2026-10", {"stu_1"}
    )
    assert (figures.visits_completed, figures.visits_unconfirmed) == (1, 1)
    assert (figures.in_home, figures.students_visited, figures.by_principals) == (0, 0, 0)
    assert figures.special_group_students_visited == 0


def test_a_special_student_is_counted_once_however_often_visited() -> None:
    events = at(
        done("v1", in_china(10, 5)),
        confirmation("v1"),
        done("v2", in_china(10, 25), VisitMode.phone),
        confirmation("v2"),
    )
    figures = monthly_figures(events, "2026-10", {"stu_1", "stu_9"})
    assert (figures.visits_confirmed, figures.students_visited) == (2, 1)
    assert figures.special_group_students_visited == 1
    assert figures.by_head_teachers == 2


def naive(year: int, month: int, day: int) -> datetime:
    """Hypothesis takes wall-clock bounds without a zone, then attaches one of ``zones``."""
    return datetime(year, month, day, tzinfo=UTC).replace(tzinfo=None)


modes = st.sampled_from(list(VisitMode))
zones = st.sampled_from([UTC, CHINA, NEW_YORK])
starts = st.datetimes(naive(2026, 9, 28), naive(2026, 11, 3), timezones=zones)
visitor_sets = st.lists(
    st.sampled_from([HEAD, PRINCIPAL, LEADER, TEACHER]), min_size=1, max_size=3, unique=True
)
visit_rows = st.lists(
    st.tuples(starts, modes, visitor_sets, st.sampled_from(["a", "b", "c", "d"]), st.booleans()),
    max_size=15,
)


@settings(max_examples=100, deadline=None)
@given(visit_rows, st.sets(st.sampled_from(["a", "b", "x"])))
def test_every_completed_visit_is_confirmed_or_not_and_every_confirmed_one_has_a_mode(
    rows: list[tuple[datetime, VisitMode, list[Visitor], str, bool]], special: set[str]
) -> None:
    events: list[IntegrationEvent] = []
    for n, (started_at, mode, visitors, student_ref, vouched) in enumerate(rows):
        events.append(done(f"v{n}", started_at, mode, tuple(visitors), student_ref))
        if vouched:
            events.append(confirmation(f"v{n}"))
    figures = monthly_figures(at(*events), "2026-10", special)

    assert figures.visits_completed == figures.visits_confirmed + figures.visits_unconfirmed
    modes_total = figures.in_home + figures.online + figures.phone + figures.at_school
    assert modes_total == figures.visits_confirmed
    assert figures.special_group_students_visited <= figures.students_visited
    assert figures.students_visited <= figures.visits_confirmed
    assert figures.by_head_teachers <= figures.visits_confirmed

    in_october = [r for r in rows if (r[0].astimezone(UTC) + timedelta(hours=8)).month == 10]
    assert figures.visits_completed == len(in_october)
    assert figures.visits_confirmed == sum(r[4] for r in in_october)
    assert figures.students_visited == len({r[3] for r in in_october if r[4]})


# --- calendar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "school_year"),
    [
        (date(2026, 8, 31), "2025-2026"),
        (date(2026, 9, 1), "2026-2027"),
        (date(2027, 1, 31), "2026-2027"),
        (date(2027, 2, 1), "2026-2027"),
        (date(2027, 8, 31), "2026-2027"),
        (date(2027, 9, 1), "2027-2028"),
    ],
)
def test_a_school_year_runs_from_september_to_august(day: date, school_year: str) -> None:
    assert school_year_of(day) == school_year


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2026, 9, 1), Period("2026-2027", 1, date(2026, 9, 1), date(2027, 1, 31))),
        (date(2027, 1, 31), Period("2026-2027", 1, date(2026, 9, 1), date(2027, 1, 31))),
        (date(2027, 2, 1), Period("2026-2027", 2, date(2027, 2, 1), date(2027, 8, 31))),
        (date(2027, 8, 31), Period("2026-2027", 2, date(2027, 2, 1), date(2027, 8, 31))),
        (date(2027, 9, 1), Period("2027-2028", 1, date(2027, 9, 1), date(2028, 1, 31))),
        (date(2026, 12, 31), Period("2026-2027", 1, date(2026, 9, 1), date(2027, 1, 31))),
    ],
)
def test_semester_one_ends_on_31_january_and_semester_two_on_31_august(
    day: date, period: Period
) -> None:
    assert semester_of(day) == period


def test_a_school_years_period_and_names() -> None:
    year = year_period("2026-2027")
    assert (year.start, year.end, year.semester) == (date(2026, 9, 1), date(2027, 8, 31), 0)
    assert str(year) == "2026-2027"
    assert str(semester_period("2026-2027", 2)) == "2026-2027 semester 2"
    assert parse_school_year("2026-2027") == 2026


@pytest.mark.parametrize("text", ["2026-2028", "2026", "2026/2027", "abcd-abce", "2027-2026"])
def test_a_malformed_school_year_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected e\.g\. 2026-2027"):
        parse_school_year(text)


def test_there_is_no_third_semester() -> None:
    with pytest.raises(ValueError, match="expected 1 or 2"):
        semester_period("2026-2027", 3)


@pytest.mark.parametrize(
    ("t", "day"),
    [
        (datetime(2026, 10, 31, 15, 59, 59, tzinfo=UTC), date(2026, 10, 31)),
        (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 0, 0, tzinfo=CHINA), date(2026, 11, 1)),
    ],
)
def test_a_time_is_placed_on_the_china_calendar(t: datetime, day: date) -> None:
    assert china_date(t) == day


def test_a_time_without_a_zone_cannot_be_placed_on_the_calendar() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        china_date(datetime(2026, 10, 1, 12, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("month", "due_day", "due"),
    [
        ("2026-10", 30, date(2026, 10, 30)),
        ("2026-10", 31, date(2026, 10, 31)),
        ("2026-11", 31, date(2026, 11, 30)),
        ("2027-02", 30, date(2027, 2, 28)),
        ("2028-02", 30, date(2028, 2, 29)),
        ("2026-12", 1, date(2026, 12, 1)),
    ],
)
def test_a_report_is_due_on_its_day_or_the_months_last_day(
    month: str, due_day: int, due: date
) -> None:
    assert report_due(month, due_day) == due


def test_months_are_named_and_bounded() -> None:
    assert parse_month("2026-10") == (2026, 10)
    assert month_of(date(2027, 2, 3)) == "2027-02"
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize("text", ["2026-13", "2026-00"])
def test_a_month_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="no such month"):
        parse_month(text)


@pytest.mark.parametrize("text", ["2026-1", "26-10", "2026/10", "october"])
def test_a_malformed_month_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected e\.g\. 2026-10"):
        parse_month(text)


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_every_day_falls_in_its_school_year_and_exactly_one_of_its_semesters(day: date) -> None:
    school_year = school_year_of(day)
    assert year_period(school_year).contains(day)
    first, second = semester_period(school_year, 1), semester_period(school_year, 2)
    assert first.contains(day) != second.contains(day)
    assert first.end + timedelta(days=1) == second.start
    assert semester_of(day) == (first if first.contains(day) else second)
    assert month_of(day) == f"{day.year:04d}-{day.month:02d}"
    start, end = month_bounds(month_of(day))
    assert start <= day <= end


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(naive(2000, 1, 1), naive(2099, 12, 31), timezones=zones),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.integers(1, 31),
)
def test_china_dates_and_due_dates_agree_with_plain_arithmetic(
    t: datetime, day: date, due_day: int
) -> None:
    assert china_date(t) == (t.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)).date()
    due = report_due(month_of(day), due_day)
    assert (due.year, due.month) == (day.year, day.month)
    assert due.day == due_day or (due.day < due_day and (due + timedelta(days=1)).day == 1)
