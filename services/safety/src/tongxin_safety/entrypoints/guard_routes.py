"""Routes of guard posts (校家警护学岗) and of the school's vice-principals from outside: posts
and shifts scheduled with police, staff and parent volunteers, each completed or missed; the
completion rate per school and district; the legal and fire vice-principals, law-education
hours against the target, the school's fire-safety contacts (消防安全明白人).

School leaders act in their school, the police in their district (a district token). A post or a
shift outside the caller's scope is answered like a missing one (404)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tongxin_contracts.events.safety import (
    AppointeeOrg,
    Guard,
    GuardKind,
    MissedReason,
    PostPlace,
    ShiftPeriod,
    VicePost,
)
from tongxin_platform.auth import Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import (
    IDENT,
    Day,
    DistrictId,
    Key,
    Ref,
    SchoolId,
    SchoolYear,
    SchoolYearQuery,
    day_range,
)
from tongxin_platform.http import Caller, locate, not_found
from tongxin_platform.policy import Scope
from tongxin_safety.application import guard_queries
from tongxin_safety.application.policy import POLICY, Action
from tongxin_safety.domain.calendar import china_date, school_year_of
from tongxin_safety.domain.guard import MAX_GUARDS, Completion, combined, term_start
from tongxin_safety.domain.guard import Post as GuardPost
from tongxin_safety.domain.vice_principals import SchoolVicePrincipals, district_totals
from tongxin_safety.entrypoints.deps import App, district_view, run, school_scope_for

router = service_router(tags=["guard posts and vice-principals"])

MAX_RANGE = timedelta(days=400)  # a school year and a little: figures over one range at most

PostId = Annotated[str, Path(pattern=IDENT, description="A guard post's id.")]
ShiftId = Annotated[str, Path(pattern=IDENT, description="A guard shift's id.")]
StaffRef = Annotated[str, Path(pattern=IDENT, description="A staff member's pseudonym.")]
From = Annotated[
    Day | None,
    Query(alias="from", description="First day (default: the first day of the term of `to`)."),
]
To = Annotated[Day | None, Query(alias="to", description="Last day (default: today).")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostBody(_Body):
    place: PostPlace = Field(description="Where the post stands.")
    police_station: Ref | None = Field(
        default=None, description="Id of the police station (派出所) that staffs it."
    )
    established_on: Day = Field(description="The day it was set up (China time).")


class GuardBody(_Body):
    kind: GuardKind = Field(description="Police, staff or a parent volunteer.")
    ref: Ref = Field(
        description="Pseudonym: a staff_ref of the school, a guardian_ref of one of its pupils, "
        "or the police officer's pseudonym."
    )


class ShiftBody(_Body):
    on: Day = Field(description="The day (China time).")
    period: ShiftPeriod = Field(description="Morning, noon or afternoon.")
    guards: list[GuardBody] = Field(max_length=MAX_GUARDS, description="Who is to stand.")


class CompletionBody(_Body):
    guards_present: list[GuardKind] = Field(
        max_length=len(GuardKind), description="The kinds of guard who stood."
    )


class MissBody(_Body):
    reason: MissedReason = Field(description="Why the shift was not stood.")


class VicePrincipalBody(_Body):
    post: VicePost = Field(description="Legal (法治副校长) or fire (消防副校长).")
    appointee_ref: Ref = Field(description="Pseudonym of the appointee.")
    from_org: AppointeeOrg = Field(description="Where the appointee comes from.")
    appointed_on: Day = Field(description="The day (China time).")
    term_until: Day | None = Field(default=None, description="End of the term, if set.")


class LessonBody(_Body):
    school_year: SchoolYear
    given_on: Day = Field(description="The day (China time).")
    hours: float = Field(gt=0, le=8, description="Class hours given.")


class ContactBody(_Body):
    staff_ref: Ref = Field(description="A staff member of the school.")


def _today(app: App) -> date:
    return china_date(app.service.writer.clock())


def _range(app: App, first: date | None, last: date | None) -> tuple[date, date]:
    return day_range(first, last, today=_today(app), start=term_start, longest=MAX_RANGE)


async def _post_for(app: App, who: Caller, action: Action, post_id: str) -> GuardPost:
    async def find() -> GuardPost:
        found = await app.service.guard.post(post_id)
        if found is None:
            raise not_found("post_id", "guard post")
        return found

    return await locate(
        POLICY,
        who,
        action,
        find,
        lambda p: Scope(p.district, p.school_id),
        not_found("post_id", "guard post"),
    )


async def _shift_in_scope(app: App, who: Caller, action: Action, shift_id: str) -> None:
    async def find() -> Scope:
        found = await app.service.guard.shift(shift_id)
        if found is None:
            raise not_found("shift_id", "guard shift")
        return Scope(found.district, found.school_id)

    await locate(POLICY, who, action, find, lambda s: s, not_found("shift_id", "guard shift"))


# --- guard posts and shifts ----------------------------------------------------------------


@router.post("/schools/{school_id}/guard-posts", summary="Establish a guard post of the school")
@guard(POLICY, Action.guard_manage)
async def establish_post(
    school_id: SchoolId,
    body: PostBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.guard_manage, school_id)

    async def act() -> dict[str, Any]:
        post_id = app.service.guard.new_id()
        events = await app.service.guard.establish(
            district=where.district or "",
            school_id=school_id,
            post_id=post_id,
            place=body.place,
            police_station=body.police_station,
            established_on=body.established_on,
        )
        return {"post_id": post_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.get("/schools/{school_id}/guard-posts", summary="The school's guard posts")
@guard(POLICY, Action.guard_read)
async def school_posts(school_id: SchoolId, app: App, who: Caller) -> dict[str, Any]:
    await school_scope_for(app, who, Action.guard_read, school_id)
    return {"school_id": school_id, "posts": await guard_queries.posts(app.pool, school_id)}


@router.post(
    "/guard-posts/{post_id}/shifts",
    summary="Schedule a shift at a post: one per day and period, with its guards",
)
@guard(POLICY, Action.guard_manage)
async def schedule_shift(
    post_id: PostId,
    body: ShiftBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    post = await _post_for(app, who, Action.guard_manage, post_id)

    async def act() -> dict[str, Any]:
        shift_id, events = await app.service.guard.schedule(
            post=post,
            on=body.on,
            period=body.period,
            guards=tuple(Guard(kind=g.kind, ref=g.ref) for g in body.guards),
        )
        return {"shift_id": shift_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/guard-shifts/{shift_id}/completion",
    summary="Record a shift as stood, naming the kinds of guard present",
)
@guard(POLICY, Action.guard_record)
async def complete_shift(
    shift_id: ShiftId,
    body: CompletionBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await _shift_in_scope(app, who, Action.guard_record, shift_id)

    async def act() -> dict[str, Any]:
        events = await app.service.guard.complete(shift_id, tuple(body.guards_present), who.subject)
        return {"shift_id": shift_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post("/guard-shifts/{shift_id}/miss", summary="Record a shift as missed, with the reason")
@guard(POLICY, Action.guard_record)
async def miss_shift(
    shift_id: ShiftId,
    body: MissBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await _shift_in_scope(app, who, Action.guard_record, shift_id)

    async def act() -> dict[str, Any]:
        events = await app.service.guard.miss(shift_id, body.reason, who.subject)
        return {"shift_id": shift_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


def _figures(posts: int, c: Completion) -> dict[str, Any]:
    return {"posts": posts, **asdict(c)}


@router.get(
    "/schools/{school_id}/guard-shifts",
    summary="The school's shifts over a range of days, and its completion rate",
)
@guard(POLICY, Action.guard_read)
async def school_shifts(
    school_id: SchoolId,
    app: App,
    who: Caller,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    where = await school_scope_for(app, who, Action.guard_read, school_id)
    start, end = _range(app, first, last)
    today = _today(app)
    target = app.settings.guard_completion_target
    found = await guard_queries.completions(
        app.pool, where.district or "", start, end, today, target, school_id
    )
    posts, rate = found[school_id]
    return {
        "school_id": school_id,
        "from": start,
        "to": end,
        "as_of": today,
        "completion": _figures(posts, rate),
        "shifts": await guard_queries.shifts(app.pool, school_id, start, end, today),
    }


@router.get(
    "/districts/{district}/guard-figures",
    summary="Guard shifts completed, missed and unrecorded, and the rate per school and district",
)
@guard(POLICY, Action.guard_figures)
async def district_guard_figures(
    district: DistrictId,
    app: App,
    who: Caller,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    own = district_view(who, Action.guard_figures, district)
    start, end = _range(app, first, last)
    today = _today(app)
    target = app.settings.guard_completion_target
    found = await guard_queries.completions(app.pool, district, start, end, today, target, own)
    total = combined((c for _, c in found.values()), target)
    return {
        "district": district,
        "from": start,
        "to": end,
        "as_of": today,
        "target": target,
        "totals": {
            "schools": len(found),
            **_figures(sum(p for p, _ in found.values()), total),
        },
        "schools": [{"school_id": s, **_figures(p, c)} for s, (p, c) in found.items()],
        "schools_below_target": [s for s, (_, c) in found.items() if c.target_met is False],
        "schools_without_posts": [s for s, (p, _) in found.items() if p == 0],
    }


# --- vice-principals from outside, law lessons, fire-safety contacts -------------------------


@router.post(
    "/schools/{school_id}/vice-principals",
    summary="Appoint the legal or fire vice-principal (replacing the one before)",
)
@guard(POLICY, Action.vp_manage)
async def appoint_vice_principal(
    school_id: SchoolId,
    body: VicePrincipalBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.vp_manage, school_id)

    async def act() -> dict[str, Any]:
        events = await app.service.vice_principals.appoint(
            district=where.district or "",
            school_id=school_id,
            post=body.post,
            appointee_ref=body.appointee_ref,
            from_org=body.from_org,
            appointed_on=body.appointed_on,
            term_until=body.term_until,
        )
        return {"events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/schools/{school_id}/law-lessons",
    summary="Record law education given by the school's legal vice-principal",
)
@guard(POLICY, Action.lesson_record)
async def record_law_lesson(
    school_id: SchoolId,
    body: LessonBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.lesson_record, school_id)

    async def act() -> dict[str, Any]:
        lesson_id = app.service.vice_principals.new_id()
        events = await app.service.vice_principals.record_lesson(
            district=where.district or "",
            school_id=school_id,
            lesson_id=lesson_id,
            school_year=body.school_year,
            given_on=body.given_on,
            hours=body.hours,
            recorder_ref=who.subject,
            recorder_is_legal_vp=who.role is Role.legal_vp,
        )
        return {"lesson_id": lesson_id, "events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/schools/{school_id}/fire-safety-contacts",
    summary="Name a staff member one of the school's fire-safety contacts (消防安全明白人)",
)
@guard(POLICY, Action.vp_manage)
async def name_fire_contact(
    school_id: SchoolId,
    body: ContactBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.vp_manage, school_id)

    async def act() -> dict[str, Any]:
        events = await app.service.vice_principals.name_contact(
            district=where.district or "", school_id=school_id, staff_ref=body.staff_ref
        )
        return {"events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/schools/{school_id}/fire-safety-contacts/{staff_ref}/withdrawal",
    summary="Withdraw a fire-safety contact",
)
@guard(POLICY, Action.vp_manage)
async def withdraw_fire_contact(
    school_id: SchoolId,
    staff_ref: StaffRef,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await school_scope_for(app, who, Action.vp_manage, school_id)

    async def act() -> dict[str, Any]:
        events = await app.service.vice_principals.withdraw_contact(
            district=where.district or "", school_id=school_id, staff_ref=staff_ref
        )
        return {"events": [e.name for e in events]}

    return await run(app, request, who, idempotency_key, act)


def _year(app: App, school_year: str | None) -> str:
    return school_year or school_year_of(_today(app))


def _as_of(app: App, school_year: str) -> date:
    """Who was in office: today, or for a school year already over, on its last day."""
    return min(_today(app), date(int(school_year[5:]), 8, 31))


@router.get(
    "/schools/{school_id}/vice-principals",
    summary="The school's vice-principals, law hours against the target, fire-safety contacts",
)
@guard(POLICY, Action.vp_read)
async def school_vice_principals(
    school_id: SchoolId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> dict[str, Any]:
    where = await school_scope_for(app, who, Action.vp_read, school_id)
    year = _year(app, school_year)
    found = await guard_queries.vice_principals(
        app.pool,
        where.district or "",
        year,
        _as_of(app, year),
        app.settings.law_hours_target,
        school_id,
    )
    return asdict(found[0])


def _vp_row(s: SchoolVicePrincipals) -> dict[str, Any]:
    """A school's figures for the district and the city: no pseudonym of anyone."""
    return {
        "school_id": s.school_id,
        "legal_vp_in_office": s.legal is not None and s.legal.in_office,
        "legal_vp_from": s.legal.from_org if s.legal is not None else None,
        "fire_vp_in_office": s.fire is not None and s.fire.in_office,
        "law_hours": s.law_hours,
        "law_hours_met": s.law_hours_met,
        "fire_safety_contacts": len(s.fire_safety_contacts),
        "gaps": s.gaps,
    }


@router.get(
    "/districts/{district}/vice-principal-figures",
    summary="Per school: vice-principals in office, law hours against the target, contacts",
)
@guard(POLICY, Action.vp_figures)
async def district_vice_principals(
    district: DistrictId, app: App, who: Caller, school_year: SchoolYearQuery = None
) -> dict[str, Any]:
    own = district_view(who, Action.vp_figures, district)
    year = _year(app, school_year)
    target = app.settings.law_hours_target
    as_of = _as_of(app, year)
    rows = await guard_queries.vice_principals(app.pool, district, year, as_of, target, own)
    return {
        "district": district,
        "school_year": year,
        "law_hours_target": target,
        "totals": asdict(district_totals(rows)),
        "schools": [_vp_row(s) for s in rows],
    }
