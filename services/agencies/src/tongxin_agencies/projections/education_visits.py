"""Home visits in the education model, as dated facts: every visit (completed: its mode, the
China date it started, its visitors; cancelled), each visitor of a completed visit, the
follow-up ledger (opened, due, closed on) and the monthly reports (every revision, with the day
it was submitted and whether it was late) — so that any figure is computed for any day."""

from __future__ import annotations

from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.visits import (
    FollowUpClosed,
    FollowUpOpened,
    MonthlyVisitReportSubmitted,
    VisitCancelled,
    VisitCompleted,
    VisitPlanned,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D = "text", "text NOT NULL", "date"

TABLES: list[Table] = [
    Table(
        "visits",
        ("visit_id",),
        {
            "visit_id": T,
            "district": NN,
            "school_id": NN,
            "class_id": T,
            "student_ref": T,
            "planned_for": D,
            "mode": T,
            "visited_on": D,  # the China date of started_at (completed visits only)
            "visitor_refs": "text[] NOT NULL DEFAULT '{}'",
            "cancelled": "boolean NOT NULL DEFAULT false",
        },
        indexes={
            "visits_by_student": "(student_ref, visited_on)",
            "visits_by_school": "(school_id, visited_on)",
        },
    ),
    Table(
        "visit_visitors",
        ("visit_id", "staff_ref"),
        {
            "visit_id": T,
            "staff_ref": T,
            "role": NN,
            "district": NN,
            "school_id": NN,
            "class_id": NN,
            "student_ref": NN,
            "mode": NN,
            "visited_on": "date NOT NULL",
        },
        indexes={
            "visitors_by_staff": "(staff_ref, visited_on)",
            "visitors_by_school": "(school_id, visited_on)",
        },
    ),
    Table(
        "followups",
        ("case_id",),
        {
            "case_id": T,
            "district": NN,
            "school_id": NN,
            "class_id": T,
            "student_ref": T,
            "visit_id": T,
            "measure": T,
            "owner_ref": T,
            "opened_on": D,
            "due_date": D,
            "closed_on": D,
            "outcome": T,
        },
        indexes={"followups_by_school": "(school_id, due_date)"},
    ),
    Table(
        "monthly_reports",
        ("school_id", "month", "revision"),
        {
            "school_id": T,
            "month": T,
            "revision": "integer",
            "district": NN,
            "submitted_on": "date NOT NULL",  # the China date of submitted_at
            "due_date": "date NOT NULL",
            "late": "boolean NOT NULL",
        },
    ),
]


def _whose(e: VisitPlanned | VisitCompleted | FollowUpOpened) -> dict[str, str | None]:
    """The student a visit or a follow-up is about, and where they are."""
    return {
        "district": e.district,
        "school_id": e.school_id,
        "class_id": e.class_id,
        "student_ref": e.student_ref,
    }


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""

    @p.on(VisitPlanned)
    def _(e: VisitPlanned, rows: Changes) -> None:
        rows["visits"].upsert(
            e.visit_id,
            **_whose(e),
            planned_for=e.planned_for,
        )

    @p.on(VisitCompleted)
    def _(e: VisitCompleted, rows: Changes) -> None:
        on = china_date(e.started_at)
        rows["visits"].upsert(
            e.visit_id,
            **_whose(e),
            mode=e.mode.value,
            visited_on=on,
            visitor_refs=sorted({v.staff_ref for v in e.visitors}),
        )
        for v in e.visitors:
            rows["visit_visitors"].upsert(
                (e.visit_id, v.staff_ref),
                role=v.role.value,
                **_whose(e),
                mode=e.mode.value,
                visited_on=on,
            )

    @p.on(VisitCancelled)
    def _(e: VisitCancelled, rows: Changes) -> None:
        rows["visits"].update(e.visit_id, cancelled=True)

    @p.on(FollowUpOpened)
    def _(e: FollowUpOpened, rows: Changes) -> None:
        rows["followups"].upsert(
            e.case_id,
            **_whose(e),
            visit_id=e.visit_id,
            measure=e.measure.value,
            owner_ref=e.owner_ref,
            opened_on=e.opened_on,
            due_date=e.due_date,
        )

    @p.on(FollowUpClosed)
    def _(e: FollowUpClosed, rows: Changes) -> None:
        rows["followups"].update(e.case_id, closed_on=e.closed_on, outcome=e.outcome.value)

    @p.on(MonthlyVisitReportSubmitted)
    def _(e: MonthlyVisitReportSubmitted, rows: Changes) -> None:
        rows["monthly_reports"].upsert(
            (e.school_id, e.month, e.revision),
            district=e.district,
            submitted_on=china_date(e.submitted_at),
            due_date=e.due_date,
            late=e.late,
        )
