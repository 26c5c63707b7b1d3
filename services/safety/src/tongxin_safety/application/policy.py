"""Who may do what in the safety service (the platform's ``Policy`` decides; this is the table).

Children's safety records: a child's file is for the school's leaders, the child's head teacher
and the carers paired to the child — a community, civil-affairs or women's-federation carer sees
only the files paired to their own organisation (the token's ``org``), a school carer only the
files paired to them; reads of a file are written to the access log. The police see guard posts,
incidents, mandatory reports and hazards (never a care file, never wellbeing data); market
regulation sees its shop inspections; the special education guidance committee sees the
referrals made to it; the district sees every school; the city sees aggregates only.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role
LEADERS = frozenset({R.principal, R.middle_leader})
SCHOOL_CARERS = frozenset({R.head_teacher, R.subject_teacher})  # a teacher paired with a child
CARERS = frozenset({R.community_worker, R.civil_affairs, R.womens_federation})
AGGREGATES = frozenset({R.bureau_officer, R.auditor, R.city_analyst})


class Action(StrEnum):
    # one child, one file (一人一档) and the ledger (台账)
    file_open = "file.open"  # open a file by hand
    file_read = "file.read"  # one child's file: restricted (paired carers by org), logged
    carer_pair = "carer.pair"  # ask a carer of a kind to pair with the child
    carer_respond = "carer.respond"  # the carer accepts or declines (their own pairing only)
    risk_set = "risk.set"  # set, change (with a reason) or confirm the risk level
    contact_log = "contact.log"  # a paired carer's contact (their own pairing only)
    notice_record = "notice.record"  # parents' written notice; parents' last contact
    concern_raise = "concern.raise"
    concern_assess = "concern.assess"
    file_close = "file.close"
    ledger_read = "ledger.read"  # a school's or district's ledger: rows per child, no names
    ledger_figures = "ledger.figures"  # files complete, kinds missing, contacts overdue: counts
    carer_files = "carer.files"  # a carer's own files and contacts due
    # guard posts (校家警护学岗) and the school's vice-principals from outside
    guard_manage = "guard.manage"  # establish posts, schedule shifts
    guard_record = "guard.record"  # a shift completed or missed
    guard_read = "guard.read"
    guard_figures = "guard.figures"  # completion rate per school and district
    vp_manage = "vp.manage"  # appoint the legal / fire vice-principal; fire-safety contacts
    lesson_record = "lesson.record"  # the legal vice-principal's law-education hours
    vp_read = "vp.read"
    vp_figures = "vp.figures"  # vice-principals present, law-education hours against the target
    # inspections and hazards
    inspection_record = "inspection.record"  # by kind: the inspector's agency decides which
    inspection_read = "inspection.read"  # market regulation: its shop kinds only
    hazard_figures = "hazard.figures"  # open and overdue hazards per school and kind
    # incidents, the mandatory report (强制报告), the guidance committee
    incident_report = "incident.report"
    report_file = "report.file"
    incident_read = "incident.read"  # restricted, logged
    incident_figures = "incident.figures"  # mandatory reports: counts, delays, late, escalated
    guidance_refer = "guidance.refer"
    guidance_decide = "guidance.decide"
    guidance_read = "guidance.read"  # restricted, logged


POLICY = Policy(
    {
        Action.file_open: LEADERS | {R.head_teacher},
        Action.file_read: LEADERS | SCHOOL_CARERS | CARERS,
        Action.carer_pair: LEADERS,
        Action.carer_respond: LEADERS | SCHOOL_CARERS | CARERS,
        Action.risk_set: LEADERS | {R.head_teacher},
        Action.contact_log: LEADERS | SCHOOL_CARERS | CARERS,
        Action.notice_record: LEADERS | {R.head_teacher},
        Action.concern_raise: LEADERS | SCHOOL_CARERS | CARERS,
        Action.concern_assess: LEADERS,
        Action.file_close: LEADERS,
        Action.ledger_read: LEADERS | {R.bureau_officer, R.auditor},
        Action.ledger_figures: LEADERS | AGGREGATES,
        Action.carer_files: SCHOOL_CARERS | CARERS,
        Action.guard_manage: LEADERS | {R.police},
        Action.guard_record: LEADERS | {R.police},
        Action.guard_read: LEADERS | {R.police, R.bureau_officer, R.auditor},
        Action.guard_figures: LEADERS | AGGREGATES | {R.police},
        Action.vp_manage: LEADERS | {R.bureau_officer},
        Action.lesson_record: LEADERS | {R.legal_vp},
        Action.vp_read: LEADERS | {R.legal_vp, R.fire_vp, R.police, R.bureau_officer, R.auditor},
        Action.vp_figures: LEADERS | AGGREGATES | {R.police},
        Action.inspection_record: LEADERS | {R.police, R.market_regulation, R.bureau_officer},
        Action.inspection_read: LEADERS
        | {R.fire_vp, R.police, R.market_regulation, R.bureau_officer, R.auditor},
        Action.hazard_figures: LEADERS | AGGREGATES | {R.police, R.market_regulation},
        Action.incident_report: LEADERS | {R.head_teacher},
        Action.report_file: LEADERS | {R.head_teacher},
        Action.incident_read: LEADERS | {R.police, R.bureau_officer, R.auditor},
        Action.incident_figures: LEADERS | AGGREGATES | {R.police},
        Action.guidance_refer: LEADERS | {R.police, R.bureau_officer},
        Action.guidance_decide: {R.guidance_committee},
        Action.guidance_read: LEADERS | {R.guidance_committee, R.police, R.bureau_officer},
    },
    district_wide=(Action.guidance_decide,),
)
