"""A student's record: leave, categorise, transfer, erase; read it and its history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import student_stream
from tongxin_platform import access
from tongxin_platform.api import RuntimeDep
from tongxin_platform.auth import Principal
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
    """Rows of ``roster.students`` as answers: the special groups opened (they are stored
    sealed, as they travel; ``None`` when they cannot be known: erased, or recorded before they
    were sealed), names and contacts opened (and the reading logged, in the same transaction)
    only when asked and allowed. Every key is fetched in one round trip."""
    if include_personal:
        require(POLICY, who, Action.roster_read_personal, where)
    groups = [_sealed(r["groups"]) for r in rows]
    personal = [_sealed(r["personal"]) if include_personal else None for r in rows]
    out = []
    async with runtime.transactions.begin() as uow:
        wanted = [x for x in groups + personal if x is not None]
        opened = iter(await uow.keys.open_many(wanted) if wanted else [])
        opened_groups = [next(opened) if g is not None else None for g in groups]
        opened_personal = [next(opened) if p is not None else None for p in personal]
        for r, g, p in zip(rows, opened_groups, opened_personal, strict=True):
            d = {k: v for k, v in dict(r).items() if k != "personal"}
            if d["age_band_on"] is not None:
                d["age_band_on"] = d["age_band_on"].isoformat()
            if r["groups"] is None:
                d["groups"] = None if r["in_special_group"] else []
            else:
                d["groups"] = list(g["groups"]) if g is not None else None
            if include_personal:
                d["personal"] = p  # erased: None
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


def _sealed(value: Any) -> Sealed | None:
    return None if value is None else Sealed.model_validate(value)


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
