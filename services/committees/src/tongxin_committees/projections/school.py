"""The roster as committees knows it (from ``registry.events``): schools, classes (a school
committee seats a parent of every class), students by class with their guardians (candidates
are guardians of children enrolled in the committee's scope; a seat ends with its member's last
child), staff with their roles (principals head the parent school; coordinators, handlers)."""

from __future__ import annotations

from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    StaffAssigned,
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
            "guardian_refs": "text[] NOT NULL DEFAULT '{}'",
        },
        indexes={
            "students_by_school": "(school_id, class_id)",
            "students_by_guardian": "USING gin (guardian_refs)",
        },
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
            guardian_refs=[g.guardian_ref for g in e.guardians],
        )

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
