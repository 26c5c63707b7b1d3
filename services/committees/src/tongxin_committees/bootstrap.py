"""The committees service, declared for the service kit: settings, rules, migrations, the read
model, the reactions and the application object its routes use. The kit builds its API, worker
and command from this (``entrypoints``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_committees.application.policy import POLICY
from tongxin_committees.application.service import CommitteesService
from tongxin_committees.config import CommitteesSettings
from tongxin_committees.projections.read_model import COMMITTEES
from tongxin_committees.reactions.memberships import MEMBERSHIPS
from tongxin_committees.reactions.visit_suggestions import VISIT_SUGGESTIONS
from tongxin_platform import service as kit
from tongxin_platform.service import Runtime, Service
from tongxin_platform.uow import PgTransactions


@dataclass
class Committees:
    """What the routes use: the commands, the database (the read model), the settings."""

    settings: CommitteesSettings
    pool: asyncpg.Pool
    transactions: PgTransactions
    service: CommitteesService

    async def close(self) -> None:
        await self.pool.close()


def build(runtime: Runtime) -> Committees:
    settings = runtime.settings
    assert isinstance(settings, CommitteesSettings)
    service = CommitteesService(runtime.writer, runtime.pool, settings)
    return Committees(settings, runtime.pool, runtime.transactions, service)


SERVICE = Service(
    name="committees",
    title="Tongxin committees",
    version="0.1.0",
    description="Parent committees and family–school engagement (家长委员会 · 家长学校): "
    "three-level committees (and a district committee where a district runs one) with their "
    "charters, elections and by-elections, every class represented; parents' voice from every "
    "channel answered on time by a named handler; joint meetings, parent meetings, open days "
    "and reception days; the parent school, its teaching rule and the district's standard "
    "assessment; the family-education coordinator.",
    settings=CommitteesSettings,
    policy=POLICY,
    migrations="tongxin_committees.migrations",
    projections=(COMMITTEES,),
    reactions=(MEMBERSHIPS, VISIT_SUGGESTIONS),
    deadlines=(),
    build=build,
)


async def prepare_database(settings: CommitteesSettings) -> str:
    """Create the service's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: CommitteesSettings) -> Committees:
    """The committees service opened in this process (benchmarks, tests)."""
    return build(await kit.open_runtime(SERVICE, settings))
