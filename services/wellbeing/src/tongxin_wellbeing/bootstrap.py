"""The wellbeing service, declared for the service kit: settings, rules, migrations, the read
model, the reactions and the application object its routes use. The kit builds its API, worker
and command from this (``entrypoints``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_platform import service as kit
from tongxin_platform.service import Runtime, Service
from tongxin_platform.uow import PgTransactions
from tongxin_wellbeing.application.policy import POLICY
from tongxin_wellbeing.application.referrals import ACK_DEADLINE
from tongxin_wellbeing.application.service import WellbeingService
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.projections.read_model import WELLBEING
from tongxin_wellbeing.reactions.alerts import ALERTS
from tongxin_wellbeing.reactions.proposals import PROPOSALS
from tongxin_wellbeing.reactions.shredding import SHREDDING
from tongxin_wellbeing.reactions.targeted_visits import TARGETED_VISITS
from tongxin_wellbeing.reactions.transfers import TRANSFERS


@dataclass
class Wellbeing:
    """What the routes use: the commands, the database (the read model), the settings."""

    settings: WellbeingSettings
    pool: asyncpg.Pool
    transactions: PgTransactions
    service: WellbeingService

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> Wellbeing:
    settings = runtime.settings
    assert isinstance(settings, WellbeingSettings)
    service = WellbeingService(runtime.writer, runtime.pool, settings)
    return Wellbeing(settings, runtime.pool, runtime.transactions, service)


SERVICE = Service(
    name="wellbeing",
    title="Tongxin wellbeing",
    version="0.1.0",
    description="Student mental health (心阳光 医教互促): the school's team, consent, screening "
    "campaigns, the attention list (关注名单), one plan per student (一生一策), crisis referrals "
    "within the hour (1小时响应通道), training and psychology classes.",
    settings=WellbeingSettings,
    policy=POLICY,
    migrations="tongxin_wellbeing.migrations",
    projections=(WELLBEING,),
    reactions=(PROPOSALS, TRANSFERS, TARGETED_VISITS, SHREDDING, ALERTS),
    deadlines=(ACK_DEADLINE,),
    build=build,
)


async def prepare_database(settings: WellbeingSettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: WellbeingSettings) -> Wellbeing:
    """The wellbeing service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
