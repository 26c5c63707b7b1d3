"""Routes of a visit's life: plan, schedule, complete, cancel, confirm (co-visitor or family)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder

from tongxin_contracts.events.visits import Visitor
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, Key
from tongxin_platform.http import Caller, ProblemError, require
from tongxin_platform.policy import Scope
from tongxin_visits.application import queries
from tongxin_visits.application.family import CodeNotAcceptedError
from tongxin_visits.application.policy import POLICY, Action
from tongxin_visits.application.visits import Completion, FindingNote
from tongxin_visits.domain.family_code import CodeSendRefusedError
from tongxin_visits.domain.model import VisitsError
from tongxin_visits.entrypoints.bodies import (
    CancelBody,
    CompleteBody,
    FamilyConfirmBody,
    PlanBody,
    ScheduleBody,
    SchoolId,
    VisitId,
)
from tongxin_visits.entrypoints.deps import (
    App,
    OptionalClass,
    named,
    run,
    school_scope,
    staff_of,
    visit_scope_for,
)

router = service_router(tags=["visits"])
NOT_ACCEPTED = (
    "code: the code was not accepted; check it, or ask the school to confirm the visit another way"
)


@router.post("/visits", summary="Plan a visit to a student's family")
@guard(POLICY, Action.visit_record)
async def plan(
    body: PlanBody, request: Request, who: Caller, app: App, idempotency_key: Key = None
) -> Any:
    student = await queries.student(app.pool, body.student_ref)
    if student is None or not student["enrolled"]:
        raise ProblemError(404, "Not found", f"student_ref: no enrolled student {body.student_ref}")
    require(
        POLICY,
        who,
        Action.visit_record,
        Scope(student["district"], student["school_id"], student["class_id"]),
    )
    await staff_of(app, student["school_id"], who.subject, "token")

    async def act() -> dict[str, Any]:
        visit_id = await app.service.visits.plan(
            district=student["district"],
            school_id=student["school_id"],
            class_id=student["class_id"],
            student_ref=body.student_ref,
            planned_by=who.subject,
            planned_for=body.planned_for,
        )
        return {"visit_id": visit_id, "events": ["VisitPlanned"]}

    return await run(app, request, who, idempotency_key, act)


@router.post("/visits/{visit_id}/schedule", summary="Record the appointment made with the family")
@guard(POLICY, Action.visit_record)
async def schedule(
    visit_id: VisitId,
    body: ScheduleBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    await visit_scope_for(app, who, Action.visit_record, visit_id)
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(
            app.service.visits.schedule(visit_id, body.appointment_at, body.mode, who.subject)
        ),
    )


@router.post("/visits/{visit_id}/complete", summary="Record a visit that took place")
@guard(POLICY, Action.visit_record)
async def complete(
    visit_id: VisitId,
    body: CompleteBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    where = await visit_scope_for(app, who, Action.visit_record, visit_id)
    assert where.school is not None
    assert where.district is not None
    for n, visitor in enumerate(body.visitors):
        member = await staff_of(app, where.school, visitor.staff_ref, f"visitors.{n}.staff_ref")
        if visitor.role.value not in member["roles"]:
            raise ProblemError(
                422,
                "Invalid request",
                f"visitors.{n}.role: {visitor.staff_ref} is not a {visitor.role.value} here",
            )
    for n, f in enumerate(body.findings):
        if f.owner_ref:
            await staff_of(app, where.school, f.owner_ref, f"findings.{n}.owner_ref")
    completion = Completion(
        visitors=tuple(Visitor(staff_ref=x.staff_ref, role=x.role) for x in body.visitors),
        mode=body.mode,
        started_at=body.started_at,
        duration_minutes=body.duration_minutes,
        goals=frozenset(body.goals_covered),
        findings=tuple(FindingNote(f.category, f.measure, f.owner_ref) for f in body.findings),
        suggestions=tuple((s.topic, s.text) for s in body.parent_suggestions),
        notes=body.notes,
        integrity_attested=body.integrity_attested,
    )
    rules = await app.service.reports.rules(where.district)

    async def act() -> dict[str, Any]:
        events = await app.service.visits.complete(visit_id, who.subject, completion, rules)
        cases = [getattr(e, "case_id", None) for e in events if e.name == "FollowUpOpened"]
        return {"events": [e.name for e in events], "case_ids": cases}

    return await run(app, request, who, idempotency_key, act)


@router.post("/visits/{visit_id}/cancel", summary="Cancel a planned or scheduled visit")
@guard(POLICY, Action.visit_record)
async def cancel(
    visit_id: VisitId,
    body: CancelBody,
    request: Request,
    who: Caller,
    app: App,
    idempotency_key: Key = None,
) -> Any:
    await visit_scope_for(app, who, Action.visit_record, visit_id)
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(app.service.visits.cancel(visit_id, body.reason, who.subject)),
    )


@router.post("/visits/{visit_id}/confirm", summary="Confirm, as a co-visitor, that it took place")
@guard(POLICY, Action.visit_confirm)
async def confirm(
    visit_id: VisitId, request: Request, who: Caller, app: App, idempotency_key: Key = None
) -> Any:
    await visit_scope_for(app, who, Action.visit_confirm, visit_id)
    return await run(
        app,
        request,
        who,
        idempotency_key,
        lambda: named(app.service.visits.confirm(visit_id, who.subject)),
    )


@router.post("/visits/{visit_id}/family-code", summary="Send the family a one-time code")
@guard(POLICY, Action.visit_record)
async def family_code(
    visit_id: VisitId, request: Request, who: Caller, app: App, idempotency_key: Key = None
) -> Any:
    await visit_scope_for(app, who, Action.visit_record, visit_id)
    state = await app.service.visits.state(visit_id)
    student = await queries.student(app.pool, state.student_ref)
    guardians = list(student["guardian_refs"]) if student else []

    async def act() -> dict[str, Any]:
        try:
            issued = await app.service.visits.issue_family_code(
                visit_id, guardians, who.subject, app.settings.family_code_rules()
            )
        except CodeSendRefusedError as exc:
            retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            raise ProblemError(
                exc.status,
                "Too many codes" if exc.status == 429 else "Conflict",
                f"{exc.field}: {exc}",
                headers=retry,
                field=exc.field,
                rule=exc.rule,
            ) from exc
        # The code itself is never in the answer: the teacher must not hold it.
        return {"sent_to_guardians": issued.recipients, "expires_at": issued.expires_at}

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/visits/{visit_id}/family-confirmation",
    summary="The family confirms the visit with its one-time code (no token: the code is the "
    "credential)",
)
@guard(max_body=4096)  # anonymous: a six-digit code needs a few bytes
async def family_confirmation(visit_id: VisitId, body: FamilyConfirmBody, app: App) -> Any:
    # Anonymous: one answer for an unknown visit and a wrong, expired, used or locked code, so
    # that nobody learns whether a visit exists or how its code fares. No 429 either: a limit
    # that only existing visits reach would tell them apart; the per-visit budget is the limit.
    try:
        events = await app.service.visits.confirm_by_family(
            visit_id, body.code, app.settings.family_code_rules()
        )
    except CodeNotAcceptedError as exc:
        raise ProblemError(422, "Code not accepted", NOT_ACCEPTED, rule="family_code") from exc
    except VisitsError as exc:  # only after the right code: the family may know why
        raise ProblemError(422, "Refused", str(exc)) from exc
    return {"events": [e.name for e in events]}


@router.get("/visits/{visit_id}", summary="One visit as the board shows it")
async def get_visit(visit_id: VisitId, who: Caller, app: App) -> Any:
    await visit_scope_for(app, who, Action.visit_read, visit_id)
    row = await queries.visit(app.pool, visit_id)
    if row is None:  # recorded, not yet projected
        raise ProblemError(404, "Not found", "visit_id: the visit is not on the board yet")
    # The school's answers to the visit's parent suggestions (committees): no text.
    answered = await queries.suggestions_answered(app.pool, visit_id)
    return jsonable_encoder({**row, "suggestions_answered": list(answered.values())})


@router.get("/schools/{school_id}/visits", summary="Visits of a school or one of its classes")
async def school_visits(
    school_id: SchoolId,
    who: Caller,
    app: App,
    class_id: OptionalClass = None,
    status: Annotated[
        str | None, Query(pattern="^(planned|scheduled|completed|cancelled)$")
    ] = None,
    confirmed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    class_id = class_id or who.class_id  # a head teacher: their class
    require(POLICY, who, Action.visit_read, await school_scope(app, school_id, class_id))
    rows = await queries.visits(
        app.pool,
        school_id=school_id,
        class_id=class_id,
        status=status,
        confirmed=confirmed,
        limit=limit,
    )
    return jsonable_encoder(rows)


@router.get("/schools/{school_id}/staff", summary="Staff of a school (pseudonyms and roles)")
async def staff(school_id: SchoolId, who: Caller, app: App) -> Any:
    require(POLICY, who, Action.visit_read, await school_scope(app, school_id))
    return await queries.school_staff(app.pool, school_id)


@router.get("/family-inbox", summary="Messages sent to families (development SMS stand-in)")
async def family_inbox(
    who: Caller, app: App, visit_id: Annotated[str, Query(pattern=IDENT)]
) -> Any:
    await visit_scope_for(app, who, Action.family_inbox_read, visit_id)
    rows = await app.pool.fetch(
        "SELECT guardian_ref, visit_id, message, sent_at FROM family_inbox"
        " WHERE visit_id = $1 ORDER BY id",
        visit_id,
    )
    return jsonable_encoder([dict(r) for r in rows])
