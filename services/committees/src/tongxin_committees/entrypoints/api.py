"""The committees HTTP API (port 8002) on the platform's API base (health, readiness, metrics,
AsyncAPI, access log, problem+json, auth, security headers, notifications).

Every route but ``/health`` and ``/ready`` needs a bearer token: school staff by ``staff_ref``
and school scope; committee members (role ``committee_member``) by their ``guardian_ref`` as
``sub``, seeing only their own committees; the district bureau by district. The service's
``POLICY`` decides each call, and every read of parents' feedback text is in the access log.
Built by ``create_app(settings)``; served by ``tongxin-committees serve`` or
``uvicorn --factory tongxin_committees.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from tongxin_committees.bootstrap import SERVICE
from tongxin_committees.config import CommitteesSettings
from tongxin_committees.entrypoints import (
    committee_routes,
    feedback_routes,
    meeting_routes,
    parent_school_routes,
)
from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing

ROUTERS: tuple[APIRouter, ...] = (
    committee_routes.router,
    feedback_routes.router,
    meeting_routes.router,
    parent_school_routes.router,
)


def create_app(
    settings: CommitteesSettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(CommitteesSettings())
