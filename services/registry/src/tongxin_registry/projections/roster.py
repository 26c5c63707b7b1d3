"""The roster read model: schools, classes, students and staff as they stand now.

Built only from ``registry.events`` (never from the event store's tables), so it can be
rebuilt from offset 0 into a fresh schema and compared with the live one.
Personal data stays sealed here; the API opens it for those entitled to see it.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from tongxin_platform.consumer import Message
from tongxin_platform.projection import Statement, create_schema, execute_in_order, sql
from tongxin_platform.projection import digest as projection_digest

LIVE_SCHEMA = "roster"
GROUP = "registry.roster"

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.schools (
    school_id text PRIMARY KEY, district text NOT NULL, school_name text NOT NULL,
    stage text NOT NULL, has_counselling_room boolean NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.classes (
    class_id text PRIMARY KEY, school_id text NOT NULL, district text NOT NULL,
    class_name text NOT NULL, grade integer NOT NULL, school_year text NOT NULL,
    head_teacher_ref text);
CREATE TABLE IF NOT EXISTS {s}.students (
    student_ref text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    class_id text NOT NULL, birth_date date NOT NULL, status text NOT NULL,
    groups text[] NOT NULL DEFAULT '{{}}', guardians jsonb NOT NULL, personal jsonb,
    erased boolean NOT NULL DEFAULT false);
CREATE INDEX IF NOT EXISTS students_by_class ON {s}.students (class_id);
CREATE INDEX IF NOT EXISTS students_by_school ON {s}.students (school_id);
CREATE TABLE IF NOT EXISTS {s}.staff (
    staff_ref text PRIMARY KEY, district text NOT NULL, school_id text NOT NULL,
    roles text[] NOT NULL, class_ids text[] NOT NULL, personal jsonb);
"""

TABLES = {
    "schools": "school_id",
    "classes": "class_id",
    "students": "student_ref",
    "staff": "staff_ref",
}


async def create_tables(conn: asyncpg.Connection, schema: str = LIVE_SCHEMA) -> None:
    await create_schema(conn, _DDL, schema, "tongxin-roster-ddl")


async def digest(conn: asyncpg.Connection, schema: str = LIVE_SCHEMA) -> dict[str, str]:
    """An md5 of each table's rows in key order: equal digests mean equal read models."""
    return await projection_digest(conn, schema, TABLES)


def _statement(e: IntegrationEvent) -> Statement | None:
    """The SQL that applies ``e`` (the runtime has set ``search_path`` to the target schema)."""
    if isinstance(e, SchoolRegistered):
        return sql(
            """INSERT INTO schools VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id) DO UPDATE
               SET district = $2, school_name = $3, stage = $4, has_counselling_room = $5""",
            e.school_id,
            e.district,
            e.school_name,
            e.stage.value,
            e.has_counselling_room,
        )
    elif isinstance(e, ClassOpened):
        return sql(
            """INSERT INTO classes VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (class_id)
               DO UPDATE SET school_id = $2, district = $3, class_name = $4, grade = $5,
                             school_year = $6, head_teacher_ref = $7""",
            e.class_id,
            e.school_id,
            e.district,
            e.class_name,
            e.grade,
            e.school_year,
            e.head_teacher_ref,
        )
    elif isinstance(e, StudentEnrolled):
        return sql(
            """INSERT INTO students (student_ref, district, school_id, class_id, birth_date,
                                     status, guardians, personal)
               VALUES ($1, $2, $3, $4, $5, 'enrolled', $6, $7) ON CONFLICT (student_ref)
               DO UPDATE SET district = $2, school_id = $3, class_id = $4, birth_date = $5,
                             status = 'enrolled', guardians = $6, personal = $7""",
            e.student_ref,
            e.district,
            e.school_id,
            e.class_id,
            e.birth_date,
            [g.model_dump() for g in e.guardians],
            e.personal.model_dump(),
        )
    elif isinstance(e, StudentTransferred):
        return sql(
            "UPDATE students SET district = $2, school_id = $3, class_id = $4"
            " WHERE student_ref = $1",
            e.student_ref,
            e.district,
            e.school_id,
            e.class_id,
        )
    elif isinstance(e, StudentLeft):
        return sql(
            "UPDATE students SET status = $2 WHERE student_ref = $1",
            e.student_ref,
            f"left:{e.reason.value}",
        )
    elif isinstance(e, StudentCategorised):
        return sql(
            "UPDATE students SET groups = $2 WHERE student_ref = $1",
            e.student_ref,
            [g.value for g in e.groups],
        )
    elif isinstance(e, SubjectErased):
        # Ciphertext without its key is noise already; drop it and the guardians' pseudonyms
        # too, so nothing of the subject's personal data lingers in the read model.
        return sql(
            "UPDATE students SET personal = NULL, guardians = '[]'::jsonb, erased = true"
            " WHERE student_ref = $1",
            e.student_ref,
        )
    elif isinstance(e, StaffAssigned):
        return sql(
            """INSERT INTO staff VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (staff_ref)
               DO UPDATE SET district = $2, school_id = $3, roles = $4, class_ids = $5,
                             personal = $6""",
            e.staff_ref,
            e.district,
            e.school_id,
            [r.value for r in e.roles],
            e.class_ids,
            e.personal.model_dump(),
        )
    return None


async def apply(conn: asyncpg.Connection, message: Message) -> None:
    """Apply one event."""
    if statement := _statement(message.event):
        await conn.execute(statement[0], *statement[1])


async def apply_batch(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
    """Apply events in order; runs of the same statement go in one pipelined ``executemany``."""
    await execute_in_order(conn, (_statement(m.event) for m in messages))
