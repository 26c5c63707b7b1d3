"""Wiring: settings → database, migrations, event store, service. Called by entrypoints only."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tongxin_contracts import default_registry
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.db import create_pool, ensure_database
from tongxin_platform.eventstore import EventStore, now_utc
from tongxin_platform.migrations import migrate
from tongxin_visits.application.service import VisitsService
from tongxin_visits.config import VisitsSettings
from tongxin_visits.projections import board

SERVICE = "visits"


@dataclass
class Visits:
    settings: VisitsSettings
    database_url: str
    pool: asyncpg.Pool
    service: VisitsService

    async def close(self) -> None:
        await self.pool.close()


async def prepare_database(settings: VisitsSettings) -> str:
    """Create the service's database and bring its schema up to date; return its URL."""
    url = await ensure_database(settings.database_url, settings.database_name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, "tongxin_platform.sql", "tongxin_visits.migrations")
        await board.create_tables(conn)
    finally:
        await conn.close()
    return url


async def bootstrap(settings: VisitsSettings) -> Visits:
    url = await prepare_database(settings)
    pool = await create_pool(url, max_size=settings.pool_size)
    service = VisitsService(pool, EventStore(settings.topic), clock=now_utc)
    return Visits(settings, url, pool, service)


def board_consumer(
    settings: VisitsSettings,
    pool: asyncpg.Pool,
    *,
    group: str = board.GROUP,
    schema: str = board.LIVE_SCHEMA,
) -> ConsumerRuntime:
    """The board projection: the roster from ``registry.events``, the rest from its own topic."""
    return ConsumerRuntime(
        group=group,
        topics=[settings.registry_topic, settings.topic],
        handler=board.apply,
        batch_handler=board.apply_batch,
        registry=default_registry(),
        pool=pool,
        bootstrap=settings.kafka_bootstrap_servers,
        search_path=schema,
        replication_factor=settings.topic_replication_factor,
        max_batch=settings.projection_batch_size,
    )
