"""Training sessions and class sessions of every school (from ``wellbeing.events``): the rows
a school's and a district's coverage is counted from. Staff appear by pseudonym; parents as a
count."""

from __future__ import annotations

from tongxin_contracts.events.wellbeing import ClassSessionHeld, TrainingRecorded
from tongxin_platform.projection import Changes, Projection, Table

T, NN = "text", "text NOT NULL"
TABLES = [
    Table(
        "trainings",
        ("training_id",),
        {
            "training_id": T,
            "district": NN,
            "school_id": NN,
            "school_year": NN,
            "topic": NN,
            "held_on": "date NOT NULL",
            "staff_refs": "text[] NOT NULL DEFAULT '{}'",
            "parent_count": "integer NOT NULL DEFAULT 0",
        },
        indexes={
            "trainings_by_school": "(school_id, school_year)",
            "trainings_by_district": "(district, school_year)",
        },
    ),
    Table(
        "class_sessions",
        ("session_id",),
        {
            "session_id": T,
            "district": NN,
            "school_id": NN,
            "school_year": NN,
            "class_id": NN,
            "kind": NN,
            "held_on": "date NOT NULL",
        },
        indexes={
            "class_sessions_by_school": "(school_id, school_year)",
            "class_sessions_by_district": "(district, school_year)",
        },
    ),
]


def register(p: Projection) -> None:
    """The handlers of training and class sessions, on the service's one read model."""

    @p.on(TrainingRecorded)
    def _(e: TrainingRecorded, rows: Changes) -> None:
        rows["trainings"].upsert(
            e.training_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            topic=e.topic.value,
            held_on=e.held_on,
            staff_refs=list(e.staff_refs),
            parent_count=e.parent_count,
        )

    @p.on(ClassSessionHeld)
    def _(e: ClassSessionHeld, rows: Changes) -> None:
        rows["class_sessions"].upsert(
            e.session_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            class_id=e.class_id,
            kind=e.kind.value,
            held_on=e.held_on,
        )
