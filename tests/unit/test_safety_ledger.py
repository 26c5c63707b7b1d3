"""The ledger (台账) judged on a day: missing kinds (only accepted pairings count), the next
contact due per carer at the rhythm of the risk level (no level: low) and overdue the day after,
the risk review due when never set or older than the setting, the left-behind child's notice
missing and parents' contact stale; and the figures per school and district, written out by
hand for a small district."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import CarerKind, RiskLevel
from tongxin_safety.application.file_queries import rhythm_of
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain.ledger import (
    FileFacts,
    PairingFacts,
    Rhythm,
    contact_overdue,
    district_figures,
    ledger_row,
    missing_kinds,
    next_contact_due,
    parents_contact_stale,
    risk_review_due,
)

RHYTHM = Rhythm(
    contact_days={RiskLevel.low: 30, RiskLevel.medium: 14, RiskLevel.high: 7},
    parent_contact_days=7,
    risk_review_days=140,
)
DAY = date(2026, 11, 2)
LB, OU = (CareGroup.left_behind,), (CareGroup.orphan_or_unsupported,)


def accepted(
    kind: CarerKind, on: date = date(2026, 10, 1), last: date | None = None
) -> PairingFacts:
    return PairingFacts(f"p-{kind.value}", kind, f"c-{kind.value}", "org", "accepted", on, on, last)


def file(ref: str, school: str = "S1", **kw: object) -> FileFacts:
    base: dict[str, object] = {
        "student_ref": ref,
        "district": "330106",
        "school_id": school,
        "class_id": f"{school}-01",
        "care_groups": LB,
    }
    return FileFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_the_settings_give_the_district_s_rhythm() -> None:
    r = rhythm_of(SafetySettings(contact_days_low=31, contact_days_high=5, parent_contact_days=6))
    assert (r.days_for(None), r.days_for(RiskLevel.low), r.days_for(RiskLevel.medium)) == (
        31,
        31,
        14,
    )
    assert r.days_for(RiskLevel.high) == 5
    assert r.parent_contact_days == 6


def test_only_accepted_pairings_count_for_the_kinds() -> None:
    proposed = PairingFacts("p1", CarerKind.community, "c", "o", "proposed", DAY)
    declined = PairingFacts("p2", CarerKind.civil_affairs, "c", "o", "declined", DAY)
    released = PairingFacts("p3", CarerKind.womens_federation, "c", "o", "released", DAY, DAY)
    f = file("a", pairings=(accepted(CarerKind.school), proposed, declined, released))
    assert missing_kinds(f) == [
        CarerKind.community,
        CarerKind.civil_affairs,
        CarerKind.womens_federation,
    ]


@pytest.mark.parametrize(
    ("level", "due"),
    [
        (None, date(2026, 10, 31)),
        (RiskLevel.low, date(2026, 10, 31)),
        (RiskLevel.medium, date(2026, 10, 15)),
        (RiskLevel.high, date(2026, 10, 8)),
    ],
)
def test_the_next_contact_is_due_at_the_risk_level_s_rhythm_from_acceptance(
    level: RiskLevel | None, due: date
) -> None:
    p = accepted(CarerKind.community, on=date(2026, 10, 1))
    assert next_contact_due(p, level, RHYTHM) == due
    assert not contact_overdue(p, level, RHYTHM, due), "not overdue on the day it is due"
    assert contact_overdue(p, level, RHYTHM, due + timedelta(days=1))


def test_the_last_contact_restarts_the_rhythm_and_an_unaccepted_pairing_is_never_due() -> None:
    p = accepted(CarerKind.school, on=date(2026, 9, 1), last=date(2026, 10, 20))
    assert next_contact_due(p, RiskLevel.high, RHYTHM) == date(2026, 10, 27)
    proposed = PairingFacts("p", CarerKind.school, "c", "o", "proposed", date(2026, 1, 1))
    assert next_contact_due(proposed, RiskLevel.high, RHYTHM) is None
    assert not contact_overdue(proposed, RiskLevel.high, RHYTHM, DAY)


def test_the_risk_review_is_due_when_never_set_or_older_than_the_setting() -> None:
    assert risk_review_due(file("a"), RHYTHM, DAY)
    set_on = DAY - timedelta(days=140)
    assert not risk_review_due(file("a", risk_level=RiskLevel.low, risk_set_on=set_on), RHYTHM, DAY)
    older = set_on - timedelta(days=1)
    assert risk_review_due(file("a", risk_level=RiskLevel.low, risk_set_on=older), RHYTHM, DAY)


def test_the_parents_contact_is_stale_when_none_or_older_than_a_week_for_left_behind_only() -> None:
    assert parents_contact_stale(file("a"), RHYTHM, DAY)
    week = DAY - timedelta(days=7)
    assert not parents_contact_stale(file("a", parent_contact_on=week), RHYTHM, DAY)
    stale = week - timedelta(days=1)
    assert parents_contact_stale(file("a", parent_contact_on=stale), RHYTHM, DAY)
    assert not parents_contact_stale(file("b", care_groups=OU), RHYTHM, DAY)


def test_a_ledger_row_names_what_the_file_lacks_and_no_person() -> None:
    f = file(
        "a",
        risk_level=RiskLevel.high,
        risk_set_on=date(2026, 10, 1),
        pairings=(
            accepted(CarerKind.school, last=date(2026, 10, 30)),  # due 6 Nov: in time
            accepted(CarerKind.community, last=date(2026, 10, 20)),  # due 27 Oct: overdue
        ),
        open_concerns=1,
    )
    row = ledger_row(f, RHYTHM, DAY)
    assert row == {
        "student_ref": "a",
        "class_id": "S1-01",
        "care_groups": ["left_behind"],
        "risk_level": "high",
        "risk_set_on": date(2026, 10, 1),
        "risk_review_due": False,
        "missing_kinds": ["civil_affairs", "womens_federation"],
        "complete": False,
        "overdue_contacts": ["community"],
        "notice_missing": True,
        "parents_contact_stale": True,
        "open_concerns": 1,
    }


def test_the_district_figures_count_per_school_and_in_all() -> None:
    all_four = tuple(accepted(k, last=date(2026, 10, 25)) for k in CarerKind)
    files = [
        # S1-a: complete, low (due 24 Nov: none overdue), notice and parents' contact fine.
        file(
            "a",
            risk_level=RiskLevel.low,
            risk_set_on=DAY,
            notice_on=DAY,
            parent_contact_on=DAY,
            pairings=all_four,
        ),
        # S1-b: complete, high (due 1 Nov: all four overdue), no notice, parents stale, review due.
        file("b", risk_level=RiskLevel.high, risk_set_on=date(2026, 3, 1), pairings=all_four),
        # S1-c: unsupported child, no womens_federation, nothing else due but the review.
        file("c", care_groups=OU, pairings=all_four[:3], open_concerns=2),
        # S2-d: nothing paired at all.
        file("d", school="S2", risk_level=RiskLevel.medium, risk_set_on=DAY),
    ]
    figures = district_figures(["S1", "S2", "S3"], files, RHYTHM, DAY)
    s1, s2, s3 = figures["schools"]
    assert s1 == {
        "school_id": "S1",
        "files": 3,
        "complete": 2,
        "missing_a_kind": 1,
        "missing_by_kind": {
            "school": 0,
            "community": 0,
            "civil_affairs": 0,
            "womens_federation": 1,
        },
        "contacts_overdue": 4,
        "files_with_contact_overdue": 1,
        "notice_missing": 1,
        "parents_contact_stale": 1,
        "risk_reviews_due": 2,
        "open_concerns": 2,
    }
    assert s2["files"] == 1
    assert s2["missing_by_kind"] == dict.fromkeys(
        ("school", "community", "civil_affairs", "womens_federation"), 1
    )
    assert (s2["notice_missing"], s2["parents_contact_stale"], s2["risk_reviews_due"]) == (1, 1, 0)
    assert s3["files"] == 0
    assert s3["school_id"] == "S3"
    totals = figures["totals"]
    assert (totals["files"], totals["complete"], totals["missing_a_kind"]) == (4, 2, 2)
    assert (totals["contacts_overdue"], totals["notice_missing"], totals["risk_reviews_due"]) == (
        4,
        2,
        2,
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["S1", "S2"]),
            st.lists(st.sampled_from(list(CarerKind)), unique=True),
            st.integers(0, 60),
        ),
        max_size=12,
    )
)
def test_the_totals_are_the_sum_of_the_schools(
    spec: list[tuple[str, list[CarerKind], int]],
) -> None:
    files = [
        file(
            f"f{i}",
            school=school,
            pairings=tuple(accepted(k, last=DAY - timedelta(days=ago)) for k in kinds),
        )
        for i, (school, kinds, ago) in enumerate(spec)
    ]
    figures = district_figures(["S1", "S2"], files, RHYTHM, DAY)
    for key, total in figures["totals"].items():
        if key == "missing_by_kind":
            for kind, n in total.items():
                assert n == sum(s[key][kind] for s in figures["schools"])
        else:
            assert total == sum(s[key] for s in figures["schools"])
    assert figures["totals"]["complete"] + figures["totals"]["missing_a_kind"] == len(files)
