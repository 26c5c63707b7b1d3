"""Parent committees' model: committees, meetings, feedback and answers; no student.

From ``committees.events`` only (the model reads no other topic, so no student can reach it):
each committee's level, school, class, seats and term; its members — the class (or school) a
guardian represents, the seat's role, since when and when the seat ended (``ended_on``: the
first day it is no longer held; NULL while no end is known); the meetings linked to committees
(joint meetings and parent meetings name their committees) and the school's open days and
reception days; the feedback that came in through a committee, its due day and answer day. No
sealed text (names, minutes, feedback, answers) is stored.
"""

from __future__ import annotations

from datetime import timedelta

from tongxin_agencies.projections.committees_facts import (
    SeatEnded,
    committee_columns,
    meeting_columns,
    on_seat_ended,
    seat_columns,
    seat_end,
    seats_started_on,
)
from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CommitteeElected,
    CommitteeFormed,
    JointMeetingHeld,
    OpenDayHeld,
    ParentFeedbackAnswered,
    ParentFeedbackReceived,
    ParentMeetingHeld,
    ReceptionDayHeld,
    Seat,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, DAY = "text", "text NOT NULL", "date"

TABLES: list[Table] = [
    Table(
        "committees",
        ("committee_id",),
        {
            "committee_id": T,
            "district": NN,
            "school_id": T,  # NULL: a district committee
            "level": NN,
            "grade": "integer",
            "class_id": T,
            "seats": "integer NOT NULL",
            "term_start": DAY,
            "term_end": DAY,
            "elected_on": DAY,
        },
        indexes={"committees_by_school": "(school_id, level)"},
    ),
    Table(
        "members",
        ("committee_id", "guardian_ref"),
        {
            "committee_id": T,
            "guardian_ref": T,
            "district": NN,
            "school_id": T,
            "class_id": T,  # the class represented (class, grade, school level)
            "represents_school_id": T,  # the school represented (district level)
            "role": NN,
            "since": "date NOT NULL",
            "ended_on": DAY,  # the first day no longer held; NULL while no end is known
            "ended_how": T,  # resigned:<reason> | removed:<reason> | ending:<reason>
        },
        indexes={"members_by_guardian": "(guardian_ref)"},
    ),
    Table(
        "meetings",
        ("meeting_id",),
        {
            "meeting_id": T,
            "district": NN,
            "school_id": NN,
            "kind": NN,  # joint | parent_meeting | open_day | reception_day
            "held_on": "date NOT NULL",
            "committee_ids": "text[] NOT NULL DEFAULT '{}'",
            "scope": T,  # a parent meeting's: school | grade | class
            "class_id": T,
            "days": "integer NOT NULL DEFAULT 1",
            "parents_attending": "integer",
        },
        indexes={"meetings_by_school": "(school_id, held_on)"},
    ),
    Table(
        "feedback",
        ("item_id",),
        {
            "item_id": T,
            "committee_id": NN,
            "district": NN,
            "school_id": NN,
            "channel": NN,
            "topic": NN,
            "received_on": "date NOT NULL",
            "due_on": "date NOT NULL",
            "answered_on": DAY,
            "decision": T,
            "on_time": "boolean",
        },
        indexes={"feedback_by_committee": "(committee_id, received_on)"},
    ),
]

COMMITTEE = Projection(
    "committee",
    group="agencies.committee",
    sources=("committees",),
    description=__doc__,
    tables=TABLES,
)


@COMMITTEE.on(CommitteeFormed)
def _(e: CommitteeFormed, rows: Changes) -> None:
    rows["committees"].upsert(
        e.committee_id, **committee_columns(e), term_start=e.term_start, term_end=e.term_end
    )


def _seats(rows: Changes, e: CommitteeElected | ByElectionHeld, members: list[Seat]) -> None:
    since = seats_started_on(e)
    for m in members:
        rows["members"].upsert(
            (e.committee_id, m.guardian_ref),
            district=e.district,
            school_id=e.school_id,
            **seat_columns(m),
            since=since,
            ended_on=None,
            ended_how=None,
        )


@COMMITTEE.on(CommitteeElected)
def _(e: CommitteeElected, rows: Changes) -> None:
    rows["committees"].update(
        e.committee_id,
        seats=e.seats,
        term_start=e.term_start,
        term_end=e.term_end,
        elected_on=e.elected_on,
    )
    _seats(rows, e, e.members)


@COMMITTEE.on(ByElectionHeld)
def _(e: ByElectionHeld, rows: Changes) -> None:
    rows["committees"].update(e.committee_id, seats=e.seats)
    _seats(rows, e, e.members)


def _seat_ended(e: SeatEnded, rows: Changes) -> None:
    day, how, reason = seat_end(e)
    # ``ending`` names the seat's last day: it is no longer held the day after.
    ended_on = day + timedelta(days=1) if how == "ending" else day
    rows["members"].update(
        (e.committee_id, e.guardian_ref), ended_on=ended_on, ended_how=f"{how}:{reason}"
    )


on_seat_ended(COMMITTEE, _seat_ended)


@COMMITTEE.on(JointMeetingHeld)
def _(e: JointMeetingHeld, rows: Changes) -> None:
    rows["meetings"].upsert(
        e.meeting_id,
        **meeting_columns(e),
        committee_ids=sorted(e.committee_ids),
        parents_attending=e.parents_attending,
    )


@COMMITTEE.on(ParentMeetingHeld)
def _(e: ParentMeetingHeld, rows: Changes) -> None:
    rows["meetings"].upsert(
        e.meeting_id,
        **meeting_columns(e),
        committee_ids=sorted(e.committee_ids),
        scope=e.scope.value,
        class_id=e.class_id,
        parents_attending=e.parents_attending,
    )


@COMMITTEE.on(OpenDayHeld)
def _(e: OpenDayHeld, rows: Changes) -> None:
    rows["meetings"].upsert(
        e.meeting_id,
        **meeting_columns(e),
        days=e.days,
        parents_attending=e.parents_attending,
    )


@COMMITTEE.on(ReceptionDayHeld)
def _(e: ReceptionDayHeld, rows: Changes) -> None:
    rows["meetings"].upsert(
        e.meeting_id,
        **meeting_columns(e),
        parents_attending=e.families_received,
    )


@COMMITTEE.on(ParentFeedbackReceived)
def _(e: ParentFeedbackReceived, rows: Changes) -> None:
    if e.committee_id is None:
        return  # not a committee's: no committee member may see it
    rows["feedback"].upsert(
        e.item_id,
        committee_id=e.committee_id,
        district=e.district,
        school_id=e.school_id,
        channel=e.channel.value,
        topic=e.topic.value,
        received_on=e.received_on,
        due_on=e.due_on,
    )


@COMMITTEE.on(ParentFeedbackAnswered)
def _(e: ParentFeedbackAnswered, rows: Changes) -> None:
    # Only an item that came through a committee has a row; any other answer changes nothing.
    rows["feedback"].update(
        e.item_id,
        answered_on=e.answered_on,
        due_on=e.due_on,
        decision=e.decision.value,
        on_time=e.on_time,
    )
