"""A tiny service for the kit's own tests of deadlines and notifications: it plans visits (the
visits contracts' events, on the test's own topic and database), a command sets a "visit due"
deadline with its event, and the deadline's handler cancels the visit and alerts the district.

Its handler can be told to fail (``Behaviour.fail``) or to wait (``Behaviour.hold``), so that
tests see a failing handler retried and a worker killed halfway through a handler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.visits import CancelReason, VisitCancelled, VisitPlanned
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import Deadline, Due, Firing
from tongxin_platform.notify import NoticeTemplate
from tongxin_platform.policy import Policy
from tongxin_platform.service import Service
from tongxin_platform.uow import UnitOfWork
from tongxin_visits.config import VisitsSettings

DISTRICT, SCHOOL, CLASS = "330106", "330106001", "330106001-01"
KIND = "visit.due"
OVERDUE = NoticeTemplate(
    "visit.overdue",
    title="家访超期 / Visit overdue",
    text="学校 {school} 的家访 {visit} 已超过 {hours} 小时未完成。",
)


@dataclass
class Behaviour:
    """What the deadline handler does, for the test that runs it."""

    fail: int = 0  # raise on the next ``fail`` calls
    hold: asyncio.Event | None = None  # wait for it inside the handler (a worker killed there)
    hold_key: str | None = None  # … of this deadline only (None: every one)
    entered: asyncio.Event = field(default_factory=asyncio.Event)  # set when it holds
    calls: int = 0
    link_base: str = "http://127.0.0.1:18100"


def kit_service(b: Behaviour | None = None) -> Service:
    """The service, its deadline handler doing what ``b`` says."""
    b = b or Behaviour()

    async def handler(due: Due, ctx: Firing) -> None:
        await visit_due(b, due, ctx)

    return Service(
        name="visits",  # the visits contracts: its events are in the registry of all events
        title="Kit test service (deadlines and notifications)",
        settings=VisitsSettings,
        policy=Policy({}),
        deadlines=(Deadline(KIND, handler, description="A planned visit not done in time"),),
    )


async def visit_due(b: Behaviour, due: Due, ctx: Firing) -> None:
    b.calls += 1
    if b.hold is not None and b.hold_key in (None, due.key):
        b.entered.set()
        await b.hold.wait()
    if b.fail > 0:
        b.fail -= 1
        raise RuntimeError("the handler failed (as the test asked)")
    visit = due.key

    def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
        if any(isinstance(e, VisitCancelled) for e in history):
            return []
        return [
            VisitCancelled(
                district=DISTRICT,
                school_id=SCHOOL,
                visit_id=visit,
                reason=CancelReason.other,
                cancelled_by="deadline",
            )
        ]

    await ctx.writer.run(f"visit-{visit}", decide)
    await ctx.uow.notifications.enqueue(
        OVERDUE.notice(
            key=f"visit.overdue:{visit}",
            channel="alert",
            district=DISTRICT,
            school=SCHOOL,
            link=f"{b.link_base}/visits/{visit}",
            values={"school": SCHOOL, "visit": visit, "hours": int(due.payload.get("hours", 1))},
        )
    )


async def plan_visit(
    writer: Writer, visit: str, *, due_in: timedelta, hours: int = 1, fail: bool = False
) -> list[IntegrationEvent]:
    """The command: plan a visit and set its deadline in the same unit of work; ``fail``
    refuses it after the deadline was set (nothing of it may remain)."""

    async def set_deadline(uow: UnitOfWork, now: datetime) -> None:
        await uow.deadlines.set(KIND, visit, now + due_in, {"hours": hours})

    def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
        if fail:
            raise ValueError("refused (as the test asked)")
        return [
            VisitPlanned(
                district=DISTRICT,
                school_id=SCHOOL,
                visit_id=visit,
                class_id=CLASS,
                student_ref=f"stu_{visit}",
                planned_by="staff_1",
                planned_for=date(2026, 12, 1),
            )
        ]

    return await writer.run(f"visit-{visit}", decide, before=set_deadline)


class Clock:
    """The injected clock: tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
