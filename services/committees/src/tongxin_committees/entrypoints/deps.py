"""What every committees route shares: the service from the app's state, where a school lives
(for the policy), how much of a district a caller sees, and running a command once per
``Idempotency-Key`` with the answer naming its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from tongxin_committees.application import committee_queries, queries
from tongxin_committees.application.policy import POLICY, Action
from tongxin_committees.bootstrap import Committees
from tongxin_committees.domain.calendar import china_date
from tongxin_platform import idempotency
from tongxin_platform.auth import Principal, Role
from tongxin_platform.fields import IDENT, Key
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope

GuardianRef = Annotated[str, Path(pattern=IDENT, description="A guardian's pseudonym.")]
CommitteeId = Annotated[str, Path(pattern=IDENT, description="A committee's id.")]


class Body(BaseModel):
    """A command's body: a field it does not declare is refused."""

    model_config = ConfigDict(extra="forbid")


async def committees_of(request: Request) -> Committees:  # async: no thread pool hop
    app: Committees = request.app.state.service
    return app


App = Annotated[Committees, Depends(committees_of)]


def today(app: Committees, as_of: date | None = None) -> date:
    """``as_of``, or today in China by the service's clock."""
    return as_of or china_date(app.service.writer.clock())


async def school_scope_for(
    app: Committees, who: Principal, action: Action, school_id: str
) -> Scope:
    """Where the school lives, for a caller who may ``action`` there: 403 naming the rule for a
    role that may never, 404 for an unknown school, 403 for one outside the caller's scope
    (school ids are public bureau codes: nothing to hide)."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await queries.school(app.pool, school_id)
    if row is None:
        raise not_found("school_id", "school")
    where = Scope(row["district"], school_id)
    require(POLICY, who, action, where)
    return where


# A school's own committee work: the bureau forms and runs the district committee only (the
# issue gives a school's committees to its principal and coordinator; the bureau sees figures).
SCHOOLS_OWN = frozenset(
    {
        Action.committee_form,
        Action.charter_adopt,
        Action.candidate_nominate,
        Action.election_record,
        Action.member_resign,
        Action.member_remove,
    }
)


def schools_own_work(who: Principal, action: Action) -> None:
    """403 naming the rule for the bureau doing a school's own committee work."""
    if who.role is Role.bureau_officer and action in SCHOOLS_OWN:
        raise ProblemError(
            403,
            "Forbidden",
            "caller: a school's committees are the school's own work; the bureau runs the "
            "district committee",
            field="committee_id",
            rule="school_committee_by_school",
        )


async def committee_scope_for(
    app: Committees, who: Principal, action: Action, committee_id: str, on: date
) -> dict[str, Any]:
    """The committee (its read-model row), for a caller who may ``action`` on it: 403 naming the
    rule for a role that may never; 404 — the same body — for a missing committee and for one
    outside the caller's scope. Staff and the bureau by the committee's school (and a head
    teacher by its class); a committee member only where they hold a seat on ``on``."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await app.service.committees.where(committee_id)
    missing = not_found("committee_id", "committee")
    if row is None:
        raise missing
    if who.role is Role.committee_member:
        if row["district"] != who.district or not await committee_queries.holds_seat(
            app.pool, committee_id, who.subject, on
        ):
            raise missing
        return row
    where = Scope(row["district"], row["school_id"], row["class_id"])
    if not POLICY.authorize(who, action, where).allowed:
        raise missing
    if row["school_id"] is not None:
        schools_own_work(who, action)
    return row


def district_view(who: Principal, action: Action, district: str) -> str | None:
    """How much of a district a district route shows the caller: 403 naming the rule outside
    their district; a school-level caller (a school's managers) sees their own school's rows and
    totals only (the school returned), a district- or city-level caller every school (None).
    Every district route of every part asks this, so that no part answers differently."""
    require(POLICY, who, action, Scope(district, who.school))
    return who.school


@dataclass(frozen=True, slots=True)
class Commander:
    """What a command route needs besides its path and body: the service, the request, the
    caller and the ``Idempotency-Key``. Calling it runs the command once per key: its answer
    names the events ``decide`` appended, then ``fields``, then what ``tell`` reads from the
    events; the domain's refusals become problem+json naming the field and rule."""

    app: Committees
    request: Request
    who: Principal
    key: str | None

    async def __call__(
        self, decide: idempotency.Decide, /, *, tell: idempotency.Tell | None = None, **fields: Any
    ) -> JSONResponse:
        return await idempotency.decided(
            self.app.transactions, self.request, self.who, self.key, decide, tell=tell, **fields
        )


async def commander(
    request: Request, app: App, who: Caller, idempotency_key: Key = None
) -> Commander:
    return Commander(app, request, who, idempotency_key)


Command = Annotated[Commander, Depends(commander)]
