from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.worker import WorkerOptions, run_worker


@pytest.fixture
def registry_settings(infra: Infra, kafka: str, topic: str, database_name: str) -> RegistrySettings:
    return RegistrySettings(KAFKA_BOOTSTRAP_SERVERS=kafka, DATABASE_URL=infra.database_url,
                            database_name=database_name, topic=topic)


@pytest.fixture
async def registry_worker(registry_settings: RegistrySettings) -> AsyncIterator[None]:
    """The registry's relay and roster projection, running in the test's loop."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(registry_settings, WorkerOptions(), stop))
    await asyncio.sleep(0)
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.fixture
async def registry_db(registry_settings: RegistrySettings) -> AsyncIterator[asyncpg.Pool]:
    from tongxin_registry.bootstrap import prepare_database

    url = await prepare_database(registry_settings)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=3)
    assert pool is not None
    yield pool
    await pool.close()
