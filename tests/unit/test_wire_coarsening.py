"""What travels in clear instead of the personal fact (docs/privacy-on-the-wire.md): the age
band instead of the birth date — completed years (周岁), cut at 14 (PIPL arts. 28, 31: a
guardian's consent) and 18 (Minors Protection Law art. 2); the care groups instead of the
special groups; the referrals instead of the finding categories."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tongxin_contracts.events.registry import (
    AgeBand,
    CareGroup,
    SpecialGroup,
    age_band,
    age_on,
    care_groups_of,
)
from tongxin_contracts.events.visits import FindingCategory, Referral, referrals_of


def birthday(born: date, years: int) -> date:
    """The day someone born on ``born`` completes ``years`` (29 February: 1 March otherwise)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


births = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))


def test_a_child_is_under_14_the_day_before_the_14th_birthday_and_14_on_it() -> None:
    born = date(2012, 9, 1)
    assert age_band(born, date(2026, 8, 31)) is AgeBand.under_14
    assert age_band(born, date(2026, 9, 1)) is AgeBand.from_14_to_17
    assert age_band(born, date(2030, 8, 31)) is AgeBand.from_14_to_17
    assert age_band(born, date(2030, 9, 1)) is AgeBand.adult


def test_a_child_born_on_29_february_turns_14_on_1_march_of_a_common_year() -> None:
    born = date(2012, 2, 29)
    assert age_band(born, date(2026, 2, 28)) is AgeBand.under_14
    assert age_band(born, date(2026, 3, 1)) is AgeBand.from_14_to_17
    assert age_band(born, date(2028, 2, 29)) is AgeBand.from_14_to_17  # 2028 is a leap year


@given(born=births, years=st.integers(min_value=0, max_value=30))
def test_the_age_changes_exactly_on_each_birthday(born: date, years: int) -> None:
    day = birthday(born, years)
    assert age_on(born, day) == years
    assert age_on(born, day - timedelta(days=1)) == years - 1


@given(born=births, on=st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)))
def test_the_band_is_under_14_exactly_before_the_14th_birthday_and_adult_from_the_18th(
    born: date, on: date
) -> None:
    if on < birthday(born, 14):
        expected = AgeBand.under_14
    elif on < birthday(born, 18):
        expected = AgeBand.from_14_to_17
    else:
        expected = AgeBand.adult
    assert age_band(born, on) is expected


@given(groups=st.sets(st.sampled_from(list(SpecialGroup))))
def test_only_left_behind_and_unsupported_children_are_named_in_clear(
    groups: set[SpecialGroup],
) -> None:
    named = care_groups_of(groups)
    assert named == sorted(set(named))
    assert {g.value for g in named} == {g.value for g in groups} & {
        "left_behind",
        "orphan_or_unsupported",
    }
    assert all(isinstance(g, CareGroup) for g in named)


@given(categories=st.lists(st.sampled_from(list(FindingCategory))))
def test_a_finding_is_referred_to_wellbeing_or_safety_only_for_its_own_category(
    categories: list[FindingCategory],
) -> None:
    referred = referrals_of(categories)
    assert (Referral.wellbeing in referred) == (FindingCategory.mental_health in categories)
    assert (Referral.safety in referred) == (FindingCategory.safety in categories)
    assert len(referred) == len(set(referred))
