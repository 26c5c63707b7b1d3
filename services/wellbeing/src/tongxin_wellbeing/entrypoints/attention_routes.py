"""Routes of the attention list (关注名单) and the plans (一生一策).

- proposals, sign-offs (three distinct people holding the three roles: the head teacher of the
  student's class, a psychology teacher, the health vice-principal) and removal;
- the team's view of a school (listed, pending proposals with their sign-offs, plan status and
  overdue months) and a head teacher's view of their class (listed or not, the plan's next step;
  never a score, an answer or a reason) — both restricted reads, written to the access log;
- counts per school and district (numbers only);
- the monthly review of a plan, the plan itself (restricted, logged), the overdue reviews.

``as_of`` (a day, China time) asks what was overdue on that day; it defaults to today.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.events.wellbeing import MONTH, RemovalReason, SignOffRole
from tongxin_platform import access
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, Day, DistrictId, Key, SchoolId
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import attention_queries as aq
from tongxin_wellbeing.application import queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.domain.calendar import china_date
from tongxin_wellbeing.entrypoints.deps import (
    App,
    StudentRef,
    run,
    school_scope_for,
    student_scope_for,
)

router = service_router(tags=["attention list and plans"])

ProposalId = Annotated[str, Path(pattern=IDENT, description="From AttentionListProposed.")]
ClassId = Annotated[str, Path(pattern=IDENT, description="A class's id.")]
AsOf = Annotated[
    Day | None, Query(description="The day (China time) to evaluate overdue months on.")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposalBody(_Body):
    reason: str | None = Field(
        default=None, max_length=2000, description="Why (sealed with the student's key)."
    )


class SignOffBody(_Body):
    role: SignOffRole = Field(description="The role signed as: the caller's token's role.")


class RemovalBody(_Body):
    reason: RemovalReason = Field(description="Why the student is removed.")


class ReviewBody(_Body):
    month: str = Field(pattern=MONTH, description="The month reviewed, 'YYYY-MM'.")
    emotional_state: str = Field(
        min_length=1, max_length=2000, description="The student's emotional state (sealed)."
    )
    interventions: str = Field(
        min_length=1, max_length=2000, description="What was done this month (sealed)."
    )
    next_step: str = Field(
        min_length=1,
        max_length=1000,
        description="The plan's next step (sealed; the head teacher's view shows it).",
    )


def _today(app: App, as_of: date | None = None) -> date:
    return as_of or china_date(app.service.writer.clock())


async def _enrolled(app: App, who: Principal, action: Action, ref: str) -> dict[str, Any]:
    """The student's roster row, for a caller who may ``action`` where they are enrolled."""
    await student_scope_for(app, who, action, ref)
    student = await queries.student(app.pool, ref)
    if student is None:
        raise not_found("student_ref", "student")
    if not student["enrolled"]:
        raise ProblemError(
            422, "Refused", "student_ref: the student is no longer enrolled", rule="enrolled"
        )
    return student


@router.post("/students/{student_ref}/attention/proposals", summary="Propose a student")
@guard(POLICY, Action.attention_propose)
async def propose(
    student_ref: StudentRef,
    body: ProposalBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    student = await _enrolled(app, who, Action.attention_propose, student_ref)

    async def act() -> dict[str, Any]:
        proposal_id, events = await app.service.attention.propose(student, who.subject, body.reason)
        return {"events": [e.name for e in events], "proposal_id": proposal_id}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/attention/proposals/{proposal_id}/sign-offs",
    summary="Sign a proposal off in one's role (the third lists the student, opens the plan)",
)
@guard(POLICY, Action.attention_sign_off)
async def sign_off(
    student_ref: StudentRef,
    proposal_id: ProposalId,
    body: SignOffBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    student = await _enrolled(app, who, Action.attention_sign_off, student_ref)

    async def act() -> dict[str, Any]:
        plan_id, events = await app.service.attention.sign_off(
            student, proposal_id, body.role, who.subject, who.role.value
        )
        names = [e.name for e in events]
        listed = "StudentAddedToAttentionList" in names
        answer: dict[str, Any] = {"events": names, "listed": listed}
        if "CarePlanOpened" in names:
            answer["plan_id"] = plan_id
        return answer

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/attention/removal",
    summary="Remove a student from the list (or withdraw a proposal); closes the plan",
)
@guard(POLICY, Action.attention_remove)
async def remove(
    student_ref: StudentRef,
    body: RemovalBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(app, who, Action.attention_remove, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.attention.remove(student_ref, body.reason, who.subject)
        return {"events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/schools/{school_id}/attention",
    summary="The team's view: listed students, pending proposals, plans and overdue months "
    "(logged)",
)
@guard(POLICY, Action.attention_read)
async def school_attention(school_id: SchoolId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    where = await school_scope_for(app, who, Action.attention_read, school_id)
    view = await aq.school_view(app.pool, school_id, _today(app, as_of))
    refs = [s["student_ref"] for s in view["listed"]] + [
        p["student_ref"] for p in view["proposals"]
    ]
    await access.log_reads(
        app.pool,
        who,
        Action.attention_read.value,
        [school_id, *refs],
        district=where.district or "",
    )
    return jsonable_encoder(view)


async def _class_scope(app: App, who: Principal, action: Action, class_id: str) -> Scope:
    """Where the class is: 404 for an unknown class, 403 naming the rule for one outside the
    caller's scope (class ids, like school ids, are the bureau's codes: nothing to hide)."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    row = await queries.row(
        app.pool, f"SELECT * FROM {queries.W}.classes WHERE class_id = $1", class_id
    )
    if row is None:
        raise not_found("class_id", "class")
    where = Scope(row["district"], row["school_id"], class_id)
    require(POLICY, who, action, where)
    return where


@router.get(
    "/classes/{class_id}/attention",
    summary="A head teacher's view: which students of the class are listed, and the plan's "
    "next step (no scores, answers or reasons; logged)",
)
@guard(POLICY, Action.attention_read_class)
async def class_attention(class_id: ClassId, app: App, who: Caller) -> Any:
    where = await _class_scope(app, who, Action.attention_read_class, class_id)
    async with app.transactions.begin() as uow:
        listed = await aq.class_view(uow, app.pool, class_id)
        await access.log_reads(
            uow.conn,
            who,
            Action.attention_read_class.value,
            [class_id, *(s["student_ref"] for s in listed)],
            district=where.district or "",
        )
    return jsonable_encoder({"class_id": class_id, "listed": listed})


@router.get("/schools/{school_id}/attention/count", summary="How many: numbers only")
@guard(POLICY, Action.attention_count)
async def school_count(school_id: SchoolId, app: App, who: Caller) -> Any:
    where = await school_scope_for(app, who, Action.attention_count, school_id)
    [found] = await aq.counts(app.pool, where.district or "", school_id)
    return found


@router.get("/districts/{district}/attention/counts", summary="Per school: numbers only")
@guard(POLICY, Action.attention_count)
async def district_counts(district: DistrictId, app: App, who: Caller) -> Any:
    require(POLICY, who, Action.attention_count, Scope(district))
    schools = await aq.counts(app.pool, district, None)
    return {
        "district": district,
        "listed": sum(s["listed"] for s in schools),
        "proposed": sum(s["proposed"] for s in schools),
        "open_plans": sum(s["open_plans"] for s in schools),
        "schools": schools,
    }


@router.post(
    "/students/{student_ref}/plan/reviews",
    summary="The plan's review of a month (one per month; sealed)",
)
@guard(POLICY, Action.plan_manage)
async def review_plan(
    student_ref: StudentRef,
    body: ReviewBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(app, who, Action.plan_manage, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.plans.review(
            student_ref,
            body.month,
            who.subject,
            emotional_state=body.emotional_state,
            interventions=body.interventions,
            next_step=body.next_step,
        )
        return {"events": [e.name for e in events], "month": body.month}

    return await run(app, request, who, idempotency_key, act)


@router.get("/students/{student_ref}/plan", summary="The student's plan and reviews (logged)")
@guard(POLICY, Action.record_read)
async def plan(student_ref: StudentRef, app: App, who: Caller, as_of: AsOf = None) -> Any:
    # The receiving hospital sees the plan of a student referred to it (its scope).
    where = await student_scope_for(app, who, Action.record_read, student_ref)
    async with app.transactions.begin() as uow:
        found = await aq.plan_record(uow, app.pool, student_ref, _today(app, as_of))
        if found is None:
            raise ProblemError(404, "Not found", "student_ref: the student has no plan")
        await access.log_reads(
            uow.conn, who, Action.record_read.value, [student_ref], district=where.district or ""
        )
    return jsonable_encoder(found)


@router.get(
    "/schools/{school_id}/plans/overdue",
    summary="Open plans with a month ended without a review",
)
@guard(POLICY, Action.plan_manage)
async def overdue(school_id: SchoolId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    await school_scope_for(app, who, Action.plan_manage, school_id)
    day = _today(app, as_of)
    return jsonable_encoder(
        {"school_id": school_id, "as_of": day, "plans": await aq.overdue(app.pool, school_id, day)}
    )
