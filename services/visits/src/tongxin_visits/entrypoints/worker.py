"""The visits service's background process: its outbox relay and the board projection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tongxin_platform.db import create_pool
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.worker import Part, run_parts, serve
from tongxin_visits.bootstrap import SERVICE, board_consumer, prepare_database
from tongxin_visits.config import VisitsSettings


@dataclass
class WorkerOptions:
    relay: bool = True
    projection: bool = True


async def run_worker(settings: VisitsSettings, options: WorkerOptions, stop: asyncio.Event) -> None:
    url = await prepare_database(settings)
    pool = await create_pool(url, max_size=4)
    parts: list[tuple[str, Part]] = []
    if options.relay:
        relay = OutboxRelay(
            service=SERVICE, database_url=url, bootstrap=settings.kafka_bootstrap_servers
        )
        parts.append(("relay", relay))
    if options.projection:
        parts.append(("board", board_consumer(settings, pool)))
    try:
        await run_parts(parts, stop)
    finally:
        await pool.close()


def main(options: WorkerOptions) -> None:
    serve(lambda stop: run_worker(VisitsSettings(), options, stop))
