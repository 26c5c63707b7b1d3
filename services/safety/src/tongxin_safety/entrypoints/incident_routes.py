"""Incident routes: the school records incidents and files the mandatory report (强制报告, MPL
art. 11) to the police, civil affairs and education; an unreported incident is escalated by the
worker's deadline (no route); the district sees the reports' figures without a child. Referrals
to the special education guidance committee (专门教育指导委员会) and its decision.

An incident or a referral outside the caller's scope is answered exactly like a missing one
(404); a role that may never is a 403 naming the rule. Every read of an incident or of the
committee's referrals is in the access log. A head teacher records and reports incidents of
their own school (their class does not narrow an incident, which may involve any child of the
school).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.safety import (
    CommitteeMember,
    Department,
    GuidanceCommitteeReferral,
    GuidanceDecision,
    IncidentCategory,
    IncidentReported,
    Misbehaviour,
    guidance_stream,
)
from tongxin_platform import access
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, Day, DistrictId, Key, Moment, Ref, SchoolId, day_range
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope
from tongxin_safety.application import incident_queries, queries
from tongxin_safety.application.incidents import Incident
from tongxin_safety.application.policy import POLICY, Action
from tongxin_safety.domain import guidance
from tongxin_safety.domain.calendar import CHINA, china_date
from tongxin_safety.domain.incidents import IncidentState
from tongxin_safety.entrypoints.deps import App, StudentRef, district_view, run, student_scope_for

router = service_router(tags=["incidents"])

IncidentId = Annotated[str, Path(pattern=IDENT, description="An incident's id.")]
ReferralId = Annotated[str, Path(pattern=IDENT, description="A guidance referral's id.")]


class IncidentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: IncidentCategory = Field(
        description="What happened (MANDATORY ones need the report)."
    )
    student_refs: list[Ref] = Field(
        default_factory=list, max_length=50, description="Children of the school involved."
    )
    occurred_at: Moment = Field(description="When it happened (with its time zone).")
    account: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=4000, pattern=r"^[^\x00]*$")
        ]
        | None
    ) = Field(
        default=None,
        description="What happened: sealed with the first child's key (or the school's), "
        "shown only to those who may read the incident (logged).",
    )


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    departments: list[Department] = Field(
        min_length=1,
        max_length=len(Department),
        description="Departments reported to: at least police, civil_affairs and education.",
    )


class ReferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    misbehaviour: Misbehaviour = Field(description="The serious misbehaviour (严重不良行为).")
    incident_id: Ref | None = Field(default=None, description="The incident, if one.")


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: GuidanceDecision = Field(description="What the committee decided.")
    members_present: list[CommitteeMember] = Field(
        min_length=1,
        max_length=len(CommitteeMember),
        description="Who sat: education and police always; a psychologist too for a special "
        "school or correctional education.",
    )


def _at_school(who: Principal, district: str, school_id: str) -> Scope:
    """The school as scope for an incident: a head teacher's class does not narrow it."""
    return Scope(district, school_id, who.class_id)


async def _incident_for(
    app: App, who: Principal, action: Action, incident_id: str
) -> IncidentState:
    """The incident's state, for a caller who may ``action`` at its school; missing or another
    school's (district's) is the same 404; a role that may never is a 403 naming the rule."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    async with app.transactions.read() as uow:
        s = await incident_queries.state(uow, incident_id)
    r = s.reported
    if (
        r is None
        or not POLICY.authorize(who, action, _at_school(who, r.district, r.school_id)).allowed
    ):
        raise not_found("incident_id", "incident")
    return s


@router.post(
    "/schools/{school_id}/incidents",
    summary="Record an incident (a mandatory category starts the report's clock)",
)
@guard(POLICY, Action.incident_report)
async def report_incident(
    school_id: SchoolId,
    body: IncidentBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    require(POLICY, who, Action.incident_report, Scope(who.district, who.school, who.class_id))
    school = await queries.school(app.pool, school_id)
    if school is None:
        raise not_found("school_id", "school")
    require(POLICY, who, Action.incident_report, _at_school(who, school["district"], school_id))
    for ref in body.student_refs:
        student = await queries.student(app.pool, ref)
        if student is None or student["school_id"] != school_id or not student["enrolled"]:
            raise ProblemError(
                422,
                "Refused",
                "student_refs: each child named must be a student of the school",
                field="student_refs",
                rule="incident_children_of_school",
            )

    async def act() -> dict[str, Any]:
        events = await app.service.incidents.report(
            Incident(
                district=school["district"],
                school_id=school_id,
                category=body.category,
                student_refs=tuple(body.student_refs),
                occurred_at=body.occurred_at,
                recorded_by=who.subject,
                account=body.account or None,
            )
        )
        reported = events[0]
        assert isinstance(reported, IncidentReported)
        answer: dict[str, Any] = jsonable_encoder(
            {
                "events": [e.name for e in events],
                "incident_id": reported.incident_id,
                "mandatory_report_required": reported.mandatory_report_required,
                "report_due_at": reported.report_due_at,
            }
        )
        return answer

    return await run(app, request, who, idempotency_key, act)


@router.get("/incidents/{incident_id}", summary="One incident with its account (logged)")
@guard(POLICY, Action.incident_read)
async def incident(incident_id: IncidentId, app: App, who: Caller) -> Any:
    s = await _incident_for(app, who, Action.incident_read, incident_id)
    assert s.reported is not None
    async with app.transactions.begin() as uow:
        found = await incident_queries.record(uow, incident_id)
        if found is None:
            raise not_found("incident_id", "incident")
        await access.log_reads(
            uow.conn, who, Action.incident_read.value, [incident_id], district=s.reported.district
        )
    return jsonable_encoder(found)


@router.get(
    "/schools/{school_id}/incidents",
    summary="A school's incidents with their reports' state (logged; no account)",
)
@guard(POLICY, Action.incident_read)
async def school_incidents(school_id: SchoolId, app: App, who: Caller) -> Any:
    require(POLICY, who, Action.incident_read, Scope(who.district, who.school, who.class_id))
    school = await queries.school(app.pool, school_id)
    if school is None:
        raise not_found("school_id", "school")
    require(POLICY, who, Action.incident_read, Scope(school["district"], school_id))
    rows = await incident_queries.school_incidents(app.pool, school_id)
    await access.log_reads(
        app.pool,
        who,
        Action.incident_read.value,
        [r["incident_id"] for r in rows],
        district=school["district"],
    )
    return jsonable_encoder({"school_id": school_id, "incidents": rows})


@router.post(
    "/incidents/{incident_id}/mandatory-report",
    summary="File the mandatory report (police, civil affairs, education at least)",
)
@guard(POLICY, Action.report_file)
async def file_report(
    incident_id: IncidentId,
    body: ReportBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await _incident_for(app, who, Action.report_file, incident_id)

    async def act() -> dict[str, Any]:
        events = await app.service.incidents.file_report(
            incident_id, tuple(body.departments), who.subject
        )
        filed = events[0]
        return {
            "events": [e.name for e in events],
            "incident_id": incident_id,
            "delay_seconds": getattr(filed, "delay_seconds", None),
            "late": getattr(filed, "late", None),
        }

    return await run(app, request, who, idempotency_key, act)


def _school_year_start(today: date) -> date:
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


@router.get(
    "/districts/{district}/mandatory-report-figures",
    summary="Incidents and mandatory reports per school: counts, delays, late, escalated "
    "(no child)",
)
@guard(POLICY, Action.incident_figures)
async def report_figures(
    district: DistrictId,
    app: App,
    who: Caller,
    first: Annotated[
        Day | None,
        Query(alias="from", description="First day recorded (default: the school year's start)."),
    ] = None,
    last: Annotated[
        Day | None, Query(alias="to", description="Last day recorded (default: today).")
    ] = None,
) -> Any:
    own = district_view(who, Action.incident_figures, district)
    now: datetime = app.service.writer.clock()
    first, last = day_range(first, last, today=china_date(now), start=_school_year_start)
    if own is not None:
        schools = [own]
    else:
        schools = [s["school_id"] for s in await queries.district_schools(app.pool, district)]
    figures = await incident_queries.district_figures(
        app.pool, district, schools, first, last, now, only_school=own
    )
    return jsonable_encoder(
        {
            "district": district,
            "from": first,
            "to": last,
            "as_of": now.astimezone(CHINA),
            "report_limit_seconds": app.settings.report_limit_seconds,
            **figures,
        }
    )


@router.post(
    "/students/{student_ref}/guidance-referrals",
    summary="Refer a minor with serious misbehaviour to the special education guidance committee",
)
@guard(POLICY, Action.guidance_refer)
async def refer(
    student_ref: StudentRef,
    body: ReferBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await student_scope_for(app, who, Action.guidance_refer, student_ref)
    district, school_id = where.district or "", where.school or ""
    if body.incident_id is not None:
        async with app.transactions.read() as uow:
            r = (await incident_queries.state(uow, body.incident_id)).reported
        if r is None or r.district != district or student_ref not in r.student_refs:
            raise ProblemError(
                422,
                "Refused",
                "incident_id: the incident must be one of the district's naming this child",
                field="incident_id",
                rule="referral_incident_names_child",
            )

    async def act() -> dict[str, Any]:
        events = await app.service.incidents.refer(
            district, school_id, student_ref, body.misbehaviour, who.subject, body.incident_id
        )
        referred = events[0]
        assert isinstance(referred, GuidanceCommitteeReferral)
        return {"events": [e.name for e in events], "referral_id": referred.referral_id}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/guidance-referrals/{referral_id}/decision",
    summary="The guidance committee records its decision, once, with who sat",
)
@guard(POLICY, Action.guidance_decide)
async def decide(
    referral_id: ReferralId,
    body: DecisionBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    require(POLICY, who, Action.guidance_decide, Scope(who.district))
    history = await app.service.writer.history(guidance_stream(referral_id))
    referred = guidance.fold(history).referred
    if (
        referred is None
        or not POLICY.authorize(who, Action.guidance_decide, Scope(referred.district)).allowed
    ):
        raise not_found("referral_id", "referral")
    district = referred.district

    async def act() -> dict[str, Any]:
        events = await app.service.incidents.decide(
            referral_id, district, body.decision, tuple(body.members_present)
        )
        return {"events": [e.name for e in events], "referral_id": referral_id}

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/districts/{district}/guidance-referrals",
    summary="The guidance committee's referrals of the district, undecided first (logged)",
)
@guard(POLICY, Action.guidance_read)
async def referrals(district: DistrictId, app: App, who: Caller) -> Any:
    own = district_view(who, Action.guidance_read, district)
    rows = await incident_queries.district_referrals(app.pool, district, own)
    await access.log_reads(
        app.pool,
        who,
        Action.guidance_read.value,
        [r["referral_id"] for r in rows],
        district=district,
    )
    return jsonable_encoder({"district": district, "referrals": rows})
