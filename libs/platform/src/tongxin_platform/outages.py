"""When a dependency is away: ``503`` problem+json with ``Retry-After`` naming it, never a hang
or a plain-text 500; and a last-resort ``500`` problem+json (no stack trace) for the rest.

``install_outage_handlers(app)`` is called by the kit's API base. "Away" is what a request can
do nothing about but try again later: PostgreSQL refusing or dropping connections, shutting
down or starting up, a bounded connect, statement or pool wait running out
(``tongxin_platform.db.DatabaseBounds``), a socket error under the database or broker client.
"""

from __future__ import annotations

import logging
from types import TracebackType

import asyncpg
from fastapi import FastAPI, Request
from starlette.responses import Response

from tongxin_platform.http import problem

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

# Raised by asyncpg when the server cannot be reached or talked to: refused, reset, shutting
# down, starting up, terminated by an administrator, too many connections.
_DATABASE_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_OWNERS = (("asyncpg", "database"), ("aiokafka", "kafka"), ("kafka", "kafka"))


def dependency_of(exc: BaseException) -> str | None:
    """Which dependency ``exc`` says is away (``database``, ``kafka``, ``dependency``), or
    None when it is a fault of the service itself."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _DATABASE_AWAY):
            return "database"
        if isinstance(current, asyncpg.InterfaceError) and "clos" in str(current):
            return "database"  # "connection is closed", "pool is closing"
        if isinstance(current, OSError | TimeoutError):
            return _owner(current.__traceback__) or "dependency"
        current = current.__cause__ or current.__context__
    return None


def _owner(tb: TracebackType | None) -> str | None:
    """The dependency whose client code the exception went through, deepest first."""
    modules: list[str] = []
    while tb is not None:
        modules.append(str(tb.tb_frame.f_globals.get("__name__", "")))
        tb = tb.tb_next
    for module in reversed(modules):
        for prefix, name in _OWNERS:
            if module == prefix or module.startswith(prefix + "."):
                return name
    return None


def unavailable(dependency: str) -> Response:
    response = problem(
        503,
        "Service unavailable",
        f"{dependency}: unreachable or not answering in time; try again later",
        dependency=dependency,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_outage_handlers(app: FastAPI) -> None:
    async def on_failure(request: Request, exc: Exception) -> Response:
        response = _answer(request, exc)
        # A 500 is answered by Starlette's outermost middleware, outside the kit's
        # SecurityHeaders: the same headers here.
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    def _answer(request: Request, exc: Exception) -> Response:
        dependency = dependency_of(exc)
        if dependency is None:
            log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
            return problem(500, "Internal error", "the service failed to answer; it was logged")
        log.warning(
            "%s %s: %s unavailable: %s: %s",
            request.method,
            request.url.path,
            dependency,
            type(exc).__name__,
            exc,
        )
        return unavailable(dependency)

    for kind in (*_DATABASE_AWAY, asyncpg.InterfaceError, OSError, TimeoutError):
        app.add_exception_handler(kind, on_failure)
    # Starlette's ServerErrorMiddleware answers anything else with this (then re-raises it
    # for the server's log): a problem, not "Internal Server Error" in plain text.
    app.add_exception_handler(Exception, on_failure)
