"""Reactions: a service's answer to other services' events (choreography, never a shared
database). A reaction consumes events in its own consumer group, decides, and appends through
the event store — distinct from projections, so replaying a read model never repeats a
write-side effect.

    shredding = Reaction("shredding", group="visits.shredding", sources=("registry",))

    @shredding.on(SubjectErased)
    async def _(e: SubjectErased, ctx: Reacting) -> None:
        await ctx.uow.keys.erase(e.student_ref)
        await ctx.writer.run(…)

Each event is handled in the consumer's transaction, with the triggering event's id as its
idempotency key (``answers``, scope ``reaction:<name>``): offsets, key and effects commit
together, and a trigger seen again (a redelivery, the group replayed from offset 0) is skipped.
The events it appends carry the trigger's id as ``causation_id`` and its correlation id, and
continue its trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tongxin_contracts import IntegrationEvent
from tongxin_platform.commands import Writer, caused_by
from tongxin_platform.exactly_once import TRANSIENT, Apply, HandlerFailedError, Ledger, Message
from tongxin_platform.uow import BaseTransactions, UnitOfWork

if TYPE_CHECKING:
    from tongxin_platform.settings import ServiceSettings

E = TypeVar("E", bound=IntegrationEvent)


@dataclass(frozen=True, slots=True)
class Reacting:
    """What a reaction's handler gets besides the event."""

    uow: UnitOfWork  # the consumer's transaction
    writer: Writer  # joins ``uow``: appends commit with the offsets
    message: Message  # the trigger: its id, source, stream, trace
    settings: ServiceSettings | None = None  # the worker's (e.g. ``public_link`` for a notice)


ReactionHandler = Callable[[Any, Reacting], Awaitable[None]]


class Reaction:
    def __init__(
        self, name: str, *, group: str, sources: Sequence[str], description: str = ""
    ) -> None:
        self.name, self.group = name, group
        self.sources = tuple(sources)
        self.description = description
        self.handlers: dict[str, ReactionHandler] = {}
        self.event_types: dict[str, type[IntegrationEvent]] = {}

    def on(
        self, *types: type[E]
    ) -> Callable[
        [Callable[[E, Reacting], Awaitable[None]]], Callable[[E, Reacting], Awaitable[None]]
    ]:
        def register(
            handler: Callable[[E, Reacting], Awaitable[None]],
        ) -> Callable[[E, Reacting], Awaitable[None]]:
            for t in types:
                if t.ce_type() in self.handlers:
                    raise ValueError(f"{self.name}: {t.__name__} is handled twice")
                self.handlers.update(dict.fromkeys(t.ce_types(), handler))  # and older versions
                self.event_types[t.ce_type()] = t
            return handler

        return register

    def handles(self, ce_type: str) -> bool:
        return ce_type in self.handlers

    @property
    def scope(self) -> str:
        return f"reaction:{self.name}"

    def apply(
        self,
        transactions: BaseTransactions,
        bind: Callable[[Ledger], UnitOfWork],
        writer: Writer,
        settings: ServiceSettings | None = None,
    ) -> Apply:
        """The consumer's ``Apply``: each trigger handled once, in the batch's transaction
        (``bind`` gives the unit of work on the ledger's connection)."""

        async def apply(tx: Ledger, messages: Sequence[Message]) -> None:
            uow = bind(tx)
            async with transactions.joining(uow):
                for m in messages:
                    try:
                        await self._react(uow, writer, m, settings)
                    except TRANSIENT:
                        raise
                    except Exception as exc:
                        raise HandlerFailedError(m, exc) from exc

        return apply

    async def _react(
        self, uow: UnitOfWork, writer: Writer, m: Message, settings: ServiceSettings | None
    ) -> None:
        handler = self.handlers.get(m.type)
        if handler is None or m.event is None:
            return
        if await uow.answers.claim(self.scope, m.id, m.type) is not None:
            return  # this trigger was reacted to already
        with m.span(self.group, current=True), caused_by(m.correlation_id or m.id, m.id):
            await handler(m.event, Reacting(uow, writer, m, settings))
        await uow.answers.remember(self.scope, m.id, 200, {"trigger": m.id, "type": m.type})
