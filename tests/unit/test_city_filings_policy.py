"""Who may file what with the city, and who sees the filings, written out here independently of
the policy code (seed 000 三: districts file to the city; seed 002 七: schools file their plans)."""

from __future__ import annotations

import pytest

from tongxin_city.application.policy import POLICY, Action
from tongxin_platform.auth import Principal, Role
from tongxin_platform.policy import Scope

ALLOWED: dict[Action, set[str]] = {
    Action.file_district: {"bureau_officer"},
    Action.file_school: {"principal", "bureau_officer"},
    Action.file_any: {"principal", "bureau_officer"},  # the edge of POST /filings
    Action.city_read: {"city_analyst", "auditor"},
    Action.district_read: {"city_analyst", "auditor", "bureau_officer"},
}
HERE = Scope("330106", "330106001")


@pytest.mark.parametrize("action", sorted(ALLOWED, key=str))
def test_each_filing_action_is_allowed_to_exactly_the_roles_written_here(action: Action) -> None:
    allowed = {
        role.value
        for role in Role
        if POLICY.authorize(Principal("x", role, "330106"), action, HERE).allowed
    }
    assert allowed == ALLOWED[action]


def test_a_bureau_officer_files_for_their_own_district_only() -> None:
    officer = Principal("o1", Role.bureau_officer, "330106")
    assert POLICY.authorize(officer, Action.file_district, Scope("330106")).allowed
    assert not POLICY.authorize(officer, Action.file_district, Scope("330105")).allowed
    assert not POLICY.authorize(officer, Action.district_read, Scope("330105")).allowed


def test_a_principal_files_their_own_schools_plan_only() -> None:
    principal = Principal("p1", Role.principal, "330106", "330106001")
    assert POLICY.authorize(principal, Action.file_school, HERE).allowed
    assert not POLICY.authorize(principal, Action.file_school, Scope("330106", "330106002")).allowed
    assert not POLICY.authorize(principal, Action.file_district, Scope("330106")).allowed


def test_a_city_analyst_reads_every_district_and_files_nothing() -> None:
    analyst = Principal("a1", Role.city_analyst)
    for district in ("330106", "330105"):
        assert POLICY.authorize(analyst, Action.district_read, Scope(district)).allowed
    assert POLICY.authorize(analyst, Action.city_read, Scope()).allowed
    assert not POLICY.authorize(analyst, Action.file_district, Scope("330106")).allowed
    assert not POLICY.authorize(analyst, Action.file_school, HERE).allowed


def test_the_edge_of_filing_lets_through_exactly_the_roles_that_may_file_some_kind() -> None:
    """POST /filings checks "filing" before it reads the kind: a role it lets through that may
    file no kind would be refused later under a kind's rule; a role it stops that may file some
    kind could never file it."""
    kinds = (Action.file_district, Action.file_school)
    for role in Role:
        who = Principal("x", role, "330106")
        may_file_some = any(POLICY.admits(who, kind).allowed for kind in kinds)
        assert POLICY.admits(who, Action.file_any).allowed == may_file_some, role
