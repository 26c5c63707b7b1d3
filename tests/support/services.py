"""Any service of the kit in a test: its settings on the test's own topics and database, its
database migrated, its worker running in the test's loop. A new service's tests use these; no
fixture has to be added to ``tests/conftest.py`` for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from tests.support.servers import serving
from tongxin_platform.db import create_pool
from tongxin_platform.eventstore import now_utc
from tongxin_platform.service import Service, prepare_database
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.testing import Infra
from tongxin_platform.worker import Worker, WorkerOptions


def settings_for(
    service: Service,
    infra: Infra,
    *,
    database_name: str,
    topics: Mapping[str, str],
    **extra: Any,
) -> ServiceSettings:
    """``topics``: service name → the test's topic standing in for that service's."""
    settings_class = type(service.settings())
    fields: dict[str, Any] = {"database_name": database_name, **extra}
    for source, topic in topics.items():
        if source == service.name:
            fields["topic"] = topic
        elif f"{source}_topic" in settings_class.model_fields:
            fields[f"{source}_topic"] = topic
    # A topic the service writes besides its events (the city's compacted city.kpis) gets the
    # test's own name too, unless the test names one: a test never writes into the real topic.
    if "kpis_topic" in settings_class.model_fields and "kpis_topic" not in fields and topics:
        prefix = next(iter(topics.values())).rsplit("-", 1)[0]
        fields["kpis_topic"] = f"{prefix}-city.kpis"
    return settings_class(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, DATABASE_URL=infra.database_url, **fields
    )


@asynccontextmanager
async def database_of(service: Service, settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    url = await prepare_database(service, settings)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def worker_of(
    service: Service,
    settings: ServiceSettings,
    options: WorkerOptions | None = None,
    *,
    clock: Callable[[], datetime] = now_utc,
) -> AsyncIterator[Worker]:
    """The service's worker (relay, projections, reactions, deadlines, notifications) in the
    running loop; ``clock`` is the time its deadline part and their writer see."""
    worker = Worker(service, settings, options, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0)
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@dataclass(frozen=True)
class Standing:
    pool: asyncpg.Pool  # the service's database
    url: str  # its API's base URL
    http: httpx.AsyncClient  # a client of it


@asynccontextmanager
async def standing(
    service: Service,
    settings: ServiceSettings,
    app: FastAPI,
    *,
    clock: Callable[[], datetime] = now_utc,
) -> AsyncIterator[Standing]:
    """The service stood up whole: its database migrated, its worker running on ``clock`` and
    ``app`` (its API on these settings) served over real HTTP on a free port, with a client."""
    async with (
        database_of(service, settings) as pool,
        worker_of(service, settings, clock=clock),
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Standing(pool, url, http)
