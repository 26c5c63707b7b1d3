"""The city's pure rules: one-way marks (domain/marks) and how KPIs pool and meet targets
(domain/kpis)."""

from __future__ import annotations

import pytest

from tongxin_city.domain.kpis import KPIS, TREND_KPIS, Tally, empty, meets, pool, value
from tongxin_city.domain.marks import MARK_LENGTH, mark

KEY = b"a-test-key-of-the-city-0123456789"


def test_the_same_student_of_the_same_district_has_the_same_mark() -> None:
    # given a student's pseudonym in a district
    # when it is marked twice
    # then the marks are equal, of the fixed length
    assert mark(KEY, "330106", "stu-1") == mark(KEY, "330106", "stu-1")
    assert len(mark(KEY, "330106", "stu-1")) == MARK_LENGTH


def test_the_same_pseudonym_in_another_district_has_an_unrelated_mark() -> None:
    assert mark(KEY, "330106", "stu-1") != mark(KEY, "330108", "stu-1")


def test_a_mark_is_not_the_pseudonym_and_depends_on_the_key() -> None:
    # given a pseudonym marked with two keys
    a, b = mark(KEY, "330106", "stu-1"), mark(KEY + b"x", "330106", "stu-1")
    # then neither contains the pseudonym, and without the key the mark differs
    assert "stu-1" not in a
    assert a != b


def test_a_mark_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        mark(b"", "330106", "stu-1")


def test_shares_pool_as_the_sum_of_numerators_over_the_sum_of_denominators() -> None:
    # given two districts' shares 1/1 and 1/3 (an average of averages would say 2/3)
    pooled = pool([Tally(1, 1), Tally(1, 3)], "share")
    # then the pooled share is 2/4
    assert pooled == Tally(2, 4)
    assert value(pooled) == pytest.approx(0.5)


def test_counts_pool_as_their_sum_and_nothing_counts_as_zero() -> None:
    assert pool([Tally(2), Tally(3)], "count") == Tally(5)
    assert value(pool([], "count")) == 0


def test_a_share_with_nothing_to_count_has_no_value_and_is_not_judged() -> None:
    assert value(empty("share")) is None
    assert meets("share", None, 1.0) is None


def test_a_share_and_a_count_do_not_pool() -> None:
    with pytest.raises(ValueError, match="pool"):
        pool([Tally(1, 2), Tally(3)], "share")


def test_a_share_meets_at_or_above_its_target_and_a_count_at_or_below() -> None:
    assert meets("share", 0.95, 0.95) is True
    assert meets("share", 0.94, 0.95) is False
    assert meets("count", 0, 0) is True
    assert meets("count", 1, 0) is False
    assert meets("share", 0.5, None) is None


def test_the_twelve_kpis_are_the_city_targets_but_the_filings() -> None:
    # given the settings' targets
    from tongxin_city.config import Targets

    # then every KPI has a target and only the reports (filings) are not a KPI here
    assert {k.key for k in KPIS} == set(Targets.model_fields) - {"reports_on_time"}
    assert set(TREND_KPIS) == {
        "visit_coverage",
        "screening_coverage",
        "followups_overdue",
        "guard_completion",
        "hazards_overdue",
    }
    assert all(k.label_zh and k.label_en for k in KPIS)
