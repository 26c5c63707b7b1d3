"""Care file routes (一人一档) and the ledger (台账): a child's file with its four paired carers,
the risk level and its rhythm of contacts, the parents' notice and contacts (left-behind
children), concerns, the closing; the school's ledger, the district's figures and a carer's own
list.

Who sees a file (``file_scope_for``): the school's leaders, the child's head teacher, the paired
school carer; a community, civil-affairs or women's-federation carer only the files paired to
their organisation (the token's ``org``) — any other child is answered like a missing one
(404). Every read of a file (and of the ledger's and a carer's rows) is in the access log.
``as_of`` (a day, China time) asks what was overdue on that day; it defaults to today.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CarerKind,
    ConcernOutcome,
    ContactMode,
    DeclineReason,
    EntrustedRelation,
    FileClosedReason,
    RiskLevel,
)
from tongxin_platform import access
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, Day, DistrictId, Key, SchoolId
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope
from tongxin_safety.application import file_queries, queries
from tongxin_safety.application.policy import LEADERS, POLICY, Action
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.errors import UnknownRecordError
from tongxin_safety.domain.files import Actor, Child
from tongxin_safety.entrypoints.deps import (
    CARER_KIND,
    App,
    StudentRef,
    carer_org,
    district_view,
    file_scope_for,
    run,
    school_scope_for,
    student_scope_for,
)

router = service_router(tags=["care files"])

PairingId = Annotated[str, Path(pattern=IDENT, description="From CarerPaired.")]
ConcernId = Annotated[str, Path(pattern=IDENT, description="From CareConcernRaised.")]
AsOf = Annotated[Day | None, Query(description="The day (China time) to judge overdue on.")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenBody(_Body):
    care_groups: list[CareGroup] = Field(
        default_factory=list, max_length=4, description="The child's care groups, if known."
    )


class PairBody(_Body):
    kind: CarerKind = Field(description="Which of the four kinds of carer.")
    carer_ref: str = Field(pattern=IDENT, description="The carer (a staff_ref for the school).")
    org: str | None = Field(
        default=None,
        pattern=IDENT,
        description="The carer's organisation (village or community, civil affairs office, "
        "women's federation branch); the school's own id for the school kind.",
    )


class Empty(_Body):
    pass


class DeclineBody(_Body):
    reason: DeclineReason = Field(description="Why the carer declines.")


class RiskBody(_Body):
    level: RiskLevel = Field(description="Low, medium or high.")
    reason: Text | None = Field(
        default=None, description="Why (sealed with the child's key); required for a change."
    )


class ContactBody(_Body):
    pairing_id: str = Field(pattern=IDENT, description="The carer's pairing.")
    contact_on: date = Field(description="The day of the contact (China time).")
    mode: ContactMode = Field(description="How.")
    note: Text | None = Field(default=None, description="Sealed with the child's key.")


class NoticeBody(_Body):
    relation: EntrustedRelation = Field(description="Who the parents entrusted the child to.")
    notice_on: date = Field(description="The day of the parents' written notice (China time).")
    entrusted_name: Short = Field(description="The entrusted carer's name (sealed).")
    entrusted_contact: Short = Field(description="The entrusted carer's contact (sealed).")


class ParentContactBody(_Body):
    contact_on: date = Field(description="The day the parents were in contact (China time).")
    mode: ContactMode = Field(description="How.")


class ConcernBody(_Body):
    detail: Text | None = Field(default=None, description="Sealed with the child's key.")


class AssessBody(_Body):
    outcome: ConcernOutcome = Field(description="What the school decided.")
    note: Text | None = Field(default=None, description="Sealed with the child's key.")


class CloseBody(_Body):
    reason: FileClosedReason = Field(description="Why the file is closed.")


def _today(app: App, as_of: date | None = None) -> date:
    return as_of or china_date(app.service.writer.clock())


def _actor(who: Principal) -> Actor:
    return Actor(who.subject, CARER_KIND.get(who.role), who.org, who.role in LEADERS)


def _events(events: list[Any], **ids: Any) -> dict[str, Any]:
    answer: dict[str, Any] = jsonable_encoder({"events": [e.name for e in events], **ids})
    return answer


@router.post("/students/{student_ref}/care-file", summary="Open a child's care file by hand")
@guard(POLICY, Action.file_open)
async def open_file(
    student_ref: StudentRef,
    body: OpenBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    where = await student_scope_for(app, who, Action.file_open, student_ref)
    roster = await queries.student(app.pool, student_ref)
    if roster is None or not roster["enrolled"]:
        raise ProblemError(
            422,
            "Refused",
            "student_ref: the child is no longer enrolled",
            field="student_ref",
            rule="enrolled",
        )
    child = Child(student_ref, where.district or "", where.school or "", where.class_id)

    async def act() -> dict[str, Any]:
        events = await app.service.files.open_by_hand(child, body.care_groups, who.subject)
        return _events(events, student_ref=student_ref)

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/students/{student_ref}/care-file",
    summary="A child's care file: carers, risk, contacts due, notice, concerns (logged)",
)
@guard(POLICY, Action.file_read)
async def read_file(student_ref: StudentRef, app: App, who: Caller, as_of: AsOf = None) -> Any:
    where = await file_scope_for(app, who, Action.file_read, student_ref)
    rhythm = file_queries.rhythm_of(app.settings)
    async with app.transactions.begin() as uow:
        found = await file_queries.record(uow, student_ref, rhythm, _today(app, as_of))
        if found is None:
            raise not_found("student_ref", "care file")
        await access.log_reads(
            uow.conn, who, Action.file_read.value, [student_ref], district=where.district or ""
        )
    return jsonable_encoder(found)


@router.post(
    "/students/{student_ref}/care-file/pairings",
    summary="Ask a carer of one of the four kinds to pair with the child (结对)",
)
@guard(POLICY, Action.carer_pair)
async def pair(
    student_ref: StudentRef,
    body: PairBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.carer_pair, student_ref)

    async def act() -> dict[str, Any]:
        pairing_id, events = await app.service.files.pair(
            student_ref, body.kind, body.carer_ref, body.org or "", who.subject
        )
        return _events(events, pairing_id=pairing_id)

    return await run(app, request, who, idempotency_key, act)


async def _respond(
    student_ref: str,
    pairing_id: str,
    accept: bool,
    reason: DeclineReason | None,
    request: Request,
    app: App,
    who: Principal,
    key: str | None,
) -> Any:
    await file_scope_for(app, who, Action.carer_respond, student_ref)
    actor = _actor(who)

    async def act() -> dict[str, Any]:
        events = await app.service.files.respond(student_ref, pairing_id, actor, accept, reason)
        return _events(events, pairing_id=pairing_id)

    return await run(app, request, who, key, act)


@router.post(
    "/students/{student_ref}/care-file/pairings/{pairing_id}/acceptance",
    summary="The paired carer accepts (the kind then counts)",
)
@guard(POLICY, Action.carer_respond)
async def accept(
    student_ref: StudentRef,
    pairing_id: PairingId,
    request: Request,
    app: App,
    who: Caller,
    body: Empty | None = None,
    idempotency_key: Key = None,
) -> Any:
    return await _respond(student_ref, pairing_id, True, None, request, app, who, idempotency_key)


@router.post(
    "/students/{student_ref}/care-file/pairings/{pairing_id}/decline",
    summary="The paired carer declines, with a reason (the kind is missing again)",
)
@guard(POLICY, Action.carer_respond)
async def decline(
    student_ref: StudentRef,
    pairing_id: PairingId,
    body: DeclineBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    return await _respond(
        student_ref, pairing_id, False, body.reason, request, app, who, idempotency_key
    )


@router.post(
    "/students/{student_ref}/care-file/pairings/{pairing_id}/release",
    summary="End a pairing (the kind is missing again)",
)
@guard(POLICY, Action.carer_pair)
async def release(
    student_ref: StudentRef,
    pairing_id: PairingId,
    request: Request,
    app: App,
    who: Caller,
    body: Empty | None = None,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.carer_pair, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.files.release(student_ref, pairing_id)
        return _events(events, pairing_id=pairing_id)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/risk",
    summary="Set, change (with a reason) or confirm at the review the child's risk level",
)
@guard(POLICY, Action.risk_set)
async def set_risk(
    student_ref: StudentRef,
    body: RiskBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.risk_set, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.files.set_risk(student_ref, body.level, body.reason, who.subject)
        return _events(events)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/contacts",
    summary="A paired carer's contact with the child (or a leader's record of it)",
)
@guard(POLICY, Action.contact_log)
async def log_contact(
    student_ref: StudentRef,
    body: ContactBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.contact_log, student_ref)
    actor = _actor(who)

    async def act() -> dict[str, Any]:
        events = await app.service.files.log_contact(
            student_ref, body.pairing_id, actor, body.contact_on, body.mode, body.note
        )
        return _events(events, pairing_id=body.pairing_id)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/notice",
    summary="The parents' written notice of who cares for a left-behind child (委托照护告知)",
)
@guard(POLICY, Action.notice_record)
async def record_notice(
    student_ref: StudentRef,
    body: NoticeBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.notice_record, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.files.record_notice(
            student_ref, body.relation, body.notice_on, body.entrusted_name, body.entrusted_contact
        )
        return _events(events)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/parent-contacts",
    summary="The parents' latest contact with a left-behind child (at least weekly)",
)
@guard(POLICY, Action.notice_record)
async def record_parent_contact(
    student_ref: StudentRef,
    body: ParentContactBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.notice_record, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.files.record_parent_contact(
            student_ref, body.contact_on, body.mode
        )
        return _events(events)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/concerns",
    summary="Raise a safety concern on the child's file, for the school to assess",
)
@guard(POLICY, Action.concern_raise)
async def raise_concern(
    student_ref: StudentRef,
    body: ConcernBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.concern_raise, student_ref)

    async def act() -> dict[str, Any]:
        concern_id, events = await app.service.files.raise_by_person(
            student_ref, who.subject, body.detail
        )
        return _events(events, concern_id=concern_id)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/concerns/{concern_id}/assessment",
    summary="A leader assesses a concern with an outcome",
)
@guard(POLICY, Action.concern_assess)
async def assess_concern(
    student_ref: StudentRef,
    concern_id: ConcernId,
    body: AssessBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.concern_assess, student_ref)

    async def act() -> dict[str, Any]:
        events = await app.service.files.assess_concern(
            student_ref, concern_id, body.outcome, who.subject, body.note
        )
        return _events(events, concern_id=concern_id)

    return await run(app, request, who, idempotency_key, act)


@router.post(
    "/students/{student_ref}/care-file/closure",
    summary="Close the child's file with the reason (its carers released)",
)
@guard(POLICY, Action.file_close)
async def close_file(
    student_ref: StudentRef,
    body: CloseBody,
    request: Request,
    app: App,
    who: Caller,
    idempotency_key: Key = None,
) -> Any:
    await file_scope_for(app, who, Action.file_close, student_ref)

    async def act() -> dict[str, Any]:
        today = china_date(app.service.writer.clock())
        events = await app.service.files.close(student_ref, body.reason, today)
        if not events:  # the reactions' quiet no-op is a refusal for a person
            raise UnknownRecordError(
                "the child has no open care file", field="student_ref", rule="care_file_open"
            )
        return _events(events)

    return await run(app, request, who, idempotency_key, act)


@router.get(
    "/schools/{school_id}/care-ledger",
    summary="The school's ledger (台账): one row per open file, what each lacks (logged)",
)
@guard(POLICY, Action.ledger_read)
async def care_ledger(school_id: SchoolId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    where = await school_scope_for(app, who, Action.ledger_read, school_id)
    day = _today(app, as_of)
    rows = await file_queries.school_ledger(
        app.pool, school_id, file_queries.rhythm_of(app.settings), day
    )
    await access.log_reads(
        app.pool,
        who,
        Action.ledger_read.value,
        [r["student_ref"] for r in rows],
        district=where.district or "",
    )
    return jsonable_encoder({"school_id": school_id, "as_of": day, "files": rows})


@router.get(
    "/districts/{district}/care-figures",
    summary="The district's care file figures per school (counts, no child)",
)
@guard(POLICY, Action.ledger_figures)
async def care_figures(district: DistrictId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    if (own := district_view(who, Action.ledger_figures, district)) is not None:
        schools = [own]
    else:
        schools = [s["school_id"] for s in await queries.district_schools(app.pool, district)]
    day = _today(app, as_of)
    figures = await file_queries.district_figures(
        app.pool, district, schools, file_queries.rhythm_of(app.settings), day
    )
    if who.school is not None:
        figures["schools"] = [s for s in figures["schools"] if s["school_id"] == who.school]
        figures["totals"] = {k: v for k, v in figures["schools"][0].items() if k != "school_id"}
    return jsonable_encoder({"district": district, "as_of": day, **figures})


@router.get(
    "/carers/me/files",
    summary="The caller's own paired files and the contacts due (logged)",
)
@guard(POLICY, Action.carer_files)
async def my_files(app: App, who: Caller, as_of: AsOf = None) -> Any:
    require(POLICY, who, Action.carer_files, Scope(who.district, who.school, who.class_id))
    kind = CARER_KIND.get(who.role)
    org = carer_org(who) if kind is not None else None
    day = _today(app, as_of)
    rows = await file_queries.carer_files(
        app.pool,
        who.subject,
        kind or CarerKind.school,
        org if kind is not None else who.school,
        file_queries.rhythm_of(app.settings),
        day,
    )
    if who.district is not None:
        rows = [r for r in rows if r["district"] == who.district]
    await access.log_reads(
        app.pool,
        who,
        Action.carer_files.value,
        [r["student_ref"] for r in rows],
        district=who.district or "",
    )
    return jsonable_encoder({"carer_ref": who.subject, "as_of": day, "files": rows})
