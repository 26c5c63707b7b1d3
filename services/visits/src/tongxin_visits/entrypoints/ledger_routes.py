"""Routes of the follow-up ledger (台账): open a case from a visit, act on it, close it, list."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder

from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import Key
from tongxin_platform.http import Caller, require
from tongxin_visits.application import queries
from tongxin_visits.application.policy import POLICY, Action
from tongxin_visits.entrypoints.bodies import (
    ActionBody,
    CaseId,
    CloseBody,
    OpenFollowUpBody,
    SchoolId,
    VisitId,
)
from tongxin_visits.entrypoints.deps import (
    App,
    OptionalClass,
    case_scope_for,
    named,
    run,
    school_scope,
    staff_of,
    today,
    visit_scope_for,
)

router = service_router(tags=["follow-up ledger"])


@router.post("/visits/{visit_id}/followups", summary="Open a follow-up case from a visit")
@guard(POLICY, Action.followup_manage)
async def open_followup(
    visit_id: VisitId,
    body: OpenFollowUpBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    where = await visit_scope_for(app, who, Action.followup_manage, visit_id)
    assert where.school is not None
    assert where.district is not None
    owner = body.owner_ref or who.subject
    await staff_of(app, where.school, owner, "owner_ref")
    rules = await app.service.reports.rules(where.district)
    due = body.due_date or today() + timedelta(days=rules.followup_due_days)

    async def act() -> dict[str, Any]:
        case_id = await app.service.ledger.open(
            visit_id, measure=body.measure, category=body.category, owner_ref=owner, due_date=due
        )
        return {"case_id": case_id, "events": ["FollowUpOpened"]}

    return await run(app, request, who, idempotency_key, act)


@router.post("/followups/{case_id}/actions", summary="Record an action taken on a case")
@guard(POLICY, Action.followup_manage)
async def followup_action(
    case_id: CaseId,
    body: ActionBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    await case_scope_for(app, who, Action.followup_manage, case_id)
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(
            app.service.ledger.record_action(case_id, who.subject, body.taken_on, body.description)
        ),
    )


@router.post("/followups/{case_id}/close", summary="Close a case")
@guard(POLICY, Action.followup_manage)
async def followup_close(
    case_id: CaseId,
    body: CloseBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    await case_scope_for(app, who, Action.followup_manage, case_id)
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(app.service.ledger.close(case_id, body.outcome, who.subject, body.closed_on)),
    )


@router.get("/schools/{school_id}/followups", summary="The follow-up ledger (台账)")
async def ledger(
    school_id: SchoolId,
    who: Caller,
    app: App,
    class_id: OptionalClass = None,
    status: Annotated[str | None, Query(pattern="^(open|closed|overdue)$")] = None,
) -> Any:
    class_id = class_id or who.class_id  # a head teacher: their class
    require(POLICY, who, Action.visit_read, await school_scope(app, school_id, class_id))
    rows = await queries.followups(
        app.pool, school_id=school_id, today=today(), class_id=class_id, status=status
    )
    return jsonable_encoder(rows)
