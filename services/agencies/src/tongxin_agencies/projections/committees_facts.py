"""What a committees event says, in the columns both models that fold ``committees.events``
write: the committee model (``committee``: current seats, for the members' own page) and the
education model's committees part (every seat and ending dated, for the school's KPIs). Each
model keeps its own tables; these functions are the one place where an event's fields become
row values, so the two cannot drift apart. None of them reads or returns a student field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CommitteeElected,
    CommitteeFormed,
    JointMeetingHeld,
    MemberRemoved,
    MemberResigned,
    MembershipEnding,
    OpenDayHeld,
    ParentMeetingHeld,
    ReceptionDayHeld,
    Seat,
)
from tongxin_platform.projection import Changes, Projection

SeatEnded = MemberResigned | MemberRemoved | MembershipEnding
Meeting = JointMeetingHeld | ParentMeetingHeld | OpenDayHeld | ReceptionDayHeld
MEETING_KINDS: dict[type[Meeting], str] = {
    JointMeetingHeld: "joint",
    ParentMeetingHeld: "parent_meeting",
    OpenDayHeld: "open_day",
    ReceptionDayHeld: "reception_day",
}


def committee_columns(e: CommitteeFormed) -> dict[str, Any]:
    """A committee's own columns (where it sits, its level and seats)."""
    return {
        "district": e.district,
        "school_id": e.school_id,
        "level": e.level.value,
        "grade": e.grade,
        "class_id": e.class_id,
        "seats": e.seats,
    }


def seat_columns(s: Seat) -> dict[str, Any]:
    """A seat's columns: its role and what it represents (a class, or a school)."""
    return {"role": s.role.value, "class_id": s.class_id, "represents_school_id": s.school_id}


def seats_started_on(e: CommitteeElected | ByElectionHeld) -> date:
    """The day the seats of an election or a by-election are held from."""
    return e.elected_on if isinstance(e, CommitteeElected) else e.held_on


def seat_end(e: SeatEnded) -> tuple[date, str, str]:
    """(the day the event names, how the seat ends, why): ``resigned`` and ``removed`` end it
    from that day; ``ending`` names the seat's last day (still held on it)."""
    if isinstance(e, MemberResigned):
        return e.resigned_on, "resigned", e.reason.value
    if isinstance(e, MemberRemoved):
        return e.removed_on, "removed", e.reason.value
    return e.ends_on, "ending", e.reason.value


def on_seat_ended(p: Projection, handler: Callable[[SeatEnded, Changes], None]) -> None:
    """``handler`` folds every way a seat ends (resigned, removed, membership ending)."""
    p.on(MemberResigned)(handler)
    p.on(MemberRemoved)(handler)
    p.on(MembershipEnding)(handler)


def meeting_columns(e: Meeting) -> dict[str, Any]:
    """Where and when a meeting (or an open or reception day) was held, and its kind."""
    return {
        "district": e.district,
        "school_id": e.school_id,
        "kind": MEETING_KINDS[type(e)],
        "held_on": e.held_on,
    }
