"""Meetings as the schools, committees and the district read them: one row per meeting with its
kind, day, school year and counts; the committees that sat; the minutes stay sealed."""

from __future__ import annotations

from typing import Any

from tongxin_committees.domain.calendar import school_year_of
from tongxin_committees.domain.meetings import MeetingKind
from tongxin_contracts.events.committees import (
    JointMeetingHeld,
    OpenDayHeld,
    ParentMeetingHeld,
    ReceptionDayHeld,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, INT = "text", "text NOT NULL", "integer"
TABLES = [
    Table(
        "meetings",
        ("meeting_id",),
        {
            "meeting_id": T,
            "district": NN,
            "school_id": NN,
            "kind": NN,
            "held_on": "date NOT NULL",
            "school_year": NN,
            "recorded_by": NN,
            "committee_ids": "text[] NOT NULL DEFAULT '{}'",
            "scope": T,
            "grade": INT,
            "class_id": T,
            "families_invited": INT,
            "parents_attending": INT,
            "staff_attending": INT,
            "resolutions": INT,
            "opinions_before": "boolean",
            "opinions_after": "boolean",
            "days": INT,
            "opinions_collected": INT,
            "families_received": INT,
            "received_by": "text[]",
            "minutes": "jsonb",  # sealed with the school's key
        },
        indexes={
            "meetings_by_school": "(school_id, school_year, held_on)",
            "meetings_by_district": "(district, school_year)",
            "meetings_by_committee": "USING gin (committee_ids)",
        },
    ),
]


def _common(
    e: JointMeetingHeld | ParentMeetingHeld | OpenDayHeld | ReceptionDayHeld,
) -> dict[str, Any]:
    return {
        "district": e.district,
        "school_id": e.school_id,
        "held_on": e.held_on,
        "school_year": school_year_of(e.held_on),
        "recorded_by": e.recorded_by,
    }


def register(p: Projection) -> None:
    """The handlers of the meetings' events, on the service's one read model."""

    @p.on(JointMeetingHeld)
    def _(e: JointMeetingHeld, rows: Changes) -> None:
        rows["meetings"].upsert(
            e.meeting_id,
            **_common(e),
            kind=MeetingKind.joint.value,
            committee_ids=list(e.committee_ids),
            parents_attending=e.parents_attending,
            staff_attending=e.staff_attending,
            resolutions=e.resolutions,
            minutes=e.minutes.model_dump_json() if e.minutes else None,
        )

    @p.on(ParentMeetingHeld)
    def _(e: ParentMeetingHeld, rows: Changes) -> None:
        rows["meetings"].upsert(
            e.meeting_id,
            **_common(e),
            kind=MeetingKind.parent.value,
            committee_ids=list(e.committee_ids),
            scope=e.scope.value,
            grade=e.grade,
            class_id=e.class_id,
            families_invited=e.families_invited,
            parents_attending=e.parents_attending,
            opinions_before=e.opinions_before,
            opinions_after=e.opinions_after,
            minutes=e.minutes.model_dump_json() if e.minutes else None,
        )

    @p.on(OpenDayHeld)
    def _(e: OpenDayHeld, rows: Changes) -> None:
        rows["meetings"].upsert(
            e.meeting_id,
            **_common(e),
            kind=MeetingKind.open_day.value,
            days=e.days,
            parents_attending=e.parents_attending,
            opinions_collected=e.opinions_collected,
        )

    @p.on(ReceptionDayHeld)
    def _(e: ReceptionDayHeld, rows: Changes) -> None:
        rows["meetings"].upsert(
            e.meeting_id,
            **_common(e),
            kind=MeetingKind.reception_day.value,
            families_received=e.families_received,
            received_by=list(e.received_by),
        )
