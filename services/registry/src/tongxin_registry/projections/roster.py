"""The roster read model: schools, classes, students and staff as they stand now.

Built only from ``registry.events`` (never from the event store's tables), so it can be rebuilt
from offset 0 into a fresh schema and compared with the live one. Personal data (names,
contacts, birth dates, special groups) stays sealed here; the API opens it for those entitled to
see it.
"""

from __future__ import annotations

from pydantic_core import to_json

from tongxin_contracts.events.registry import (
    ClassOpened,
    SchoolRegistered,
    StaffAssigned,
    StudentAgeBandChanged,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
    SubjectErased,
)
from tongxin_platform.projection import Changes, Projection, Table

ROSTER = Projection(
    "roster",
    group="registry.roster",
    sources=("registry",),
    description="The roster as it stands: schools, classes, students (sealed), staff.",
    tables=[
        Table(
            "schools",
            ("school_id",),
            {
                "school_id": "text",
                "district": "text NOT NULL",
                "school_name": "text NOT NULL",
                "stage": "text NOT NULL",
                "has_counselling_room": "boolean NOT NULL",
            },
        ),
        Table(
            "classes",
            ("class_id",),
            {
                "class_id": "text",
                "school_id": "text NOT NULL",
                "district": "text NOT NULL",
                "class_name": "text NOT NULL",
                "grade": "integer NOT NULL",
                "school_year": "text NOT NULL",
                "head_teacher_ref": "text",
            },
        ),
        Table(
            "students",
            ("student_ref",),
            {
                "student_ref": "text",
                "district": "text NOT NULL",
                "school_id": "text NOT NULL",
                "class_id": "text NOT NULL",
                "age_band": "text",
                "age_band_on": "date",
                "status": "text NOT NULL",
                "groups": "jsonb",  # sealed (null: none recorded, or unknown)
                "in_special_group": "boolean NOT NULL DEFAULT false",
                "care_groups": "text[] NOT NULL DEFAULT '{}'",
                "guardians": "jsonb NOT NULL",
                "personal": "jsonb",
                "erased": "boolean NOT NULL DEFAULT false",
            },
            indexes={"students_by_class": "(class_id)", "students_by_school": "(school_id)"},
        ),
        Table(
            "staff",
            ("staff_ref",),
            {
                "staff_ref": "text",
                "district": "text NOT NULL",
                "school_id": "text NOT NULL",
                "roles": "text[] NOT NULL",
                "class_ids": "text[] NOT NULL",
                "personal": "jsonb",
            },
        ),
    ],
)
# What the projection describes, under the module's own names (tools and tests use them).
LIVE_SCHEMA = ROSTER.schema
GROUP = ROSTER.group
TABLES = {table: t.order_by() for table, t in ROSTER.tables.items()}
create_tables = ROSTER.create_tables
digest = ROSTER.digest


@ROSTER.on(SchoolRegistered)
def _school(e: SchoolRegistered, rows: Changes) -> None:
    rows["schools"].upsert(
        e.school_id,
        district=e.district,
        school_name=e.school_name,
        stage=e.stage.value,
        has_counselling_room=e.has_counselling_room,
    )


@ROSTER.on(ClassOpened)
def _class(e: ClassOpened, rows: Changes) -> None:
    rows["classes"].upsert(
        e.class_id,
        school_id=e.school_id,
        district=e.district,
        class_name=e.class_name,
        grade=e.grade,
        school_year=e.school_year,
        head_teacher_ref=e.head_teacher_ref,
    )


@ROSTER.on(StudentEnrolled)
def _enrolled(e: StudentEnrolled, rows: Changes) -> None:
    rows["students"].upsert(
        e.student_ref,
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        age_band=e.age_band.value if e.age_band else None,
        age_band_on=e.age_band_on,
        status="enrolled",
        groups=None,
        in_special_group=False,
        care_groups=[],
        guardians=to_json(e.guardians),
        personal=e.personal.model_dump_json(),
    )


@ROSTER.on(StudentTransferred)
def _transferred(e: StudentTransferred, rows: Changes) -> None:
    rows["students"].update(
        e.student_ref, district=e.district, school_id=e.school_id, class_id=e.class_id
    )


@ROSTER.on(StudentLeft)
def _left(e: StudentLeft, rows: Changes) -> None:
    rows["students"].update(e.student_ref, status=f"left:{e.reason.value}")


@ROSTER.on(StudentCategorised)
def _categorised(e: StudentCategorised, rows: Changes) -> None:
    rows["students"].update(
        e.student_ref,
        groups=e.groups.model_dump_json() if e.groups else None,
        in_special_group=e.in_special_group,
        care_groups=[g.value for g in e.care_groups],
    )


@ROSTER.on(StudentAgeBandChanged)
def _age_band(e: StudentAgeBandChanged, rows: Changes) -> None:
    rows["students"].update(e.student_ref, age_band=e.age_band.value, age_band_on=e.age_band_on)


@ROSTER.on(SubjectErased)
def _erased(e: SubjectErased, rows: Changes) -> None:
    # Ciphertext without its key is noise already; drop it and the guardians' pseudonyms too,
    # so nothing of the subject's personal data lingers in the read model.
    rows["students"].update(e.student_ref, personal=None, guardians="[]", groups=None, erased=True)


@ROSTER.on(StaffAssigned)
def _staff(e: StaffAssigned, rows: Changes) -> None:
    rows["staff"].upsert(
        e.staff_ref,
        district=e.district,
        school_id=e.school_id,
        roles=[r.value for r in e.roles],
        class_ids=e.class_ids,
        personal=e.personal.model_dump_json(),
    )
