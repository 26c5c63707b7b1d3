"""Routes that open restricted text — a visit's notes and the parents' suggestions, a case's
actions — each read written to the access log in the reading transaction; and the access log
itself, for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder

from tongxin_platform import access
from tongxin_platform.http import Caller, ProblemError, require
from tongxin_platform.policy import Action, Scope
from tongxin_visits.application import records
from tongxin_visits.entrypoints.bodies import IDENT, CaseId, VisitId
from tongxin_visits.entrypoints.deps import App, case_scope, visit_scope

router = APIRouter(tags=["records (restricted, logged)"])


@router.get("/visits/{visit_id}/record", summary="A visit's notes and parent suggestions (logged)")
async def visit_record(visit_id: VisitId, who: Caller, app: App) -> Any:
    where = await visit_scope(app, visit_id)
    require(who, Action.visit_read_notes, where)
    async with app.pool.acquire() as conn, conn.transaction():
        record = await records.visit_record(conn, app.service.writer, visit_id)
        if record is None:
            raise ProblemError(404, "Not found", f"visit_id: visit {visit_id} is not completed")
        await access.log_reads(
            conn, who, Action.visit_read_notes.value, [visit_id], district=where.district or ""
        )
    return jsonable_encoder(record)


@router.get(
    "/visits/{visit_id}/suggestions/{suggestion_id}",
    summary="One parent suggestion for the school's feedback channel (no student; logged)",
)
async def parent_suggestion(
    visit_id: VisitId,
    suggestion_id: Annotated[str, Path(pattern=IDENT, description="From VisitCompleted.")],
    who: Caller,
    app: App,
) -> Any:
    where = await visit_scope(app, visit_id)
    require(who, Action.suggestion_read, where)  # a class committee: its class's families
    async with app.pool.acquire() as conn, conn.transaction():
        found = await records.suggestion(conn, app.service.writer, visit_id, suggestion_id)
        if found is None:
            raise ProblemError(404, "Not found", f"suggestion_id: no {suggestion_id} in {visit_id}")
        await access.log_reads(
            conn, who, Action.suggestion_read.value, [suggestion_id], district=where.district or ""
        )
    return jsonable_encoder(found)


@router.get("/followups/{case_id}/actions", summary="What was done on a case (logged)")
async def case_actions(case_id: CaseId, who: Caller, app: App) -> Any:
    where = await case_scope(app, case_id)
    require(who, Action.visit_read_notes, where)
    async with app.pool.acquire() as conn, conn.transaction():
        actions = await records.case_actions(conn, app.service.writer, case_id)
        await access.log_reads(
            conn, who, Action.visit_read_notes.value, [case_id], district=where.district or ""
        )
    return jsonable_encoder(actions)


@router.get("/access-log", summary="Reads of restricted records (auditors)")
async def access_log(
    who: Caller,
    app: App,
    record: Annotated[str | None, Query(pattern=IDENT)] = None,
    actor: Annotated[str | None, Query(pattern=IDENT)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    require(who, Action.access_log_read, Scope(who.district, who.school, who.class_id))
    return await access.query(
        app.pool, district=who.district, record=record, actor=actor, since=since, limit=limit
    )
