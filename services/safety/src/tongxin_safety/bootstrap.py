"""The safety service, declared for the service kit: settings, rules, migrations, the read model,
the reactions, the deadlines and the application object its routes use. The kit builds its API,
worker and command from this (``entrypoints``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_platform import service as kit
from tongxin_platform.service import Runtime, Service
from tongxin_platform.uow import PgTransactions
from tongxin_safety.application.incidents import REPORT_DEADLINE
from tongxin_safety.application.policy import POLICY
from tongxin_safety.application.service import SafetyService
from tongxin_safety.config import SafetySettings
from tongxin_safety.projections.read_model import SAFETY
from tongxin_safety.reactions.alerts import ALERTS
from tongxin_safety.reactions.care_files import CARE_FILES
from tongxin_safety.reactions.shredding import SHREDDING


@dataclass
class Safety:
    """What the routes use: the commands, the database (the read model), the settings."""

    settings: SafetySettings
    pool: asyncpg.Pool
    transactions: PgTransactions
    service: SafetyService

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> Safety:
    settings = runtime.settings
    assert isinstance(settings, SafetySettings)
    service = SafetyService(runtime.writer, runtime.pool, settings)
    return Safety(settings, runtime.pool, runtime.transactions, service)


SERVICE = Service(
    name="safety",
    title="Tongxin safety",
    version="0.1.0",
    description="Child safety (护平安 警校同步): one child one file (一人一档) with four paired "
    "carers, guard posts (校家警护学岗), vice-principals from outside the school, inspections "
    "and hazards, incidents and the mandatory report (强制报告), the special education "
    "guidance committee.",
    settings=SafetySettings,
    policy=POLICY,
    migrations="tongxin_safety.migrations",
    projections=(SAFETY,),
    reactions=(CARE_FILES, SHREDDING, ALERTS),
    deadlines=(REPORT_DEADLINE,),
    build=build,
)


async def prepare_database(settings: SafetySettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: SafetySettings) -> Safety:
    """The safety service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
