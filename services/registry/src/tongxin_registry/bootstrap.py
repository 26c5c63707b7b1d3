"""The registry, declared for the service kit: its settings, rules, migrations, read model and
application. The kit builds its API, worker and command from this (``entrypoints``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_platform import service as kit
from tongxin_platform.service import Runtime, Service
from tongxin_registry.application.policy import POLICY
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.application.service import RegistryService
from tongxin_registry.config import RegistrySettings
from tongxin_registry.projections.roster import ROSTER


def build(runtime: Runtime) -> RegistryService:
    settings = runtime.settings
    assert isinstance(settings, RegistrySettings)
    return RegistryService(
        runtime.transactions, runtime.writer, Pseudonymizer(settings.pseudonym_key())
    )


SERVICE = Service(
    name="registry",
    title="Tongxin registry",
    version="0.3.0",
    description="Schools, classes, students (as pseudonyms), staff, special groups.",
    settings=RegistrySettings,
    policy=POLICY,
    migrations="tongxin_registry.migrations",
    projections=(ROSTER,),
    build=build,
)


@dataclass
class Registry:
    """The registry opened in this process (the CLI's import, tests): its runtime and service."""

    runtime: Runtime
    service: RegistryService

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    async def close(self) -> None:
        await self.runtime.close()


async def prepare_database(settings: RegistrySettings) -> str:
    """Create the registry's database and bring it up to date; return its URL."""
    return await kit.prepare_database(SERVICE, settings)


async def bootstrap(settings: RegistrySettings) -> Registry:
    runtime = await kit.open_runtime(SERVICE, settings)
    return Registry(runtime, build(runtime))
