"""The agencies service, declared for the service kit: settings, the read models (one per
agency) and the application object its routes use. It owns no events and publishes nothing: it
reads every service's topic, never another service's database or API."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_agencies.application.policy import POLICY
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.models import MODELS
from tongxin_platform import service as kit
from tongxin_platform.commands import Writer
from tongxin_platform.service import Runtime, Service


@dataclass
class Agencies:
    """What the routes use: the settings, the database (every agency's model), the clock."""

    settings: AgenciesSettings
    pool: asyncpg.Pool
    writer: Writer  # only its clock: the agencies service appends nothing

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> Agencies:
    settings = runtime.settings
    assert isinstance(settings, AgenciesSettings)
    return Agencies(settings, runtime.pool, runtime.writer)


SERVICE = Service(
    name="agencies",
    title="Tongxin agencies",
    version="0.1.0",
    description="What each agency sees, built from the streams (各部门视图): one read model per "
    "agency — the school, the district education bureau, the hospital, the police, civil "
    "affairs, the women's federation and community workers, market regulation, parent "
    "committees — each holding only what that agency may see, with a JSON query API and "
    "server-rendered dashboards.",
    settings=AgenciesSettings,
    policy=POLICY,
    projections=MODELS,
    build=build,
)


async def prepare_database(settings: AgenciesSettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: AgenciesSettings) -> Agencies:
    """The agencies service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
