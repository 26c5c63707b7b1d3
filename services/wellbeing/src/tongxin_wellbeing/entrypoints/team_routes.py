"""Routes of the school's wellbeing team (seed 004: 健康副校长、校医、心理教师) and of the
district's view of the gaps: schools without one of the three roles or a counselling room."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Request

from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import DistrictId, SchoolId
from tongxin_platform.http import Caller, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.entrypoints.deps import App, school_scope_for

router = service_router(tags=["team"])


@router.get("/schools/{school_id}/team", summary="The school's wellbeing team and its gaps")
@guard(POLICY, Action.team_read)
async def school_team(school_id: SchoolId, app: App, who: Caller) -> dict[str, Any]:
    await school_scope_for(app, who, Action.team_read, school_id)
    team = await queries.team(app.pool, school_id)
    if team is None:
        raise not_found("school_id", "school")
    return asdict(team)


@router.get(
    "/districts/{district}/team-gaps",
    summary="Schools of the district missing a team role or a counselling room",
)
@guard(POLICY, Action.team_read)
async def district_gaps(district: DistrictId, request: Request, app: App, who: Caller) -> Any:
    require(POLICY, who, Action.team_read, Scope(district))
    teams = await queries.district_teams(app.pool, district)
    with_room = sum(1 for t in teams if t.has_counselling_room)
    target = app.settings.counselling_room_target
    share = with_room / len(teams) if teams else None
    return {
        "district": district,
        "schools": len(teams),
        "counselling_rooms": with_room,
        "counselling_room_share": share,
        "counselling_room_target": target,
        "counselling_room_target_met": share is not None and share >= target,
        "schools_with_gaps": [{"school_id": t.school_id, "gaps": t.gaps} for t in teams if t.gaps],
    }
