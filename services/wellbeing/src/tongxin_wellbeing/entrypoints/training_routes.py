"""Routes of training and classes (seed 004): training sessions with who attended, psychology
classes and group counselling per class, and the coverage a school and its district see. No
student appears in any of them; staff appear by pseudonym, parents as a count."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.events.wellbeing import ClassSessionKind, TrainingTopic
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import Day, DistrictId, Key, Ref, SchoolId, SchoolYear, SchoolYearQuery
from tongxin_platform.http import Caller, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import training_queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.domain.training import MAX_PARENTS, district_totals
from tongxin_wellbeing.entrypoints.deps import App, run, school_scope_for

router = service_router(tags=["training"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainingBody(_Body):
    school_year: SchoolYear
    topic: TrainingTopic = Field(description="What was trained.")
    held_on: Day = Field(description="The day it was held (China time).")
    staff_refs: list[Ref] = Field(
        default_factory=list, max_length=1000, description="Staff of the school who attended."
    )
    parent_count: int = Field(
        default=0, ge=0, le=MAX_PARENTS, description="Parents who attended (parent sessions)."
    )


class ClassSessionBody(_Body):
    school_year: SchoolYear
    class_id: Ref = Field(description="The class of the school it was held for.")
    kind: ClassSessionKind = Field(description="Psychology class or group counselling.")
    held_on: Day = Field(description="The day it was held (China time).")


def _year(app: App, school_year: str | None) -> str:
    return school_year or school_year_of(china_date(app.service.writer.clock()))


@router.post("/schools/{school_id}/trainings", summary="Record a training session")
@guard(POLICY, Action.training_record)
async def record_training(
    school_id: SchoolId,
    body: TrainingBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.training_record, school_id)

    async def act() -> dict[str, Any]:
        training_id = app.service.training.new_id()
        events = await app.service.training.record(
            district=where.district or "",
            school_id=school_id,
            school_year=body.school_year,
            training_id=training_id,
            topic=body.topic,
            held_on=body.held_on,
            staff_refs=tuple(body.staff_refs),
            parent_count=body.parent_count,
        )
        return {"training_id": training_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/schools/{school_id}/class-sessions",
    summary="Record a psychology class or group counselling held for a class",
)
@guard(POLICY, Action.training_record)
async def record_class_session(
    school_id: SchoolId,
    body: ClassSessionBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.training_record, school_id)

    async def act() -> dict[str, Any]:
        session_id = app.service.training.new_id()
        events = await app.service.training.hold_class_session(
            district=where.district or "",
            school_id=school_id,
            school_year=body.school_year,
            session_id=session_id,
            class_id=body.class_id,
            kind=body.kind,
            held_on=body.held_on,
        )
        return {"session_id": session_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/schools/{school_id}/training",
    summary="The school's coverage of training and classes in a school year",
)
@guard(POLICY, Action.training_read)
async def school_training(
    school_id: SchoolId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> dict[str, Any]:
    await school_scope_for(app, who, Action.training_read, school_id)
    found = await training_queries.school_coverage(app.pool, school_id, _year(app, school_year))
    if found is None:
        raise not_found("school_id", "school")
    return asdict(found)


@router.get(
    "/districts/{district}/training",
    summary="Coverage of training and classes in a school year: one row per school, and totals",
)
@guard(POLICY, Action.training_read)
async def district_training(
    district: DistrictId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> dict[str, Any]:
    require(POLICY, who, Action.training_read, Scope(district))
    year = _year(app, school_year)
    rows = await training_queries.district_coverage(app.pool, district, year)
    return {
        "district": district,
        "school_year": year,
        "totals": asdict(district_totals(rows)),
        "schools": [asdict(c) for c in rows],
    }
