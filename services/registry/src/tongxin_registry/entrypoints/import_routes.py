"""Roster imports: the CSV files a school information system exports, idempotent on re-import.

The edge has checked the token and the role (``roster.import``) before a byte of the file is
read. The file is then streamed: received chunk by chunk into a spooled temporary file (in
memory up to ``SPOOL_IN_MEMORY``, on disk beyond), hashed as it arrives for the idempotency
key's fingerprint, and read back line by line by the import, a batch at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import IO, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.formparsers import MultiPartException, MultiPartParser

from tongxin_platform.api import RuntimeDep
from tongxin_platform.auth import Principal
from tongxin_platform.edge import guard, service_router
from tongxin_platform.http import Caller, ProblemError, require
from tongxin_platform.idempotency import fingerprinter
from tongxin_platform.policy import Scope
from tongxin_registry.application.policy import POLICY, Action
from tongxin_registry.application.rows import ImportRejectedError, NotUTF8Error, text_lines
from tongxin_registry.application.service import RegistryService
from tongxin_registry.entrypoints.deps import Key, Registry, run

router = service_router(tags=["imports"])
MAX_STUDENT_FILE = 64 * 1024 * 1024  # a city's roster: ~250k students
MAX_STAFF_FILE = 8 * 1024 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
READ_CHUNK = 64 * 1024


@asynccontextmanager
async def received(request: Request) -> AsyncIterator[tuple[IO[bytes], str]]:
    """The CSV file (a raw body, or a multipart ``file`` part) as a binary file positioned at
    its start, and the request's fingerprint. The edge limits the body's size as it arrives."""
    h = fingerprinter(request.method, request.url.path)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        async for chunk in request.stream():
            h.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            yield spool, h.hexdigest()
            return

        async def replay() -> AsyncGenerator[bytes, None]:
            while chunk := spool.read(READ_CHUNK):
                yield chunk

        try:
            form = await MultiPartParser(request.headers, replay(), max_files=1).parse()
        except MultiPartException as exc:
            raise ProblemError(422, "Invalid request", f"file: {exc.message}") from exc
        try:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ProblemError(422, "Invalid request", "file: a CSV file part is required")
            upload.file.seek(0)
            yield upload.file, h.hexdigest()
        finally:
            await form.close()


def lines_of(file: IO[bytes]) -> Iterator[str]:
    file.seek(0)
    return text_lines(file)


async def run_import(
    request: Request,
    who: Principal,
    runtime: RuntimeDep,
    registry: RegistryService,
    kind: str,
    key: str | None,
) -> JSONResponse:
    def check(schools: set[tuple[str, str]]) -> None:
        for district, school in sorted(schools):
            require(POLICY, who, Action.roster_import, Scope(district, school))

    async with received(request) as (file, digest):

        async def act() -> dict[str, Any]:
            try:
                if kind == "students":
                    result = await registry.import_students_from(
                        lambda: lines_of(file), check_scope=check
                    )
                else:
                    text = "".join(lines_of(file))  # a staff file is small (MAX_STAFF_FILE)
                    result = await registry.import_staff(text, check_scope=check)
            except NotUTF8Error as exc:
                raise ProblemError(422, "Invalid file", f"file: {exc}") from exc
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

        return await run(runtime, request, who, key, act, digest=digest)


@router.post("/imports/students", summary="Import a student roster CSV (idempotent)")
@guard(POLICY, Action.roster_import, max_body=MAX_STUDENT_FILE)
async def import_students(
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> JSONResponse:
    return await run_import(request, who, runtime, registry, "students", idempotency_key)


@router.post("/imports/staff", summary="Import a staff CSV (idempotent)")
@guard(POLICY, Action.roster_import, max_body=MAX_STAFF_FILE)
async def import_staff(
    request: Request,
    who: Caller,
    runtime: RuntimeDep,
    registry: Registry,
    idempotency_key: Key = None,
) -> JSONResponse:
    return await run_import(request, who, runtime, registry, "staff", idempotency_key)
