"""Crisis referral routes (1小时响应通道): the school's wellbeing team refers a student of its
school to a specialist hospital; the receiving hospital (token role ``hospital``, claim ``org`` =
its id) acknowledges within the hour and later resolves; its queue shows the deadlines; the
district sees SLA figures without a student.

A referral made to another hospital is answered exactly like a missing one (404); a role that
may never respond is a 403 naming the rule. Every read of a referral is in the access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.wellbeing import CrisisReferred, ReferralOutcome
from tongxin_platform import access
from tongxin_platform.auth import Principal, Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, DistrictId, Key
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope
from tongxin_wellbeing.application import queries, referral_queries
from tongxin_wellbeing.application.policy import POLICY, Action
from tongxin_wellbeing.application.referrals import Referral
from tongxin_wellbeing.entrypoints.deps import App, StudentRef, run, student_scope_for

router = service_router(tags=["referrals"])

ReferralId = Annotated[str, Path(pattern=IDENT, description="A referral's id.")]
HospitalId = Annotated[str, Path(pattern=IDENT, description="A specialist hospital's id.")]


class ReferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hospital_id: str = Field(pattern=IDENT, description="The receiving specialist hospital.")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = Field(
        default=None,
        description="What the hospital needs to know: sealed with the student's key, shown "
        "only to the team and the receiving hospital.",
    )


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: ReferralOutcome = Field(description="What came of the referral.")


def _hospital_of(who: Principal) -> str:
    """The caller's hospital (claim ``org``): a hospital token without one speaks for none."""
    if who.org is None:
        raise ProblemError(
            403,
            "Forbidden",
            "a hospital token names its hospital (claim org)",
            rule="hospital_org",
        )
    return who.org


async def _referral_for(app: App, who: Principal, action: Action, referral_id: str) -> Any:
    """The referral as made, for a caller who may ``action`` on it: the team of its school, or
    the hospital it was made to. Anything else — missing, another school's, another
    hospital's — is the same 404; a role that may never is a 403 naming the rule."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    hospital = _hospital_of(who) if who.role is Role.hospital else None
    async with app.transactions.read() as uow:
        referred = await referral_queries.where(uow, referral_id)
    missing = not_found("referral_id", "referral")
    if referred is None:
        raise missing
    if hospital is not None:
        if hospital != referred.hospital_id:
            raise missing
    elif not POLICY.authorize(who, action, Scope(referred.district, referred.school_id)).allowed:
        raise missing
    return referred


@router.post(
    "/students/{student_ref}/referrals",
    summary="Refer a student to a specialist hospital (the hospital has an hour to acknowledge)",
)
@guard(POLICY, Action.referral_make)
async def refer(
    student_ref: StudentRef,
    body: ReferBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await student_scope_for(app, who, Action.referral_make, student_ref)
    student = await queries.student(app.pool, student_ref)
    guardians = tuple(student["guardian_refs"]) if student else ()

    async def act() -> dict[str, Any]:
        events = await app.service.referrals.make(
            Referral(
                district=where.district or "",
                school_id=where.school or "",
                student_ref=student_ref,
                hospital_id=body.hospital_id,
                referred_by=who.subject,
                guardian_refs=guardians,
                note=body.note or None,
            )
        )
        referred = events[0]
        assert isinstance(referred, CrisisReferred)
        answer: dict[str, Any] = jsonable_encoder(
            {
                "events": [e.name for e in events],
                "referral_id": referred.referral_id,
                "acknowledge_by": referred.acknowledge_by,
            }
        )
        return answer

    return await run(app, request, who, idempotency_key, act)


@router.get("/referrals/{referral_id}", summary="One referral with its note (logged)")
@guard(POLICY, Action.referral_read)
async def referral(referral_id: ReferralId, app: App, who: Caller) -> Any:
    referred = await _referral_for(app, who, Action.referral_read, referral_id)
    async with app.transactions.begin() as uow:
        found = await referral_queries.record(uow, referral_id)
        if found is None:
            raise not_found("referral_id", "referral")
        await access.log_reads(
            uow.conn, who, Action.referral_read.value, [referral_id], district=referred.district
        )
    return jsonable_encoder(found)


@router.post(
    "/referrals/{referral_id}/acknowledgement",
    summary="The receiving hospital acknowledges the referral",
)
@guard(POLICY, Action.referral_respond)
async def acknowledge(
    referral_id: ReferralId,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await _referral_for(app, who, Action.referral_respond, referral_id)
    hospital = _hospital_of(who)

    async def act() -> dict[str, Any]:
        events = await app.service.referrals.acknowledge(referral_id, hospital)
        return {
            "events": [e.name for e in events],
            "referral_id": referral_id,
            "within_deadline": getattr(events[0], "within_deadline", None),
        }

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/referrals/{referral_id}/resolution",
    summary="The receiving hospital resolves the referral",
)
@guard(POLICY, Action.referral_respond)
async def resolve(
    referral_id: ReferralId,
    body: ResolveBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await _referral_for(app, who, Action.referral_respond, referral_id)
    hospital = _hospital_of(who)

    async def act() -> dict[str, Any]:
        events = await app.service.referrals.resolve(referral_id, hospital, body.outcome)
        return {"events": [e.name for e in events], "referral_id": referral_id}

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/hospitals/{hospital_id}/referrals",
    summary="A hospital's queue: open referrals with their deadlines (logged)",
)
@guard(POLICY, Action.referral_read)
async def hospital_queue(hospital_id: HospitalId, app: App, who: Caller) -> Any:
    require(POLICY, who, Action.referral_read, Scope(who.district, who.school, who.class_id))
    if who.role is not Role.hospital or _hospital_of(who) != hospital_id:
        raise ProblemError(
            403,
            "Forbidden",
            "a hospital's queue is for that hospital only",
            rule="hospital_queue_own",
        )
    now: datetime = app.service.writer.clock()
    rows = await referral_queries.hospital_queue(app.pool, hospital_id, now)
    await access.log_reads(
        app.pool,
        who,
        Action.referral_read.value,
        [r["referral_id"] for r in rows],
        district=who.district or "",
    )
    return jsonable_encoder({"hospital_id": hospital_id, "as_of": now, "referrals": rows})


@router.get(
    "/districts/{district}/referral-sla",
    summary="The district's compliance with the 1-hour channel (counts, no student)",
)
@guard(POLICY, Action.referral_sla_read)
async def referral_sla(district: DistrictId, app: App, who: Caller) -> Any:
    require(POLICY, who, Action.referral_sla_read, Scope(district))
    now: datetime = app.service.writer.clock()
    figures = await referral_queries.district_sla(app.pool, district, now)
    return jsonable_encoder({**figures, "ack_seconds": app.settings.referral_ack_seconds})
