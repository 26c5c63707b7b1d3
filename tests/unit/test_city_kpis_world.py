"""The city's test world is fit for its purpose: every district has figures, the districts'
figures differ, and every KPI is met in some district and missed in another — so that a test
comparing the city's figures with the expectations can fail in every direction."""

from __future__ import annotations

from functools import cache

from tests.support.city_expected import CITY, KPIS, CityExpected, city_expected, meets, value
from tests.support.city_world import DISTRICTS, city_world


@cache
def expected() -> CityExpected:
    return city_expected(city_world())


def test_every_kpi_is_met_in_some_district_and_missed_in_another() -> None:
    want = expected()
    for kpi in KPIS:
        judged = {meets(kpi, want.figures[code][kpi]) for code, _ in DISTRICTS}
        assert judged == {True, False}, kpi


def test_every_district_has_a_value_of_every_kpi_and_the_full_districts_differ() -> None:
    want = expected()
    for code, _ in DISTRICTS:
        assert all(value(want.figures[code][k]) is not None for k in KPIS), code
    first, second = DISTRICTS[0][0], DISTRICTS[1][0]
    assert want.figures[first] != want.figures[second]
    assert set(want.figures) == {code for code, _ in DISTRICTS} | {CITY}
