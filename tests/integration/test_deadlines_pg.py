"""Deadlines are rows on the real PostgreSQL: set in a command's transaction, fired exactly once
at due time under an injected clock — by racing pollers, by two running workers, across a
worker stopped before due and another started after, and after a worker killed inside a
handler — never when cancelled, and retried after a handler's error. The worker shows its
deadline part alive, and /metrics counts overdue and fired ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.kitservice import KIND, Behaviour, Clock, kit_service, plan_visit
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_contracts import default_registry
from tongxin_contracts.events.visits import VisitCancelled, VisitPlanned
from tongxin_platform import liveness
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import fire_due
from tongxin_platform.eventstore import EventStore
from tongxin_platform.metrics import ServiceMetrics, Watermarks
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.testing import Infra
from tongxin_platform.uow import PgTransactions
from tongxin_platform.worker import Worker

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FAST = {
    "deadline_poll_interval": 0.05,
    "notify_poll_interval": 0.05,
    "worker_heartbeat_interval": 0.2,
}


@dataclass
class Kit:
    service: Service
    behaviour: Behaviour
    settings: ServiceSettings
    pool: asyncpg.Pool
    clock: Clock
    transactions: PgTransactions
    writer: Writer

    async def poll(self, limit: int = 100) -> list[tuple[str, str]]:
        fired = await fire_due(
            self.service.deadlines, self.transactions, self.writer, self.clock(), limit=limit
        )
        return fired.fired

    async def cancellations(self, visit: str | None = None) -> int:
        count: int = await self.pool.fetchval(
            """SELECT count(*) FROM events
               WHERE event_type = $1 AND ($2::text IS NULL OR stream_id = 'visit-' || $2)""",
            VisitCancelled.ce_type(),
            visit,
        )
        return count

    async def row(self, visit: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "SELECT * FROM deadlines WHERE kind = $1 AND key = $2", KIND, visit
        )


async def polled(worker: Worker, more: int = 3) -> None:
    """Once the worker's deadline part has polled ``more`` times (from now)."""

    async def polls() -> int:
        runner = worker.state.deadlines
        return -1 if runner is None else runner.polls

    start = await eventually(polls, lambda n: n >= 0, timeout=30, what="the deadline part")
    await eventually(polls, lambda n: n >= start + more, timeout=30, what=f"{more} polls")


@pytest.fixture
async def kit(infra: Infra, kafka: str, topic: str, database_name: str) -> AsyncIterator[Kit]:
    behaviour = Behaviour()
    service = kit_service(behaviour)
    settings = settings_for(
        service, infra, database_name=database_name, topics={"visits": topic}, **FAST
    )
    async with database_of(service, settings) as pool:
        clock = Clock(T0)
        transactions = PgTransactions(
            pool, EventStore(topic), default_registry(), settings.routes()
        )
        writer = Writer(transactions, default_registry(), clock=clock)
        yield Kit(service, behaviour, settings, pool, clock, transactions, writer)


async def test_a_deadline_set_in_a_commands_transaction_fires_once_at_due_time_not_before(
    kit: Kit,
) -> None:
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    row = await kit.row("v1")
    assert row is not None
    assert row["due_at"] == T0 + HOUR
    assert row["fired_at"] is None

    kit.clock.advance(HOUR - timedelta(seconds=1))
    assert await kit.poll() == []
    assert await kit.cancellations() == 0

    kit.clock.advance(timedelta(seconds=1))
    assert await kit.poll() == [(KIND, "v1")]
    assert await kit.cancellations("v1") == 1
    fired = await kit.row("v1")
    assert fired is not None
    assert fired["fired_at"] == T0 + HOUR

    kit.clock.advance(24 * HOUR)
    assert await kit.poll() == []
    assert await kit.cancellations("v1") == 1


async def test_a_refused_command_leaves_no_deadline_row(kit: Kit) -> None:
    with pytest.raises(ValueError, match="refused"):
        await plan_visit(kit.writer, "v1", due_in=HOUR, fail=True)
    assert await kit.row("v1") is None
    assert await kit.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_setting_a_deadline_again_keeps_the_first_and_a_fired_one_is_never_re_armed(
    kit: Kit,
) -> None:
    async with kit.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + HOUR, {"n": 1}) is True
    async with kit.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + 9 * HOUR, {"n": 2}) is False
        found = await uow.deadlines.get(KIND, "v1")
    assert found is not None
    assert (found.due_at, found.payload) == (T0 + HOUR, {"n": 1})
    async with kit.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + 2 * HOUR, {"n": 3}, move=True) is True
    kit.clock.advance(2 * HOUR)
    assert await kit.poll() == [(KIND, "v1")]
    async with kit.transactions.begin() as uow:
        assert await uow.deadlines.set(KIND, "v1", T0 + 5 * HOUR, move=True) is False
        assert await uow.deadlines.cancel(KIND, "v1") is False
    kit.clock.advance(5 * HOUR)
    assert await kit.poll() == []


async def test_a_cancelled_deadline_never_fires(kit: Kit) -> None:
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    async with kit.transactions.begin() as uow:
        assert await uow.deadlines.cancel(KIND, "v1") is True
    kit.clock.advance(10 * HOUR)
    assert await kit.poll() == []
    assert await kit.cancellations() == 0
    assert await kit.row("v1") is None


async def test_pollers_racing_fire_every_deadline_exactly_once(kit: Kit) -> None:
    visits = [f"v{i}" for i in range(40)]
    for v in visits:
        await plan_visit(kit.writer, v, due_in=HOUR)
    kit.clock.advance(HOUR)

    fired: list[tuple[str, str]] = []
    while True:
        rounds = await asyncio.gather(*(kit.poll(limit=7) for _ in range(4)))
        if not any(rounds):
            break
        fired += [f for r in rounds for f in r]

    assert sorted(fired) == sorted((KIND, v) for v in visits)  # each by exactly one poller
    per_visit = await kit.pool.fetch(
        "SELECT stream_id, count(*) AS n FROM events WHERE event_type = $1 GROUP BY stream_id",
        VisitCancelled.ce_type(),
    )
    assert {r["stream_id"]: r["n"] for r in per_visit} == {f"visit-{v}": 1 for v in visits}


async def test_two_running_workers_fire_a_deadline_once(kit: Kit) -> None:
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    await plan_visit(kit.writer, "v2", due_in=HOUR)
    after = Clock(T0 + 2 * HOUR)
    async with (
        worker_of(kit.service, kit.settings, clock=after) as a,
        worker_of(kit.service, kit.settings, clock=after) as b,
    ):
        await eventually(kit.cancellations, lambda n: n >= 2, timeout=30, what="both fired")
        # both workers keep polling a while longer: nothing fires again
        await asyncio.gather(polled(a), polled(b))
    assert await kit.cancellations("v1") == 1
    assert await kit.cancellations("v2") == 1


async def test_a_worker_stopped_before_due_and_another_started_after_fire_it_once(
    kit: Kit,
) -> None:
    await plan_visit(kit.writer, "v1", due_in=HOUR)

    async with worker_of(kit.service, kit.settings, clock=Clock(T0 + HOUR / 2)) as before:
        await polled(before)
    assert await kit.cancellations() == 0
    row = await kit.row("v1")
    assert row is not None
    assert row["fired_at"] is None

    later = Clock(T0 + 2 * HOUR)
    async with worker_of(kit.service, kit.settings, clock=later):
        await eventually(kit.cancellations, lambda n: n >= 1, timeout=30, what="fired")
    async with worker_of(kit.service, kit.settings, clock=later) as again:
        await polled(again)
    assert await kit.cancellations("v1") == 1


async def test_a_poller_killed_inside_a_handler_leaves_nothing_and_the_deadline_fires_once_later(
    kit: Kit,
) -> None:
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    await plan_visit(kit.writer, "v2", due_in=HOUR + timedelta(minutes=1))
    kit.clock.advance(2 * HOUR)
    kit.behaviour.hold, kit.behaviour.hold_key = asyncio.Event(), "v2"
    # v2's handler runs after v1's effects were written in the same transaction
    first = asyncio.create_task(kit.poll())
    await asyncio.wait_for(kit.behaviour.entered.wait(), 30)  # inside v2's handler: v1 written
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first

    assert await kit.cancellations() == 0  # v1's effects went with the killed transaction
    assert (await kit.pool.fetchval("SELECT count(*) FROM deadlines WHERE fired_at IS NULL")) == 2

    kit.behaviour.hold = None
    assert sorted(await kit.poll()) == [(KIND, "v1"), (KIND, "v2")]
    assert await kit.cancellations("v1") == 1
    assert await kit.cancellations("v2") == 1


async def test_a_handler_error_leaves_the_row_for_the_next_poll_and_the_others_fire(
    kit: Kit,
) -> None:
    kit.behaviour.fail = 1
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    await plan_visit(kit.writer, "v2", due_in=HOUR + timedelta(minutes=1))
    kit.clock.advance(2 * HOUR)

    assert await kit.poll() == [(KIND, "v2")]
    row = await kit.row("v1")
    assert row is not None
    assert row["fired_at"] is None
    assert row["attempts"] == 1
    assert row["last_error"] == "RuntimeError: the handler failed (as the test asked)"
    assert await kit.cancellations("v1") == 0

    assert await kit.poll() == [(KIND, "v1")]
    assert await kit.cancellations("v1") == 1


async def test_the_deadline_part_beats_like_the_relay_and_metrics_count_overdue_and_fired(
    kit: Kit, kafka: str
) -> None:
    # one fired at once (the injected clock is past it); one overdue by the database's clock
    # for a kind this service has no handler for, so it stays overdue
    await plan_visit(kit.writer, "v1", due_in=HOUR)
    await kit.pool.execute(
        "INSERT INTO deadlines (kind, key, due_at)"
        " VALUES ('other.kind', 'x', now() - interval '1 hour')"
    )
    async with worker_of(kit.service, kit.settings, clock=Clock(T0 + 2 * HOUR)) as worker:
        await eventually(kit.cancellations, lambda n: n >= 1, timeout=30, what="fired")
        await eventually(
            lambda: kit.pool.fetchval("SELECT count(delivered_at) FROM notifications"),
            lambda n: n == 1,
            timeout=30,
            what="its alert delivered (to the inbox: no robots configured)",
        )
        assert {("deadlines", "deadlines"), ("notifications", "notifications")} <= set(
            worker.running_parts()
        )
        report = await eventually(
            lambda: liveness.report(
                kit.pool,
                None,
                kit.service.worker_parts(),
                stale_after=5,
                statement_timeout=5,
            ),
            lambda r: r["alive"] is True,
            timeout=30,
            what="alive",
        )
    assert set(report["loops"]) == {"deadlines", "notifications"}
    assert all(entry["alive"] for entry in report["loops"].values())
    assert report["notifications"] == {"failed": 0, "pending": 0}  # the alert went to the inbox

    watermarks = Watermarks(kafka)
    try:
        text = await ServiceMetrics("visits").render(kit.pool, watermarks)
    finally:
        await watermarks.close()
    samples = {
        (s.name, s.labels.get("kind")): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
    assert samples[("tongxin_deadlines_overdue", "other.kind")] == 1
    assert samples[("tongxin_deadlines_overdue", KIND)] == 0
    assert samples[("tongxin_deadlines_fired_total", KIND)] == 1
    assert (
        samples[("tongxin_notifications_pending", "visit.overdue")]
        + samples[("tongxin_notifications_delivered_total", "visit.overdue")]
        == 1
    )


async def test_the_events_the_command_wrote_carry_the_deadline_with_them(kit: Kit) -> None:
    events = await plan_visit(kit.writer, "v1", due_in=HOUR)
    assert [type(e) for e in events] == [VisitPlanned]
    async with kit.pool.acquire() as conn:
        xmins = await conn.fetch(
            """SELECT (SELECT xmin::text FROM deadlines WHERE key = 'v1') AS deadline,
                      (SELECT xmin::text FROM events WHERE stream_id = 'visit-v1') AS event"""
        )
    assert xmins[0]["deadline"] == xmins[0]["event"]  # one transaction wrote both
