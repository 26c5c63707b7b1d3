"""The roster as the caller's scope allows: schools, classes, the students of a class, the staff
of a school (by pseudonym and role: other services' forms pick a school's principal, a head
teacher or a coordinator from it)."""

from __future__ import annotations

from typing import Any

from tongxin_platform.api import RuntimeDep
from tongxin_platform.edge import service_router
from tongxin_platform.http import Caller, ProblemError, require
from tongxin_platform.policy import Scope
from tongxin_registry.application.policy import POLICY, Action
from tongxin_registry.entrypoints.bodies import ClassId, SchoolId
from tongxin_registry.entrypoints.deps import class_scope
from tongxin_registry.entrypoints.student_routes import Personal, present

router = service_router(tags=["roster"])


@router.get("/schools", summary="Schools in the caller's scope")
async def schools(who: Caller, runtime: RuntimeDep) -> list[dict[str, Any]]:
    require(POLICY, who, Action.roster_read, Scope(who.district, who.school, who.class_id))
    rows = await runtime.pool.fetch(
        "SELECT * FROM roster.schools WHERE ($1::text IS NULL OR district = $1)"
        " AND ($2::text IS NULL OR school_id = $2) ORDER BY school_id",
        who.district,
        who.school,
    )
    return [dict(r) for r in rows]


@router.get("/schools/{school_id}/classes", summary="Classes of a school")
async def classes(school_id: SchoolId, who: Caller, runtime: RuntimeDep) -> list[dict[str, Any]]:
    district = await runtime.pool.fetchval(
        "SELECT district FROM roster.schools WHERE school_id = $1", school_id
    )
    if district is None:
        raise ProblemError(404, "Not found", f"school_id: no school {school_id}")
    require(POLICY, who, Action.roster_read, Scope(district, school_id))
    rows = await runtime.pool.fetch(
        "SELECT c.*, (SELECT count(*) FROM roster.students s WHERE s.class_id = c.class_id"
        " AND s.status = 'enrolled') AS enrolled FROM roster.classes c WHERE school_id = $1"
        " ORDER BY grade, class_id",
        school_id,
    )
    return [dict(r) for r in rows]


@router.get("/schools/{school_id}/staff", summary="Staff of a school: pseudonyms and roles")
async def school_staff(
    school_id: SchoolId, who: Caller, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Each staff member's ``staff_ref``, roles and classes; never a name or a phone (those
    stay sealed in the roster's personal data)."""
    district = await runtime.pool.fetchval(
        "SELECT district FROM roster.schools WHERE school_id = $1", school_id
    )
    if district is None:
        raise ProblemError(404, "Not found", f"school_id: no school {school_id}")
    require(POLICY, who, Action.roster_read, Scope(district, school_id))
    rows = await runtime.pool.fetch(
        "SELECT staff_ref, roles, class_ids FROM roster.staff WHERE school_id = $1"
        " ORDER BY staff_ref",
        school_id,
    )
    return [dict(r) for r in rows]


@router.get("/classes/{class_id}/students", summary="Students of a class")
async def class_students(
    class_id: ClassId, who: Caller, runtime: RuntimeDep, include_personal: Personal = False
) -> list[dict[str, Any]]:
    where = await class_scope(runtime.pool, class_id)
    require(POLICY, who, Action.roster_read, where)
    rows = await runtime.pool.fetch(
        "SELECT * FROM roster.students WHERE class_id = $1 AND status = 'enrolled'"
        " ORDER BY student_ref",
        class_id,
    )
    return await present(runtime, list(rows), who, include_personal, where)
