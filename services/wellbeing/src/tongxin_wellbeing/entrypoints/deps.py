"""What every wellbeing route shares: the service from the app's state, where a school or a
student lives (for the policy), and running a command once per ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from tongxin_platform import idempotency
from tongxin_platform.auth import Principal, Role
from tongxin_platform.fields import IDENT
from tongxin_platform.http import locate, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import queries, referral_queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.bootstrap import Wellbeing

StudentRef = Annotated[str, Path(pattern=IDENT, description="A student's pseudonym.")]


async def wellbeing_of(request: Request) -> Wellbeing:  # async: no thread pool hop
    app: Wellbeing = request.app.state.service
    return app


App = Annotated[Wellbeing, Depends(wellbeing_of)]


async def school_scope_for(app: Wellbeing, who: Principal, action: Action, school_id: str) -> Scope:
    """Where the school lives, for a caller who may ``action`` there: 403 naming the rule for a
    role that may never, 404 for an unknown school, 403 for one outside the caller's scope
    (school ids are public bureau codes: nothing to hide, unlike a student)."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise not_found("school_id", "school")
    where = Scope(row["district"], school_id)
    require(POLICY, who, action, where)
    return where


async def student_scope_for(
    app: Wellbeing, who: Principal, action: Action, student_ref: str
) -> Scope:
    """Where the student is enrolled (school and class), for a caller who may ``action`` there;
    a student outside the caller's scope is answered like a missing one (404). A hospital's
    scope is the students referred to it (its ``org``), not its district."""

    async def find() -> Scope:
        row = await queries.student(app.pool, student_ref)
        if row is None or (
            who.role is Role.hospital
            and not await referral_queries.referred_to(app.pool, student_ref, who.org)
        ):
            raise not_found("student_ref", "student")
        return Scope(row["district"], row["school_id"], row["class_id"])

    return await locate(POLICY, who, action, find, _same, not_found("student_ref", "student"))


def _same(scope: Scope) -> Scope:
    return scope


async def run(
    app: Wellbeing,
    request: Request,
    who: Principal,
    key: str | None,
    act: Callable[[], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """Run a command once per ``Idempotency-Key``; the domain's refusals become problem+json
    naming the field and rule."""
    return await idempotency.command(
        app.transactions, request, who, key, act, metrics=request.app.state.metrics
    )
