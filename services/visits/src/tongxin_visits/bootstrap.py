"""The visits service, declared for the service kit: settings, rules, migrations, the board
projection, the shredding reaction and the application object its routes use. The kit builds
its API, worker and command from this (``entrypoints``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_platform import service as kit
from tongxin_platform.service import Runtime, Service
from tongxin_platform.uow import PgTransactions
from tongxin_visits.application.policy import POLICY
from tongxin_visits.application.service import VisitsService
from tongxin_visits.config import VisitsSettings
from tongxin_visits.projections.board import BOARD
from tongxin_visits.reactions.shredding import SHREDDING


@dataclass
class Visits:
    """What the routes use: the commands, the database (the board), the settings."""

    settings: VisitsSettings
    pool: asyncpg.Pool
    transactions: PgTransactions
    service: VisitsService

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> Visits:
    settings = runtime.settings
    assert isinstance(settings, VisitsSettings)
    service = VisitsService(runtime.writer, runtime.pool)
    return Visits(settings, runtime.pool, runtime.transactions, service)


SERVICE = Service(
    name="visits",
    title="Tongxin visits",
    version="0.2.0",
    description="Home visits (家访): lifecycle, confirmation, follow-up ledger (台账), "
    "coverage rules and monthly statistics (统计表).",
    settings=VisitsSettings,
    policy=POLICY,
    migrations="tongxin_visits.migrations",
    projections=(BOARD,),
    reactions=(SHREDDING,),
    build=build,
)


async def prepare_database(settings: VisitsSettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: VisitsSettings) -> Visits:
    """The visits service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
