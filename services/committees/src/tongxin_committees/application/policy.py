"""Who may do what in the committees service (the platform's ``Policy`` decides; this is the
table).

Committee members are guardians (role ``committee_member``, ``sub`` = their ``guardian_ref``):
they see their own committees, the meetings those committees sat in and the feedback addressed
to them — never a student record (nothing this service keeps names a student). Principals,
middle leaders and the family-education coordinator manage their school's committees, channels,
meetings and parent school; a head teacher records their class's committee work and parent
meetings; the district bureau runs the bureau director's mailbox and the district committee,
assesses parent schools and sees every school's figures; the city sees aggregates only.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin_platform.auth import Role
from tongxin_platform.policy import Policy

R = Role
# Who manages a school's family–school work (seed 000: the principal leads; seed 001: a
# family-education coordinator, led by a vice-principal).
MANAGERS = frozenset({R.principal, R.middle_leader, R.family_education_coordinator})
AGGREGATES = frozenset({R.bureau_officer, R.auditor, R.city_analyst})
MEMBER = R.committee_member


class Action(StrEnum):
    # committees, charters, elections (三级家委会; the district committee where one runs)
    committee_form = "committee.form"
    committee_read = "committee.read"  # a committee, its seats and vacancies (members: own)
    charter_adopt = "charter.adopt"
    candidate_nominate = "candidate.nominate"
    election_record = "election.record"  # the election's result and by-elections
    member_resign = "member.resign"  # a member's own resignation, or recorded by staff
    member_remove = "member.remove"
    committee_mine = "committee.mine"  # a member's own committees
    committee_figures = "committee.figures"  # representation and vacancies per school
    # parents' voice (channels, handlers, items, answers)
    handler_name = "feedback.handler"  # name a channel's handler (专人管理)
    feedback_receive = "feedback.receive"
    feedback_assign = "feedback.assign"
    feedback_answer = "feedback.answer"  # the assignee, the handler or a manager
    feedback_read = "feedback.read"  # the text: restricted (members: their committee's), logged
    feedback_figures = "feedback.figures"  # received, answered on time, overdue per channel
    # meetings: joint meetings, parent meetings, open days, reception days
    meeting_record = "meeting.record"
    meeting_read = "meeting.read"
    meeting_figures = "meeting.figures"
    # the parent school (家长学校) and the family-education coordinator
    parent_school_manage = "parent_school.manage"
    session_record = "session.record"
    parent_school_read = "parent_school.read"
    parent_school_assess = "parent_school.assess"  # the district's standard assessment
    coordinator_appoint = "coordinator.appoint"
    parent_school_figures = "parent_school.figures"  # the teaching rule, standard share


POLICY = Policy(
    {
        Action.committee_form: MANAGERS | {R.bureau_officer},
        Action.committee_read: MANAGERS | {R.head_teacher, MEMBER, R.bureau_officer, R.auditor},
        Action.charter_adopt: MANAGERS | {R.head_teacher, R.bureau_officer},
        Action.candidate_nominate: MANAGERS | {R.head_teacher, R.bureau_officer},
        Action.election_record: MANAGERS | {R.head_teacher, R.bureau_officer},
        Action.member_resign: MANAGERS | {R.head_teacher, MEMBER, R.bureau_officer},
        Action.member_remove: MANAGERS | {R.bureau_officer},
        Action.committee_mine: {MEMBER},
        Action.committee_figures: MANAGERS | AGGREGATES,
        Action.handler_name: MANAGERS | {R.bureau_officer},
        Action.feedback_receive: MANAGERS | {R.head_teacher, MEMBER, R.bureau_officer},
        Action.feedback_assign: MANAGERS | {R.bureau_officer},
        Action.feedback_answer: MANAGERS | {R.head_teacher, R.subject_teacher, R.bureau_officer},
        Action.feedback_read: MANAGERS
        | {R.head_teacher, R.subject_teacher, MEMBER, R.bureau_officer, R.auditor},
        Action.feedback_figures: MANAGERS | AGGREGATES,
        Action.meeting_record: MANAGERS | {R.head_teacher},
        Action.meeting_read: MANAGERS | {R.head_teacher, MEMBER, R.bureau_officer, R.auditor},
        Action.meeting_figures: MANAGERS | AGGREGATES,
        Action.parent_school_manage: MANAGERS,
        Action.session_record: MANAGERS,
        Action.parent_school_read: MANAGERS | {R.head_teacher, MEMBER, R.bureau_officer, R.auditor},
        Action.parent_school_assess: {R.bureau_officer},
        Action.coordinator_appoint: {R.principal},
        Action.parent_school_figures: MANAGERS | AGGREGATES,
    },
)
