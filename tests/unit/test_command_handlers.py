"""The registry's and the visits service's command handlers on the in-memory unit of work: the
scenarios of ``tests.support.command_scenarios`` (their PostgreSQL twin is
``tests/integration/test_command_handlers_pg.py``)."""

from __future__ import annotations

import pytest

from tests.support.command_scenarios import SCENARIOS, Scenario, clock
from tongxin_contracts import default_registry
from tongxin_platform.commands import Writer
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_a_services_commands_append_chained_events_that_say_where_they_came_from(
    scenario: Scenario,
) -> None:
    db = MemoryDatabase(default_registry())
    transactions = MemoryTransactions(db)
    streams = await scenario(Writer(transactions, default_registry(), clock=clock), transactions)
    assert {e.stream_id for e in db.stored()} == streams, "events in no stream the scenario knows"
