"""The registry's HTTP API (port 8001): imports, commands, roster queries, erasure, access log.

Every route but ``/health`` needs a bearer token; ``tongxin_platform.policy`` decides each call.
Built by ``create_app(settings)``; served by ``tongxin-registry serve`` or
``uvicorn --factory tongxin_registry.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse

from tongxin_contracts import Sealed
from tongxin_platform import access, idempotency
from tongxin_platform.auth import Principal, TokenVerifier, public_key_from_env
from tongxin_platform.crypto import KeyStore, SubjectErasedError
from tongxin_platform.http import (
    Caller,
    ProblemError,
    install_auth,
    install_problem_handlers,
    problem,
    require,
)
from tongxin_platform.policy import Action, Scope
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.application.service import student_stream
from tongxin_registry.bootstrap import Registry, bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.domain.model import RegistryError, StudentNotEnrolledError, UnknownClassError
from tongxin_registry.entrypoints.bodies import (
    CategoriseBody,
    ClassId,
    EraseBody,
    LeaveBody,
    SchoolId,
    StudentRef,
    Text,
    TransferBody,
)

MAX_UPLOAD = 64 * 1024 * 1024
Key = Annotated[str | None, Header(description="Repeat a command safely: same key, same answer.")]
Personal = Annotated[bool, Query(description="Open names and contacts (restricted, logged).")]


def create_app(settings: RegistrySettings, verifier: TokenVerifier | None = None) -> FastAPI:
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
        version="0.2.0",
        lifespan=lifespan,
        description="Schools, classes, students (as pseudonyms), staff, special groups.",
    )
    install_problem_handlers(app)
    keys = KeyStore()
    install_auth(app, verifier or TokenVerifier(public_key_from_env()))

    def reg() -> Registry:
        return state["registry"]

    async def student_scope(ref: str) -> tuple[Scope, Any]:
        row = await reg().pool.fetchrow("SELECT * FROM roster.students WHERE student_ref = $1", ref)
        if row is None:
            raise ProblemError(404, "Not found", f"student_ref: no student {ref}")
        return Scope(row["district"], row["school_id"], row["class_id"]), row

    async def class_scope(class_id: str) -> Scope:
        row = await reg().pool.fetchrow(
            "SELECT district, school_id FROM roster.classes WHERE class_id = $1", class_id
        )
        if row is None:
            raise ProblemError(404, "Not found", f"class_id: no class {class_id}")
        return Scope(row["district"], row["school_id"], class_id)

    # --- imports ------------------------------------------------------------------------

    async def csv_text(request: Request) -> str:
        body = await request.body()
        if len(body) > MAX_UPLOAD:
            raise ProblemError(413, "File too large", f"file: at most {MAX_UPLOAD} bytes")
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            upload = (await request.form()).get("file")
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

    async def run_import(request: Request, who: Principal, kind: str, key: str | None) -> Any:
        text = await csv_text(request)
        fp = idempotency.fingerprint("POST", f"{request.url.path}:{who.subject}", text.encode())

        def check(schools: set[tuple[str, str]]) -> None:
            for district, school in sorted(schools):
                require(who, Action.roster_import, Scope(district, school))

        async def go() -> tuple[int, dict[str, Any]]:
            svc = reg().service
            do = svc.import_students if kind == "students" else svc.import_staff
            result = await do(text, correlation_id=key or "", check_scope=check)
            return 200, {"rows": result.rows, "events": result.events, "by_type": result.by_type}

        try:
            status, body = await idempotency.once(reg().pool, key, fp, go)
        except ImportRejectedError as exc:
            return problem(
                422,
                "Invalid roster file",
                str(exc),
                errors=[
                    {"row": e.row, "field": e.field, "message": e.message}
                    for e in exc.errors[:1000]
                ],
            )
        return JSONResponse(body, status_code=status)

    @app.post("/imports/students", summary="Import a student roster CSV (idempotent)")
    async def import_students(
        request: Request, who: Caller, idempotency_key: Key = None
    ) -> JSONResponse:
        return await run_import(request, who, "students", idempotency_key)  # type: ignore[no-any-return]

    @app.post("/imports/staff", summary="Import a staff CSV (idempotent)")
    async def import_staff(
        request: Request, who: Caller, idempotency_key: Key = None
    ) -> JSONResponse:
        return await run_import(request, who, "staff", idempotency_key)  # type: ignore[no-any-return]

    # --- commands -----------------------------------------------------------------------

    async def command(
        request: Request, who: Principal, key: str | None, run: Callable[[], Awaitable[list[str]]]
    ) -> JSONResponse:
        async def go() -> tuple[int, dict[str, Any]]:
            try:
                return 200, {"events": await run()}
            except (StudentNotEnrolledError, UnknownClassError) as exc:
                raise ProblemError(404, "Not found", str(exc)) from exc
            except RegistryError as exc:
                raise ProblemError(422, "Refused", str(exc)) from exc

        return await idempotency.command(reg().pool, request, who.subject, key, go)

    @app.post("/students/{student_ref}/leave", summary="Record that a student left")
    async def leave(
        student_ref: StudentRef,
        body: LeaveBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        require(who, Action.roster_change, (await student_scope(student_ref))[0])
        return await command(
            request,
            who,
            idempotency_key,
            lambda: reg().service.record_left(student_ref, body.reason),
        )

    @app.post("/students/{student_ref}/categories", summary="Set a student's special groups")
    async def categorise(
        student_ref: StudentRef,
        body: CategoriseBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        require(who, Action.roster_change, (await student_scope(student_ref))[0])
        return await command(
            request,
            who,
            idempotency_key,
            lambda: reg().service.categorise(student_ref, set(body.groups)),
        )

    @app.post("/students/{student_ref}/transfer", summary="Move a student to another class")
    async def transfer(
        student_ref: StudentRef,
        body: TransferBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        require(who, Action.roster_transfer, (await student_scope(student_ref))[0])
        require(who, Action.roster_transfer, await class_scope(body.class_id))
        return await command(
            request,
            who,
            idempotency_key,
            lambda: reg().service.transfer(student_ref, body.class_id),
        )

    @app.post(
        "/subjects/{student_ref}/erase",
        summary="Erase a student's personal data (crypto-shredding; operators only)",
    )
    async def erase(
        student_ref: StudentRef,
        body: EraseBody,
        request: Request,
        who: Caller,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        require(who, Action.subject_erase, (await student_scope(student_ref))[0])
        return await command(
            request,
            who,
            idempotency_key,
            lambda: reg().service.erase(student_ref, body.reason, who.role.value),
        )

    # --- queries ------------------------------------------------------------------------

    @app.get("/schools", summary="Schools in the caller's scope")
    async def schools(who: Caller) -> list[dict[str, Any]]:
        require(who, Action.roster_read, Scope(who.district, who.school, who.class_id))
        rows = await reg().pool.fetch(
            "SELECT * FROM roster.schools WHERE ($1::text IS NULL OR district = $1)"
            " AND ($2::text IS NULL OR school_id = $2) ORDER BY school_id",
            who.district,
            who.school,
        )
        return [dict(r) for r in rows]

    @app.get("/schools/{school_id}/classes", summary="Classes of a school")
    async def classes(school_id: SchoolId, who: Caller) -> list[dict[str, Any]]:
        district = await reg().pool.fetchval(
            "SELECT district FROM roster.schools WHERE school_id = $1", school_id
        )
        if district is None:
            raise ProblemError(404, "Not found", f"school_id: no school {school_id}")
        require(who, Action.roster_read, Scope(district, school_id))
        rows = await reg().pool.fetch(
            "SELECT c.*, (SELECT count(*) FROM roster.students s WHERE s.class_id = c.class_id"
            " AND s.status = 'enrolled') AS enrolled FROM roster.classes c WHERE school_id = $1"
            " ORDER BY grade, class_id",
            school_id,
        )
        return [dict(r) for r in rows]

    async def present(
        rows: list[Any], who: Principal, include_personal: bool, where: Scope
    ) -> list[dict[str, Any]]:
        if include_personal:
            require(who, Action.roster_read_personal, where)
        out = []
        async with reg().pool.acquire() as conn, conn.transaction():
            for r in rows:
                d = {k: v for k, v in dict(r).items() if k != "personal"}
                d["birth_date"] = d["birth_date"].isoformat()
                if include_personal:
                    d["personal"] = None
                    if r["personal"] is not None:
                        with contextlib.suppress(SubjectErasedError):  # erased: stays None
                            d["personal"] = await keys.open(
                                conn, Sealed.model_validate(r["personal"])
                            )
                out.append(d)
            if include_personal:
                await access.log_reads(
                    conn,
                    who,
                    Action.roster_read_personal.value,
                    [d["student_ref"] for d in out],
                    district=where.district or "",
                )
        return out

    @app.get("/classes/{class_id}/students", summary="Students of a class")
    async def class_students(
        class_id: ClassId, who: Caller, include_personal: Personal = False
    ) -> list[dict[str, Any]]:
        where = await class_scope(class_id)
        require(who, Action.roster_read, where)
        rows = await reg().pool.fetch(
            "SELECT * FROM roster.students WHERE class_id = $1 AND status = 'enrolled'"
            " ORDER BY student_ref",
            class_id,
        )
        return await present(list(rows), who, include_personal, where)

    @app.get("/students/{student_ref}", summary="One student's roster record")
    async def student(
        student_ref: StudentRef, who: Caller, include_personal: Personal = False
    ) -> dict[str, Any]:
        where, row = await student_scope(student_ref)
        require(who, Action.roster_read, where)
        return (await present([row], who, include_personal, where))[0]

    @app.get("/students/{student_ref}/history", summary="A student's events (audit)")
    async def student_history(student_ref: StudentRef, who: Caller) -> list[dict[str, Any]]:
        require(who, Action.roster_history, (await student_scope(student_ref))[0])
        return await reg().service.history(student_stream(student_ref))

    @app.get("/access-log", summary="Reads of restricted records (auditors)")
    async def access_log(
        who: Caller,
        record: Annotated[Text | None, Query()] = None,
        actor: Annotated[Text | None, Query()] = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        require(who, Action.access_log_read, Scope(who.district, who.school, who.class_id))
        return await access.query(
            reg().pool, district=who.district, record=record, actor=actor, since=since, limit=limit
        )

    @app.get("/health", summary="Liveness and database reachability (no token needed)")
    async def health() -> dict[str, str]:
        await reg().pool.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    return create_app(RegistrySettings())
