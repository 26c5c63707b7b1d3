"""The city aggregator, declared for the service kit: settings, its read models, its own events
(the filings) and the application object its routes use. It reads every district's topics —
mirrored ones too — never another service's database or API, and never keeps a student."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_city.application.policy import POLICY
from tongxin_city.application.publisher import KPIS_LOOP
from tongxin_city.config import CitySettings
from tongxin_city.projections.models import MODELS
from tongxin_platform import service as kit
from tongxin_platform.commands import Writer
from tongxin_platform.service import Runtime, Service
from tongxin_platform.uow import PgTransactions


@dataclass
class City:
    """What the routes use: the settings, the database, the writer (filings) and its clock."""

    settings: CitySettings
    pool: asyncpg.Pool
    transactions: PgTransactions
    writer: Writer

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> City:
    settings = runtime.settings
    assert isinstance(settings, CitySettings)
    return City(settings, runtime.pool, runtime.transactions, runtime.writer)


SERVICE = Service(
    name="city",
    title="Tongxin city",
    version="0.1.0",
    description="The city education bureau's figures (市教育局): every district's streams — "
    "mirrored from a district's own cluster too — into per-district and city KPIs and the "
    "filings the bureaus track (plans, monthly statistics, the December summary), with a "
    "JSON API, the city page and the compacted topic city.kpis. Never a student.",
    settings=CitySettings,
    policy=POLICY,
    migrations="tongxin_city.migrations",
    projections=MODELS,
    loops=(KPIS_LOOP,),
    build=build,
)


async def prepare_database(settings: CitySettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: CitySettings) -> City:
    """The city service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
