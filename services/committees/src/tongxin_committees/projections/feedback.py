"""Parents' voice as the school's lists and the district's figures read it: the named handler
of each channel of each desk, and one row per item with its channel, topic, due day, handler,
assignee and answer (decision, day, on time). No text: it stays sealed in the event store,
opened only by ``GET /feedback/{item_id}``."""

from __future__ import annotations

from tongxin_contracts.events.committees import (
    FeedbackHandlerNamed,
    ParentFeedbackAnswered,
    ParentFeedbackAssigned,
    ParentFeedbackReceived,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN = "text", "text NOT NULL"
TABLES = [
    Table(
        "feedback_handlers",
        ("desk_id", "channel"),
        {
            "desk_id": T,
            "channel": T,
            "district": NN,
            "school_id": T,
            "handler_ref": NN,
            "named_on": "date NOT NULL",
        },
    ),
    Table(
        "feedback_items",
        ("item_id",),
        {
            "item_id": T,
            "district": NN,
            "school_id": NN,
            "channel": NN,
            "topic": NN,
            "received_on": "date NOT NULL",
            "due_on": "date NOT NULL",
            "handler_ref": T,
            "received_by": NN,
            "committee_id": T,
            "visit_id": T,
            "suggestion_id": T,
            "assignee_ref": T,
            "decision": T,
            "answered_on": "date",
            "answered_by": T,
            "on_time": "boolean",
        },
        indexes={
            "feedback_by_school": "(school_id, received_on)",
            "feedback_by_district": "(district, school_id)",
            "feedback_by_committee": "(committee_id)",
        },
    ),
]


def register(p: Projection) -> None:
    """The handlers of the feedback events, on the service's one read model."""

    @p.on(FeedbackHandlerNamed)
    def _(e: FeedbackHandlerNamed, rows: Changes) -> None:
        rows["feedback_handlers"].upsert(
            (e.desk_id, e.channel.value),
            district=e.district,
            school_id=e.school_id,
            handler_ref=e.handler_ref,
            named_on=e.named_on,
        )

    @p.on(ParentFeedbackReceived)
    def _(e: ParentFeedbackReceived, rows: Changes) -> None:
        rows["feedback_items"].upsert(
            e.item_id,
            district=e.district,
            school_id=e.school_id,
            channel=e.channel.value,
            topic=e.topic.value,
            received_on=e.received_on,
            due_on=e.due_on,
            handler_ref=e.handler_ref,
            received_by=e.received_by,
            committee_id=e.committee_id,
            visit_id=e.visit_id,
            suggestion_id=e.suggestion_id,
        )

    @p.on(ParentFeedbackAssigned)
    def _(e: ParentFeedbackAssigned, rows: Changes) -> None:
        rows["feedback_items"].update(e.item_id, assignee_ref=e.assignee_ref)

    @p.on(ParentFeedbackAnswered)
    def _(e: ParentFeedbackAnswered, rows: Changes) -> None:
        rows["feedback_items"].update(
            e.item_id,
            decision=e.decision.value,
            answered_on=e.answered_on,
            answered_by=e.answered_by,
            on_time=e.on_time,
        )
