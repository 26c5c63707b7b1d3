"""The parent school as the school and the district read it: the school's parent school (head,
management, teaching staff, venue, curriculum units; the curriculum sealed), its sessions by
school year, the district's assessments per school year (a later one replaces), and the
school's family-education coordinator (a withdrawal clears it)."""

from __future__ import annotations

from tongxin_contracts.events.committees import (
    CoordinatorAppointed,
    CoordinatorWithdrawn,
    ParentSchoolAssessed,
    ParentSchoolEstablished,
    ParentSchoolSessionHeld,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D = "text", "text NOT NULL", "date NOT NULL"
TABLES = [
    Table(
        "parent_schools",
        ("school_id",),
        {
            "school_id": T,
            "district": NN,
            "head_ref": NN,
            "management": "text[] NOT NULL",
            "teachers": "text[] NOT NULL",
            "has_venue": "boolean NOT NULL",
            "curriculum_units": "integer NOT NULL",
            "established_on": D,
            "curriculum": "jsonb",  # sealed with the school's key
        },
        indexes={"parent_schools_by_district": "(district)"},
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
            "held_on": D,
            "class_hours": "double precision NOT NULL",
            "topic": NN,
            "attendance": "integer NOT NULL",
            "recorded_by": NN,
            "title": "jsonb",  # sealed with the school's key
        },
        indexes={
            "sessions_by_school": "(school_id, school_year, held_on)",
            "sessions_by_district": "(district, school_year)",
        },
    ),
    Table(
        "parent_school_assessments",
        ("school_id", "school_year"),
        {
            "school_id": T,
            "school_year": T,
            "district": NN,
            "standard": "boolean NOT NULL",
            "criteria_met": "text[] NOT NULL",
            "assessed_on": D,
            "assessed_by": NN,
        },
        indexes={"assessments_by_district": "(district, school_year)"},
    ),
    Table(
        "coordinators",
        ("school_id",),
        {
            "school_id": T,
            "district": NN,
            "staff_ref": NN,
            "led_by": NN,
            "appointed_on": D,
        },
        indexes={"coordinators_by_district": "(district)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of the parent school's events, on the service's one read model."""

    @p.on(ParentSchoolEstablished)
    def _(e: ParentSchoolEstablished, rows: Changes) -> None:
        rows["parent_schools"].upsert(
            e.school_id,
            district=e.district,
            head_ref=e.head_ref,
            management=list(e.management),
            teachers=list(e.teachers),
            has_venue=e.has_venue,
            curriculum_units=e.curriculum_units,
            established_on=e.established_on,
            curriculum=e.curriculum.model_dump_json() if e.curriculum else None,
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
            held_on=e.held_on,
            class_hours=e.class_hours,
            topic=e.topic.value,
            attendance=e.attendance,
            recorded_by=e.recorded_by,
            title=e.title.model_dump_json() if e.title else None,
        )

    @p.on(ParentSchoolAssessed)
    def _(e: ParentSchoolAssessed, rows: Changes) -> None:
        rows["parent_school_assessments"].upsert(
            (e.school_id, e.school_year),
            district=e.district,
            standard=e.standard,
            criteria_met=[c.value for c in e.criteria_met],
            assessed_on=e.assessed_on,
            assessed_by=e.assessed_by,
        )

    @p.on(CoordinatorAppointed)
    def _(e: CoordinatorAppointed, rows: Changes) -> None:
        rows["coordinators"].upsert(
            e.school_id,
            district=e.district,
            staff_ref=e.staff_ref,
            led_by=e.led_by,
            appointed_on=e.appointed_on,
        )

    @p.on(CoordinatorWithdrawn)
    def _(e: CoordinatorWithdrawn, rows: Changes) -> None:
        rows["coordinators"].delete(e.school_id)
