"""Deadlines are rows, not timers: they survive restarts of any process, and the clock is
injected so tests move time.

A service declares what happens when one falls due::

    REFERRAL_ACK = Deadline("referral.ack", escalate, description="Hospital acknowledgement (1 h)")
    SERVICE = Service(..., deadlines=(REFERRAL_ACK,))

    async def escalate(due: Due, ctx: Firing) -> None:
        await ctx.writer.run(f"referral-{due.key}", lambda history, now: [...])

A command sets or cancels one in its own unit of work, so it commits with the command's events::

    await uow.deadlines.set("referral.ack", referral_id, now + timedelta(hours=1), {"school": s})
    await uow.deadlines.cancel("referral.ack", referral_id)  # acknowledged in time

The worker's deadline part (``DeadlineRunner``) polls every ``<SERVICE>_DEADLINE_POLL_INTERVAL``
seconds: in one transaction it claims due, unfired rows ``FOR UPDATE SKIP LOCKED``, runs each
handler in a savepoint and marks the row fired; effects and mark commit together, so a deadline
fires exactly once with two workers or a worker killed at any point. A handler that raises
leaves its row unfired (its error and attempts recorded) for the next poll; the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tongxin_platform.commands import Writer, caused_by
from tongxin_platform.deadline_store import Deadlines, Due, PgDeadlines
from tongxin_platform.telemetry import tracer
from tongxin_platform.uow import BaseTransactions, UnitOfWork

log = logging.getLogger(__name__)
_TRACER = tracer("tongxin.deadlines")

DEADLINES = "deadlines"  # the worker part's name and kind (liveness)
__all__ = ["DEADLINES", "Deadline", "DeadlineRunner", "Deadlines", "Due", "Firing", "PgDeadlines"]


@dataclass(frozen=True, slots=True)
class Firing:
    """What a deadline's handler gets besides the due row (like a reaction's ``Reacting``)."""

    uow: UnitOfWork  # the deadline part's transaction (savepoint of this row)
    writer: Writer  # joins ``uow``: appends commit with the fired mark; the injected clock
    now: datetime  # the poll's instant, from the injected clock


DeadlineHandler = Callable[[Due, Firing], Awaitable[None]]


@dataclass(frozen=True)
class Deadline:
    """A kind of deadline a service handles (``Service(deadlines=…)``)."""

    kind: str
    handler: DeadlineHandler
    description: str = ""


# --- the worker's part -----------------------------------------------------------------------


@dataclass
class Fired:
    """What one poll did."""

    fired: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


async def fire_due(
    deadlines: Sequence[Deadline],
    transactions: BaseTransactions,
    writer: Writer,
    now: datetime,
    *,
    limit: int = 100,
) -> Fired:
    """One poll: claim what is due at ``now`` and fire it, in one transaction (a savepoint per
    row). Works on any ``Transactions`` (PostgreSQL, or the in-memory fake in unit tests)."""
    handlers = {d.kind: d.handler for d in deadlines}
    result = Fired()
    if not handlers:
        return result
    async with transactions.begin() as uow:
        for due in await uow.deadlines.claim_due(now, sorted(handlers), limit):
            cause = f"deadline:{due.kind}:{due.key}"
            try:
                async with uow.savepoint():
                    with (
                        _TRACER.start_as_current_span(
                            f"deadline {due.kind}", attributes={"tongxin.deadline.key": due.key}
                        ),
                        caused_by(cause, cause),
                    ):
                        await handlers[due.kind](due, Firing(uow, writer, now))
                    await uow.deadlines.mark_fired(due.kind, due.key, now)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - this row waits for the next poll
                log.warning(
                    "deadline %s/%s: handler failed (attempt %d), retried next poll: %s: %s",
                    due.kind,
                    due.key,
                    due.attempts + 1,
                    type(exc).__name__,
                    exc,
                )
                await uow.deadlines.mark_failed(due.kind, due.key, f"{type(exc).__name__}: {exc}")
                result.failed.append((due.kind, due.key))
            else:
                result.fired.append((due.kind, due.key))
    return result


class DeadlineRunner:
    """The worker's deadline part: ``fire_due`` every ``interval`` seconds until stopped."""

    def __init__(
        self,
        deadlines: Sequence[Deadline],
        transactions: BaseTransactions,
        writer: Writer,
        *,
        clock: Callable[[], datetime],
        interval: float,
        limit: int = 100,
        on_poll: Callable[[Fired], None] | None = None,
    ) -> None:
        self.deadlines, self.transactions, self.writer = tuple(deadlines), transactions, writer
        self.clock, self.interval, self.limit = clock, interval, limit
        self.on_poll = on_poll
        self.polls = 0

    async def poll(self) -> Fired:
        fired = await fire_due(
            self.deadlines, self.transactions, self.writer, self.clock(), limit=self.limit
        )
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll(fired)
        return fired

    async def run(self) -> None:
        """Poll forever (a failed poll — the database away — is logged and tried again); a full
        batch polls again at once."""
        while True:
            try:
                fired = await self.poll()
                if len(fired.fired) >= self.limit:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next poll tries again
                log.warning("deadline poll failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.interval)
