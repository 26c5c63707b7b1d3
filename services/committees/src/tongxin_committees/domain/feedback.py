"""Parents' voice, answered on time (seed 000; seed 003 三、(六)).

Every channel has a named handler (专人管理): at a school's desk (desk id = the school id) the
principal's mailbox, the hotline, the committee channel and the home-visit suggestions, each a
staff member of the school; at the district's desk (``district-<code>``) the bureau director's
mailbox, a bureau officer. A later naming replaces the earlier one.

An item is received with the day its answer is due (``answer_days`` after it came in; a home
visit's suggestion keeps the due day visits gave it) and the channel's handler at the time (none
shows up in the figures), assigned to a staff member of the school, and answered once with the
school's decision; ``on_time`` is answered on or before the due day. Home-visit items are never
received by hand: only visits' ``VisitCompleted`` creates them (``reactions/visit_suggestions``),
and their id is derived from the suggestion's, so a redelivered visit adds nothing.

Pure: the deciders get the stream's history and answer the events, or refuse naming the field
and the rule. Who the roster says is staff, which committee seats a guardian holds, and whether
the caller manages the school are facts the application looks up and passes in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from tongxin_committees.domain.errors import CommitteesError, NotEntitledError, UnknownRecordError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    AnswerDecision,
    ByElectionHeld,
    Channel,
    CommitteeElected,
    CommitteeFormed,
    FeedbackHandlerNamed,
    FeedbackTopic,
    MemberRemoved,
    MemberResigned,
    MembershipEnding,
    ParentFeedbackAnswered,
    ParentFeedbackAssigned,
    ParentFeedbackReceived,
    district_desk,
)

SCHOOL_CHANNELS = frozenset(
    {Channel.principal_mailbox, Channel.hotline, Channel.committee, Channel.home_visit}
)
DISTRICT_CHANNELS = frozenset({Channel.bureau_mailbox})
VISITS = "visits"  # who "received" a home visit's suggestion

_SUGGESTIONS = uuid.UUID("5b0c7d8e-2f41-4c3a-9e57-6a1d0f3b9c21")


def item_id_for_suggestion(suggestion_id: str) -> str:
    """The feedback item of a home visit's suggestion: derived from the suggestion's id, so a
    redelivered ``VisitCompleted`` finds the item it made already."""
    return str(uuid.uuid5(_SUGGESTIONS, suggestion_id))


def _refuse(field_: str, rule: str, detail: str) -> CommitteesError:
    return CommitteesError(f"{field_}: {detail}", field=field_, rule=rule)


# --- the desk: who handles each channel -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeskState:
    handlers: dict[Channel, str] = field(default_factory=dict)


def fold_desk(history: Iterable[IntegrationEvent]) -> DeskState:
    handlers: dict[Channel, str] = {}
    for e in history:
        if isinstance(e, FeedbackHandlerNamed):
            handlers[e.channel] = e.handler_ref
    return DeskState(handlers)


@dataclass(frozen=True, slots=True)
class NameHandler:
    district: str
    school_id: str | None  # None: the district's desk
    channel: Channel
    handler_ref: str
    named_on: date
    named_by: str
    handler_is_staff: bool  # the roster: a staff member of the school (school desks)

    @property
    def desk_id(self) -> str:
        return self.school_id if self.school_id is not None else district_desk(self.district)


def decide_handler(cmd: NameHandler, state: DeskState) -> list[IntegrationEvent]:
    """Name the channel's handler; naming the one already named appends nothing."""
    allowed = SCHOOL_CHANNELS if cmd.school_id is not None else DISTRICT_CHANNELS
    if cmd.channel not in allowed:
        raise _refuse(
            "channel",
            "desk_channel",
            "a school names handlers of its own channels; the district of the bureau "
            "director's mailbox",
        )
    if cmd.school_id is not None and not cmd.handler_is_staff:
        raise _refuse("handler_ref", "handler_is_staff", "the handler must be staff of the school")
    if state.handlers.get(cmd.channel) == cmd.handler_ref:
        return []
    return [
        FeedbackHandlerNamed(
            district=cmd.district,
            desk_id=cmd.desk_id,
            school_id=cmd.school_id,
            channel=cmd.channel,
            handler_ref=cmd.handler_ref,
            named_on=cmd.named_on,
            named_by=cmd.named_by,
        )
    ]


# --- an item: received, assigned, answered -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemState:
    received: ParentFeedbackReceived | None = None
    assignee_ref: str | None = None
    answered: ParentFeedbackAnswered | None = None


def evolve(state: ItemState, e: IntegrationEvent) -> ItemState:
    match e:
        case ParentFeedbackReceived():
            return ItemState(received=e)
        case ParentFeedbackAssigned():
            return replace(state, assignee_ref=e.assignee_ref)
        case ParentFeedbackAnswered():
            return replace(state, answered=e)
    return state


def fold(history: Iterable[IntegrationEvent]) -> ItemState:
    state = ItemState()
    for e in history:
        state = evolve(state, e)
    return state


@dataclass(frozen=True, slots=True)
class Receive:
    item_id: str
    district: str
    school_id: str
    channel: Channel
    topic: FeedbackTopic
    received_on: date
    received_by: str
    handler_ref: str | None  # the channel's named handler now
    answer_days: int = 15  # settings.answer_days (own channels)
    due_on: date | None = None  # a home visit's suggestion: visits' answer_due
    committee_id: str | None = None
    text: Sealed | None = None
    visit_id: str | None = None
    suggestion_id: str | None = None
    from_visits: bool = False  # the reaction to VisitCompleted, never a person
    today: date | None = None  # China time, by the writer's clock (a person's receipt)


def decide_receive(cmd: Receive, state: ItemState) -> list[IntegrationEvent]:
    """Receive the item, once (a second receipt of the same item appends nothing: a home
    visit's suggestion redelivered)."""
    if cmd.channel is Channel.home_visit and not cmd.from_visits:
        raise _refuse(
            "channel", "home_visit_from_visits", "a home visit's suggestions come from visits"
        )
    if cmd.from_visits and (
        cmd.channel is not Channel.home_visit or cmd.visit_id is None or cmd.suggestion_id is None
    ):
        raise _refuse("channel", "home_visit_from_visits", "visits sends home-visit suggestions")
    if cmd.today is not None and cmd.received_on > cmd.today:
        raise _refuse("received_on", "received_on_not_future", "the day has not come yet")
    if cmd.channel is Channel.committee and cmd.committee_id is None:
        raise _refuse("committee_id", "committee_required", "the committee channel names one")
    if state.received is not None:
        return []
    due_on = cmd.due_on if cmd.due_on is not None else cmd.received_on + timedelta(cmd.answer_days)
    return [
        ParentFeedbackReceived(
            district=cmd.district,
            item_id=cmd.item_id,
            school_id=cmd.school_id,
            channel=cmd.channel,
            topic=cmd.topic,
            received_on=cmd.received_on,
            due_on=due_on,
            handler_ref=cmd.handler_ref,
            received_by=VISITS if cmd.from_visits else cmd.received_by,
            committee_id=cmd.committee_id,
            visit_id=cmd.visit_id,
            suggestion_id=cmd.suggestion_id,
            text=cmd.text,
        )
    ]


@dataclass(frozen=True, slots=True)
class Assign:
    item_id: str
    assignee_ref: str
    assigned_on: date
    assigned_by: str
    assignee_is_staff: bool  # the roster: staff of the item's school


def _unknown() -> UnknownRecordError:
    return UnknownRecordError("item_id: no such feedback item", field="item_id", rule="exists")


def decide_assign(cmd: Assign, state: ItemState) -> list[IntegrationEvent]:
    r = state.received
    if r is None:
        raise _unknown()
    if state.answered is not None:
        raise _refuse("item_id", "already_answered", "the item is answered")
    if not cmd.assignee_is_staff:
        raise _refuse(
            "assignee_ref", "assignee_is_staff", "the assignee must be staff of the school"
        )
    if state.assignee_ref == cmd.assignee_ref:
        return []
    return [
        ParentFeedbackAssigned(
            district=r.district,
            item_id=r.item_id,
            school_id=r.school_id,
            assignee_ref=cmd.assignee_ref,
            assigned_on=cmd.assigned_on,
            assigned_by=cmd.assigned_by,
        )
    ]


@dataclass(frozen=True, slots=True)
class Answer:
    item_id: str
    decision: AnswerDecision
    answer: Sealed
    answered_on: date
    answered_by: str
    current_handler: str | None  # the channel's named handler now
    manages: bool  # the caller manages the school (or is the bureau, for its mailbox)


def may_answer(state: ItemState, who: str, current_handler: str | None, manages: bool) -> bool:
    """The assignee, the channel's handler (named when it came in, or now) or a manager."""
    r = state.received
    if r is None:
        return False
    return manages or who in {state.assignee_ref, r.handler_ref, current_handler} - {None}


def decide_answer(cmd: Answer, state: ItemState) -> list[IntegrationEvent]:
    r = state.received
    if r is None:
        raise _unknown()
    if not may_answer(state, cmd.answered_by, cmd.current_handler, cmd.manages):
        raise NotEntitledError(
            "answered_by: the assignee, the channel's handler or a manager answers",
            field="answered_by",
            rule="answerer",
        )
    if state.answered is not None:
        raise _refuse("item_id", "already_answered", "the item is answered already")
    return [
        ParentFeedbackAnswered(
            district=r.district,
            item_id=r.item_id,
            school_id=r.school_id,
            channel=r.channel,
            decision=cmd.decision,
            answered_on=cmd.answered_on,
            due_on=r.due_on,
            on_time=cmd.answered_on <= r.due_on,
            answered_by=cmd.answered_by,
            visit_id=r.visit_id,
            suggestion_id=r.suggestion_id,
            answer=cmd.answer,
        )
    ]


def status_of(due_on: date, answered_on: date | None, as_of: date) -> str:
    """open | answered | overdue, on ``as_of`` (an answer after ``as_of`` is not known yet)."""
    if answered_on is not None and answered_on <= as_of:
        return "answered"
    return "overdue" if as_of > due_on else "open"


# --- committee seats (what a committee member may see and send) -------------------------------


@dataclass(frozen=True, slots=True)
class CommitteeSeats:
    """A committee as the feedback desk needs it: its school and who holds a seat, with the
    day a seat ends (None: the term's end)."""

    committee_id: str | None = None
    district: str | None = None
    school_id: str | None = None
    term_end: date | None = None
    seats: dict[str, date | None] = field(default_factory=dict)

    def seated(self, guardian_ref: str, on: date) -> bool:
        if guardian_ref not in self.seats or self.committee_id is None:
            return False
        ends = self.seats[guardian_ref]
        last = (
            min(d for d in (ends, self.term_end) if d is not None)
            if (ends or self.term_end)
            else None
        )
        return last is None or on <= last


def fold_seats(history: Iterable[IntegrationEvent]) -> CommitteeSeats:
    c = CommitteeSeats()
    seats: dict[str, date | None] = {}
    for e in history:
        match e:
            case CommitteeFormed():
                c = CommitteeSeats(e.committee_id, e.district, e.school_id, e.term_end)
            case CommitteeElected() | ByElectionHeld():
                for s in e.members:
                    seats[s.guardian_ref] = None
            case MemberResigned() | MemberRemoved():
                seats.pop(e.guardian_ref, None)
            case MembershipEnding():
                if e.guardian_ref in seats:
                    seats[e.guardian_ref] = e.ends_on
    return replace(c, seats=seats)


# --- the district's figures --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemRow:
    """An item as the figures count it (the read model's row)."""

    school_id: str
    channel: str
    received_on: date
    due_on: date
    answered_on: date | None = None
    on_time: bool | None = None


COUNTS = ("received", "answered", "on_time", "late", "open", "overdue")


def counts(rows: Iterable[ItemRow], as_of: date) -> dict[str, int]:
    """received (on or before ``as_of``), answered (by ``as_of``), on time, late, and of the
    unanswered: open (not yet due) and overdue (past due on ``as_of``)."""
    out = dict.fromkeys(COUNTS, 0)
    for r in rows:
        if r.received_on > as_of:
            continue
        out["received"] += 1
        status = status_of(r.due_on, r.answered_on, as_of)
        if status == "answered":
            out["answered"] += 1
            out["on_time" if r.on_time else "late"] += 1
        else:
            out[status] += 1
    return out


def figures_by_school(
    schools: Iterable[str],
    rows: Iterable[ItemRow],
    handlers: dict[str, set[str]],
    as_of: date,
) -> list[dict[str, object]]:
    """Per school: the counts per channel and in all, and the school's channels without a named
    handler (``handlers``: school id → the channels named)."""
    by_school: dict[str, list[ItemRow]] = {}
    for r in rows:
        by_school.setdefault(r.school_id, []).append(r)
    out: list[dict[str, object]] = []
    for school_id in schools:
        mine = by_school.get(school_id, [])
        channels = sorted({r.channel for r in mine})
        out.append(
            {
                "school_id": school_id,
                **counts(mine, as_of),
                "channels": {
                    c: counts((r for r in mine if r.channel == c), as_of) for c in channels
                },
                "channels_without_handler": sorted(
                    c.value
                    for c in SCHOOL_CHANNELS
                    if c.value not in handlers.get(school_id, set())
                ),
            }
        )
    return out
