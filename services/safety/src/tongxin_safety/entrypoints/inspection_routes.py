"""Inspection routes: inspections around a school (fire, buildings, public order and traffic,
food and stationery shops) with their hazards, the re-inspection that closes them, and the
hazards open, overdue or rectified on a day per school and district.

The police record only public order and traffic, market regulation only the shop kinds (any
other kind is a 403 naming the rule); the school's leaders and the district bureau record any
kind, naming the inspector agency. Market regulation reads only its shop kinds (lists and
figures filtered to them); the police, the school and the bureau read every kind.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.safety import (
    HazardOwner,
    HazardReported,
    HazardSeverity,
    InspectionCompleted,
    InspectionKind,
    Inspector,
)
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import AsOf, DistrictId, Key, Ref, SchoolId
from tongxin_platform.http import Caller, ProblemError
from tongxin_safety.application import inspection_queries
from tongxin_safety.application.inspections import HazardFound, Inspection, recorder_of
from tongxin_safety.application.policy import POLICY, Action
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.inspections import HazardStatus, Recorder, readable_kinds
from tongxin_safety.entrypoints.deps import App, district_view, run, school_scope_for

router = service_router(tags=["inspections"])


class HazardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: HazardSeverity = Field(description="General (一般) or major (重大).")
    owner: HazardOwner = Field(description="Who must rectify it.")
    rectify_by: date = Field(description="The rectification deadline (China time).")
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        Field(
            default=None,
            description="What and where: sealed with the school's key, never in clear on the wire.",
        )
    )


class InspectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InspectionKind = Field(description="What was inspected.")
    inspector: Inspector | None = Field(
        default=None,
        description="The inspector agency; by default the caller's own (the school's leaders: "
        "school; the bureau: education). The police and market regulation name only themselves.",
    )
    inspected_on: date = Field(description="The day of the inspection (China time).")
    reinspection_of: Ref | None = Field(
        default=None,
        description="The earlier inspection of the same school and kind this one re-inspects.",
    )
    hazards: list[HazardBody] = Field(
        default_factory=list, max_length=200, description="The hazards found."
    )
    rectified: list[Ref] = Field(
        default_factory=list,
        max_length=200,
        description="Hazards of the re-inspected inspection (or of those it re-inspected in "
        "turn) found rectified.",
    )


def _recorder(who: Principal) -> Recorder | None:
    return recorder_of(who.role)


def _names(kinds: Collection[InspectionKind]) -> list[str]:
    """The kinds a reader sees, in the contract's order (as the figures list them)."""
    return [k.value for k in InspectionKind if k in kinds]


def _today(app: App) -> date:
    return china_date(app.service.writer.clock())


@router.post(
    "/schools/{school_id}/inspections",
    summary="Record an inspection with its hazards (a re-inspection closes the ones it lists)",
)
@guard(POLICY, Action.inspection_record)
async def record_inspection(
    school_id: SchoolId,
    body: InspectionBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.inspection_record, school_id)
    recorder = _recorder(who)
    if recorder is None:  # the policy and the recorders disagree: refuse, naming the rule
        raise ProblemError(
            403,
            "Forbidden",
            f"role {who.role.value} records no inspection",
            rule="inspection_recorder_role",
        )

    async def act() -> dict[str, Any]:
        events = await app.service.inspections.record(
            Inspection(
                district=where.district or "",
                school_id=school_id,
                kind=body.kind,
                recorder=recorder,
                inspected_on=body.inspected_on,
                inspected_by=who.subject,
                inspector=body.inspector,
                hazards=tuple(
                    HazardFound(h.severity, h.owner, h.rectify_by, h.detail or None)
                    for h in body.hazards
                ),
                reinspection_of=body.reinspection_of,
                rectified=tuple(body.rectified),
            )
        )
        done = next(e for e in events if isinstance(e, InspectionCompleted))
        return {
            "events": [e.name for e in events],
            "inspection_id": done.inspection_id,
            "inspector": done.inspector.value,
            "hazard_ids": [e.hazard_id for e in events if isinstance(e, HazardReported)],
            "rectified": list(body.rectified),
        }

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/schools/{school_id}/inspections",
    summary="The school's inspections, the latest first (market regulation: its shop kinds)",
)
@guard(POLICY, Action.inspection_read)
async def school_inspections(school_id: SchoolId, app: App, who: Caller) -> Any:
    await school_scope_for(app, who, Action.inspection_read, school_id)
    kinds = readable_kinds(_recorder(who))
    rows = await inspection_queries.school_inspections(app.pool, school_id, kinds)
    return jsonable_encoder({"school_id": school_id, "kinds": _names(kinds), "inspections": rows})


@router.get(
    "/schools/{school_id}/hazards",
    summary="The school's hazards open, overdue or rectified on a day, with their detail",
)
@guard(POLICY, Action.inspection_read)
async def school_hazards(
    school_id: SchoolId,
    app: App,
    who: Caller,
    status: Annotated[
        HazardStatus | None,
        Query(description="open (overdue included), overdue or rectified; all when not given."),
    ] = None,
    as_of: AsOf = None,
) -> Any:
    await school_scope_for(app, who, Action.inspection_read, school_id)
    kinds = readable_kinds(_recorder(who))
    day = as_of or _today(app)
    async with app.transactions.read() as uow:
        rows = await inspection_queries.school_hazards(app.pool, uow, school_id, status, day, kinds)
    return jsonable_encoder(
        {
            "school_id": school_id,
            "as_of": day,
            "status": status.value if status else None,
            "kinds": _names(kinds),
            "hazards": rows,
        }
    )


@router.get(
    "/districts/{district}/hazards/overdue",
    summary="The district's hazards overdue on a day, the longest overdue first",
)
@guard(POLICY, Action.inspection_read)
async def district_overdue(district: DistrictId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    own = district_view(who, Action.inspection_read, district)
    kinds = readable_kinds(_recorder(who))
    day = as_of or _today(app)
    rows = await inspection_queries.district_overdue(app.pool, district, day, kinds, own)
    return jsonable_encoder(
        {
            "district": district,
            "as_of": day,
            "kinds": _names(kinds),
            "hazards": rows,
        }
    )


@router.get(
    "/districts/{district}/hazard-figures",
    summary="Hazards reported, open, overdue and rectified per school and kind (counts only)",
)
@guard(POLICY, Action.hazard_figures)
async def hazard_figures(district: DistrictId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    own = district_view(who, Action.hazard_figures, district)
    kinds = readable_kinds(_recorder(who))
    day = as_of or _today(app)
    return jsonable_encoder(
        await inspection_queries.district_figures(app.pool, district, day, kinds, own)
    )
