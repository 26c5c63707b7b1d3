"""Who may do what in the wellbeing service (the platform's ``Policy`` decides; this is the
table). Minors' mental-health data: a student's records are for the school's wellbeing team
(health vice-principal, school doctor, psychology teachers) and the receiving hospital only;
head teachers learn that a student of theirs is listed and the plan's next step; the district
sees aggregates and SLA compliance; police, committees and the city see nothing per student.
Restricted reads are written to the access log.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role
TEAM = frozenset({R.health_vp, R.school_doctor, R.psych_teacher})  # seed 004's 协同 team
SIGNERS = frozenset({R.head_teacher, R.psych_teacher, R.health_vp})  # the attention list's three
AGGREGATES = frozenset({R.bureau_officer, R.auditor, R.city_analyst})


class Action(StrEnum):
    team_read = "team.read"  # a school's team and its gaps; a district's gaps
    instrument_define = "instrument.define"  # a district's own instrument
    instrument_read = "instrument.read"
    campaign_manage = "campaign.manage"  # open the year's campaign, offer it to every student
    consent_record = "consent.record"  # a guardian's (or a 14+ student's) consent or refusal
    screening_record = "screening.record"  # item answers, scored by the service
    record_read = "record.read"  # one student's wellbeing record: restricted, logged
    coverage_read = "coverage.read"  # offered / consented / refused / screened counts
    attention_propose = "attention.propose"
    attention_sign_off = "attention.sign_off"
    attention_remove = "attention.remove"
    attention_read = "attention.read"  # the school's list with details: restricted, logged
    attention_read_class = "attention.read_class"  # a head teacher: listed or not, next step
    attention_count = "attention.count"  # how many are listed, per school: no student
    plan_manage = "plan.manage"  # open a plan, record the monthly review
    referral_make = "referral.make"
    referral_read = "referral.read"  # restricted, logged; a hospital: the referrals made to it
    referral_respond = "referral.respond"  # the hospital acknowledges, then resolves
    referral_sla_read = "referral.sla_read"  # compliance with the 1-hour channel, no student
    training_record = "training.record"  # training sessions, psychology classes, counselling
    training_read = "training.read"  # coverage of training and classes per school


POLICY = Policy(
    {
        Action.team_read: TEAM | {R.principal, R.middle_leader} | AGGREGATES,
        Action.instrument_define: {R.bureau_officer},
        Action.instrument_read: TEAM | {R.bureau_officer, R.auditor},
        Action.campaign_manage: TEAM,
        Action.consent_record: TEAM | {R.head_teacher},
        Action.screening_record: {R.psych_teacher, R.school_doctor},
        Action.record_read: TEAM | {R.hospital},
        Action.coverage_read: TEAM | {R.principal, R.middle_leader, R.hospital} | AGGREGATES,
        Action.attention_propose: TEAM
        | {R.head_teacher, R.subject_teacher, R.principal, R.middle_leader},
        Action.attention_sign_off: SIGNERS,
        Action.attention_remove: {R.psych_teacher, R.health_vp},
        Action.attention_read: TEAM,
        Action.attention_read_class: {R.head_teacher},
        Action.attention_count: {R.principal} | AGGREGATES,
        Action.plan_manage: TEAM,
        Action.referral_make: TEAM,
        Action.referral_read: TEAM | {R.hospital},
        Action.referral_respond: {R.hospital},
        Action.referral_sla_read: AGGREGATES | {R.hospital},
        Action.training_record: {R.principal, R.middle_leader, R.psych_teacher, R.health_vp},
        Action.training_read: TEAM | {R.principal, R.middle_leader} | AGGREGATES,
    },
    district_wide=(Action.instrument_define,),
)
