"""The registry's background process: the outbox relay and the roster projection.

``tongxin-registry worker`` runs both; ``--no-relay`` / ``--no-projection`` run one of them
(the fault tests kill the projection process alone).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from tongxin_platform.db import create_pool
from tongxin_platform.outbox import OutboxRelay
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
    tasks: list[asyncio.Task[None]] = []
    relay = runtime = None
    try:
        if options.relay:
            relay = OutboxRelay(
                service=SERVICE, database_url=url, bootstrap=settings.kafka_bootstrap_servers
            )
            tasks.append(asyncio.create_task(relay.run(), name="relay"))
        if options.projection:
            async with pool.acquire() as conn:
                await roster.create_tables(conn, options.schema)
            runtime = roster_consumer(settings, pool, group=options.group, schema=options.schema)
            tasks.append(asyncio.create_task(runtime.run(), name="projection"))
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not waiter and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        for part in (relay, runtime):
            if part is not None:
                part.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()


def main(options: WorkerOptions) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(RegistrySettings(), options, stop)

    asyncio.run(_main())
