"""Who may do what in the visits service (the platform's ``Policy`` decides; this is the table).

Staff who visit families: seed 002 §3.2 (校长带头、中层示范、班主任为主体、全员参与).
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role
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


POLICY = Policy(
    {
        Action.visit_record: VISITORS,
        Action.visit_confirm: VISITORS,
        Action.visit_read: VISITORS | {R.health_vp, R.auditor},
        Action.visit_read_notes: VISITORS - {R.subject_teacher},
        # The school's feedback channel (committees) answers suggestions: the text, never the
        # child.
        Action.suggestion_read: {
            R.principal,
            R.middle_leader,
            R.family_education_coordinator,
            R.committee_member,
        },
        Action.followup_manage: VISITORS - {R.subject_teacher},
        Action.coverage_read: {R.principal, R.middle_leader, R.head_teacher, R.auditor},
        Action.coverage_aggregate_read: {R.bureau_officer, R.auditor, R.city_analyst},
        Action.report_read: {R.principal, R.middle_leader, R.bureau_officer, R.auditor},
        Action.report_submit: {R.principal, R.middle_leader},
        Action.visit_rules_set: {R.bureau_officer},
        Action.family_inbox_read: {R.operator},
    }
)
