"""The registry's HTTP API (port 8001): imports, commands, roster queries, erasure — on the
platform's API base (health, readiness, metrics, AsyncAPI, access log, problem+json, auth).

Every route but ``/health`` and ``/ready`` needs a bearer token; the registry's ``POLICY``
decides each call. Built by ``create_app(settings)``; served by ``tongxin-registry serve`` or
``uvicorn --factory tongxin_registry.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import FastAPI

from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_registry.bootstrap import SERVICE
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints import import_routes, roster_routes, student_routes

ROUTERS = (import_routes.router, student_routes.router, roster_routes.router)


def create_app(
    settings: RegistrySettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(RegistrySettings())
