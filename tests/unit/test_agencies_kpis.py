"""The KPIs' pure rules: the months whose report is due, the month ends of the trend, judging a
figure against the city's target, and the district's pooling (shares pooled, flags as the share
of schools, counts summed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tongxin_agencies.application.district_views import kpi_defs, pooled, total_meets
from tongxin_agencies.application.education_queries import Periods
from tongxin_agencies.application.kpis import Ratio, measured_at, now_for, plain
from tongxin_agencies.config import Targets

T = Targets()


def test_a_month_s_report_is_due_only_after_its_30th() -> None:
    # On 30 September the September report is not yet due; on 1 October it is
    assert Periods.of(date(2026, 9, 30)).months_due(30) == []
    assert Periods.of(date(2026, 10, 1)).months_due(30) == ["2026-09"]


def test_february_s_report_is_due_after_its_last_day() -> None:
    months = Periods.of(date(2027, 3, 1)).months_due(30)
    assert months[-1] == "2027-02"
    assert months[0] == "2026-09"
    assert len(months) == 6
    assert "2027-02" not in Periods.of(date(2027, 2, 28)).months_due(30)


def test_the_trend_takes_each_month_end_of_the_school_year_and_today_for_this_month() -> None:
    got = Periods.of(date(2026, 11, 10)).month_ends()
    assert got == [
        ("2026-09", date(2026, 9, 30)),
        ("2026-10", date(2026, 10, 31)),
        ("2026-11", date(2026, 11, 10)),
    ]


def test_the_periods_of_a_day_in_the_second_semester() -> None:
    p = Periods.of(date(2027, 3, 5))
    assert (p.school_year, p.sy_start, p.sem_start) == (
        "2026-2027",
        date(2026, 9, 1),
        date(2027, 2, 1),
    )


def test_a_share_below_its_target_is_missed_and_at_it_is_met() -> None:
    d = kpi_defs()["visit_coverage"]
    assert d.meets(Ratio(9, 10), T) is False
    assert d.meets(Ratio(10, 10), T) is True
    assert d.meets(Ratio(0, 0), T) is None  # nothing to measure


def test_overdue_follow_ups_meet_only_at_zero() -> None:
    d = kpi_defs()["followups_overdue"]
    assert d.meets(0, T) is True
    assert d.meets(1, T) is False


def test_principal_visits_are_judged_against_five() -> None:
    d = kpi_defs()["principal_visits"]
    assert d.meets(4, T) is False
    assert d.meets(5, T) is True
    assert d.meets(None, T) is None


def test_the_attention_list_s_size_is_never_judged() -> None:
    assert kpi_defs()["attention_list"].meets(7, T) is None


def test_the_district_pools_shares_instead_of_averaging_schools() -> None:
    d = kpi_defs()["visit_coverage"]
    value, target = pooled(d, [Ratio(1, 1), Ratio(1, 3)], T)
    assert plain(value) == 0.5  # (1 + 1) / (1 + 3), not (1.0 + 0.33) / 2
    assert target == 1.0


def test_the_district_figure_of_a_flag_is_the_share_of_schools_where_it_holds() -> None:
    d = kpi_defs()["counselling_room"]
    value, target = pooled(d, [True, False, True, True], T)
    assert plain(value) == 0.75
    assert target == T.counselling_rooms
    assert total_meets(d, value, [], T) is False
    value, _ = pooled(d, [True, True], T)
    assert total_meets(d, value, [], T) is True


def test_the_district_sums_counts() -> None:
    d = kpi_defs()["followups_overdue"]
    value, _ = pooled(d, [2, 0, 1, None], T)
    assert value == 3
    assert total_meets(d, value, [2, 0, 1], T) is False


def test_a_count_with_a_floor_is_met_by_the_district_only_when_every_school_meets_it() -> None:
    d = kpi_defs()["principal_visits"]
    value, target = pooled(d, [6, 7, None], T)
    assert (value, target) == (6, 5)  # the fewest: what the district's weakest school reached
    assert total_meets(d, value, [6, 7], T) is True
    value, _ = pooled(d, [10, 2], T)
    assert value == 2
    assert total_meets(d, value, [10, 2], T) is False


def test_the_district_shows_the_longest_of_its_schools_delays_not_their_sum() -> None:
    d = kpi_defs()["mandatory_report_longest_delay"]
    value, _ = pooled(d, [30, 125, None], T)
    assert value == 125
    assert total_meets(d, value, [30, 125], T) is None  # shown, not judged


def test_a_kpi_is_measured_at_the_views_clock_but_never_after_the_end_of_its_day() -> None:
    late = datetime(2026, 12, 1, tzinfo=UTC)
    with measured_at(late):
        assert now_for(date(2026, 10, 31)) == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    early = datetime(2026, 10, 31, 3, 0, tzinfo=UTC)
    with measured_at(early):
        assert now_for(date(2026, 10, 31)) == early
