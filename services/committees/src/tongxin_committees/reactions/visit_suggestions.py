"""Parents' suggestions recorded at home visits become items of parents' voice: visits'
``VisitCompleted`` with ``parent_suggestions`` → one ``ParentFeedbackReceived`` per suggestion
(channel ``home_visit``, its topic, due on the suggestion's ``answer_due``, received by
``visits``, with the visit and the suggestion and the channel's handler at the time, no text:
the text stays sealed in visits, which shows it at
``GET /visits/{visit_id}/suggestions/{suggestion_id}``).

Idempotent under redelivery twice over: the kit's reaction claims each trigger once, and each
item's id is derived from its suggestion's (``domain.feedback.item_id_for_suggestion``), so a
visit seen again finds its items received and appends nothing. When the school answers, visits
reads ``ParentFeedbackAnswered`` (it carries the visit and the suggestion) and shows the
suggestion answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tongxin_committees.domain import feedback as fb
from tongxin_committees.domain.calendar import china_date
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    Channel,
    FeedbackTopic,
    feedback_desk_stream,
    feedback_stream,
)
from tongxin_contracts.events.visits import VisitCompleted
from tongxin_platform.commands import Writer
from tongxin_platform.reaction import Reacting, Reaction

VISIT_SUGGESTIONS = Reaction(
    "visit_suggestions",
    group="committees.visit_suggestions",
    sources=("visits",),
    description="Receives each parent suggestion of a completed home visit as an item of the "
    "school's home-visit channel, due on the day visits set for its answer (once per "
    "suggestion).",
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A home visit's suggestion, as visits completed it."""

    district: str
    school_id: str
    visit_id: str
    suggestion_id: str
    topic: FeedbackTopic
    due_on: date
    received_on: date


async def receive_suggestion(writer: Writer, s: Suggestion) -> list[IntegrationEvent]:
    """The suggestion's item, received once (its id derived from the suggestion's)."""
    item_id = fb.item_id_for_suggestion(s.suggestion_id)
    item, desk = feedback_stream(item_id), feedback_desk_stream(s.school_id)

    def decide(loaded: dict[str, list[IntegrationEvent]], _: datetime) -> list[IntegrationEvent]:
        cmd = fb.Receive(
            item_id,
            s.district,
            s.school_id,
            Channel.home_visit,
            s.topic,
            s.received_on,
            fb.VISITS,
            fb.fold_desk(loaded[desk]).handlers.get(Channel.home_visit),
            due_on=s.due_on,
            visit_id=s.visit_id,
            suggestion_id=s.suggestion_id,
            from_visits=True,
        )
        return fb.decide_receive(cmd, fb.fold(loaded[item]))

    return await writer.run_many([item, desk], decide)


@VISIT_SUGGESTIONS.on(VisitCompleted)
async def on_visit(e: VisitCompleted, ctx: Reacting) -> None:
    received_on = china_date(e.started_at)
    for s in e.parent_suggestions:
        await receive_suggestion(
            ctx.writer,
            Suggestion(
                district=e.district,
                school_id=e.school_id,
                visit_id=e.visit_id,
                suggestion_id=s.suggestion_id,
                topic=FeedbackTopic(s.topic.value),
                due_on=s.answer_due,
                received_on=received_on,
            ),
        )
