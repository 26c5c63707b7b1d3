"""Parents' voice routes (seed 000; seed 003 三、(六)): the channels' named handlers (专人管理),
items received, assigned and answered with the school's decision, the school's and a committee's
lists (open / answered / overdue on ``as_of``), and the district's figures.

Who receives: a school's managers and head teachers on the principal's mailbox and the hotline;
a committee member on the ``committee`` channel of a committee where they hold a current seat
(managers may record one too); a bureau officer on the bureau director's mailbox, naming the
school. A home visit's suggestion is never received by hand (visits sends it).

Who reads an item in clear (logged): the school's managers, the channel's handler, the assignee,
the district bureau and auditors, and a member of the committee it came through. The school's
list of items (no text) is its managers', head teachers', the bureau's and auditors': a committee
member reads their committee's items, a subject teacher the items assigned to them. Who handles
which channel is known to all who may read the school's feedback. A school names its own
channels' handlers, the bureau the handler of its mailbox. Anything outside the
caller's scope — another school's item, a committee the member holds no seat on — is answered
exactly like a missing one (404); a role that may never is a 403 naming the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import Field, StringConstraints

from tongxin_committees.application import feedback_queries, queries
from tongxin_committees.application.feedback import Incoming
from tongxin_committees.application.policy import MANAGERS, MEMBER, POLICY, Action
from tongxin_committees.domain import feedback as fb
from tongxin_committees.entrypoints.deps import (
    App,
    Body,
    Command,
    CommitteeId,
    district_view,
    today,
)
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.committees import (
    AnswerDecision,
    Channel,
    FeedbackTopic,
    ParentFeedbackReceived,
    district_desk,
)
from tongxin_platform import access
from tongxin_platform.auth import Principal, Role
from tongxin_platform.edge import guard, service_router
from tongxin_platform.fields import IDENT, AsOf, Day, DistrictId, Ref, SchoolId
from tongxin_platform.http import Caller, ProblemError, not_found, require
from tongxin_platform.policy import Scope

router = service_router(tags=["feedback"])

ItemId = Annotated[str, Path(pattern=IDENT, description="A feedback item's id.")]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=r"^[^\x00]*$"),
]
RECEIVERS: dict[Channel, frozenset[Role]] = {
    Channel.principal_mailbox: MANAGERS | {Role.head_teacher},
    Channel.hotline: MANAGERS | {Role.head_teacher},
    Channel.committee: MANAGERS | {MEMBER},
    Channel.bureau_mailbox: frozenset({Role.bureau_officer}),
}


class HandlerBody(Body):
    channel: Channel = Field(description="The channel (a school's own, or bureau_mailbox).")
    handler_ref: Ref = Field(description="Pseudonym of the handler (staff or bureau officer).")


class FeedbackBody(Body):
    channel: Channel = Field(description="Where it came in (home_visit: from visits only).")
    topic: FeedbackTopic = Field(description="What it is about.")
    text: Text = Field(description="The feedback: sealed with the school's (or district's) key.")
    received_on: Day | None = Field(default=None, description="The day (default: today).")
    committee_id: Ref | None = Field(
        default=None, description="The committee (required on the committee channel)."
    )


class AssignBody(Body):
    assignee_ref: Ref = Field(description="staff_ref of who prepares the answer.")


class AnswerBody(Body):
    decision: AnswerDecision = Field(description="The school's decision.")
    answer: Text = Field(description="The answer to the family: sealed with the school's key.")


async def _school(app: App, who: Principal, action: Action, school_id: str) -> dict[str, Any]:
    """The school, for a caller who may ``action`` there (a head teacher: their class's school)."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    school = await queries.school(app.pool, school_id)
    if school is None:
        raise not_found("school_id", "school")
    require(POLICY, who, action, Scope(school["district"], school_id, who.class_id))
    return school


async def _is_staff(app: App, staff_ref: str, school_id: str) -> bool:
    row = await queries.staff_member(app.pool, staff_ref)
    return row is not None and row["school_id"] == school_id


def _in_scope(who: Principal, action: Action, district: str, school_id: str) -> bool:
    where = Scope(district, school_id, who.class_id)
    return POLICY.authorize(who, action, where).allowed


async def _seated(app: App, who: Principal, committee_id: str, on: date) -> fb.CommitteeSeats:
    """The committee, if the caller (a member) holds a current seat on it; else 404."""
    c = await app.service.feedback.committee(committee_id)
    if c.committee_id is None or not c.seated(who.subject, on):
        raise not_found("committee_id", "committee")
    return c


def _school_lists(who: Principal) -> None:
    """A school's lists are its staff's and the bureau's: a committee member reads their
    committee's items (``/committees/{id}/feedback``), a subject teacher the items assigned to
    them (``/feedback/{id}``)."""
    if who.role is MEMBER:
        raise ProblemError(
            403,
            "Forbidden",
            "a committee member reads their own committee's items (/committees/{id}/feedback)",
            rule="member_reads_own_committee",
        )
    if who.role is Role.subject_teacher:
        raise ProblemError(
            403,
            "Forbidden",
            "a subject teacher reads the items assigned to them (/feedback/{id})",
            rule="assigned_items_only",
        )


def _manages(who: Principal, r: ParentFeedbackReceived) -> bool:
    if who.role is Role.bureau_officer:
        return r.channel is Channel.bureau_mailbox
    return who.role in MANAGERS


@router.post(
    "/schools/{school_id}/feedback-handlers",
    summary="Name the handler of one of the school's channels (专人管理; a later one replaces)",
)
@guard(POLICY, Action.handler_name)
async def name_school_handler(school_id: SchoolId, body: HandlerBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    if who.role is Role.bureau_officer:
        raise ProblemError(
            403,
            "Forbidden",
            "a school names its own channels' handlers; the bureau its mailbox's",
            rule="school_desk",
        )
    school = await _school(app, who, Action.handler_name, school_id)
    staff = await _is_staff(app, body.handler_ref, school_id)
    return await cmd(
        lambda: app.service.feedback.name_handler(
            school["district"], school_id, body.channel, body.handler_ref, who.subject, staff
        ),
        desk_id=school_id,
    )


@router.post(
    "/districts/{district}/feedback-handlers",
    summary="Name the handler of the bureau director's mailbox (a bureau officer)",
)
@guard(POLICY, Action.handler_name)
async def name_district_handler(district: DistrictId, body: HandlerBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    require(POLICY, who, Action.handler_name, Scope(district))  # a school's: outside its scope
    if who.role is not Role.bureau_officer:  # the district's desk is the bureau's
        action = Action.handler_name.value
        raise ProblemError(
            403,
            "Forbidden",
            f"role {who.role.value} may not {action} at the district's desk",
            rule=action,
        )
    return await cmd(
        lambda: app.service.feedback.name_handler(
            district, None, body.channel, body.handler_ref, who.subject, True
        ),
        desk_id=district_desk(district),
    )


@router.get("/schools/{school_id}/feedback-handlers", summary="Every channel's named handler")
@guard(POLICY, Action.feedback_read)
async def school_handlers(school_id: SchoolId, app: App, who: Caller) -> Any:
    # Who handles what is known to everyone who may read the school's feedback (no item).
    school = await _school(app, who, Action.feedback_read, school_id)
    found = await feedback_queries.handlers(app.pool, school["district"], school_id)
    return jsonable_encoder({"school_id": school_id, "channels": found})


@router.post(
    "/schools/{school_id}/feedback",
    summary="Receive an item of parents' voice (its text sealed); due in answer_days",
)
@guard(POLICY, Action.feedback_receive)
async def receive(school_id: SchoolId, body: FeedbackBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    school = await _school(app, who, Action.feedback_receive, school_id)
    if body.channel is Channel.home_visit:
        raise ProblemError(
            422,
            "Refused",
            "channel: a home visit's suggestions come from visits",
            field="channel",
            rule="home_visit_from_visits",
        )
    if who.role not in RECEIVERS[body.channel]:
        raise ProblemError(
            403,
            "Forbidden",
            f"role {who.role.value} may not receive on the {body.channel.value} channel",
            field="channel",
            rule="receiver",
        )
    if body.channel is Channel.committee:
        if body.committee_id is None:
            raise ProblemError(
                422,
                "Refused",
                "committee_id: the committee channel names the committee",
                field="committee_id",
                rule="committee_required",
            )
        if who.role is MEMBER:
            c = await _seated(app, who, body.committee_id, today(app))
        else:
            c = await app.service.feedback.committee(body.committee_id)
        if c.committee_id is None or c.school_id != school_id:
            raise not_found("committee_id", "committee")
    incoming = Incoming(
        district=school["district"],
        school_id=school_id,
        channel=body.channel,
        topic=body.topic,
        text=body.text,
        received_by=who.subject,
        received_on=body.received_on,
        committee_id=body.committee_id if body.channel is Channel.committee else None,
    )
    return await cmd(lambda: app.service.feedback.receive(incoming), tell=_received)


def _received(events: Sequence[IntegrationEvent]) -> dict[str, Any]:
    received = events[0]
    assert isinstance(received, ParentFeedbackReceived)
    return {
        "item_id": received.item_id,
        "due_on": received.due_on,
        "handler_ref": received.handler_ref,
    }


async def _item_for(app: App, who: Principal, action: Action, item_id: str) -> fb.ItemState:
    """The item, for a caller who may ``action`` at its school; missing or out of scope: 404."""
    require(POLICY, who, action, Scope(who.district, who.school, who.class_id))
    s = await app.service.feedback.item(item_id)
    r = s.received
    if r is None:
        raise not_found("item_id", "feedback item")
    if who.role is MEMBER:
        if r.committee_id is None or not (
            await app.service.feedback.committee(r.committee_id)
        ).seated(who.subject, today(app)):
            raise not_found("item_id", "feedback item")
    elif not _in_scope(who, action, r.district, r.school_id):
        raise not_found("item_id", "feedback item")
    return s


@router.post("/feedback/{item_id}/assignment", summary="Assign the item to a staff member")
@guard(POLICY, Action.feedback_assign)
async def assign(item_id: ItemId, body: AssignBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    s = await _item_for(app, who, Action.feedback_assign, item_id)
    assert s.received is not None
    staff = await _is_staff(app, body.assignee_ref, s.received.school_id)
    return await cmd(
        lambda: app.service.feedback.assign(item_id, body.assignee_ref, who.subject, staff),
        item_id=item_id,
    )


@router.post(
    "/feedback/{item_id}/answer",
    summary="Answer with the school's decision (the assignee, the handler or a manager; once)",
)
@guard(POLICY, Action.feedback_answer)
async def answer(item_id: ItemId, body: AnswerBody, cmd: Command) -> Any:
    app, who = cmd.app, cmd.who
    s = await _item_for(app, who, Action.feedback_answer, item_id)
    assert s.received is not None
    manages = _manages(who, s.received)
    return await cmd(
        lambda: app.service.feedback.answer(
            item_id, body.decision, body.answer, who.subject, manages
        ),
        tell=lambda events: {"on_time": getattr(events[0], "on_time", None)},
        item_id=item_id,
    )


@router.get("/feedback/{item_id}", summary="One item with its text and answer in clear (logged)")
@guard(POLICY, Action.feedback_read)
async def item(item_id: ItemId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    s = await _item_for(app, who, Action.feedback_read, item_id)
    r = s.received
    assert r is not None
    if who.role is not MEMBER and not (
        who.role in MANAGERS
        or who.role in {Role.bureau_officer, Role.auditor}
        or who.subject in {r.handler_ref, s.assignee_ref}
        or who.subject == await app.service.feedback.handler(r.district, r.channel, r.school_id)
    ):
        raise ProblemError(
            403,
            "Forbidden",
            "the item's text: managers, its handler, its assignee, the bureau, auditors",
            rule="reader",
        )
    async with app.transactions.begin() as uow:
        found = await feedback_queries.record(uow, s, today(app, as_of))
        await access.log_reads(
            uow.conn, who, Action.feedback_read.value, [item_id], district=r.district
        )
    return jsonable_encoder(found)


@router.get(
    "/schools/{school_id}/feedback",
    summary="The school's items with their status on as_of (open / answered / overdue; no text)",
)
@guard(POLICY, Action.feedback_read)
async def school_feedback(
    school_id: SchoolId,
    app: App,
    who: Caller,
    status: Annotated[
        Literal["open", "answered", "overdue"] | None, Query(description="Only these.")
    ] = None,
    channel: Annotated[Channel | None, Query(description="Only this channel.")] = None,
    as_of: AsOf = None,
) -> Any:
    _school_lists(who)
    await _school(app, who, Action.feedback_read, school_id)
    day = today(app, as_of)
    items = await feedback_queries.school_items(
        app.pool, school_id, day, status, channel.value if channel else None
    )
    return jsonable_encoder({"school_id": school_id, "as_of": day, "items": items})


@router.get(
    "/committees/{committee_id}/feedback",
    summary="The items that came through the committee (no text)",
)
@guard(POLICY, Action.feedback_read)
async def committee_feedback(
    committee_id: CommitteeId, app: App, who: Caller, as_of: AsOf = None
) -> Any:
    require(POLICY, who, Action.feedback_read, Scope(who.district, who.school, who.class_id))
    if who.role is Role.subject_teacher:
        _school_lists(who)
    day = today(app, as_of)
    if who.role is MEMBER:
        c = await _seated(app, who, committee_id, day)
    else:
        c = await app.service.feedback.committee(committee_id)
        if (
            c.committee_id is None
            or not POLICY.authorize(
                who, Action.feedback_read, Scope(c.district, c.school_id, who.class_id)
            ).allowed
        ):
            raise not_found("committee_id", "committee")
    items = await feedback_queries.committee_items(app.pool, committee_id, day)
    return jsonable_encoder({"committee_id": committee_id, "as_of": day, "items": items})


@router.get(
    "/districts/{district}/feedback-figures",
    summary="Per school and channel: received, answered, on time, late, open, overdue; "
    "channels without a named handler",
)
@guard(POLICY, Action.feedback_figures)
async def figures(district: DistrictId, app: App, who: Caller, as_of: AsOf = None) -> Any:
    school = district_view(who, Action.feedback_figures, district)
    found = await feedback_queries.figures(app.pool, district, school, today(app, as_of))
    return jsonable_encoder(found)
