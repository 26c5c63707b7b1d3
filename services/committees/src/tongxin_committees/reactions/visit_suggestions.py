"""Parents' suggestions recorded at home visits become items of parents' voice: visits'
``VisitCompleted`` with ``parent_suggestions`` → one ``ParentFeedbackReceived`` per suggestion
(channel ``home_visit``, its topic, due on the suggestion's ``answer_due``, received by
``visits``, with the visit and the suggestion, no text: the text stays sealed in visits, which
shows it at ``GET /visits/{visit_id}/suggestions/{suggestion_id}``).

Idempotent under redelivery twice over: the kit's reaction claims each trigger once, and each
item's id is derived from its suggestion's (``domain.feedback.item_id_for_suggestion``), so a
visit seen again finds its items received and appends nothing. When the school answers, visits
reads ``ParentFeedbackAnswered`` (it carries the visit and the suggestion) and shows the
suggestion answered.
"""

from __future__ import annotations

from tongxin_committees.application.feedback import FeedbackDesk, Suggestion
from tongxin_committees.config import CommitteesSettings
from tongxin_committees.domain.calendar import china_date
from tongxin_contracts.events.committees import FeedbackTopic
from tongxin_contracts.events.visits import VisitCompleted
from tongxin_platform.reaction import Reacting, Reaction

VISIT_SUGGESTIONS = Reaction(
    "visit_suggestions",
    group="committees.visit_suggestions",
    sources=("visits",),
    description="Receives each parent suggestion of a completed home visit as an item of the "
    "school's home-visit channel, due on the day visits set for its answer (once per "
    "suggestion).",
)


@VISIT_SUGGESTIONS.on(VisitCompleted)
async def on_visit(e: VisitCompleted, ctx: Reacting) -> None:
    if not e.parent_suggestions:
        return
    settings = ctx.settings if isinstance(ctx.settings, CommitteesSettings) else None
    desk = FeedbackDesk(ctx.writer, settings or CommitteesSettings())
    received_on = china_date(e.started_at)
    for s in e.parent_suggestions:
        await desk.receive_suggestion(
            Suggestion(
                district=e.district,
                school_id=e.school_id,
                visit_id=e.visit_id,
                suggestion_id=s.suggestion_id,
                topic=FeedbackTopic(s.topic.value),
                due_on=s.answer_due,
                received_on=received_on,
            )
        )
