"""The registry's HTTP API (port 8001): imports, commands and roster queries.

Built by ``create_app(settings)``; served by ``tongxin-registry serve`` or
``uvicorn --factory tongxin_registry.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tongxin_contracts import Sealed
from tongxin_contracts.events.registry import LeaveReason, SpecialGroup
from tongxin_platform import idempotency
from tongxin_platform.crypto import KeyStore, SubjectErasedError
from tongxin_platform.http import ProblemError, install_problem_handlers, problem
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.application.service import student_stream
from tongxin_registry.bootstrap import Registry, bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.domain.model import RegistryError, StudentNotEnrolledError, UnknownClassError

MAX_UPLOAD = 64 * 1024 * 1024


class LeaveBody(BaseModel):
    reason: LeaveReason = Field(description="Why the student left.")


class CategoriseBody(BaseModel):
    groups: list[SpecialGroup] = Field(description="The full set of special groups (may be empty).")


class TransferBody(BaseModel):
    class_id: str = Field(
        min_length=1, max_length=64, description="The class the student moves to."
    )


def create_app(settings: RegistrySettings) -> FastAPI:
    state: dict[str, Registry] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["registry"] = await bootstrap(settings)
        try:
            yield
        finally:
            await state["registry"].close()

    app = FastAPI(
        title="Tongxin registry",
        version="0.1.0",
        lifespan=lifespan,
        description="Schools, classes, students (as pseudonyms), staff, special groups.",
    )
    install_problem_handlers(app)
    keys = KeyStore()

    def reg() -> Registry:
        return state["registry"]

    async def csv_text(request: Request) -> str:
        body = await request.body()
        if len(body) > MAX_UPLOAD:
            raise ProblemError(413, "File too large", f"at most {MAX_UPLOAD} bytes")
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ProblemError(422, "Invalid request", "file: a CSV file part is required")
            body = await upload.read()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProblemError(
                422,
                "Invalid file",
                f"file: not UTF-8 ({exc.reason} at byte {exc.start}); save the CSV as UTF-8",
            ) from exc

    def rejected(exc: ImportRejectedError) -> JSONResponse:
        return problem(
            422,
            "Invalid roster file",
            str(exc),
            errors=[
                {"row": e.row, "field": e.field, "message": e.message} for e in exc.errors[:1000]
            ],
        )

    async def run_import(request: Request, kind: str, key: str | None) -> JSONResponse:
        text = await csv_text(request)
        fp = idempotency.fingerprint("POST", request.url.path, text.encode())

        async def go() -> tuple[int, dict[str, Any]]:
            svc = reg().service
            do = svc.import_students if kind == "students" else svc.import_staff
            result = await do(text, correlation_id=key or "")
            return 200, {"rows": result.rows, "events": result.events, "by_type": result.by_type}

        try:
            status, body = await idempotency.once(reg().pool, key, fp, go)
        except ImportRejectedError as exc:
            return rejected(exc)
        return JSONResponse(body, status_code=status)

    @app.post("/imports/students", summary="Import a student roster CSV (idempotent)")
    async def import_students(
        request: Request, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        return await run_import(request, "students", idempotency_key)

    @app.post("/imports/staff", summary="Import a staff CSV (idempotent)")
    async def import_staff(
        request: Request, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        return await run_import(request, "staff", idempotency_key)

    async def command(request: Request, key: str | None, run: Any) -> JSONResponse:
        fp = idempotency.fingerprint("POST", request.url.path, await request.body())

        async def go() -> tuple[int, dict[str, Any]]:
            try:
                return 200, {"events": await run()}
            except (StudentNotEnrolledError, UnknownClassError) as exc:
                raise ProblemError(404, "Not found", str(exc)) from exc
            except RegistryError as exc:
                raise ProblemError(422, "Refused", str(exc)) from exc

        status, body = await idempotency.once(reg().pool, key, fp, go)
        return JSONResponse(body, status_code=status)

    @app.post("/students/{student_ref}/leave", summary="Record that a student left")
    async def leave(
        student_ref: str,
        body: LeaveBody,
        request: Request,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        return await command(
            request, idempotency_key, lambda: reg().service.record_left(student_ref, body.reason)
        )

    @app.post("/students/{student_ref}/categories", summary="Set a student's special groups")
    async def categorise(
        student_ref: str,
        body: CategoriseBody,
        request: Request,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        return await command(
            request,
            idempotency_key,
            lambda: reg().service.categorise(student_ref, set(body.groups)),
        )

    @app.post("/students/{student_ref}/transfer", summary="Move a student to another class")
    async def transfer(
        student_ref: str,
        body: TransferBody,
        request: Request,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        return await command(
            request, idempotency_key, lambda: reg().service.transfer(student_ref, body.class_id)
        )

    @app.get("/schools", summary="Schools of the roster")
    async def schools() -> list[dict[str, Any]]:
        rows = await reg().pool.fetch("SELECT * FROM roster.schools ORDER BY school_id")
        return [dict(r) for r in rows]

    @app.get("/schools/{school_id}/classes", summary="Classes of a school")
    async def classes(school_id: str) -> list[dict[str, Any]]:
        rows = await reg().pool.fetch(
            "SELECT c.*, (SELECT count(*) FROM roster.students s WHERE s.class_id = c.class_id"
            " AND s.status = 'enrolled') AS enrolled FROM roster.classes c WHERE school_id = $1"
            " ORDER BY grade, class_id",
            school_id,
        )
        return [dict(r) for r in rows]

    async def open_personal(personal: Any) -> dict[str, Any] | None:
        if personal is None:
            return None
        try:
            return await keys.open(reg().pool, Sealed.model_validate(personal))
        except SubjectErasedError:
            return None

    def student_json(r: Any) -> dict[str, Any]:
        d = dict(r)
        d.pop("personal", None)
        d["birth_date"] = d["birth_date"].isoformat()
        return d

    @app.get("/classes/{class_id}/students", summary="Students of a class")
    async def class_students(
        class_id: str,
        include_personal: Annotated[bool, Query(description="Open names and contacts")] = False,
    ) -> list[dict[str, Any]]:
        rows = await reg().pool.fetch(
            "SELECT * FROM roster.students WHERE class_id = $1 AND status = 'enrolled'"
            " ORDER BY student_ref",
            class_id,
        )
        out = []
        for r in rows:
            d = student_json(r)
            if include_personal:
                d["personal"] = await open_personal(r["personal"])
            out.append(d)
        return out

    @app.get("/students/{student_ref}", summary="One student's roster record")
    async def student(
        student_ref: str,
        include_personal: Annotated[bool, Query(description="Open names and contacts")] = False,
    ) -> dict[str, Any]:
        r = await reg().pool.fetchrow(
            "SELECT * FROM roster.students WHERE student_ref = $1", student_ref
        )
        if r is None:
            raise ProblemError(404, "Not found", f"student_ref: no student {student_ref}")
        d = student_json(r)
        if include_personal:
            d["personal"] = await open_personal(r["personal"])
        return d

    @app.get("/students/{student_ref}/history", summary="A student's events (audit)")
    async def student_history(student_ref: str) -> list[dict[str, Any]]:
        return await reg().service.history(student_stream(student_ref))

    @app.get("/health", summary="Liveness and database reachability")
    async def health() -> dict[str, str]:
        await reg().pool.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    return create_app(RegistrySettings())
