"""HTTP edge shared by services: problem+json errors (RFC 9457).

Server spans come from FastAPI's own OpenTelemetry support (it extracts an incoming
``traceparent``), so the span current when a command appends events is part of the caller's trace.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tongxin_platform.eventstore import ConcurrencyError

PROBLEM = "application/problem+json"


class ProblemError(Exception):
    """A refusal the client can act on; becomes a problem+json response."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:tongxin:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = errors[0]["field"] if errors else "request"
        return problem(
            422,
            "Invalid request",
            f"{first}: {errors[0]['message']}" if errors else "invalid request",
            errors=errors,
        )

    async def on_conflict(_: Request, exc: Exception) -> Response:
        return problem(409, "Concurrent change", str(exc))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem(exc.status_code, "HTTP error", str(exc.detail))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ConcurrencyError, on_conflict)
    app.add_exception_handler(StarletteHTTPException, on_http)
