"""The wellbeing HTTP API (port 8004) on the platform's API base (health, readiness, metrics,
AsyncAPI, access log, problem+json, auth, security headers).

Every route but ``/health`` and ``/ready`` needs a bearer token whose subject is the caller's
``staff_ref`` (school staff) and whose ``org`` claim names a hospital (hospital staff); the
service's ``POLICY`` decides each call, and every read of a student's record is in the access
log. Built by ``create_app(settings)``; served by ``tongxin-wellbeing serve`` or
``uvicorn --factory tongxin_wellbeing.entrypoints.api:create_app_from_env``.
"""

from __future__ import annotations

from fastapi import FastAPI

from tongxin_platform.api import Clock, create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.telemetry import configure_tracing
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.entrypoints import (
    attention_routes,
    referral_routes,
    screening_routes,
    team_routes,
    training_routes,
)

ROUTERS = (
    team_routes.router,
    screening_routes.router,
    attention_routes.router,
    referral_routes.router,
    training_routes.router,
)


def create_app(
    settings: WellbeingSettings, verifier: TokenVerifier | None = None, clock: Clock | None = None
) -> FastAPI:
    return create_service_app(SERVICE, settings, verifier, routers=ROUTERS, clock=clock)


def create_app_from_env() -> FastAPI:
    configure_tracing(SERVICE.name)
    return create_app(WellbeingSettings())
