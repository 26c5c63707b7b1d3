"""Roster imports: the CSV files a school information system exports, idempotent on re-import."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tongxin_platform.api import RuntimeDep
from tongxin_platform.auth import Principal
from tongxin_platform.http import Caller, ProblemError, require
from tongxin_platform.policy import Scope
from tongxin_registry.application.policy import POLICY, Action
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.application.service import RegistryService
from tongxin_registry.entrypoints.deps import Key, Registry, run

router = APIRouter(tags=["imports"])
MAX_UPLOAD = 64 * 1024 * 1024


async def csv_text(request: Request) -> tuple[str, bytes]:
    """The file's text, from a raw body or a multipart ``file`` part; and the raw body."""
    raw = body = await request.body()
    if len(body) > MAX_UPLOAD:
        raise ProblemError(413, "File too large", f"file: at most {MAX_UPLOAD} bytes")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str):
            raise ProblemError(422, "Invalid request", "file: a CSV file part is required")
        body = await upload.read()
    try:
        return body.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        raise ProblemError(
            422,
            "Invalid file",
            f"file: not UTF-8 ({exc.reason} at byte {exc.start}); save the CSV as UTF-8",
        ) from exc


async def run_import(
    request: Request,
    who: Principal,
    runtime: RuntimeDep,
    registry: RegistryService,
    kind: str,
    key: str | None,
) -> JSONResponse:
    text, raw = await csv_text(request)

    def check(schools: set[tuple[str, str]]) -> None:
        for district, school in sorted(schools):
            require(POLICY, who, Action.roster_import, Scope(district, school))

    async def act() -> dict[str, Any]:
        do = registry.import_students if kind == "students" else registry.import_staff
        try:
            result = await do(text, check_scope=check)
        except ImportRejectedError as exc:
            raise ProblemError(
                422,
                "Invalid roster file",
                str(exc),
                errors=[
                    {"row": e.row, "field": e.field, "message": e.message}
                    for e in exc.errors[:1000]
                ],
            ) from exc
        return {"rows": result.rows, "events": result.events, "by_type": result.by_type}

    return await run(runtime, request, who, key, act, body=raw)


@router.post("/imports/students", summary="Import a student roster CSV (idempotent)")
async def import_students(
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> JSONResponse:
    return await run_import(request, who, runtime, registry, "students", idempotency_key)


@router.post("/imports/staff", summary="Import a staff CSV (idempotent)")
async def import_staff(
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> JSONResponse:
    return await run_import(request, who, runtime, registry, "staff", idempotency_key)
