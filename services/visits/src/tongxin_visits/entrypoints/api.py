"""The visits HTTP API (port 8003): record visits, confirm them, keep the follow-up ledger,
read coverage, submit and download monthly reports, set the district's rules — on the
platform's API base (health, readiness, metrics, AsyncAPI, access log, problem+json, auth).

Every route but ``/health``, ``/ready`` and the family's confirmation needs a bearer token whose
subject is the caller's ``staff_ref`` (for school staff); the service's ``POLICY`` decides each
call. The family confirms with the one-time code sent to them: the code is their credential.
Built by ``create_app(settings)``; served by ``tongxin-visits serve`` or
``uvicorn --factory tongxin_visits.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import FastAPI

from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_visits.bootstrap import SERVICE
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints import (
    ledger_routes,
    record_routes,
    report_routes,
    request_routes,
    visit_routes,
)

ROUTERS = (
    visit_routes.router,
    ledger_routes.router,
    report_routes.router,
    record_routes.router,
    request_routes.router,
)


def create_app(
    settings: VisitsSettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(VisitsSettings())
