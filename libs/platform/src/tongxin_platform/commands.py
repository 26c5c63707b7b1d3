"""The write side's loop, shared by services: load streams → decide → append, in one unit of
work, and start over from the load when another writer got there first (``ConcurrencyError``).

Every event a command or a reaction emits carries where it came from: the current trace's
``traceparent``, a ``correlation_id`` (the conversation: the HTTP request's, or the triggering
event's) and a ``causation_id`` (the direct cause: the request, or the triggering event).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tongxin_contracts import EventRegistry, IntegrationEvent
from tongxin_platform.eventstore import ConcurrencyError, NewEvent
from tongxin_platform.telemetry import current_traceparent
from tongxin_platform.uow import Transactions, UnitOfWork

T = TypeVar("T")
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Causation:
    correlation_id: str
    causation_id: str


_causation: ContextVar[Causation | None] = ContextVar("tongxin_causation", default=None)


@contextmanager
def caused_by(correlation_id: str, causation_id: str) -> Iterator[Causation]:
    """Events emitted inside this block carry these ids."""
    c = Causation(correlation_id or causation_id, causation_id)
    token = _causation.set(c)
    try:
        yield c
    finally:
        _causation.reset(token)


def causation() -> Causation:
    """The ids of the current command; a command run outside any (a CLI call, a test) gets
    fresh ones of its own, so no event goes out without them."""
    found = _causation.get()
    if found is None:
        command_id = uuid.uuid4().hex
        found = Causation(command_id, command_id)
    return found


def new_events(
    events: Sequence[IntegrationEvent],
    now: datetime,
    *,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    cause: Causation | None = None,
) -> list[NewEvent]:
    """Wrap decided events for the store, in the current trace and command."""
    c = cause or causation()
    tp = current_traceparent()
    return [NewEvent(new_id(), e, now, tp, c.correlation_id, c.causation_id) for e in events]


async def retrying(attempt: Callable[[], Awaitable[T]], attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``attempt`` again (from its load) after a concurrent change, up to ``attempts`` times."""
    for n in range(1, attempts + 1):
        try:
            return await attempt()
        except ConcurrencyError:
            if n == attempts:
                raise
    raise AssertionError("unreachable")


Decide = Callable[[list[IntegrationEvent], datetime], list[IntegrationEvent]]
# A decision over several streams at once: each stream's history, by id.
DecideMany = Callable[[dict[str, list[IntegrationEvent]], datetime], list[IntegrationEvent]]
# Runs in the command's unit of work before the load (e.g. seal text, redeem a code) …
Before = Callable[[UnitOfWork, datetime], Awaitable[None]]
# … or after the append, with the streams written to (e.g. tag them).
After = Callable[[UnitOfWork, list[str]], Awaitable[None]]


class Writer:
    """A service's write side: load one stream, decide on its history, append what was decided.

    Decided events go to their own aggregates' streams (a visit may open follow-up cases), all
    in one unit of work; a concurrent change starts the attempt over from the load.
    """

    def __init__(
        self,
        transactions: Transactions,
        registry: EventRegistry,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.transactions, self.registry = transactions, registry
        self.clock, self.new_id = clock, new_id

    async def history(self, stream_id: str) -> list[IntegrationEvent]:
        async with self.transactions.read() as uow:
            return (await uow.events.load([stream_id])).of(stream_id)

    async def run(
        self,
        stream_id: str,
        decide: Decide,
        *,
        before: Before | None = None,
        after: After | None = None,
    ) -> list[IntegrationEvent]:
        """Load ``stream_id``, decide on its history, append what was decided."""
        return await self.run_many(
            [stream_id],
            lambda loaded, now: decide(loaded[stream_id], now),
            before=before,
            after=after,
        )

    async def run_many(
        self,
        stream_ids: Sequence[str],
        decide: DecideMany,
        *,
        before: Before | None = None,
        after: After | None = None,
    ) -> list[IntegrationEvent]:
        """``run`` over several streams loaded together (a rule that spans two aggregates, e.g.
        a listing that opens the student's plan): the decision sees every stream's history and
        its events are appended after each stream's head, in one unit of work."""
        cause = causation()  # one command: every attempt's events share its ids

        async def attempt() -> list[IntegrationEvent]:
            now = self.clock()
            async with self.transactions.begin() as uow:
                if before is not None:
                    await before(uow, now)
                loaded = await uow.events.load(list(stream_ids))
                decided = decide({sid: loaded.of(sid) for sid in stream_ids}, now)
                by_stream: dict[str, list[IntegrationEvent]] = defaultdict(list)
                for e in decided:
                    by_stream[e.aggregate_id()].append(e)
                batches = [
                    (sid, loaded.head(sid), new_events(evs, now, new_id=self.new_id, cause=cause))
                    for sid, evs in by_stream.items()
                ]
                if len(batches) == 1:
                    await uow.events.append(*batches[0])
                elif batches:
                    await uow.events.append_many(batches)
                if after is not None and batches:
                    await after(uow, list(by_stream))
                return decided

        return await retrying(attempt)
