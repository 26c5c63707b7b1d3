"""The facts about students, each student only as a one-way mark: the current roster (who
counts in a school's denominator), completed visits, screenings, care files and their carers'
pairings — every fact dated, no score, note, carer or visitor."""

from __future__ import annotations

from tongxin_city.projections.facts_mark import MARK
from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.registry import StudentEnrolled, StudentLeft, StudentTransferred
from tongxin_contracts.events.safety import (
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CarerAccepted,
    CarerDeclined,
    CarerReleased,
)
from tongxin_contracts.events.visits import VisitCompleted
from tongxin_contracts.events.wellbeing import ScreeningCompleted
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D = "text", "text NOT NULL", "date"

TABLES: list[Table] = [
    Table(
        "students",
        ("mark",),
        {
            "mark": T,
            "district": NN,
            "school_id": NN,
            "class_id": NN,
            "enrolled": "boolean NOT NULL",
        },
        indexes={"students_by_district": "(district, school_id)"},
    ),
    Table(
        "visits",
        ("visit_id",),
        {
            "visit_id": T,
            "district": NN,
            "school_id": NN,
            "mark": NN,
            "mode": NN,
            "visited_on": "date NOT NULL",  # the China date it started
        },
        indexes={"visits_by_mark": "(mark, visited_on)"},
    ),
    Table(
        "screenings",
        ("screening_id",),
        {
            "screening_id": T,
            "district": NN,
            "school_id": NN,
            "mark": NN,
            "school_year": NN,
            "completed_on": "date NOT NULL",
        },
        indexes={"screenings_by_mark": "(mark, school_year, completed_on)"},
    ),
    Table(
        "care_files",
        ("school_id", "mark"),
        {
            "school_id": T,
            "mark": T,
            "district": NN,
            "opened_on": D,
            "closed_on": D,  # closed or handed over
        },
    ),
    Table(
        "pairings",
        ("pairing_id",),
        {
            "pairing_id": T,
            "district": NN,
            "school_id": NN,
            "mark": NN,
            "kind": NN,
            "accepted_on": D,
            "ended_on": D,  # declined or released
        },
        indexes={"pairings_by_file": "(school_id, mark)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of the students' facts, on the city's facts model."""

    @p.on(StudentEnrolled)
    def _(e: StudentEnrolled, rows: Changes) -> None:
        _enrolled(rows, e)

    @p.on(StudentTransferred)
    def _(e: StudentTransferred, rows: Changes) -> None:
        _enrolled(rows, e)

    @p.on(StudentLeft)
    def _(e: StudentLeft, rows: Changes) -> None:
        rows["students"].update(MARK(e.district, e.student_ref), enrolled=False)

    @p.on(VisitCompleted)
    def _(e: VisitCompleted, rows: Changes) -> None:
        rows["visits"].upsert(
            e.visit_id,
            district=e.district,
            school_id=e.school_id,
            mark=MARK(e.district, e.student_ref),
            mode=e.mode.value,
            visited_on=china_date(e.started_at),
        )

    @p.on(ScreeningCompleted)
    def _(e: ScreeningCompleted, rows: Changes) -> None:
        rows["screenings"].upsert(
            e.screening_id,
            district=e.district,
            school_id=e.school_id,
            mark=MARK(e.district, e.student_ref),
            school_year=e.school_year,
            completed_on=e.completed_on,
        )

    @p.on(CareFileOpened)
    def _(e: CareFileOpened, rows: Changes) -> None:
        rows["care_files"].upsert(
            (e.school_id, MARK(e.district, e.student_ref)),
            district=e.district,
            opened_on=e.opened_on,
        )

    @p.on(CareFileClosed)
    def _(e: CareFileClosed, rows: Changes) -> None:
        rows["care_files"].upsert(
            (e.school_id, MARK(e.district, e.student_ref)),
            district=e.district,
            closed_on=e.closed_on,
        )

    @p.on(CareFileHandedOver)
    def _(e: CareFileHandedOver, rows: Changes) -> None:
        rows["care_files"].upsert(
            (e.school_id, MARK(e.district, e.student_ref)),
            district=e.district,
            closed_on=e.handed_over_on,
        )

    @p.on(CarerAccepted)
    def _(e: CarerAccepted, rows: Changes) -> None:
        rows["pairings"].upsert(
            e.pairing_id,
            district=e.district,
            school_id=e.school_id,
            mark=MARK(e.district, e.student_ref),
            kind=e.kind.value,
            accepted_on=e.accepted_on,
        )

    @p.on(CarerDeclined)
    def _(e: CarerDeclined, rows: Changes) -> None:
        _ended(rows, e, e.declined_on)

    @p.on(CarerReleased)
    def _(e: CarerReleased, rows: Changes) -> None:
        _ended(rows, e, e.released_on)


def _ended(rows: Changes, e: CarerDeclined | CarerReleased, on: object) -> None:
    rows["pairings"].upsert(
        e.pairing_id,
        district=e.district,
        school_id=e.school_id,
        mark=MARK(e.district, e.student_ref),
        kind=e.kind.value,
        ended_on=on,
    )


def _enrolled(rows: Changes, e: StudentEnrolled | StudentTransferred) -> None:
    rows["students"].upsert(
        MARK(e.district, e.student_ref),
        district=e.district,
        school_id=e.school_id,
        class_id=e.class_id,
        enrolled=True,
    )
