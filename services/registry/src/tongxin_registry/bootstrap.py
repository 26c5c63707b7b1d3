"""Wiring: settings → database, migrations, event store, service. Called by entrypoints only."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_contracts import TOPICS, default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.db import create_pool, ensure_database
from tongxin_platform.eventstore import EventStore, now_utc
from tongxin_platform.migrations import migrate
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.application.service import RegistryService
from tongxin_registry.config import RegistrySettings
from tongxin_registry.projections import roster

SERVICE = "registry"
TOPIC = TOPICS[SERVICE]


@dataclass
class Registry:
    settings: RegistrySettings
    database_url: str
    pool: asyncpg.Pool
    service: RegistryService

    async def close(self) -> None:
        await self.pool.close()


async def prepare_database(settings: RegistrySettings) -> str:
    """Create the service's database and bring its schema up to date; return its URL."""
    url = await ensure_database(settings.database_url, settings.database_name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, "tongxin_platform.sql", "tongxin_registry.migrations")
        await roster.create_tables(conn)
    finally:
        await conn.close()
    return url


async def bootstrap(settings: RegistrySettings) -> Registry:
    url = await prepare_database(settings)
    pool = await create_pool(url, max_size=settings.pool_size)
    service = RegistryService(
        pool,
        EventStore(settings.topic),
        Pseudonymizer(settings.pseudonym_secret.get_secret_value().encode()),
        clock=now_utc,
    )
    return Registry(settings, url, pool, service)


def roster_consumer(
    settings: RegistrySettings, pool: asyncpg.Pool, *, group: str, schema: str, topic: str = ""
) -> ConsumerRuntime:
    """The roster projection as a consumer group writing into ``schema`` (live or a rebuild)."""
    return ConsumerRuntime(
        group=group,
        topics=[topic or settings.topic],
        handler=roster.apply,
        batch_handler=roster.apply_batch,
        registry=default_registry(),
        pool=pool,
        bootstrap=settings.kafka_bootstrap_servers,
        search_path=schema,
        replication_factor=settings.topic_replication_factor,
        max_batch=settings.projection_batch_size,
    )
