"""Committees and the parent school in the education model (from ``committees.events``), every
fact dated: committees (class, grade, school level) and their terms, seats (who holds one, for
which class, since when) and how seats end (resigned, removed, membership ending), meetings and
open days, the parent school's sessions and assessments, and the school's family-education
coordinators. A seat is current on a day D when its term covers D, it was filled on or before D
and no resignation or removal dated on or before D (no membership ending before D) ended it.
"""

from __future__ import annotations

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
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    JointMeetingHeld,
    OpenDayHeld,
    ParentMeetingHeld,
    ParentSchoolAssessed,
    ParentSchoolEstablished,
    ParentSchoolSessionHeld,
    ReceptionDayHeld,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D, DNN = "text", "text NOT NULL", "date", "date NOT NULL"
INT = "integer NOT NULL DEFAULT 0"

TABLES: list[Table] = [
    Table(
        "committee_committees",
        ("committee_id",),
        {
            "committee_id": T,
            "district": NN,
            "school_id": T,
            "level": NN,
            "grade": "integer",
            "class_id": T,
            "seats": INT,
            "formed_on": D,
        },
        indexes={"committee_committees_by_school": "(school_id)"},
    ),
    Table(
        "committee_terms",
        ("committee_id", "round_no"),
        {
            "committee_id": T,
            "round_no": "integer",
            "district": NN,
            "school_id": T,
            "elected_on": DNN,
            "term_start": DNN,
            "term_end": DNN,
            "seats": INT,
        },
    ),
    Table(
        "committee_seats",
        ("committee_id", "guardian_ref", "started_on"),
        {
            "committee_id": T,
            "guardian_ref": T,
            "started_on": D,  # elected_on / held_on
            "district": NN,
            "school_id": T,
            "round_no": "integer NOT NULL",
            "how": NN,  # elected | by_election
            "role": NN,
            "class_id": T,
            "represents_school_id": T,
        },
        indexes={"committee_seats_by_school": "(school_id)"},
    ),
    Table(
        "committee_endings",
        ("committee_id", "guardian_ref", "ended_on", "how"),
        {
            "committee_id": T,
            "guardian_ref": T,
            "ended_on": D,
            # resigned | removed (ended from that day) | ending (a seat still held on ends_on)
            "how": T,
            "district": NN,
            "school_id": T,
            "reason": NN,
        },
    ),
    Table(
        "committee_meetings",
        ("meeting_id",),
        {
            "meeting_id": T,
            "district": NN,
            "school_id": NN,
            "kind": NN,  # joint | parent_meeting | reception_day
            "held_on": DNN,
            "scope": T,
            "grade": "integer",
            "class_id": T,
            "families": INT,  # invited / received
            "parents_attending": INT,
        },
        indexes={"committee_meetings_by_school": "(school_id, held_on)"},
    ),
    Table(
        "open_days",
        ("meeting_id",),
        {
            "meeting_id": T,
            "district": NN,
            "school_id": NN,
            "held_on": DNN,
            "days": INT,
            "parents_attending": INT,
            "opinions_collected": INT,
        },
        indexes={"open_days_by_school": "(school_id, held_on)"},
    ),
    Table(
        "parent_school_schools",
        ("school_id",),
        {
            "school_id": T,
            "district": NN,
            "established_on": DNN,
            "has_venue": "boolean NOT NULL",
            "teachers": INT,
            "curriculum_units": INT,
        },
    ),
    Table(
        "parent_school_sessions",
        ("session_id",),
        {
            "session_id": T,
            "district": NN,
            "school_id": NN,
            "school_year": NN,
            "kind": NN,
            "mode": NN,
            "topic": NN,
            "held_on": DNN,
            "class_hours": "double precision NOT NULL",
            "attendance": INT,
        },
        indexes={"parent_school_sessions_by_school": "(school_id, school_year)"},
    ),
    Table(
        "parent_school_assessments",
        ("school_id", "school_year", "assessed_on"),
        {
            "school_id": T,
            "school_year": T,
            "assessed_on": D,
            "district": NN,
            "standard": "boolean NOT NULL",
            "criteria_met": "text[] NOT NULL DEFAULT '{}'",
        },
    ),
    Table(
        "coordinators",
        ("school_id", "staff_ref", "changed_on", "change"),
        {
            "school_id": T,
            "staff_ref": T,
            "changed_on": D,
            "change": T,  # appointed | withdrawn
            "district": NN,
        },
    ),
]


def _seats(rows: Changes, e: CommitteeElected | ByElectionHeld, how: str) -> None:
    started_on = seats_started_on(e)
    for s in e.members:
        rows["committee_seats"].upsert(
            (e.committee_id, s.guardian_ref, started_on),
            district=e.district,
            school_id=e.school_id,
            round_no=e.round_no,
            how=how,
            **seat_columns(s),
        )


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""

    @p.on(CommitteeFormed)
    def _(e: CommitteeFormed, rows: Changes) -> None:
        rows["committee_committees"].upsert(
            e.committee_id, **committee_columns(e), formed_on=e.formed_on
        )
        # The term it was formed for is its first (round 0), until an election's.
        rows["committee_terms"].upsert(
            (e.committee_id, 0),
            district=e.district,
            school_id=e.school_id,
            elected_on=e.formed_on,
            term_start=e.term_start,
            term_end=e.term_end,
            seats=e.seats,
        )

    @p.on(CommitteeElected)
    def _(e: CommitteeElected, rows: Changes) -> None:
        rows["committee_committees"].upsert(
            e.committee_id,
            district=e.district,
            school_id=e.school_id,
            level=e.level.value,
            seats=e.seats,
        )
        rows["committee_terms"].upsert(
            (e.committee_id, e.round_no),
            district=e.district,
            school_id=e.school_id,
            elected_on=e.elected_on,
            term_start=e.term_start,
            term_end=e.term_end,
            seats=e.seats,
        )
        _seats(rows, e, "elected")

    @p.on(ByElectionHeld)
    def _(e: ByElectionHeld, rows: Changes) -> None:
        _seats(rows, e, "by_election")

    def _seat_ended(e: SeatEnded, rows: Changes) -> None:
        day, how, reason = seat_end(e)
        rows["committee_endings"].upsert(
            (e.committee_id, e.guardian_ref, day, how),
            district=e.district,
            school_id=e.school_id,
            reason=reason,
        )

    on_seat_ended(p, _seat_ended)

    @p.on(JointMeetingHeld)
    def _(e: JointMeetingHeld, rows: Changes) -> None:
        rows["committee_meetings"].upsert(
            e.meeting_id,
            **meeting_columns(e),
            scope="school",
            parents_attending=e.parents_attending,
        )

    @p.on(ParentMeetingHeld)
    def _(e: ParentMeetingHeld, rows: Changes) -> None:
        rows["committee_meetings"].upsert(
            e.meeting_id,
            **meeting_columns(e),
            scope=e.scope.value,
            grade=e.grade,
            class_id=e.class_id,
            families=e.families_invited,
            parents_attending=e.parents_attending,
        )

    @p.on(ReceptionDayHeld)
    def _(e: ReceptionDayHeld, rows: Changes) -> None:
        rows["committee_meetings"].upsert(
            e.meeting_id,
            **meeting_columns(e),
            scope="school",
            families=e.families_received,
        )

    @p.on(OpenDayHeld)
    def _(e: OpenDayHeld, rows: Changes) -> None:
        rows["open_days"].upsert(
            e.meeting_id,
            district=e.district,
            school_id=e.school_id,
            held_on=e.held_on,
            days=e.days,
            parents_attending=e.parents_attending,
            opinions_collected=e.opinions_collected,
        )

    @p.on(ParentSchoolEstablished)
    def _(e: ParentSchoolEstablished, rows: Changes) -> None:
        rows["parent_school_schools"].upsert(
            e.school_id,
            district=e.district,
            established_on=e.established_on,
            has_venue=e.has_venue,
            teachers=len(e.teachers),
            curriculum_units=e.curriculum_units,
        )

    @p.on(ParentSchoolSessionHeld)
    def _(e: ParentSchoolSessionHeld, rows: Changes) -> None:
        rows["parent_school_sessions"].upsert(
            e.session_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            kind=e.kind.value,
            mode=e.mode.value,
            topic=e.topic.value,
            held_on=e.held_on,
            class_hours=e.class_hours,
            attendance=e.attendance,
        )

    @p.on(ParentSchoolAssessed)
    def _(e: ParentSchoolAssessed, rows: Changes) -> None:
        rows["parent_school_assessments"].upsert(
            (e.school_id, e.school_year, e.assessed_on),
            district=e.district,
            standard=e.standard,
            criteria_met=sorted(c.value for c in e.criteria_met),
        )

    @p.on(CoordinatorAppointed)
    def _(e: CoordinatorAppointed, rows: Changes) -> None:
        rows["coordinators"].upsert(
            (e.school_id, e.staff_ref, e.appointed_on, "appointed"), district=e.district
        )

    @p.on(CoordinatorWithdrawn)
    def _(e: CoordinatorWithdrawn, rows: Changes) -> None:
        rows["coordinators"].upsert(
            (e.school_id, e.staff_ref, e.withdrawn_on, "withdrawn"), district=e.district
        )
