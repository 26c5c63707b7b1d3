"""Feedback commands (parents' voice): name a channel's handler, receive an item, assign it,
answer it. Texts are sealed in the unit of work that appends them: with the school's key
(``school-<school_id>``) for a school's channels, the district's (``district-<code>``) for the
bureau director's mailbox. A home visit's suggestion is received by the reaction
(``reactions/visit_suggestions``), with no text (it stays in visits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tongxin_committees.config import CommitteesSettings
from tongxin_committees.domain import feedback as fb
from tongxin_committees.domain.calendar import china_date
from tongxin_committees.domain.errors import UnknownRecordError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    AnswerDecision,
    Channel,
    FeedbackTopic,
    committee_stream,
    district_desk,
    feedback_desk_stream,
    feedback_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork


def subject_of(district: str, school_id: str, channel: Channel) -> str:
    """Whose key seals an item's text and answer."""
    if channel is Channel.bureau_mailbox:
        return f"district-{district}"
    return f"school-{school_id}"


def desk_of(district: str, channel: Channel, school_id: str) -> str:
    return district_desk(district) if channel is Channel.bureau_mailbox else school_id


@dataclass(frozen=True, slots=True)
class Incoming:
    """An item as a person records it."""

    district: str
    school_id: str
    channel: Channel
    topic: FeedbackTopic
    text: str
    received_by: str
    received_on: date | None = None
    committee_id: str | None = None


class FeedbackDesk:
    def __init__(self, writer: Writer, settings: CommitteesSettings) -> None:
        self.writer, self.settings = writer, settings

    def today(self) -> date:
        return china_date(self.writer.clock())

    async def handler(self, district: str, channel: Channel, school_id: str) -> str | None:
        stream = feedback_desk_stream(desk_of(district, channel, school_id))
        return fb.fold_desk(await self.writer.history(stream)).handlers.get(channel)

    async def committee(self, committee_id: str) -> fb.CommitteeSeats:
        return fb.fold_seats(await self.writer.history(committee_stream(committee_id)))

    async def item(self, item_id: str) -> fb.ItemState:
        return fb.fold(await self.writer.history(feedback_stream(item_id)))

    async def name_handler(
        self,
        district: str,
        school_id: str | None,
        channel: Channel,
        handler_ref: str,
        named_by: str,
        handler_is_staff: bool,
    ) -> list[IntegrationEvent]:
        cmd = fb.NameHandler(
            district, school_id, channel, handler_ref, self.today(), named_by, handler_is_staff
        )
        return await self.writer.run(
            feedback_desk_stream(cmd.desk_id),
            lambda history, _: fb.decide_handler(cmd, fb.fold_desk(history)),
        )

    async def receive(self, i: Incoming) -> list[IntegrationEvent]:
        item_id = str(self.writer.new_id())
        desk = feedback_desk_stream(desk_of(i.district, i.channel, i.school_id))
        sealed: dict[str, Sealed] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            subject = subject_of(i.district, i.school_id, i.channel)
            sealed["text"] = await uow.keys.seal(subject, {"text": i.text})

        def decide(
            loaded: dict[str, list[IntegrationEvent]], now: datetime
        ) -> list[IntegrationEvent]:
            cmd = fb.Receive(
                item_id,
                i.district,
                i.school_id,
                i.channel,
                i.topic,
                i.received_on or china_date(now),
                i.received_by,
                fb.fold_desk(loaded[desk]).handlers.get(i.channel),
                answer_days=self.settings.answer_days,
                committee_id=i.committee_id,
                text=sealed["text"],
                today=china_date(now),
            )
            return fb.decide_receive(cmd, fb.fold(loaded[feedback_stream(item_id)]))

        return await self.writer.run_many([feedback_stream(item_id), desk], decide, before=seal)

    async def assign(
        self, item_id: str, assignee_ref: str, assigned_by: str, assignee_is_staff: bool
    ) -> list[IntegrationEvent]:
        cmd = fb.Assign(item_id, assignee_ref, self.today(), assigned_by, assignee_is_staff)
        return await self.writer.run(
            feedback_stream(item_id), lambda history, _: fb.decide_assign(cmd, fb.fold(history))
        )

    async def answer(
        self,
        item_id: str,
        decision: AnswerDecision,
        answer: str,
        answered_by: str,
        manages: bool,
    ) -> list[IntegrationEvent]:
        state = await self.item(item_id)
        r = state.received
        if r is None:
            raise UnknownRecordError(
                "item_id: no such feedback item", field="item_id", rule="exists"
            )
        desk = feedback_desk_stream(desk_of(r.district, r.channel, r.school_id))
        sealed: dict[str, Any] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            subject = subject_of(r.district, r.school_id, r.channel)
            sealed["answer"] = await uow.keys.seal(subject, {"text": answer})

        def decide(
            loaded: dict[str, list[IntegrationEvent]], now: datetime
        ) -> list[IntegrationEvent]:
            cmd = fb.Answer(
                item_id,
                decision,
                sealed["answer"],
                china_date(now),
                answered_by,
                fb.fold_desk(loaded[desk]).handlers.get(r.channel),
                manages,
            )
            return fb.decide_answer(cmd, fb.fold(loaded[feedback_stream(item_id)]))

        return await self.writer.run_many([feedback_stream(item_id), desk], decide, before=seal)
