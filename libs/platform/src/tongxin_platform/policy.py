"""One place decides who may do what, where. Every command and query asks ``authorize``.

A rule names the roles allowed an action. Then the scope: the resource (a district, school or
class) must lie inside the caller's scope — a head teacher's class, a principal's school, an
officer's district; a city-level token covers every district. Refusals say why; the HTTP edge
turns them into 403s (never an empty answer that hides the refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tongxin_platform.auth import Principal, Role

R = Role
SCHOOL_STAFF = frozenset(
    {
        R.principal,
        R.middle_leader,
        R.head_teacher,
        R.subject_teacher,
        R.psych_teacher,
        R.health_vp,
        R.school_doctor,
        R.legal_vp,
        R.fire_vp,
        R.family_education_coordinator,
    }
)

# Staff who visit families (seed 002 §3.2: 校长带头、中层示范、班主任为主体、全员参与).
VISITORS = frozenset(
    {
        R.principal,
        R.middle_leader,
        R.head_teacher,
        R.subject_teacher,
        R.psych_teacher,
        R.family_education_coordinator,
    }
)


class Action(StrEnum):
    roster_import = "roster.import"
    roster_read = "roster.read"  # schools, classes, students by pseudonym
    roster_read_personal = "roster.read_personal"  # names and contacts: restricted, logged
    roster_change = "roster.change"  # leave, categorise
    roster_transfer = "roster.transfer"
    roster_history = "roster.history"  # a stream's events (audit)
    subject_erase = "subject.erase"
    access_log_read = "access_log.read"
    # visits (家访)
    visit_record = "visit.record"  # plan, schedule, complete, cancel, send the family a code
    visit_confirm = "visit.confirm"  # as a co-visitor
    visit_read = "visit.read"  # visits and the ledger of a class or school
    visit_read_notes = "visit.read_notes"  # notes, suggestions, actions: restricted, logged
    suggestion_read = "suggestion.read"  # one parent suggestion, without the student: logged
    followup_manage = "followup.manage"  # open cases, record actions, close
    coverage_read = "coverage.read"  # per student, class and teacher (pseudonyms)
    coverage_aggregate_read = "coverage.read_aggregate"  # per school, no student
    report_read = "report.read"  # a school's monthly statistics
    report_submit = "report.submit"
    visit_rules_set = "visit_rules.set"
    family_inbox_read = "family_inbox.read"  # development stand-in for the SMS gateway


RULES: dict[Action, frozenset[Role]] = {
    Action.roster_import: frozenset({R.principal, R.bureau_officer, R.operator}),
    Action.roster_read: SCHOOL_STAFF | {R.bureau_officer, R.operator, R.auditor},
    Action.roster_read_personal: frozenset(
        {
            R.principal,
            R.middle_leader,
            R.head_teacher,
            R.psych_teacher,
            R.health_vp,
            R.school_doctor,
            R.family_education_coordinator,
        }
    ),
    Action.roster_change: frozenset({R.principal, R.middle_leader, R.head_teacher}),
    Action.roster_transfer: frozenset({R.principal, R.middle_leader, R.bureau_officer}),
    Action.roster_history: frozenset({R.principal, R.operator, R.auditor}),
    Action.subject_erase: frozenset({R.operator}),
    Action.access_log_read: frozenset({R.auditor}),
    Action.visit_record: VISITORS,
    Action.visit_confirm: VISITORS,
    Action.visit_read: VISITORS | {R.health_vp, R.auditor},
    Action.visit_read_notes: VISITORS - {R.subject_teacher},
    # The school's feedback channel (committees) answers suggestions: the text, never the child.
    Action.suggestion_read: frozenset(
        {R.principal, R.middle_leader, R.family_education_coordinator, R.committee_member}
    ),
    Action.followup_manage: VISITORS - {R.subject_teacher},
    Action.coverage_read: frozenset({R.principal, R.middle_leader, R.head_teacher, R.auditor}),
    Action.coverage_aggregate_read: frozenset({R.bureau_officer, R.auditor, R.city_analyst}),
    Action.report_read: frozenset({R.principal, R.middle_leader, R.bureau_officer, R.auditor}),
    Action.report_submit: frozenset({R.principal, R.middle_leader}),
    Action.visit_rules_set: frozenset({R.bureau_officer}),
    Action.family_inbox_read: frozenset({R.operator}),
}


# Actions over a whole district's records: a school- or class-level token is too narrow for them
# (the access log says who read which student anywhere in the district).
DISTRICT_WIDE = frozenset({Action.access_log_read})


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a resource lives; ``None`` parts are not narrowed (e.g. a whole district)."""

    district: str | None = None
    school: str | None = None
    class_id: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def in_scope(p: Principal, where: Scope) -> bool:
    if p.district is None:
        return True  # city level
    if where.district != p.district:
        return False
    if p.school is None:
        return True
    if where.school != p.school:
        return False
    return p.class_id is None or where.class_id == p.class_id


def authorize(p: Principal, action: Action, where: Scope) -> Decision:
    if p.role not in RULES[action]:
        return Decision(False, f"role {p.role.value} may not {action.value}")
    if action in DISTRICT_WIDE and p.school is not None:
        return Decision(
            False,
            f"{action.value} needs a district or city scope, not the caller's {p.level} scope",
        )
    if not in_scope(p, where):
        return Decision(False, f"{action.value} outside the caller's {p.level} scope")
    return Decision(True)
