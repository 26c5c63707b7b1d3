"""Who may do what in the registry (the platform's ``Policy`` decides; this is the table)."""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import SCHOOL_STAFF, Policy

R = Role


class Action(StrEnum):
    roster_import = "roster.import"
    roster_read = "roster.read"  # schools, classes, students by pseudonym
    roster_read_personal = "roster.read_personal"  # names and contacts: restricted, logged
    roster_change = "roster.change"  # leave, categorise
    roster_transfer = "roster.transfer"
    roster_history = "roster.history"  # a stream's events (audit)
    subject_erase = "subject.erase"


POLICY = Policy(
    {
        Action.roster_import: {R.principal, R.bureau_officer, R.operator},
        Action.roster_read: SCHOOL_STAFF | {R.bureau_officer, R.operator, R.auditor},
        Action.roster_read_personal: {
            R.principal,
            R.middle_leader,
            R.head_teacher,
            R.psych_teacher,
            R.health_vp,
            R.school_doctor,
            R.family_education_coordinator,
        },
        Action.roster_change: {R.principal, R.middle_leader, R.head_teacher},
        Action.roster_transfer: {R.principal, R.middle_leader, R.bureau_officer},
        Action.roster_history: {R.principal, R.operator, R.auditor},
        Action.subject_erase: {R.operator},
    }
)
