"""Who may do what in the visits service, written out here independently of the policy code."""

from __future__ import annotations

import pytest

from tongxin_platform.auth import Principal, Role
from tongxin_platform.policy import Scope
from tongxin_visits.application.policy import POLICY, Action

VISITORS = {
    "principal",
    "middle_leader",
    "head_teacher",
    "subject_teacher",
    "psych_teacher",
    "family_education_coordinator",
}
ALLOWED: dict[Action, set[str]] = {
    Action.visit_record: VISITORS,
    Action.visit_confirm: VISITORS,
    Action.visit_read: VISITORS | {"health_vp", "auditor"},
    Action.visit_read_notes: VISITORS - {"subject_teacher"},
    Action.suggestion_read: {
        "principal",
        "middle_leader",
        "family_education_coordinator",
        "committee_member",
    },
    Action.followup_manage: VISITORS - {"subject_teacher"},
    Action.coverage_read: {"principal", "middle_leader", "head_teacher", "auditor"},
    Action.coverage_aggregate_read: {"bureau_officer", "auditor", "city_analyst"},
    Action.report_read: {"principal", "middle_leader", "bureau_officer", "auditor"},
    Action.report_submit: {"principal", "middle_leader"},
    Action.visit_rules_set: {"bureau_officer"},
    Action.family_inbox_read: {"operator"},
}
HERE = Scope("330106", "330106001", "330106001-01")


@pytest.mark.parametrize("action", sorted(ALLOWED, key=str))
def test_each_visits_action_is_allowed_to_exactly_the_roles_written_here(action: Action) -> None:
    allowed = {
        role.value
        for role in Role
        if POLICY.authorize(Principal("x", role, "330106"), action, HERE).allowed
    }
    assert allowed == ALLOWED[action]


def test_the_police_hospitals_and_committees_never_read_visits_or_coverage() -> None:
    for role in (Role.police, Role.hospital, Role.civil_affairs, Role.committee_member):
        for action in set(ALLOWED) - {Action.suggestion_read}:
            assert not POLICY.authorize(Principal("x", role, "330106"), action, HERE).allowed


def test_a_head_teacher_records_for_their_own_class_only() -> None:
    mine = Principal("t1", Role.head_teacher, "330106", "330106001", "330106001-01")
    other_class = Scope("330106", "330106001", "330106001-02")
    assert POLICY.authorize(mine, Action.visit_record, HERE).allowed
    refused = POLICY.authorize(mine, Action.visit_record, other_class)
    assert not refused.allowed
    assert "class scope" in refused.reason


def test_a_principal_sees_the_school_but_not_the_district() -> None:
    principal = Principal("p", Role.principal, "330106", "330106001")
    assert POLICY.authorize(principal, Action.coverage_read, Scope("330106", "330106001")).allowed
    assert not POLICY.authorize(principal, Action.coverage_aggregate_read, Scope("330106")).allowed
