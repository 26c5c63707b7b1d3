"""A student's record: leave, categorise, transfer, erase; read it and its history."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import Query, Request

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import student_stream
from tongxin_platform import access
from tongxin_platform.api import RuntimeDep
from tongxin_platform.auth import Principal
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.edge import guard, service_router
from tongxin_platform.http import Caller, require
from tongxin_platform.policy import Scope
from tongxin_registry.application.policy import POLICY, Action
from tongxin_registry.entrypoints.bodies import (
    CategoriseBody,
    EraseBody,
    LeaveBody,
    StudentRef,
    TransferBody,
)
from tongxin_registry.entrypoints.deps import Key, Registry, class_scope, run, student_scope_for

router = service_router(tags=["students"])
Personal = Annotated[bool, Query(description="Open names and contacts (restricted, logged).")]


@router.post("/students/{student_ref}/leave", summary="Record that a student left")
@guard(POLICY, Action.roster_change)
async def leave(
    student_ref: StudentRef,
    body: LeaveBody,
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(runtime.pool, who, Action.roster_change, student_ref)

    async def act() -> dict[str, Any]:
        return {"events": await registry.record_left(student_ref, body.reason)}

    return await run(runtime, request, who, idempotency_key, act)


@router.post("/students/{student_ref}/categories", summary="Set a student's special groups")
@guard(POLICY, Action.roster_change)
async def categorise(
    student_ref: StudentRef,
    body: CategoriseBody,
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(runtime.pool, who, Action.roster_change, student_ref)

    async def act() -> dict[str, Any]:
        return {"events": await registry.categorise(student_ref, set(body.groups))}

    return await run(runtime, request, who, idempotency_key, act)


@router.post("/students/{student_ref}/transfer", summary="Move a student to another class")
@guard(POLICY, Action.roster_transfer)
async def transfer(
    student_ref: StudentRef,
    body: TransferBody,
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(runtime.pool, who, Action.roster_transfer, student_ref)
    require(POLICY, who, Action.roster_transfer, await class_scope(runtime.pool, body.class_id))

    async def act() -> dict[str, Any]:
        return {"events": await registry.transfer(student_ref, body.class_id)}

    return await run(runtime, request, who, idempotency_key, act)


@router.post(
    "/subjects/{student_ref}/erase",
    summary="Erase a student's personal data (crypto-shredding; operators only)",
)
@guard(POLICY, Action.subject_erase)
async def erase(
    student_ref: StudentRef,
    body: EraseBody,
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> Any:
    await student_scope_for(runtime.pool, who, Action.subject_erase, student_ref)

    async def act() -> dict[str, Any]:
        return {"events": await registry.erase(student_ref, body.reason, who.role.value)}

    return await run(runtime, request, who, idempotency_key, act)


async def present(
    runtime: RuntimeDep, rows: list[Any], who: Principal, include_personal: bool, where: Scope
) -> list[dict[str, Any]]:
    """Rows of ``roster.students`` as answers; names and contacts opened (and the reading
    logged, in the same transaction) only when asked and allowed."""
    if include_personal:
        require(POLICY, who, Action.roster_read_personal, where)
    out = []
    async with runtime.transactions.begin() as uow:
        for r in rows:
            d = {k: v for k, v in dict(r).items() if k != "personal"}
            if d["age_band_on"] is not None:
                d["age_band_on"] = d["age_band_on"].isoformat()
            d["groups"] = await open_groups(uow, r["groups"], r["in_special_group"])
            if include_personal:
                d["personal"] = None
                if r["personal"] is not None:
                    with contextlib.suppress(SubjectErasedError):  # erased: stays None
                        d["personal"] = await uow.keys.open(Sealed.model_validate(r["personal"]))
            out.append(d)
        if include_personal:
            await access.log_reads(
                uow.conn,
                who,
                Action.roster_read_personal.value,
                [d["student_ref"] for d in out],
                district=where.district or "",
            )
    return out


async def open_groups(uow: Any, sealed: Any, in_special_group: bool) -> list[str] | None:
    """The special groups, opened (they are stored sealed, as they travel); ``None`` when they
    cannot be known (erased, or recorded before they were sealed)."""
    if sealed is None:
        return None if in_special_group else []
    with contextlib.suppress(SubjectErasedError):
        return list((await uow.keys.open(Sealed.model_validate(sealed)))["groups"])
    return None


@router.get("/students/{student_ref}", summary="One student's roster record")
async def student(
    student_ref: StudentRef, who: Caller, runtime: RuntimeDep, include_personal: Personal = False
) -> dict[str, Any]:
    where, row = await student_scope_for(runtime.pool, who, Action.roster_read, student_ref)
    return (await present(runtime, [row], who, include_personal, where))[0]


@router.get("/students/{student_ref}/history", summary="A student's events (audit)")
async def student_history(
    student_ref: StudentRef, who: Caller, runtime: RuntimeDep, registry: Registry
) -> list[dict[str, Any]]:
    await student_scope_for(runtime.pool, who, Action.roster_history, student_ref)
    return await registry.history(student_stream(student_ref))
