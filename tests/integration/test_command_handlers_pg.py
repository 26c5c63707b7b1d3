"""The command scenarios of ``tests.support.command_scenarios`` on PostgreSQL: the same test
bodies as on the in-memory unit of work, on a migrated service database, with every appended
event queued in the outbox for the service's topic."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.command_scenarios import Scenario, clock, registry_roster_changes
from tests.support.command_scenarios import visits_lifecycle as visits_scenario
from tongxin_contracts import default_registry
from tongxin_platform.commands import Writer
from tongxin_platform.eventstore import EventStore
from tongxin_platform.uow import PgTransactions
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration


async def run_on_postgres(pool: asyncpg.Pool, topic: str, scenario: Scenario) -> None:
    transactions = PgTransactions(pool, EventStore(topic), default_registry())
    streams = await scenario(Writer(transactions, default_registry(), clock=clock), transactions)
    written = {r["stream_id"] for r in await pool.fetch("SELECT DISTINCT stream_id FROM events")}
    assert written == streams, "events in no stream the scenario knows"
    queued = await pool.fetch(
        "SELECT o.topic, count(*) AS n FROM outbox o GROUP BY o.topic ORDER BY o.topic"
    )
    events = await pool.fetchval("SELECT count(*) FROM events")
    assert [(r["topic"], r["n"]) for r in queued] == [(topic, events)]


async def test_the_registrys_commands_on_postgres(
    registry_settings: RegistrySettings, registry_db: asyncpg.Pool
) -> None:
    await run_on_postgres(registry_db, registry_settings.topic, registry_roster_changes)


async def test_the_visits_commands_on_postgres(
    visits_settings: VisitsSettings, visits_db: asyncpg.Pool
) -> None:
    await run_on_postgres(visits_db, visits_settings.topic_of("visits"), visits_scenario)
