"""The visits HTTP API (port 8003): record visits, confirm them, keep the follow-up ledger,
read coverage, submit and download monthly reports, set the district's rules.

Every route but ``/health`` and the family's confirmation needs a bearer token whose subject is
the caller's ``staff_ref`` (for school staff); ``tongxin_platform.policy`` decides each call.
The family confirms with the one-time code sent to them: the code is their credential.
Built by ``create_app(settings)``; served by ``tongxin-visits serve`` or
``uvicorn --factory tongxin_visits.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tongxin_platform.auth import TokenVerifier, public_key_from_env
from tongxin_platform.http import install_auth, install_problem_handlers
from tongxin_visits.bootstrap import bootstrap
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints import ledger_routes, record_routes, report_routes, visit_routes
from tongxin_visits.entrypoints.deps import App


def create_app(settings: VisitsSettings, verifier: TokenVerifier | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.visits = await bootstrap(settings)
        try:
            yield
        finally:
            await app.state.visits.close()

    app = FastAPI(
        title="Tongxin visits",
        version="0.1.0",
        lifespan=lifespan,
        description="Home visits (家访): lifecycle, confirmation, follow-up ledger (台账), "
        "coverage rules and monthly statistics (统计表).",
    )
    install_problem_handlers(app)
    install_auth(app, verifier or TokenVerifier(public_key_from_env()))
    for routes in (visit_routes, ledger_routes, report_routes, record_routes):
        app.include_router(routes.router)

    @app.get("/health", summary="Liveness and database reachability (no token needed)")
    async def health(visits: App) -> dict[str, str]:
        await visits.pool.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


def create_app_from_env() -> FastAPI:
    return create_app(VisitsSettings())
