"""Both services' APIs over real HTTP, with a school set up: for tests that talk to the registry
too (an erasure), or that serve the visits app wrapped (a lost answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.visits import School, set_up_school
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

SMALL = DemoSpec(schools=1, classes_per_school=1, students_per_class=4)


@dataclass
class World:
    registry: httpx.AsyncClient
    visits: httpx.AsyncClient
    school: School


@asynccontextmanager
async def world(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    *,
    spec: DemoSpec = SMALL,
    adapt_visits: Callable[[FastAPI], None] | None = None,
) -> AsyncIterator[World]:
    """``adapt_visits`` may add middleware to the visits app before it is served. The workers
    (``registry_worker``, ``visits_worker``) must run: the school is set up through them."""
    visits = visits_app(visits_settings, verifier)
    if adapt_visits is not None:
        adapt_visits(visits)
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=60) as http,
    ):
        yield World(registry, http, await set_up_school(registry, http, bearer, spec))
