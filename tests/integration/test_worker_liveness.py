"""The worker records heartbeats of its relay and of each consumer group; the report ``/ready``
shows calls them alive while it runs and stale once it is gone (within the bound)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.support.services import worker_of
from tests.support.waiting import eventually
from tongxin_platform import liveness
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration

STALE_AFTER = 2.0


async def _report(pool: asyncpg.Pool) -> dict[str, Any]:
    return await liveness.report(
        pool, None, VISITS.worker_parts(), stale_after=STALE_AFTER, statement_timeout=5
    )


async def test_heartbeats_show_the_relay_and_each_group_alive_then_stale(
    visits_settings: VisitsSettings, visits_db: asyncpg.Pool
) -> None:
    settings = visits_settings.model_copy(
        update={"worker_heartbeat_interval": 0.5, "worker_stale_after": STALE_AFTER}
    )
    before = await _report(visits_db)
    assert before["alive"] is False  # no worker yet: never beaten

    async with worker_of(VISITS, settings):
        alive = await eventually(
            lambda: _report(visits_db), lambda r: r["alive"] is True, timeout=30, what="alive"
        )
    assert alive["relay"]["alive"] is True
    consumers = alive["consumers"]
    assert {"visits.board", "visits.shredding"} <= set(consumers)
    assert all(c["lag"] is None for c in consumers.values())  # no broker asked: unknown

    await asyncio.sleep(STALE_AFTER + 0.5)
    gone = await _report(visits_db)
    assert gone["alive"] is False
    assert gone["relay"]["alive"] is False
    assert not any(c["alive"] for c in gone["consumers"].values())
