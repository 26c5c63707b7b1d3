"""What every registry route shares: the service from the app's state, where a student or a class
lives (for the policy), and running a command once per ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from tongxin_platform import idempotency
from tongxin_platform.api import RuntimeDep
from tongxin_platform.auth import Principal
from tongxin_platform.http import ProblemError, locate, not_found
from tongxin_platform.policy import Scope
from tongxin_registry.application.policy import POLICY, Action
from tongxin_registry.application.service import RegistryService

Key = Annotated[str | None, Header(description="Repeat a command safely: same key, same answer.")]


async def registry_of(request: Request) -> RegistryService:  # async: no thread pool hop
    service: RegistryService = request.app.state.service
    return service


Registry = Annotated[RegistryService, Depends(registry_of)]


NO_STUDENT = not_found("student_ref", "student")


async def student_scope(pool: asyncpg.Pool, ref: str) -> tuple[Scope, Any]:
    row = await pool.fetchrow("SELECT * FROM roster.students WHERE student_ref = $1", ref)
    if row is None:
        raise NO_STUDENT
    return Scope(row["district"], row["school_id"], row["class_id"]), row


async def student_scope_for(
    pool: asyncpg.Pool, who: Principal, action: Action, ref: str
) -> tuple[Scope, Any]:
    """Where a student is (and their row), for a caller who may ``action`` there; a student
    outside the caller's scope is answered exactly like a missing one (``locate``), so that
    nobody learns who is enrolled elsewhere."""
    return await locate(
        POLICY, who, action, lambda: student_scope(pool, ref), lambda found: found[0], NO_STUDENT
    )


async def class_scope(pool: asyncpg.Pool, class_id: str) -> Scope:
    row = await pool.fetchrow(
        "SELECT district, school_id FROM roster.classes WHERE class_id = $1", class_id
    )
    if row is None:
        raise ProblemError(404, "Not found", f"class_id: no class {class_id}")
    return Scope(row["district"], row["school_id"], class_id)


async def run(
    runtime: RuntimeDep,
    request: Request,
    who: Principal,
    key: str | None,
    act: Callable[[], Awaitable[dict[str, Any]]],
    *,
    body: bytes | None = None,
    digest: str | None = None,
) -> JSONResponse:
    return await idempotency.command(
        runtime.transactions,
        request,
        who,
        key,
        act,
        body=body,
        metrics=request.app.state.metrics,
        digest=digest,
    )
