"""A dependency away is a 503 problem+json with Retry-After naming it; any other failure a 500
problem+json without a stack trace — never Starlette's plain-text "Internal Server Error"."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tongxin_platform.outages import dependency_of, install_outage_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_outage_handlers(app)

    @app.get("/refused")
    async def refused() -> None:
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    @app.get("/gone")
    async def gone() -> None:
        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")

    @app.get("/slow")
    async def slow() -> None:
        raise TimeoutError

    @app.get("/bug")
    async def bug() -> None:
        raise KeyError("secret internals")

    return app


def test_a_database_away_is_a_503_problem_with_retry_after() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    for path in ("/refused", "/gone", "/slow"):
        r = client.get(path)
        assert r.status_code == 503, path
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["dependency"] in {"database", "dependency"}


def test_any_other_failure_is_a_500_problem_without_a_stack_trace() -> None:
    r = TestClient(_app(), raise_server_exceptions=False).get("/bug")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text
    # Outside every other middleware, still the headers of every answer.
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_the_dependency_is_named_from_the_exception_and_its_causes() -> None:
    assert dependency_of(asyncpg.exceptions.AdminShutdownError("terminating")) == "database"
    assert dependency_of(asyncpg.InterfaceError("connection is closed")) == "database"
    assert dependency_of(asyncpg.InterfaceError("another operation is in progress")) is None
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionRefusedError(111, "refused")
    assert dependency_of(wrapped) == "dependency"
    assert dependency_of(ValueError("no")) is None
