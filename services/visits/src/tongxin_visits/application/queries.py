"""Reads of the visits board (the projection's tables): visits, the ledger, coverage, reports.

Coverage is evaluated by the pure rules in ``domain.coverage`` over the board's rows, with the
district's rules and the day asked about; nothing about coverage is stored that could go stale.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from tongxin_contracts.calendar import report_due, year_period
from tongxin_visits.domain.coverage import (
    CoverageStaff,
    CoverageStudent,
    CoverageVisit,
    SchoolCoverage,
    evaluate,
)
from tongxin_visits.domain.model import VisitRules

B = "board"
LEADER_ROLES = ("principal", "middle_leader")


async def row(pool: asyncpg.Pool, sql: str, *args: Any) -> dict[str, Any] | None:
    r = await pool.fetchrow(sql, *args)
    return dict(r) if r is not None else None


async def student(pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {B}.students WHERE student_ref = $1", student_ref)


async def school(pool: asyncpg.Pool, school_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {B}.schools WHERE school_id = $1", school_id)


async def klass(pool: asyncpg.Pool, class_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {B}.classes WHERE class_id = $1", class_id)


async def staff_member(pool: asyncpg.Pool, staff_ref: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {B}.staff WHERE staff_ref = $1", staff_ref)


async def school_staff(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT staff_ref, roles, class_ids FROM {B}.staff WHERE school_id = $1"
        " ORDER BY staff_ref",
        school_id,
    )
    return [dict(r) for r in rows]


async def visit(pool: asyncpg.Pool, visit_id: str) -> dict[str, Any] | None:
    return await row(pool, f"SELECT * FROM {B}.visits WHERE visit_id = $1", visit_id)


async def suggestions_answered(pool: asyncpg.Pool, visit_id: str) -> dict[str, dict[str, Any]]:
    """The school's answers to the visit's parent suggestions (committees), by suggestion: the
    decision, the day and whether it was on time (the answer's text stays in committees)."""
    rows = await pool.fetch(
        f"SELECT suggestion_id, decision, answered_on, on_time FROM {B}.suggestions_answered"
        f" WHERE visit_id = $1 ORDER BY suggestion_id",
        visit_id,
    )
    return {r["suggestion_id"]: dict(r) for r in rows}


async def visits(
    pool: asyncpg.Pool,
    *,
    school_id: str,
    class_id: str | None = None,
    student_ref: str | None = None,
    status: str | None = None,
    confirmed: bool | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"""SELECT * FROM {B}.visits WHERE school_id = $1
              AND ($2::text IS NULL OR class_id = $2) AND ($3::text IS NULL OR student_ref = $3)
              AND ($4::text IS NULL OR status = $4) AND ($5::boolean IS NULL OR confirmed = $5)
            ORDER BY coalesce(visit_date, planned_for) DESC, visit_id LIMIT $6""",
        school_id,
        class_id,
        student_ref,
        status,
        confirmed,
        limit,
    )
    return [dict(r) for r in rows]


async def followups(
    pool: asyncpg.Pool,
    *,
    school_id: str,
    today: date,
    class_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The ledger (台账); ``status`` ``overdue`` means open past its due date."""
    rows = await pool.fetch(
        f"""SELECT *, (status = 'open' AND due_date < $2) AS overdue FROM {B}.followups
            WHERE school_id = $1 AND ($3::text IS NULL OR class_id = $3)
              AND ($4::text IS NULL OR status = $4
                   OR ($4 = 'overdue' AND status = 'open' AND due_date < $2))
            ORDER BY due_date, case_id""",
        school_id,
        today,
        class_id,
        status,
    )
    return [dict(r) for r in rows]


async def rules(pool: asyncpg.Pool, district: str) -> VisitRules:
    stored = await pool.fetchval(f"SELECT rules FROM {B}.rules WHERE district = $1", district)
    return VisitRules(**stored) if stored else VisitRules()


async def coverage(
    pool: asyncpg.Pool,
    school_id: str,
    *,
    school_year: str,
    semester: int,
    as_of: date,
    rules: VisitRules,
    class_id: str | None = None,
) -> SchoolCoverage:
    year = year_period(school_year)
    async with pool.acquire() as conn:
        students = await conn.fetch(
            f"SELECT student_ref, class_id, in_special_group FROM {B}.students"
            " WHERE school_id = $1 AND enrolled AND ($2::text IS NULL OR class_id = $2)",
            school_id,
            class_id,
        )
        classes = await conn.fetch(
            f"SELECT class_id, head_teacher_ref FROM {B}.classes"
            " WHERE school_id = $1 AND ($2::text IS NULL OR class_id = $2)",
            school_id,
            class_id,
        )
        leaders = (
            []
            if class_id
            else await conn.fetch(
                f"SELECT staff_ref, roles FROM {B}.staff WHERE school_id = $1"
                " AND roles && $2::text[]",
                school_id,
                list(LEADER_ROLES),
            )
        )
        visit_rows = await conn.fetch(
            f"""SELECT student_ref, visit_date, mode, visitor_refs, confirmed FROM {B}.visits
                WHERE school_id = $1 AND status = 'completed'
                  AND visit_date BETWEEN $2 AND $3""",
            school_id,
            year.start,
            year.end,
        )
    return evaluate(
        students=[
            CoverageStudent(r["student_ref"], r["class_id"], r["in_special_group"])
            for r in students
        ],
        head_teachers={r["class_id"]: r["head_teacher_ref"] for r in classes},
        leaders=[
            CoverageStaff(r["staff_ref"], role)  # type: ignore[arg-type]
            for r in leaders
            for role in LEADER_ROLES
            if role in r["roles"]
        ],
        visits=[
            CoverageVisit(
                r["student_ref"],
                r["visit_date"],
                r["mode"] == "in_home",
                frozenset(r["visitor_refs"]),
                r["confirmed"],
            )
            for r in visit_rows
        ],
        rules=rules,
        school_year=school_year,
        semester=semester,
        as_of=as_of,
    )


async def district_schools(pool: asyncpg.Pool, district: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT * FROM {B}.schools WHERE district = $1 ORDER BY school_id", district
    )
    return [dict(r) for r in rows]


async def submitted_report(pool: asyncpg.Pool, school_id: str, month: str) -> dict[str, Any] | None:
    return await row(
        pool, f"SELECT * FROM {B}.reports WHERE school_id = $1 AND month = $2", school_id, month
    )


async def district_reports(
    pool: asyncpg.Pool, district: str, month: str, *, today: date, rules: VisitRules
) -> list[dict[str, Any]]:
    """Every school of the district with its report's state: ``on_time``, ``late`` (submitted
    after the due date), ``missing`` (due date passed, nothing submitted) or ``pending``."""
    due = report_due(month, rules.report_due_day)
    rows = await pool.fetch(
        f"""SELECT s.school_id, s.school_name, r.revision, r.submitted_at, r.late
            FROM {B}.schools s LEFT JOIN {B}.reports r
              ON r.school_id = s.school_id AND r.month = $2
            WHERE s.district = $1 ORDER BY s.school_id""",
        district,
        month,
    )
    out = []
    for r in rows:
        if r["revision"] is not None:
            state = "late" if r["late"] else "on_time"
        else:
            state = "missing" if today > due else "pending"
        out.append({**dict(r), "due_date": due, "state": state})
    return out


async def special_students(pool: asyncpg.Pool, school_id: str) -> set[str]:
    """The school's students in a special group (八类特殊学生), per the roster."""
    rows = await pool.fetch(
        f"SELECT student_ref FROM {B}.students WHERE school_id = $1 AND in_special_group",
        school_id,
    )
    return {r["student_ref"] for r in rows}


async def visit_requests(pool: asyncpg.Pool, class_id: str) -> list[dict[str, Any]]:
    """Targeted home visits (重点家访) asked for the students now in the class: who and since
    when — never why (the wellbeing service does not say)."""
    rows = await pool.fetch(
        f"""SELECT r.request_id, r.student_ref, r.school_year, r.requested_on
            FROM {B}.visit_requests r
            LEFT JOIN {B}.students s ON s.student_ref = r.student_ref
            WHERE coalesce(s.class_id, r.class_id) = $1
              AND coalesce(s.enrolled, true)
            ORDER BY r.requested_on, r.student_ref""",
        class_id,
    )
    return [dict(r) for r in rows]
