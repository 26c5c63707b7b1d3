"""Routes that open restricted text — a visit's notes and the parents' suggestions, a case's
actions — each read written to the access log in the reading transaction (auditors read it at
the API base's ``/access-log``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.encoders import jsonable_encoder

from tongxin_platform import access
from tongxin_platform.edge import service_router
from tongxin_platform.fields import IDENT
from tongxin_platform.http import Caller, ProblemError
from tongxin_visits.application import queries, records
from tongxin_visits.application.policy import Action
from tongxin_visits.entrypoints.bodies import CaseId, VisitId
from tongxin_visits.entrypoints.deps import App, case_scope_for, visit_scope_for

router = service_router(tags=["records (restricted, logged)"])


@router.get("/visits/{visit_id}/record", summary="A visit's notes and parent suggestions (logged)")
async def visit_record(visit_id: VisitId, who: Caller, app: App) -> Any:
    where = await visit_scope_for(app, who, Action.visit_read_notes, visit_id)
    async with app.transactions.begin() as uow:
        record = await records.visit_record(uow, visit_id)
        if record is None:
            raise ProblemError(404, "Not found", "visit_id: the visit is not completed")
        await access.log_reads(
            uow.conn, who, Action.visit_read_notes.value, [visit_id], district=where.district or ""
        )
    # Each suggestion answered by the school (committees' ParentFeedbackAnswered): the
    # decision, the day, on time or not; null while unanswered.
    answered = await queries.suggestions_answered(app.pool, visit_id)
    for s in record["parent_suggestions"]:
        s["answered"] = answered.get(s["suggestion_id"])
    record["suggestions_answered"] = [
        {"suggestion_id": s["suggestion_id"], "answered": s["answered"] is not None}
        | (s["answered"] or {})
        for s in record["parent_suggestions"]
    ]
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
    # A class committee: its class's families.
    where = await visit_scope_for(app, who, Action.suggestion_read, visit_id)
    async with app.transactions.begin() as uow:
        found = await records.suggestion(uow, visit_id, suggestion_id)
        if found is None:
            raise ProblemError(404, "Not found", "suggestion_id: no such suggestion in the visit")
        await access.log_reads(
            uow.conn,
            who,
            Action.suggestion_read.value,
            [suggestion_id],
            district=where.district or "",
        )
    return jsonable_encoder(found)


@router.get("/followups/{case_id}/actions", summary="What was done on a case (logged)")
async def case_actions(case_id: CaseId, who: Caller, app: App) -> Any:
    where = await case_scope_for(app, who, Action.visit_read_notes, case_id)
    async with app.transactions.begin() as uow:
        actions = await records.case_actions(uow, case_id)
        await access.log_reads(
            uow.conn, who, Action.visit_read_notes.value, [case_id], district=where.district or ""
        )
    return jsonable_encoder(actions)
