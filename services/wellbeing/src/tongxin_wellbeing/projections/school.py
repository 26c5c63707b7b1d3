"""The roster as wellbeing knows it (from ``registry.events``): schools with their counselling
room, classes with their head teacher, students with their age band (for the consent rule) and
guardians, staff with their roles (the team, the three who sign the attention list off)."""

from __future__ import annotations

from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    StaffAssigned,
    StudentAgeBandChanged,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN = "text", "text NOT NULL"
TABLES = [
    Table(
        "schools",
        ("school_id",),
        {
            "school_id": T,
            "district": NN,
            "school_name": NN,
            "has_counselling_room": "boolean NOT NULL",
        },
    ),
    Table(
        "classes",
        ("class_id",),
        {
            "class_id": T,
            "school_id": NN,
            "district": NN,
            "grade": "integer NOT NULL",
            "head_teacher_ref": T,
        },
    ),
    Table(
        "students",
        ("student_ref",),
        {
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "class_id": NN,
            "enrolled": "boolean NOT NULL",
            "age_band": T,  # under_14 / 14_to_17 / 18_plus; NULL: unknown (treated as under 14)
            "guardian_refs": "text[] NOT NULL DEFAULT '{}'",
        },
        indexes={"students_by_school": "(school_id, class_id)"},
    ),
    Table(
        "staff",
        ("staff_ref",),
        {
            "staff_ref": T,
            "district": NN,
            "school_id": NN,
            "roles": "text[] NOT NULL",
            "class_ids": "text[] NOT NULL",
        },
        indexes={"staff_by_school": "(school_id)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of the roster's events, on the service's one read model."""

    @p.on(SchoolRegistered)
    def _(e: SchoolRegistered, rows: Changes) -> None:
        rows["schools"].upsert(
            e.school_id,
            district=e.district,
            school_name=e.school_name,
            has_counselling_room=e.has_counselling_room,
        )

    @p.on(ClassOpened)
    def _(e: ClassOpened, rows: Changes) -> None:
        rows["classes"].upsert(
            e.class_id,
            school_id=e.school_id,
            district=e.district,
            grade=e.grade,
            head_teacher_ref=e.head_teacher_ref,
        )

    @p.on(StudentEnrolled)
    def _(e: StudentEnrolled, rows: Changes) -> None:
        rows["students"].upsert(
            e.student_ref,
            district=e.district,
            school_id=e.school_id,
            class_id=e.class_id,
            enrolled=True,
            age_band=e.age_band.value if e.age_band else None,
            guardian_refs=[g.guardian_ref for g in e.guardians],
        )

    @p.on(StudentAgeBandChanged)
    def _(e: StudentAgeBandChanged, rows: Changes) -> None:
        rows["students"].update(e.student_ref, age_band=e.age_band.value)

    @p.on(StudentTransferred)
    def _(e: StudentTransferred, rows: Changes) -> None:
        rows["students"].update(
            e.student_ref, district=e.district, school_id=e.school_id, class_id=e.class_id
        )

    @p.on(StudentLeft)
    def _(e: StudentLeft, rows: Changes) -> None:
        rows["students"].update(e.student_ref, enrolled=False)

    @p.on(StaffAssigned)
    def _(e: StaffAssigned, rows: Changes) -> None:
        rows["staff"].upsert(
            e.staff_ref,
            district=e.district,
            school_id=e.school_id,
            roles=sorted(r.value for r in e.roles),
            class_ids=sorted(e.class_ids),
        )
