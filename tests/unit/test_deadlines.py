"""Deadlines as rows, on the in-memory unit of work: set with a command's events (or not at all),
idempotent, cancelled, fired once at due time under an injected clock, a failing handler left
for the next poll. Their PostgreSQL twin is ``tests/integration/test_deadlines_pg.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.kitservice import KIND, Behaviour, Clock, kit_service, plan_visit
from tongxin_contracts import default_registry
from tongxin_contracts.events.visits import VisitCancelled, VisitPlanned
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import fire_due
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions
from tongxin_platform.service import Service

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class World:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.db = MemoryDatabase(default_registry())
        self.transactions = MemoryTransactions(self.db)
        self.clock = Clock(T0)
        self.writer = Writer(self.transactions, default_registry(), clock=self.clock)
        self.behaviour = behaviour or Behaviour()
        self.service: Service = kit_service(self.behaviour)

    async def poll(self) -> list[tuple[str, str]]:
        fired = await fire_due(
            self.service.deadlines, self.transactions, self.writer, self.clock(), limit=10
        )
        return fired.fired

    def cancelled(self) -> list[VisitCancelled]:
        return [e for e in self.db.published() if isinstance(e, VisitCancelled)]


async def test_a_deadline_set_by_a_command_is_stored_with_its_events() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)
    due = w.db.state.deadlines[(KIND, "v1")]
    assert due.due_at == T0 + HOUR
    assert due.payload == {"hours": 1}
    assert due.fired_at is None
    assert [type(e) for e in w.db.published()] == [VisitPlanned]


async def test_a_refused_command_leaves_no_deadline_behind() -> None:
    w = World()
    with pytest.raises(ValueError, match="refused"):
        await plan_visit(w.writer, "v1", due_in=HOUR, fail=True)
    assert w.db.state.deadlines == {}
    assert w.db.published() == []


async def test_setting_a_deadline_again_keeps_the_first_unless_told_to_move_it() -> None:
    w = World()
    async with w.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + HOUR, {"n": 1}) is True
        assert await uow.deadlines.set(KIND, "v1", T0 + 2 * HOUR, {"n": 2}) is False
    assert w.db.state.deadlines[(KIND, "v1")].payload == {"n": 1}
    async with w.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + 2 * HOUR, {"n": 2}, move=True) is True
    moved = w.db.state.deadlines[(KIND, "v1")]
    assert (moved.due_at, moved.payload) == (T0 + 2 * HOUR, {"n": 2})


async def test_a_deadline_fires_once_at_its_due_time_and_not_before() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)

    w.clock.advance(HOUR - timedelta(seconds=1))
    assert await w.poll() == []
    assert w.cancelled() == []

    w.clock.advance(timedelta(seconds=1))
    assert await w.poll() == [(KIND, "v1")]
    assert [e.visit_id for e in w.cancelled()] == ["v1"]
    assert w.db.state.deadlines[(KIND, "v1")].fired_at == T0 + HOUR

    w.clock.advance(HOUR)
    assert await w.poll() == []
    assert len(w.cancelled()) == 1


async def test_the_handlers_writer_records_its_events_at_the_injected_time() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)
    w.clock.advance(3 * HOUR)
    await w.poll()
    stored = [e for e in w.db.stored() if e.event_type == VisitCancelled.ce_type()]
    assert [e.recorded_at for e in stored] == [T0 + 3 * HOUR]
    # and they say where they came from: the deadline
    assert stored[0].causation_id == f"deadline:{KIND}:v1"


async def test_a_cancelled_deadline_never_fires() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)
    async with w.transactions.begin() as uow:
        assert await uow.deadlines.cancel(KIND, "v1") is True
        assert await uow.deadlines.cancel(KIND, "v1") is False
    w.clock.advance(2 * HOUR)
    assert await w.poll() == []
    assert w.cancelled() == []


async def test_a_fired_deadline_is_neither_cancelled_nor_re_armed() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)
    w.clock.advance(HOUR)
    await w.poll()
    async with w.transactions.begin() as uow:
        assert await uow.deadlines.cancel(KIND, "v1") is False
        assert await uow.deadlines.set(KIND, "v1", T0 + 5 * HOUR, move=True) is False
    w.clock.advance(5 * HOUR)
    assert await w.poll() == []
    assert len(w.cancelled()) == 1


async def test_a_failing_handler_leaves_its_row_for_the_next_poll_and_the_others_fire() -> None:
    w = World(Behaviour(fail=1))
    await plan_visit(w.writer, "v1", due_in=HOUR)
    await plan_visit(w.writer, "v2", due_in=HOUR + timedelta(minutes=1))
    w.clock.advance(2 * HOUR)

    assert await w.poll() == [(KIND, "v2")]  # v1 (due first) failed, v2 went on
    failed = w.db.state.deadlines[(KIND, "v1")]
    assert failed.fired_at is None
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: the handler failed (as the test asked)"
    assert [e.visit_id for e in w.cancelled()] == ["v2"]

    assert await w.poll() == [(KIND, "v1")]
    assert sorted(e.visit_id for e in w.cancelled()) == ["v1", "v2"]


async def test_a_deadline_handler_queues_its_alert_once_with_the_effects() -> None:
    w = World()
    await plan_visit(w.writer, "v1", due_in=HOUR)
    w.clock.advance(HOUR)
    await w.poll()
    notice = w.db.state.notices["visit.overdue:v1"]
    assert notice.channel == "alert"
    assert notice.text == "学校 330106001 的家访 v1 已超过 1 小时未完成。"
    assert notice.link == "http://127.0.0.1:18100/visits/v1"


def test_a_service_with_deadlines_runs_a_deadline_part_and_every_worker_delivers() -> None:
    parts = kit_service().worker_parts()
    assert ("deadlines", "deadlines") in parts
    assert ("notifications", "notifications") in parts
    svc = kit_service()
    plain = Service(name="visits", title="t", settings=svc.settings, policy=svc.policy)
    assert ("deadlines", "deadlines") not in plain.worker_parts()
