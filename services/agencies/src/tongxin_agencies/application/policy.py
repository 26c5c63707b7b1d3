"""Who may see which agency's model (the platform's ``Policy`` decides; this is the table).

DESIGN.md §1's who-sees-what: a school's staff see their school (a head teacher their class);
who is on the attention list only the wellbeing team; the district bureau per-school figures
(never a student); a hospital its own referral queue and screening coverage (no scores); the
police guard shifts, incidents, mandatory reports and the hazards of their kinds — no wellbeing
data; civil affairs, the women's federation and community workers the care files paired to
them; market regulation its shop inspections; committee members their committees' meetings and
feedback, no student.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role
SCHOOL_READERS = frozenset(
    {
        R.principal,
        R.middle_leader,
        R.head_teacher,
        R.psych_teacher,
        R.health_vp,
        R.school_doctor,
        R.family_education_coordinator,
    }
)
# Seed 004: the attention list is the school's wellbeing team's (健康副校长、校医、心理教师).
WELLBEING_TEAM = frozenset({R.psych_teacher, R.health_vp, R.school_doctor})
CARERS = frozenset({R.civil_affairs, R.womens_federation, R.community_worker})
BUREAU = frozenset({R.bureau_officer, R.auditor})


class Action(StrEnum):
    school_read = "school.read"  # the school page and its lists
    attention_read = "school.attention"  # who is listed (the wellbeing team)
    district_read = "district.read"  # per-school KPIs, trends, the lists behind them
    health_read = "health.read"  # a hospital's referral queue
    screening_coverage = "health.screening"  # screening coverage per school (no scores)
    police_read = "police.read"
    carers_read = "carers.read"
    market_read = "market.read"
    committee_read = "committee.read"


POLICY = Policy(
    {
        Action.school_read: SCHOOL_READERS | BUREAU,
        Action.attention_read: WELLBEING_TEAM,
        Action.district_read: BUREAU,
        Action.health_read: {R.hospital, R.auditor},
        Action.screening_coverage: {R.hospital, *BUREAU},
        Action.police_read: {R.police, R.auditor},
        Action.carers_read: CARERS | {R.head_teacher, R.principal, R.auditor},
        Action.market_read: {R.market_regulation, R.auditor},
        Action.committee_read: {R.committee_member, R.principal, R.family_education_coordinator},
    },
)
