"""The visits board: what schools and the district read — the roster as the visits service
knows it (from ``registry.events``), visits, the follow-up ledger, reports and rules (from
``visits.events``), and the targeted home visits the wellbeing service asks for (from
``wellbeing.events``: ``TargetedVisitRequested``, which carries no reason), and the school's
answers to parents' suggestions made at visits (from ``committees.events``:
``ParentFeedbackAnswered`` carrying the visit: decision, day, on time — never the answer's text).

Built only from these topics, so it can be rebuilt from offset 0 into a fresh schema. Handlers
only say what changes (no write outside the board: the shredding on erasure is a reaction).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.committees import ParentFeedbackAnswered
from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    StaffAssigned,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
    SubjectErased,
)
from tongxin_contracts.events.visits import (
    FollowUpActionRecorded,
    FollowUpClosed,
    FollowUpOpened,
    MonthlyVisitReportSubmitted,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitPlanned,
    VisitRulesSet,
    VisitScheduled,
)
from tongxin_contracts.events.wellbeing import TargetedVisitRequested
from tongxin_platform.projection import Add, Changes, Greatest, Projection, Table
from tongxin_visits.domain.evolve import rules_of

T, NN = "text", "text NOT NULL"
BOARD = Projection(
    "board",
    group="visits.board",
    sources=("registry", "visits", "wellbeing", "committees"),
    description="The visits board: roster, visits, ledger, reports and rules of every school.",
    tables=[
        Table("schools", ("school_id",), {"school_id": T, "district": NN, "school_name": NN}),
        Table(
            "classes",
            ("class_id",),
            {
                "class_id": T,
                "school_id": NN,
                "district": NN,
                "class_name": NN,
                "grade": "integer NOT NULL",
                "head_teacher_ref": T,
            },
        ),
        Table(
            "students",
            ("student_ref",),
            {
                "student_ref": T,
                "district": NN,
                "school_id": NN,
                "class_id": NN,
                "enrolled": "boolean NOT NULL",
                "in_special_group": "boolean NOT NULL DEFAULT false",
                "guardian_refs": "text[] NOT NULL DEFAULT '{}'",
            },
            indexes={"students_by_school": "(school_id, class_id)"},
        ),
        Table(
            "staff",
            ("staff_ref",),
            {
                "staff_ref": T,
                "district": NN,
                "school_id": NN,
                "roles": "text[] NOT NULL",
                "class_ids": "text[] NOT NULL",
            },
        ),
        Table(
            "visits",
            ("visit_id",),
            {
                "visit_id": T,
                "district": NN,
                "school_id": NN,
                "class_id": NN,
                "student_ref": NN,
                "status": NN,
                "planned_by": NN,
                "planned_for": "date NOT NULL",
                "appointment_at": "timestamptz",
                "mode": T,
                "recorded_by": T,
                "visitors": "jsonb NOT NULL DEFAULT '[]'",
                "visitor_refs": "text[] NOT NULL DEFAULT '{}'",
                "started_at": "timestamptz",
                "visit_date": "date",
                "duration_minutes": "integer",
                "goals": "text[] NOT NULL DEFAULT '{}'",
                "referrals": "text[] NOT NULL DEFAULT '{}'",
                "followup_case_ids": "text[] NOT NULL DEFAULT '{}'",
                "suggestions": "integer NOT NULL DEFAULT 0",
                "confirmed": "boolean NOT NULL DEFAULT false",
                "confirmed_by": T,
                "cancel_reason": T,
            },
            indexes={
                "visits_by_school": "(school_id, visit_date)",
                "visits_by_student": "(student_ref)",
            },
        ),
        Table(
            "followups",
            ("case_id",),
            {
                "case_id": T,
                "district": NN,
                "school_id": NN,
                "class_id": NN,
                "student_ref": NN,
                "visit_id": NN,
                "measure": NN,
                "owner_ref": NN,
                "opened_on": "date NOT NULL",
                "due_date": "date NOT NULL",
                "status": NN,
                "actions": "integer NOT NULL DEFAULT 0",
                "last_action_on": "date",
                "outcome": T,
                "closed_on": "date",
            },
            indexes={"followups_by_school": "(school_id, status)"},
        ),
        Table(
            "reports",
            ("school_id", "month"),
            {
                "school_id": T,
                "month": T,
                "district": NN,
                "revision": "integer NOT NULL",
                "figures": "jsonb NOT NULL",
                "submitted_by": NN,
                "submitted_at": "timestamptz NOT NULL",
                "due_date": "date NOT NULL",
                "late": "boolean NOT NULL",
            },
        ),
        Table("rules", ("district",), {"district": T, "rules": "jsonb NOT NULL"}),
        # Targeted home visits (重点家访) the wellbeing service asked for: no reason is given.
        Table(
            "visit_requests",
            ("student_ref", "school_year"),
            {
                "student_ref": T,
                "school_year": T,
                "request_id": NN,
                "district": NN,
                "school_id": NN,
                "class_id": T,
                "requested_on": "date NOT NULL",
            },
        ),
        # The committees service's answers to the visits' parent suggestions (no text).
        Table(
            "suggestions_answered",
            ("suggestion_id",),
            {
                "suggestion_id": T,
                "visit_id": NN,
                "item_id": NN,
                "decision": NN,
                "answered_on": "date NOT NULL",
                "on_time": "boolean NOT NULL",
            },
            indexes={"suggestions_answered_by_visit": "(visit_id)"},
        ),
    ],
)
# What the projection describes, under the module's own names (tools and tests use them).
LIVE_SCHEMA = BOARD.schema
GROUP = BOARD.group
TABLES = {table: t.order_by() for table, t in BOARD.tables.items()}
create_tables = BOARD.create_tables
digest = BOARD.digest


# --- the roster, from registry.events --------------------------------------------------------


@BOARD.on(SchoolRegistered)
def _school(e: SchoolRegistered, rows: Changes) -> None:
    rows["schools"].upsert(e.school_id, district=e.district, school_name=e.school_name)


@BOARD.on(ClassOpened)
def _class(e: ClassOpened, rows: Changes) -> None:
    rows["classes"].upsert(
        e.class_id,
        school_id=e.school_id,
        district=e.district,
        class_name=e.class_name,
        grade=e.grade,
        head_teacher_ref=e.head_teacher_ref,
    )


@BOARD.on(StudentEnrolled)
def _enrolled(e: StudentEnrolled, rows: Changes) -> None:
    rows["students"].upsert(
        e.student_ref,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        enrolled=True,
        guardian_refs=[g.guardian_ref for g in e.guardians],
    )


@BOARD.on(StudentTransferred)
def _transferred(e: StudentTransferred, rows: Changes) -> None:
    rows["students"].update(
        e.student_ref,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        enrolled=True,
    )


@BOARD.on(StudentLeft)
def _left(e: StudentLeft, rows: Changes) -> None:
    rows["students"].update(e.student_ref, enrolled=False)


@BOARD.on(StudentCategorised)
def _categorised(e: StudentCategorised, rows: Changes) -> None:
    # Coverage needs only whether the student is in a special group (the groups are sealed).
    rows["students"].update(e.student_ref, in_special_group=e.in_special_group)


@BOARD.on(SubjectErased)
def _erased(e: SubjectErased, rows: Changes) -> None:
    # The guardians' pseudonyms are the subject's personal data too (the roster drops them).
    # Shredding this service's own text about the student is a reaction's work, not a
    # projection's: a replay of the board must never repeat it (``reactions.shredding``).
    rows["students"].update(e.student_ref, guardian_refs=[])


@BOARD.on(StaffAssigned)
def _staff(e: StaffAssigned, rows: Changes) -> None:
    rows["staff"].upsert(
        e.staff_ref,
        district=e.district,
        school_id=e.school_id,
        roles=[r.value for r in e.roles],
        class_ids=e.class_ids,
    )


# --- visits, from visits.events --------------------------------------------------------------


@BOARD.on(VisitPlanned)
def _planned(e: VisitPlanned, rows: Changes) -> None:
    rows["visits"].upsert(
        e.visit_id,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        student_ref=e.student_ref,
        status="planned",
        planned_by=e.planned_by,
        planned_for=e.planned_for,
    )


@BOARD.on(VisitScheduled)
def _scheduled(e: VisitScheduled, rows: Changes) -> None:
    rows["visits"].update(
        e.visit_id, status="scheduled", appointment_at=e.appointment_at, mode=e.mode.value
    )


@BOARD.on(VisitCompleted)
def _completed(e: VisitCompleted, rows: Changes) -> None:
    rows["visits"].update(
        e.visit_id,
        status="completed",
        class_id=e.class_id,
        mode=e.mode.value,
        recorded_by=e.recorded_by,
        visitors=json.dumps([v.model_dump(mode="json") for v in e.visitors]),
        visitor_refs=[v.staff_ref for v in e.visitors],
        started_at=e.started_at,
        visit_date=china_date(e.started_at),
        duration_minutes=e.duration_minutes,
        goals=[g.value for g in e.goals_covered],
        referrals=[r.value for r in e.referrals],
        followup_case_ids=e.followup_case_ids,
        suggestions=len(e.parent_suggestions),
    )


@BOARD.on(VisitCancelled)
def _cancelled(e: VisitCancelled, rows: Changes) -> None:
    rows["visits"].update(e.visit_id, status="cancelled", cancel_reason=e.reason.value)


@BOARD.on(VisitConfirmed)
def _confirmed(e: VisitConfirmed, rows: Changes) -> None:
    rows["visits"].update(e.visit_id, confirmed=True, confirmed_by=e.confirmed_by.value)


@BOARD.on(FollowUpOpened)
def _case_opened(e: FollowUpOpened, rows: Changes) -> None:
    rows["followups"].upsert(
        e.case_id,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        student_ref=e.student_ref,
        visit_id=e.visit_id,
        measure=e.measure.value,
        owner_ref=e.owner_ref,
        opened_on=e.opened_on,
        due_date=e.due_date,
        status="open",
        actions=0,
        last_action_on=None,
    )


@BOARD.on(FollowUpActionRecorded)
def _case_action(e: FollowUpActionRecorded, rows: Changes) -> None:
    # Duplicates never reach here (the runtime drops repeated stream versions).
    rows["followups"].update(e.case_id, actions=Add(1), last_action_on=Greatest(e.taken_on))


@BOARD.on(FollowUpClosed)
def _case_closed(e: FollowUpClosed, rows: Changes) -> None:
    rows["followups"].update(
        e.case_id, status="closed", outcome=e.outcome.value, closed_on=e.closed_on
    )


@BOARD.on(MonthlyVisitReportSubmitted)
def _report(e: MonthlyVisitReportSubmitted, rows: Changes) -> None:
    rows["reports"].upsert(
        (e.school_id, e.month),
        district=e.district,
        revision=e.revision,
        figures=e.figures.model_dump_json(),
        submitted_by=e.submitted_by,
        submitted_at=e.submitted_at,
        due_date=e.due_date,
        late=e.late,
    )


@BOARD.on(VisitRulesSet)
def _rules(e: VisitRulesSet, rows: Changes) -> None:
    rows["rules"].upsert(e.district, rules=json.dumps(asdict(rules_of(e))))


@BOARD.on(TargetedVisitRequested)
def _visit_requested(e: TargetedVisitRequested, rows: Changes) -> None:
    rows["visit_requests"].upsert(
        (e.student_ref, e.school_year),
        request_id=e.request_id,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        requested_on=e.requested_on,
    )


# --- the school's answers to parents' suggestions, from committees.events ----------------------


@BOARD.on(ParentFeedbackAnswered)
def _suggestion_answered(e: ParentFeedbackAnswered, rows: Changes) -> None:
    if e.visit_id is None or e.suggestion_id is None:
        return  # an item of another channel: not a visit's
    rows["suggestions_answered"].upsert(
        e.suggestion_id,
        visit_id=e.visit_id,
        item_id=e.item_id,
        decision=e.decision.value,
        answered_on=e.answered_on,
        on_time=e.on_time,
    )
