"""Parents' voice, answered on time, given a desk's or an item's past events: every channel has
a named handler (staff of the school; the district's mailbox at the district's desk), a later
naming replaces; an item is due ``answer_days`` after it came in (a home visit's suggestion keeps
visits' due day), carries the channel's handler at the time, is never received by hand on the
home-visit channel, names its committee on the committee channel; it is assigned to staff of the
school and answered once, by the assignee, the handler or a manager, on time when on or before
the due day. Committee seats folded from a committee's events; the figures counted by hand. Then
the desk's commands on the in-memory unit of work: a home visit's suggestion received twice is
one item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tongxin_committees.application.feedback import FeedbackDesk, Incoming
from tongxin_committees.config import CommitteesSettings
from tongxin_committees.domain import feedback as fb
from tongxin_committees.domain.errors import CommitteesError, NotEntitledError, UnknownRecordError
from tongxin_committees.reactions.visit_suggestions import Suggestion, receive_suggestion
from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.events.committees import (
    AnswerDecision,
    ByElectionHeld,
    Channel,
    CommitteeElected,
    CommitteeFormed,
    CommitteeLevel,
    EndingReason,
    FeedbackHandlerNamed,
    FeedbackTopic,
    MemberResigned,
    MembershipEnding,
    ParentFeedbackAnswered,
    ParentFeedbackAssigned,
    ParentFeedbackReceived,
    ResignReason,
    Seat,
    SeatRole,
    feedback_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions

D, SCHOOL = "110105", "sch_1"
DAY = date(2026, 10, 12)
TEXT = Sealed(subject="school-sch_1", key_id="k", nonce="n", ciphertext="c")
ANSWER = Sealed(subject="school-sch_1", key_id="k", nonce="m", ciphertext="a")


def naming(
    channel: Channel = Channel.principal_mailbox,
    handler: str = "stf_1",
    *,
    school_id: str | None = SCHOOL,
    staff: bool = True,
) -> fb.NameHandler:
    return fb.NameHandler(D, school_id, channel, handler, DAY, "stf_p", staff)


def receiving(channel: Channel = Channel.principal_mailbox, **kw: object) -> fb.Receive:
    fields: dict[str, object] = {
        "item_id": "it_1",
        "district": D,
        "school_id": SCHOOL,
        "channel": channel,
        "topic": FeedbackTopic.homework_burden,
        "received_on": DAY,
        "received_by": "stf_p",
        "handler_ref": "stf_1",
        "answer_days": 15,
        "text": TEXT,
    }
    fields.update(kw)
    return fb.Receive(**fields)  # type: ignore[arg-type]


def received(channel: Channel = Channel.principal_mailbox, **kw: object) -> list[IntegrationEvent]:
    return fb.decide_receive(receiving(channel, **kw), fb.ItemState())


def answering(
    by: str = "stf_p", on: date = DAY, *, handler: str | None = None, manages: bool = True
) -> fb.Answer:
    return fb.Answer("it_1", AnswerDecision.adopted, ANSWER, on, by, handler, manages)


# --- handlers -----------------------------------------------------------------------------------


def test_a_school_names_a_staff_member_to_handle_a_channel() -> None:
    [e] = fb.decide_handler(naming(), fb.DeskState())
    assert isinstance(e, FeedbackHandlerNamed)
    assert (e.desk_id, e.channel, e.handler_ref, e.school_id) == (
        SCHOOL,
        Channel.principal_mailbox,
        "stf_1",
        SCHOOL,
    )


def test_a_handler_who_is_not_staff_of_the_school_is_refused() -> None:
    with pytest.raises(CommitteesError) as refused:
        fb.decide_handler(naming(staff=False), fb.DeskState())
    assert (refused.value.field, refused.value.rule) == ("handler_ref", "handler_is_staff")


def test_the_district_names_the_bureau_mailboxs_handler_at_its_own_desk() -> None:
    [e] = fb.decide_handler(
        naming(Channel.bureau_mailbox, "off_1", school_id=None, staff=False), fb.DeskState()
    )
    assert isinstance(e, FeedbackHandlerNamed)
    assert (e.desk_id, e.school_id) == (f"district-{D}", None)


@pytest.mark.parametrize(
    ("channel", "school_id"),
    [(Channel.bureau_mailbox, SCHOOL), (Channel.hotline, None), (Channel.home_visit, None)],
)
def test_a_desk_names_handlers_only_of_its_own_channels(
    channel: Channel, school_id: str | None
) -> None:
    with pytest.raises(CommitteesError) as refused:
        fb.decide_handler(naming(channel, school_id=school_id), fb.DeskState())
    assert refused.value.rule == "desk_channel"


def test_a_later_naming_replaces_the_earlier_and_the_same_naming_again_adds_nothing() -> None:
    first = fb.decide_handler(naming(handler="stf_1"), fb.DeskState())
    second = fb.decide_handler(naming(handler="stf_2"), fb.fold_desk(first))
    assert fb.fold_desk([*first, *second]).handlers[Channel.principal_mailbox] == "stf_2"
    assert fb.decide_handler(naming(handler="stf_2"), fb.fold_desk([*first, *second])) == []


# --- receiving ------------------------------------------------------------------------------------


def test_an_item_is_due_answer_days_after_it_came_in_with_the_channels_handler() -> None:
    [e] = received(answer_days=15)
    assert isinstance(e, ParentFeedbackReceived)
    assert e.due_on == DAY + timedelta(days=15)
    assert e.handler_ref == "stf_1"
    assert e.text == TEXT


def test_an_item_on_a_channel_without_a_handler_carries_none() -> None:
    [e] = received(handler_ref=None)
    assert isinstance(e, ParentFeedbackReceived)
    assert e.handler_ref is None


def test_nobody_receives_a_home_visit_suggestion_by_hand() -> None:
    with pytest.raises(CommitteesError) as refused:
        received(Channel.home_visit)
    assert (refused.value.field, refused.value.rule) == ("channel", "home_visit_from_visits")


def test_the_committee_channel_names_the_committee() -> None:
    with pytest.raises(CommitteesError) as refused:
        received(Channel.committee)
    assert (refused.value.field, refused.value.rule) == ("committee_id", "committee_required")
    [e] = received(Channel.committee, committee_id="cm_1")
    assert isinstance(e, ParentFeedbackReceived)
    assert e.committee_id == "cm_1"


def test_a_home_visit_suggestion_keeps_its_due_day_comes_from_visits_and_has_no_text() -> None:
    due = DAY + timedelta(days=30)
    [e] = received(
        Channel.home_visit,
        from_visits=True,
        due_on=due,
        visit_id="v_1",
        suggestion_id="sg_1",
        text=None,
        received_by="anyone",
    )
    assert isinstance(e, ParentFeedbackReceived)
    assert (e.due_on, e.received_by, e.visit_id, e.suggestion_id, e.text) == (
        due,
        "visits",
        "v_1",
        "sg_1",
        None,
    )


def test_visits_sends_only_home_visit_suggestions_with_their_visit() -> None:
    with pytest.raises(CommitteesError):
        received(Channel.hotline, from_visits=True, visit_id="v_1", suggestion_id="sg_1")
    with pytest.raises(CommitteesError):
        received(Channel.home_visit, from_visits=True, visit_id=None, suggestion_id="sg_1")


def test_an_item_cannot_have_come_in_after_today() -> None:
    with pytest.raises(CommitteesError) as refused:
        received(received_on=DAY + timedelta(days=1), today=DAY)
    assert (refused.value.field, refused.value.rule) == ("received_on", "received_on_not_future")
    assert received(received_on=DAY, today=DAY)


def test_an_item_received_again_adds_nothing() -> None:
    history = received()
    assert fb.decide_receive(receiving(), fb.fold(history)) == []


def test_a_suggestions_item_id_is_derived_from_the_suggestion() -> None:
    assert fb.item_id_for_suggestion("sg_1") == fb.item_id_for_suggestion("sg_1")
    assert fb.item_id_for_suggestion("sg_1") != fb.item_id_for_suggestion("sg_2")


# --- assigning and answering ------------------------------------------------------------------


def test_an_item_is_assigned_to_staff_of_the_school() -> None:
    [e] = fb.decide_assign(fb.Assign("it_1", "stf_9", DAY, "stf_p", True), fb.fold(received()))
    assert isinstance(e, ParentFeedbackAssigned)
    assert e.assignee_ref == "stf_9"
    with pytest.raises(CommitteesError) as refused:
        fb.decide_assign(fb.Assign("it_1", "gdn_1", DAY, "stf_p", False), fb.fold(received()))
    assert (refused.value.field, refused.value.rule) == ("assignee_ref", "assignee_is_staff")


def test_a_missing_item_is_neither_assigned_nor_answered() -> None:
    with pytest.raises(UnknownRecordError):
        fb.decide_assign(fb.Assign("it_1", "stf_9", DAY, "stf_p", True), fb.ItemState())
    with pytest.raises(UnknownRecordError):
        fb.decide_answer(answering(), fb.ItemState())


def test_an_answer_on_the_due_day_is_on_time_and_the_day_after_is_late() -> None:
    history = received()
    due = DAY + timedelta(days=15)
    [on_time] = fb.decide_answer(answering(on=due), fb.fold(history))
    [late] = fb.decide_answer(answering(on=due + timedelta(days=1)), fb.fold(history))
    assert isinstance(on_time, ParentFeedbackAnswered)
    assert isinstance(late, ParentFeedbackAnswered)
    assert (on_time.on_time, late.on_time) == (True, False)
    assert on_time.due_on == due
    assert on_time.answer == ANSWER


def test_the_assignee_the_handler_or_a_manager_answers_nobody_else() -> None:
    assigned = [
        *received(handler_ref="stf_1"),
        *fb.decide_assign(fb.Assign("it_1", "stf_9", DAY, "stf_p", True), fb.fold(received())),
    ]
    s = fb.fold(assigned)
    assert fb.decide_answer(answering("stf_9", manages=False), s)  # the assignee
    assert fb.decide_answer(answering("stf_1", manages=False), s)  # the handler then
    assert fb.decide_answer(answering("stf_5", manages=False, handler="stf_5"), s)  # now
    assert fb.decide_answer(answering("stf_p", manages=True), s)  # a manager
    with pytest.raises(NotEntitledError) as refused:
        fb.decide_answer(answering("stf_7", manages=False, handler="stf_5"), s)
    assert refused.value.rule == "answerer"


def test_an_item_is_answered_once_and_not_assigned_after() -> None:
    history = received()
    history += fb.decide_answer(answering(), fb.fold(history))
    with pytest.raises(CommitteesError) as refused:
        fb.decide_answer(answering(), fb.fold(history))
    assert refused.value.rule == "already_answered"
    with pytest.raises(CommitteesError) as again:
        fb.decide_assign(fb.Assign("it_1", "stf_9", DAY, "stf_p", True), fb.fold(history))
    assert again.value.rule == "already_answered"


def test_a_home_visit_items_answer_carries_its_visit_and_suggestion_back() -> None:
    history = received(
        Channel.home_visit, from_visits=True, due_on=DAY, visit_id="v_1", suggestion_id="sg_1"
    )
    [e] = fb.decide_answer(answering(), fb.fold(history))
    assert isinstance(e, ParentFeedbackAnswered)
    assert (e.channel, e.visit_id, e.suggestion_id) == (Channel.home_visit, "v_1", "sg_1")


def test_the_status_is_open_until_due_overdue_after_and_answered_once_answered() -> None:
    due = DAY
    assert fb.status_of(due, None, due) == "open"
    assert fb.status_of(due, None, due + timedelta(days=1)) == "overdue"
    assert fb.status_of(due, due + timedelta(days=3), due + timedelta(days=3)) == "answered"
    # an answer after as_of was not known on as_of
    assert fb.status_of(due, due + timedelta(days=3), due + timedelta(days=1)) == "overdue"


# --- committee seats ------------------------------------------------------------------------------


def committee(*more: IntegrationEvent) -> fb.CommitteeSeats:
    base = {"district": D, "committee_id": "cm_1", "school_id": SCHOOL}
    formed = CommitteeFormed(
        **base,
        level=CommitteeLevel.school,
        seats=5,
        term_start=date(2026, 9, 1),
        term_end=date(2027, 8, 31),
        formed_on=DAY,
        formed_by="stf_p",
    )
    elected = CommitteeElected(
        **base,
        round_no=0,
        level=CommitteeLevel.school,
        elected_on=DAY,
        term_start=date(2026, 9, 1),
        term_end=date(2027, 8, 31),
        seats=5,
        members=[
            Seat(guardian_ref="gdn_1", role=SeatRole.chair, class_id="c1"),
            Seat(guardian_ref="gdn_2", role=SeatRole.member, class_id="c2"),
        ],
        recorded_by="stf_p",
    )
    return fb.fold_seats([formed, elected, *more])


def test_a_member_holds_a_seat_until_they_resign_their_seat_ends_or_the_term_ends() -> None:
    base = {"district": D, "committee_id": "cm_1", "school_id": SCHOOL}
    c = committee(
        MemberResigned(
            **base,
            guardian_ref="gdn_2",
            reason=ResignReason.personal,
            resigned_on=DAY,
            recorded_by="gdn_2",
        ),
        MembershipEnding(
            **base,
            guardian_ref="gdn_1",
            reason=EndingReason.last_child_left,
            ends_on=date(2027, 1, 31),
        ),
        ByElectionHeld(
            **base,
            round_no=1,
            held_on=DAY,
            members=[Seat(guardian_ref="gdn_3", role=SeatRole.member, class_id="c2")],
            seats=5,
            recorded_by="stf_p",
        ),
    )
    assert (c.school_id, c.district) == (SCHOOL, D)
    assert not c.seated("gdn_2", DAY)
    assert c.seated("gdn_1", date(2027, 1, 31))
    assert not c.seated("gdn_1", date(2027, 2, 1))
    assert c.seated("gdn_3", date(2027, 8, 31))
    assert not c.seated("gdn_3", date(2027, 9, 1))
    assert not c.seated("gdn_9", DAY)
    assert not fb.fold_seats([]).seated("gdn_1", DAY)


# --- figures --------------------------------------------------------------------------------------


def test_the_figures_count_received_answered_on_time_late_open_and_overdue_per_channel() -> None:
    as_of = date(2026, 11, 30)
    rows = [
        fb.ItemRow(
            "sch_1", "hotline", date(2026, 10, 1), date(2026, 10, 16), date(2026, 10, 10), True
        ),
        fb.ItemRow(
            "sch_1", "hotline", date(2026, 10, 1), date(2026, 10, 16), date(2026, 10, 20), False
        ),
        fb.ItemRow("sch_1", "home_visit", date(2026, 10, 1), date(2026, 11, 1)),  # overdue
        fb.ItemRow("sch_1", "home_visit", date(2026, 11, 20), date(2026, 12, 5)),  # open
        fb.ItemRow("sch_1", "hotline", date(2026, 12, 1), date(2026, 12, 16)),  # after as_of
        fb.ItemRow(
            "sch_1", "hotline", date(2026, 11, 1), date(2026, 11, 16), date(2026, 12, 2), False
        ),
    ]
    [s1, s2] = fb.figures_by_school(
        ["sch_1", "sch_2"], rows, {"sch_1": {"hotline", "principal_mailbox"}}, as_of
    )
    assert {k: s1[k] for k in fb.COUNTS} == {
        "received": 5,
        "answered": 2,
        "on_time": 1,
        "late": 1,
        "open": 1,
        "overdue": 2,  # the home visit's, and the one answered only after as_of
    }
    assert s1["channels"] == {
        "home_visit": {
            "received": 2,
            "answered": 0,
            "on_time": 0,
            "late": 0,
            "open": 1,
            "overdue": 1,
        },
        "hotline": {"received": 3, "answered": 2, "on_time": 1, "late": 1, "open": 0, "overdue": 1},
    }
    assert s1["channels_without_handler"] == ["committee", "home_visit"]
    assert s2["received"] == 0
    assert s2["channels_without_handler"] == [
        "committee",
        "home_visit",
        "hotline",
        "principal_mailbox",
    ]


# --- the desk's commands (in memory) --------------------------------------------------------------


NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


async def test_a_home_visit_suggestion_received_twice_is_one_item() -> None:
    writer = Writer(
        MemoryTransactions(MemoryDatabase(default_registry())),
        default_registry(),
        clock=lambda: NOW,
    )
    s = Suggestion(D, SCHOOL, "v_1", "sg_1", FeedbackTopic.teaching, date(2026, 10, 27), DAY)
    first = await receive_suggestion(writer, s)
    again = await receive_suggestion(writer, s)
    assert [e.name for e in first] == ["ParentFeedbackReceived"]
    assert again == []
    history = await writer.history(feedback_stream(fb.item_id_for_suggestion("sg_1")))
    assert len(history) == 1


async def test_an_item_received_at_the_desk_carries_the_handler_named_and_its_text_sealed() -> None:
    db = MemoryDatabase(default_registry())
    desk = FeedbackDesk(
        Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW),
        CommitteesSettings(answer_days=10),
    )
    await desk.name_handler(D, SCHOOL, Channel.hotline, "stf_1", "stf_p", True)
    [e] = await desk.receive(
        Incoming(D, SCHOOL, Channel.hotline, FeedbackTopic.food, "午餐太咸", "stf_p")
    )
    assert isinstance(e, ParentFeedbackReceived)
    assert (e.handler_ref, e.received_on, e.due_on) == ("stf_1", DAY, DAY + timedelta(days=10))
    assert e.text is not None
    assert e.text.subject == f"school-{SCHOOL}"
    assert "午餐" not in e.model_dump_json()
