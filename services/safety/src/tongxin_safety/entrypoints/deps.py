"""What every safety route shares: the service from the app's state, where a school or a child
lives (for the policy), and running a command once per ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from tongxin_contracts.events.safety import CarerKind
from tongxin_platform import idempotency
from tongxin_platform.auth import Principal, Role
from tongxin_platform.fields import IDENT
from tongxin_platform.http import ProblemError, locate, not_found, require
from tongxin_platform.policy import Scope
from tongxin_safety.application import file_queries, queries
from tongxin_safety.application.policy import POLICY, SCHOOL_CARERS, Action
from tongxin_safety.bootstrap import Safety

StudentRef = Annotated[str, Path(pattern=IDENT, description="A child's pseudonym.")]


async def safety_of(request: Request) -> Safety:  # async: no thread pool hop
    app: Safety = request.app.state.service
    return app


App = Annotated[Safety, Depends(safety_of)]


async def school_scope_for(app: Safety, who: Principal, action: Action, school_id: str) -> Scope:
    """Where the school lives, for a caller who may ``action`` there: 403 naming the rule for a
    role that may never, 404 for an unknown school, 403 for one outside the caller's scope
    (school ids are public bureau codes: nothing to hide, unlike a child)."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise not_found("school_id", "school")
    where = Scope(row["district"], school_id)
    require(POLICY, who, action, where)
    return where


async def student_scope_for(app: Safety, who: Principal, action: Action, student_ref: str) -> Scope:
    """Where the child is enrolled (school and class), for a caller who may ``action`` there; a
    child outside the caller's scope is answered like a missing one (404). Carers' scope (their
    pairings, not their district) is the care files part's ``file_scope_for``."""

    async def find() -> Scope:
        row = await queries.student(app.pool, student_ref)
        if row is None:
            raise not_found("student_ref", "student")
        return Scope(row["district"], row["school_id"], row["class_id"])

    return await locate(POLICY, who, action, find, _same, not_found("student_ref", "student"))


# The carer kind each agency's role speaks for (school staff pair as the ``school`` kind).
CARER_KIND = {
    Role.community_worker: CarerKind.community,
    Role.civil_affairs: CarerKind.civil_affairs,
    Role.womens_federation: CarerKind.womens_federation,
}


def carer_org(who: Principal) -> str:
    """An agency carer's organisation (claim ``org``): a carer's token without one speaks for
    none (403 naming the rule)."""
    if who.org is None:
        raise ProblemError(
            403,
            "Forbidden",
            "a carer's token names its organisation (claim org)",
            field="org",
            rule="carer_org",
        )
    return who.org


async def file_scope_for(app: Safety, who: Principal, action: Action, student_ref: str) -> Scope:
    """Where the child's care file lives, for a caller who may ``action`` on it; any other
    child is answered like a missing one (404, the same body):

    - school staff by the file's school and the child's class (leaders: the school; head
      teachers: their class); a subject teacher only the files they are the paired school carer
      of (proposed or accepted), as is a head teacher for a child of another class;
    - carers (community, civil affairs, women's federation) only the files with an open
      (proposed or accepted) pairing of their role's kind in their own organisation (the
      token's ``org``), in their district: a declined or released pairing gives no access.
    """
    missing = not_found("student_ref", "care file")
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    kind = CARER_KIND.get(who.role)
    org = carer_org(who) if kind is not None else None
    f = await file_queries.file_row(app.pool, student_ref)
    if f is None:
        raise missing
    roster = await queries.student(app.pool, student_ref)
    class_id = roster["class_id"] if roster and roster["school_id"] == f["school_id"] else None
    where = Scope(f["district"], f["school_id"], class_id or f["class_id"])
    if kind is not None:
        if not await file_queries.paired(app.pool, student_ref, kind, org=org):
            raise missing
        if not POLICY.authorize(who, action, Scope(where.district, where.school)).allowed:
            raise missing
        return where
    school_carer = who.role in SCHOOL_CARERS and who.school == where.school
    if POLICY.authorize(who, action, where).allowed and who.role is not Role.subject_teacher:
        return where
    if school_carer and await file_queries.paired(
        app.pool, student_ref, CarerKind.school, carer_ref=who.subject
    ):
        return where
    raise missing


def district_view(who: Principal, action: Action, district: str) -> str | None:
    """How much of a district a district route shows the caller: 403 naming the rule outside
    their district; a school-level caller (a school's leaders) sees their own school's rows and
    totals only (the school returned), a district- or city-level caller every school (None).
    Every district route of every part asks this, so that no part answers differently."""
    require(POLICY, who, action, Scope(district, who.school))
    return who.school


def _same(scope: Scope) -> Scope:
    return scope


async def run(
    app: Safety,
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
