"""The registry's background process: the outbox relay and the roster projection.

``tongxin-registry worker`` runs both; ``--no-relay`` / ``--no-projection`` run one of them
(the fault tests kill the projection process alone).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tongxin_platform.db import create_pool
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.worker import Part, run_parts, serve
from tongxin_registry.bootstrap import SERVICE, prepare_database, roster_consumer
from tongxin_registry.config import RegistrySettings
from tongxin_registry.projections import roster

log = logging.getLogger(__name__)


@dataclass
class WorkerOptions:
    relay: bool = True
    projection: bool = True
    schema: str = roster.LIVE_SCHEMA
    group: str = roster.GROUP


async def run_worker(
    settings: RegistrySettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    stop = stop or asyncio.Event()
    url = await prepare_database(settings)
    pool = await create_pool(url, max_size=4)
    try:
        parts: list[tuple[str, Part]] = []
        if options.relay:
            relay = OutboxRelay(
                service=SERVICE, database_url=url, bootstrap=settings.kafka_bootstrap_servers
            )
            parts.append(("relay", relay))
        if options.projection:
            async with pool.acquire() as conn:
                await roster.create_tables(conn, options.schema)
            runtime = roster_consumer(settings, pool, group=options.group, schema=options.schema)
            parts.append(("projection", runtime))
        await run_parts(parts, stop)
    finally:
        await pool.close()


def main(options: WorkerOptions) -> None:
    serve(lambda stop: run_worker(RegistrySettings(), options, stop))
