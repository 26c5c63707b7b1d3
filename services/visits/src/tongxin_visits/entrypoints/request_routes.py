"""Targeted home visits (重点家访) the wellbeing service asked for, shown to the class's head
teacher (and the school's leaders): which students, since when — without the reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.encoders import jsonable_encoder

from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT
from tongxin_platform.http import Caller, locate, not_found
from tongxin_platform.policy import Scope
from tongxin_visits.application import queries
from tongxin_visits.application.policy import POLICY, Action
from tongxin_visits.entrypoints.deps import App

router = service_router(tags=["targeted visits"])

ClassId = Annotated[str, Path(pattern=IDENT, description="A class's id.")]


@router.get(
    "/classes/{class_id}/visit-requests",
    summary="Targeted home visits asked for students of the class (no reason given)",
)
@guard(POLICY, Action.visit_read)
async def visit_requests(class_id: ClassId, app: App, who: Caller) -> Any:
    async def find() -> Scope:
        row = await queries.klass(app.pool, class_id)
        if row is None:
            raise not_found("class_id", "class")
        return Scope(row["district"], row["school_id"], class_id)

    missing = not_found("class_id", "class")
    await locate(POLICY, who, Action.visit_read, find, lambda s: s, missing)
    requests = await queries.visit_requests(app.pool, class_id)
    return jsonable_encoder({"class_id": class_id, "requests": requests})
