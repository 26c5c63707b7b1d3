"""The parent committees' model (committees, seats, meetings, feedback: from committees only, no
student anywhere) and the rules of the committee page: which committee a caller sees, seats and
vacancies, meetings, feedback answered on time or overdue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.support.agencies_committees import CommitteeOf, class_parents_meeting
from tests.support.agencies_fold import CannedPool, fold_rows, one_by_one
from tongxin_agencies.application.committee_views import (
    committee_page,
    feedback_list,
    feedback_status,
    holds_seat,
    meetings_list,
    pick,
    seat_figures,
    seats_list,
)
from tongxin_agencies.application.views import ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.committee import COMMITTEE
from tongxin_contracts.base import Sealed
from tongxin_contracts.events.committees import (
    AnswerDecision,
    Channel,
    EndingReason,
    FeedbackTopic,
    JointMeetingHeld,
    OpenDayHeld,
    ParentFeedbackAnswered,
    ParentFeedbackReceived,
    ReceptionDayHeld,
    RemovalReason,
    ResignReason,
    Seat,
    SeatRole,
)
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError

D, S, K = "d1", "s1", "k1"
DAY = date(2026, 11, 2)
TEXT = Sealed(subject="school-s1", key_id="k", nonce="n", ciphertext="c")

IN = CommitteeOf(D, S, K)
TERM = (date(2026, 9, 1), date(2029, 8, 31))
FORMED = IN.formed(seats=3, term=TERM, on=date(2026, 9, 2), by="p1")


def seat(g: str, cls: str, role: SeatRole = SeatRole.member) -> Seat:
    return Seat(guardian_ref=g, role=role, class_id=cls)


ELECTED = IN.elected(
    [seat("g1", "c1", SeatRole.chair), seat("g2", "c2")],
    round_no=0,
    seats=3,
    term=TERM,
    on=date(2026, 9, 10),
    by="p1",
)


def received(item: str, committee: str | None = K, due: date = date(2026, 10, 15)) -> Any:
    return ParentFeedbackReceived(
        district=D,
        item_id=item,
        school_id=S,
        channel=Channel.committee,
        topic=FeedbackTopic.food,
        received_on=date(2026, 10, 1),
        due_on=due,
        handler_ref=None,
        received_by="p1",
        committee_id=committee,
        visit_id=None,
        suggestion_id=None,
        text=TEXT,
    )


def answered(item: str, on: date, on_time: bool) -> ParentFeedbackAnswered:
    return ParentFeedbackAnswered(
        district=D,
        item_id=item,
        school_id=S,
        channel=Channel.committee,
        decision=AnswerDecision.adopted,
        answered_on=on,
        due_on=date(2026, 10, 15),
        on_time=on_time,
        answered_by="p1",
        visit_id=None,
        suggestion_id=None,
        answer=TEXT,
    )


# --- the model --------------------------------------------------------------------------------


def test_an_election_fills_the_committees_seats_with_the_classes_represented() -> None:
    rows = fold_rows(COMMITTEE, [FORMED], [ELECTED])
    c = rows["committees"][(K,)]
    assert (c["seats"], c["level"], c["school_id"]) == (3, "school", S)
    m = rows["members"][(K, "g1")]
    assert (m["class_id"], m["role"], m["since"], m["ended_on"]) == (
        "c1",
        "chair",
        date(2026, 9, 10),
        None,
    )


def test_resignation_removal_and_ending_end_a_seat_and_a_by_election_fills_one_again() -> None:
    resigned = IN.resigned("g1", date(2026, 10, 1), ResignReason.personal, by="g1")
    removed = IN.removed("g2", date(2026, 10, 2), RemovalReason.conduct, by="p1")
    ending = IN.ending("g2", date(2026, 12, 31), EndingReason.last_child_left)
    by = IN.by_election([seat("g1", "c3")], round_no=1, seats=4, on=date(2026, 10, 20), by="p1")
    rows = fold_rows(COMMITTEE, [FORMED, ELECTED], [resigned, removed])
    assert rows["members"][(K, "g1")]["ended_on"] == date(2026, 10, 1)
    assert rows["members"][(K, "g2")]["ended_how"] == "removed:conduct"
    rows = fold_rows(COMMITTEE, [FORMED, ELECTED], [ending], [resigned], [by])
    assert rows["members"][(K, "g2")]["ended_on"] == date(2027, 1, 1)  # held through its last day
    g1 = rows["members"][(K, "g1")]
    assert (g1["ended_on"], g1["class_id"], g1["since"]) == (None, "c3", date(2026, 10, 20))
    assert rows["committees"][(K,)]["seats"] == 4


def test_meetings_keep_their_committees_and_the_schools_days() -> None:
    joint = JointMeetingHeld(
        district=D,
        meeting_id="m1",
        school_id=S,
        held_on=date(2026, 10, 5),
        recorded_by="p1",
        committee_ids=["k2", K],
        parents_attending=9,
        staff_attending=4,
        resolutions=2,
        minutes=None,
    )
    parents = class_parents_meeting(
        D, S, "m2", date(2026, 10, 6), class_id="c1", grade=None, by="p1"
    )
    open_day = OpenDayHeld(
        district=D,
        meeting_id="m3",
        school_id=S,
        held_on=date(2026, 10, 7),
        recorded_by="p1",
        days=2,
        parents_attending=120,
        opinions_collected=30,
    )
    reception = ReceptionDayHeld(
        district=D,
        meeting_id="m4",
        school_id=S,
        held_on=date(2026, 10, 8),
        recorded_by="p1",
        families_received=12,
        received_by=["p1"],
    )
    rows = fold_rows(COMMITTEE, [joint, parents, open_day, reception])["meetings"]
    assert rows[("m1",)]["committee_ids"] == [K, "k2"]
    assert (rows[("m2",)]["kind"], rows[("m2",)]["class_id"]) == ("parent_meeting", "c1")
    assert (rows[("m3",)]["kind"], rows[("m3",)]["days"]) == ("open_day", 2)
    assert (rows[("m4",)]["kind"], rows[("m4",)]["parents_attending"]) == ("reception_day", 12)


def test_only_feedback_that_came_through_a_committee_is_kept_with_its_answer() -> None:
    rows = fold_rows(
        COMMITTEE,
        [received("f1"), received("f2", committee=None)],
        [answered("f1", date(2026, 10, 10), True), answered("f2", date(2026, 10, 10), True)],
    )["feedback"]
    assert list(rows) == [("f1",)]
    assert (rows[("f1",)]["answered_on"], rows[("f1",)]["on_time"]) == (date(2026, 10, 10), True)


def test_the_committee_model_has_no_student_column_and_reads_only_the_committees_topic() -> None:
    assert COMMITTEE.sources == ("committees",)
    ddl = COMMITTEE.ddl()
    columns = re.findall(r"[(,]\s*([a-z_]+) [a-z]", ddl)
    assert "guardian_ref" in columns
    assert [c for c in columns if "student" in c] == []
    assert "student" not in ddl
    assert [c for c in columns if re.search(r"name|text|minutes|^answer$|note", c)] == []


def test_a_rebuild_event_by_event_gives_the_rows_of_one_batch() -> None:
    events = [FORMED, ELECTED, received("f1"), answered("f1", date(2026, 10, 20), False)]
    assert one_by_one(COMMITTEE, events) == fold_rows(COMMITTEE, events)


# --- the page's rules -------------------------------------------------------------------------


def member(**over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "class_id": "c1",
        "represents_school_id": None,
        "role": "member",
        "since": date(2026, 9, 10),
        "ended_on": None,
    }
    return m | over


def test_a_seat_is_held_from_its_start_until_the_day_before_it_ended() -> None:
    assert holds_seat(member(), DAY)
    assert not holds_seat(member(since=date(2026, 12, 1)), DAY)
    assert not holds_seat(member(ended_on=DAY), DAY)
    assert holds_seat(member(ended_on=date(2026, 11, 3)), DAY)


def test_vacancies_are_seats_minus_current_members_and_classes_are_counted_once() -> None:
    members = [
        member(),
        member(role="chair"),
        member(class_id="c2"),
        member(class_id="c3", ended_on=date(2026, 10, 1)),
    ]
    f = seat_figures(5, members, DAY)
    assert (f.held, f.vacancies, f.classes) == (3, 2, 2)
    assert seat_figures(2, members, DAY).vacancies == 0


def fb(**over: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "item_id": "f1",
        "channel": "committee",
        "topic": "food",
        "received_on": date(2026, 10, 1),
        "due_on": date(2026, 10, 15),
        "answered_on": None,
        "on_time": None,
    }
    return f | over


def test_feedback_is_open_overdue_past_its_due_day_answered_and_on_time_or_not() -> None:
    assert feedback_status(fb(), date(2026, 10, 10)) == {"received", "open"}
    assert feedback_status(fb(), DAY) == {"received", "open", "overdue"}
    answered_ok = fb(answered_on=date(2026, 10, 12), on_time=True)
    assert feedback_status(answered_ok, DAY) == {"received", "answered", "on_time"}
    assert feedback_status(fb(answered_on=date(2026, 10, 20), on_time=False), DAY) == {
        "received",
        "answered",
    }
    assert "open" in feedback_status(answered_ok, date(2026, 10, 11))  # not answered yet then
    assert feedback_status(fb(), date(2026, 9, 30)) == set()


def test_the_committee_shown_is_the_one_asked_if_visible_else_not_found_default_the_first() -> None:
    visible = [
        {"committee_id": "k9", "level": "class"},
        {"committee_id": "k5", "level": "school"},
    ]
    assert pick(visible, None)["committee_id"] == "k5"
    assert pick(visible, "k9")["committee_id"] == "k9"
    for asked in ("k1", None):
        with pytest.raises(ProblemError) as e:
            pick(visible if asked else [], asked)
        assert (e.value.status, e.value.extra["field"]) == (404, "committee_id")


# --- the providers, on canned rows ------------------------------------------------------------


COMMITTEE_ROW = {"committee_id": K, "district": D, "school_id": S, "level": "school", "seats": 3}
MEMBER = Principal("g1", Role.committee_member, D)


def ctx(who: Principal, pool: CannedPool, **params: str) -> ViewContext:
    now = datetime(2026, 11, 2, 4, tzinfo=UTC)
    return ViewContext(pool, AgenciesSettings(), who, params, DAY, now)


def pool_of(**more: list[dict[str, Any]]) -> CannedPool:
    return CannedPool(
        {
            "committee.committees": [COMMITTEE_ROW],
            "committee.members WHERE": [member(), member(class_id="c2")],
            "committee.meetings": [
                {
                    "kind": "joint",
                    "held_on": date(2026, 10, 5),
                    "class_id": None,
                    "scope": None,
                    "days": 1,
                    "parents_attending": 9,
                },
                {
                    "kind": "open_day",
                    "held_on": date(2026, 10, 7),
                    "class_id": None,
                    "scope": None,
                    "days": 2,
                    "parents_attending": 120,
                },
            ],
            "committee.feedback": [
                fb(),
                fb(item_id="f2", answered_on=date(2026, 10, 2), on_time=True),
            ],
            **more,
        }
    )


async def test_a_members_page_shows_seats_meetings_and_feedback_with_links() -> None:
    pool = pool_of()
    page = await committee_page(ctx(MEMBER, pool))
    figures = {f.key: f for p in page.panels for f in p.figures}
    assert (figures["seats"].value, figures["held"].value, figures["vacancies"].value) == (3, 2, 1)
    assert figures["classes"].value == 2
    assert (figures["joint"].value, figures["open_day"].value, figures["parent_meeting"].value) == (
        1,
        1,
        0,
    )
    assert figures["feedback_received"].value == 2
    assert figures["feedback_overdue"].value == 1
    assert figures["feedback_overdue"].meets is False
    assert figures["feedback_on_time"].value == 1
    assert (
        figures["feedback_overdue"].link
        == "/lists/committee.feedback?committee_id=k1&status=overdue"
    )
    sql, args = pool.calls[0]
    assert "m.guardian_ref = $1" in sql
    assert args == ("g1", DAY)


async def test_a_committee_the_member_holds_no_seat_on_is_not_found() -> None:
    with pytest.raises(ProblemError) as e:
        await committee_page(ctx(MEMBER, pool_of(), committee_id="k2"))
    assert e.value.status == 404
    with pytest.raises(ProblemError) as e:
        await committee_page(ctx(MEMBER, CannedPool({})))
    assert e.value.status == 404


async def test_a_committee_of_another_district_is_not_found() -> None:
    other = Principal("g1", Role.committee_member, "d2")
    with pytest.raises(ProblemError) as e:
        await committee_page(ctx(other, pool_of()))
    assert e.value.status == 404


async def test_the_principal_sees_the_schools_committees() -> None:
    pool = pool_of()
    principal = Principal("p1", Role.principal, D, S)
    page = await committee_page(ctx(principal, pool))
    assert page.scope == K
    sql, args = pool.calls[0]
    assert "school_id = $1" in sql
    assert args == (S,)


async def test_roles_that_may_not_read_committees_are_refused_naming_the_rule() -> None:
    for role in (Role.police, Role.hospital, Role.bureau_officer, Role.head_teacher):
        with pytest.raises(ProblemError) as e:
            await committee_page(ctx(Principal("x", role, D, S), pool_of()))
        assert (e.value.status, e.value.extra["rule"]) == (403, "committee.read")


async def test_the_lists_show_seats_without_guardians_meetings_by_kind_and_feedback_by_status() -> (
    None
):
    seats = await seats_list(ctx(MEMBER, pool_of()))
    assert [c.key for c in seats.columns] == ["represents", "role", "since"]
    assert [r[0].value for r in seats.rows] == ["c1", "c2"]
    meetings = await meetings_list(ctx(MEMBER, pool_of(), kind="open_day"))
    assert [r[1].value for r in meetings.rows] == ["open_day"]
    overdue = await feedback_list(ctx(MEMBER, pool_of(), status="overdue"))
    assert [r[0].value for r in overdue.rows] == ["f1"]
    for bad in ({"kind": "party"}, {"status": "late"}):
        lister = meetings_list if "kind" in bad else feedback_list
        with pytest.raises(ProblemError) as e:
            await lister(ctx(MEMBER, pool_of(), **bad))
        assert (e.value.status, e.value.extra["field"]) == (422, next(iter(bad)))
