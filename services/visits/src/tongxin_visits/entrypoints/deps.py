"""What every visits route shares: the service from the app's state, where a resource lives
(for the policy), who the caller is on the school's staff, and running a command once per
``Idempotency-Key`` with the domain's refusals as problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import china_date
from tongxin_platform import idempotency
from tongxin_platform.auth import Principal
from tongxin_platform.eventstore import now_utc
from tongxin_platform.http import ProblemError, locate, not_found
from tongxin_platform.policy import Scope
from tongxin_visits.application import queries
from tongxin_visits.application.policy import POLICY, Action
from tongxin_visits.bootstrap import Visits

OptionalClass = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="A class (a head teacher: their own)."),
]


async def visits_of(request: Request) -> Visits:  # async: no thread pool hop per request
    visits: Visits = request.app.state.service
    return visits


App = Annotated[Visits, Depends(visits_of)]


def today() -> date:
    return china_date(now_utc())


async def visit_scope(app: Visits, visit_id: str) -> Scope:
    s = await app.service.visits.state(visit_id)
    if s.status == "new":
        raise not_found("visit_id", "visit")
    return Scope(s.district, s.school_id, s.class_id)


async def case_scope(app: Visits, case_id: str) -> Scope:
    s = await app.service.ledger.state(case_id)
    if s.status == "new":
        raise not_found("case_id", "follow-up case")
    return Scope(s.district, s.school_id, s.class_id)


async def visit_scope_for(app: Visits, who: Principal, action: Action, visit_id: str) -> Scope:
    """``visit_scope`` for a caller who may ``action`` there, else 403 (role) or 404."""
    return await locate(
        POLICY,
        who,
        action,
        lambda: visit_scope(app, visit_id),
        _same,
        not_found("visit_id", "visit"),
    )


async def case_scope_for(app: Visits, who: Principal, action: Action, case_id: str) -> Scope:
    """``case_scope`` for a caller who may ``action`` there, else 403 (role) or 404."""
    missing = not_found("case_id", "follow-up case")
    return await locate(POLICY, who, action, lambda: case_scope(app, case_id), _same, missing)


def _same(scope: Scope) -> Scope:
    return scope


async def school_scope(app: Visits, school_id: str, class_id: str | None = None) -> Scope:
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise ProblemError(404, "Not found", f"school_id: no school {school_id}")
    return Scope(row["district"], school_id, class_id)


async def staff_of(app: Visits, school_id: str, staff_ref: str, field: str) -> dict[str, Any]:
    """The staff member, or a problem: 403 when it is the caller (``field`` ``token``)."""
    row = await queries.staff_member(app.pool, staff_ref)
    if row is None or row["school_id"] != school_id:
        raise ProblemError(
            403 if field == "token" else 422,
            "Not a staff member",
            f"{field}: {staff_ref} is not a staff member of school {school_id}",
        )
    return row


async def run(
    app: Visits,
    request: Request,
    who: Principal,
    key: str | None,
    act: Callable[[], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """Run a command once per ``Idempotency-Key``; the domain's refusals become problem+json
    naming the field and rule (``tongxin_platform.http.domain_problem``)."""
    return await idempotency.command(
        app.transactions, request, who, key, act, metrics=request.app.state.metrics
    )


async def named(events: Awaitable[list[IntegrationEvent]]) -> dict[str, Any]:
    return {"events": [e.name for e in await events]}
