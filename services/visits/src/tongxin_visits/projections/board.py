"""The visits board: what schools and the district read — the roster as the visits service
knows it (from ``registry.events``), visits, the follow-up ledger, reports and rules (from
``visits.events``).

Built only from the two topics, so it can be rebuilt from offset 0 into a fresh schema. Every
statement is an upsert or a keyed update: applying an event twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import asyncpg

from tongxin_contracts import IntegrationEvent
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
from tongxin_platform.consumer import Message
from tongxin_platform.projection import Statement, create_schema, execute_in_order, sql
from tongxin_platform.projection import digest as projection_digest
from tongxin_visits.domain.calendar import china_date
from tongxin_visits.domain.evolve import rules_of

LIVE_SCHEMA = "board"
GROUP = "visits.board"

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.schools (
    school_id text PRIMARY KEY, district text NOT NULL, school_name text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.classes (
    class_id text PRIMARY KEY, school_id text NOT NULL, district text NOT NULL,
    class_name text NOT NULL, grade integer NOT NULL, head_teacher_ref text);
CREATE TABLE IF NOT EXISTS {s}.students (
    student_ref text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    class_id text NOT NULL, enrolled boolean NOT NULL, groups text[] NOT NULL DEFAULT '{{}}',
    guardian_refs text[] NOT NULL DEFAULT '{{}}');
CREATE INDEX IF NOT EXISTS students_by_school ON {s}.students (school_id, class_id);
CREATE TABLE IF NOT EXISTS {s}.staff (
    staff_ref text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    roles text[] NOT NULL, class_ids text[] NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.visits (
    visit_id text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    class_id text NOT NULL, student_ref text NOT NULL, status text NOT NULL,
    planned_by text NOT NULL, planned_for date NOT NULL, appointment_at timestamptz,
    mode text, recorded_by text, visitors jsonb NOT NULL DEFAULT '[]',
    visitor_refs text[] NOT NULL DEFAULT '{{}}', started_at timestamptz, visit_date date,
    duration_minutes integer, goals text[] NOT NULL DEFAULT '{{}}',
    findings jsonb NOT NULL DEFAULT '[]', suggestions integer NOT NULL DEFAULT 0,
    confirmed boolean NOT NULL DEFAULT false, confirmed_by text, cancel_reason text);
CREATE INDEX IF NOT EXISTS visits_by_school ON {s}.visits (school_id, visit_date);
CREATE INDEX IF NOT EXISTS visits_by_student ON {s}.visits (student_ref);
CREATE TABLE IF NOT EXISTS {s}.followups (
    case_id text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    class_id text NOT NULL, student_ref text NOT NULL, visit_id text NOT NULL,
    measure text NOT NULL, category text NOT NULL, owner_ref text NOT NULL,
    opened_on date NOT NULL, due_date date NOT NULL, status text NOT NULL,
    actions integer NOT NULL DEFAULT 0, last_action_on date, outcome text, closed_on date);
CREATE INDEX IF NOT EXISTS followups_by_school ON {s}.followups (school_id, status);
CREATE TABLE IF NOT EXISTS {s}.reports (
    school_id text NOT NULL, month text NOT NULL, district text NOT NULL,
    revision integer NOT NULL, figures jsonb NOT NULL, submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL, due_date date NOT NULL, late boolean NOT NULL,
    PRIMARY KEY (school_id, month));
CREATE TABLE IF NOT EXISTS {s}.rules (district text PRIMARY KEY, rules jsonb NOT NULL);
"""

TABLES = {
    "schools": "school_id",
    "classes": "class_id",
    "students": "student_ref",
    "staff": "staff_ref",
    "visits": "visit_id",
    "followups": "case_id",
    "reports": "school_id, month",
    "rules": "district",
}


async def create_tables(conn: asyncpg.Connection, schema: str = LIVE_SCHEMA) -> None:
    await create_schema(conn, _DDL, schema, "tongxin-board-ddl")


async def digest(conn: asyncpg.Connection, schema: str = LIVE_SCHEMA) -> dict[str, str]:
    """An md5 of each table's rows in key order: equal digests mean equal read models."""
    return await projection_digest(conn, schema, TABLES)


def statement(e: IntegrationEvent) -> Statement | None:
    """The SQL that applies ``e`` (the runtime has set ``search_path`` to the target schema)."""
    if isinstance(e, SchoolRegistered):
        return sql(
            "INSERT INTO schools VALUES ($1, $2, $3) ON CONFLICT (school_id)"
            " DO UPDATE SET district = $2, school_name = $3",
            e.school_id,
            e.district,
            e.school_name,
        )
    if isinstance(e, ClassOpened):
        return sql(
            "INSERT INTO classes VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (class_id) DO UPDATE"
            " SET school_id = $2, district = $3, class_name = $4, grade = $5,"
            " head_teacher_ref = $6",
            e.class_id,
            e.school_id,
            e.district,
            e.class_name,
            e.grade,
            e.head_teacher_ref,
        )
    if isinstance(e, StudentEnrolled):
        return sql(
            "INSERT INTO students (student_ref, district, school_id, class_id, enrolled,"
            " guardian_refs) VALUES ($1, $2, $3, $4, true, $5) ON CONFLICT (student_ref)"
            " DO UPDATE SET district = $2, school_id = $3, class_id = $4, enrolled = true,"
            " guardian_refs = $5",
            e.student_ref,
            e.district,
            e.school_id,
            e.class_id,
            [g.guardian_ref for g in e.guardians],
        )
    if isinstance(e, StudentTransferred):
        return sql(
            "UPDATE students SET district = $2, school_id = $3, class_id = $4, enrolled = true"
            " WHERE student_ref = $1",
            e.student_ref,
            e.district,
            e.school_id,
            e.class_id,
        )
    if isinstance(e, StudentLeft):
        return sql("UPDATE students SET enrolled = false WHERE student_ref = $1", e.student_ref)
    if isinstance(e, StudentCategorised):
        return sql(
            "UPDATE students SET groups = $2 WHERE student_ref = $1",
            e.student_ref,
            [g.value for g in e.groups],
        )
    if isinstance(e, SubjectErased):
        # Our own copies of the student's free text are sealed with a key of this service:
        # deleting it shreds every visit note, suggestion and action about the student.
        return sql("DELETE FROM public.subject_keys WHERE subject = $1", e.student_ref)
    if isinstance(e, StaffAssigned):
        return sql(
            "INSERT INTO staff VALUES ($1, $2, $3, $4, $5) ON CONFLICT (staff_ref) DO UPDATE"
            " SET district = $2, school_id = $3, roles = $4, class_ids = $5",
            e.staff_ref,
            e.district,
            e.school_id,
            [r.value for r in e.roles],
            e.class_ids,
        )
    return _visits_statement(e)


def _visits_statement(e: IntegrationEvent) -> Statement | None:
    if isinstance(e, VisitPlanned):
        return sql(
            "INSERT INTO visits (visit_id, district, school_id, class_id, student_ref, status,"
            " planned_by, planned_for) VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7)"
            " ON CONFLICT (visit_id) DO NOTHING",
            e.visit_id,
            e.district,
            e.school_id,
            e.class_id,
            e.student_ref,
            e.planned_by,
            e.planned_for,
        )
    if isinstance(e, VisitScheduled):
        return sql(
            "UPDATE visits SET status = 'scheduled', appointment_at = $2, mode = $3"
            " WHERE visit_id = $1",
            e.visit_id,
            e.appointment_at,
            e.mode.value,
        )
    if isinstance(e, VisitCompleted):
        return sql(
            "UPDATE visits SET status = 'completed', class_id = $2, mode = $3, recorded_by = $4,"
            " visitors = $5, visitor_refs = $6, started_at = $7, visit_date = $8,"
            " duration_minutes = $9, goals = $10, findings = $11, suggestions = $12"
            " WHERE visit_id = $1",
            e.visit_id,
            e.class_id,
            e.mode.value,
            e.recorded_by,
            [v.model_dump(mode="json") for v in e.visitors],
            [v.staff_ref for v in e.visitors],
            e.started_at,
            china_date(e.started_at),
            e.duration_minutes,
            [g.value for g in e.goals_covered],
            [f.model_dump(mode="json") for f in e.findings],
            len(e.parent_suggestions),
        )
    if isinstance(e, VisitCancelled):
        return sql(
            "UPDATE visits SET status = 'cancelled', cancel_reason = $2 WHERE visit_id = $1",
            e.visit_id,
            e.reason.value,
        )
    if isinstance(e, VisitConfirmed):
        return sql(
            "UPDATE visits SET confirmed = true, confirmed_by = $2 WHERE visit_id = $1",
            e.visit_id,
            e.confirmed_by.value,
        )
    if isinstance(e, FollowUpOpened):
        return sql(
            "INSERT INTO followups (case_id, district, school_id, class_id, student_ref, visit_id,"
            " measure, category, owner_ref, opened_on, due_date, status)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open')"
            " ON CONFLICT (case_id) DO NOTHING",
            e.case_id,
            e.district,
            e.school_id,
            e.class_id,
            e.student_ref,
            e.visit_id,
            e.measure.value,
            e.category.value,
            e.owner_ref,
            e.opened_on,
            e.due_date,
        )
    if isinstance(e, FollowUpActionRecorded):
        # Duplicates never reach here (the runtime drops repeated stream versions).
        return sql(
            "UPDATE followups SET actions = actions + 1,"
            " last_action_on = greatest(last_action_on, $2) WHERE case_id = $1",
            e.case_id,
            e.taken_on,
        )
    if isinstance(e, FollowUpClosed):
        return sql(
            "UPDATE followups SET status = 'closed', outcome = $2, closed_on = $3"
            " WHERE case_id = $1",
            e.case_id,
            e.outcome.value,
            e.closed_on,
        )
    if isinstance(e, MonthlyVisitReportSubmitted):
        return sql(
            "INSERT INTO reports VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (school_id, month) DO UPDATE SET district = $3, revision = $4,"
            " figures = $5, submitted_by = $6, submitted_at = $7, due_date = $8, late = $9",
            e.school_id,
            e.month,
            e.district,
            e.revision,
            e.figures.model_dump(mode="json"),
            e.submitted_by,
            e.submitted_at,
            e.due_date,
            e.late,
        )
    if isinstance(e, VisitRulesSet):
        return sql(
            "INSERT INTO rules VALUES ($1, $2) ON CONFLICT (district) DO UPDATE SET rules = $2",
            e.district,
            json.loads(json.dumps(asdict(rules_of(e)))),
        )
    return None


async def apply(conn: asyncpg.Connection, message: Message) -> None:
    if s := statement(message.event):
        await conn.execute(s[0], *s[1])


async def apply_batch(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
    await execute_in_order(conn, (statement(m.event) for m in messages))
