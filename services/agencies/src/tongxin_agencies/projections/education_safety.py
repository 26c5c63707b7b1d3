"""Child safety in the education model (from ``safety.events``), every fact dated so that a figure
is computed for any day: care files (opened, closed, handed over; their risk levels), the carers
paired to them (kind; accepted, declined, released; their contacts), guard posts and shifts
(scheduled, completed, missed on their day), inspections and their hazards (rectify-by,
rectified on), incidents and their mandatory reports (required, due, filed, late, escalated).

The guard, inspection and incident tables and handlers are declared once here and taken by the
police's and market regulation's models too (``guard_tables``/``register_guard`` …), the hazards
narrowed to their kinds. Incidents keep the NUMBER of students involved, never who.
"""

from __future__ import annotations

from collections.abc import Collection

from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.safety import (
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CarerAccepted,
    CarerDeclined,
    CarerPaired,
    CarerReleased,
    GuardPostEstablished,
    GuardShiftCompleted,
    GuardShiftMissed,
    GuardShiftScheduled,
    HazardRectified,
    HazardReported,
    IncidentReported,
    InspectionCompleted,
    InspectionKind,
    MandatoryReportEscalated,
    MandatoryReportFiled,
    RiskLevelSet,
)
from tongxin_platform.projection import Changes, Greatest, Projection, Table

T, NN, D, DNN = "text", "text NOT NULL", "date", "date NOT NULL"

# --- care files ----------------------------------------------------------------------------------

CARE_TABLES = [
    Table(
        "care_files",
        ("school_id", "student_ref"),
        {
            "school_id": T,
            "student_ref": T,
            "district": NN,
            "class_id": T,
            "source": T,
            "care_groups": "text[] NOT NULL DEFAULT '{}'",
            "opened_on": DNN,
            "closed_on": D,
            "close_reason": T,
            "handed_over_on": D,
            "to_school_id": T,
        },
    ),
    Table(
        "care_risk_levels",
        ("student_ref", "set_on"),
        {"student_ref": T, "set_on": D, "district": NN, "school_id": NN, "level": NN},
    ),
    Table(
        "care_pairings",
        ("pairing_id",),
        {
            "pairing_id": T,
            "district": NN,
            "school_id": NN,
            "student_ref": NN,
            "kind": NN,
            "carer_ref": NN,
            "org": NN,
            "paired_on": DNN,
            "accepted_on": D,
            "declined_on": D,
            "decline_reason": T,
            "released_on": D,
            "last_contact_on": D,  # the latest contact logged (of any day)
        },
        indexes={"care_pairings_by_file": "(school_id, student_ref)"},
    ),
    Table(
        "care_contacts",
        ("pairing_id", "contact_on"),
        {"pairing_id": T, "contact_on": D, "district": NN, "school_id": NN, "mode": NN},
        indexes={"care_contacts_by_school": "(school_id)"},
    ),
]


def register_care(p: Projection) -> None:
    @p.on(CareFileOpened)
    def _(e: CareFileOpened, rows: Changes) -> None:
        rows["care_files"].upsert(
            (e.school_id, e.student_ref),
            district=e.district,
            class_id=e.class_id,
            source=e.source.value,
            care_groups=sorted(g.value for g in e.care_groups),
            opened_on=e.opened_on,
            closed_on=None,
            close_reason=None,
            handed_over_on=None,
            to_school_id=None,
        )

    @p.on(CareFileClosed)
    def _(e: CareFileClosed, rows: Changes) -> None:
        rows["care_files"].update(
            (e.school_id, e.student_ref), closed_on=e.closed_on, close_reason=e.reason.value
        )

    @p.on(CareFileHandedOver)
    def _(e: CareFileHandedOver, rows: Changes) -> None:
        rows["care_files"].update(
            (e.school_id, e.student_ref),
            handed_over_on=e.handed_over_on,
            to_school_id=e.to_school_id,
        )

    @p.on(RiskLevelSet)
    def _(e: RiskLevelSet, rows: Changes) -> None:
        rows["care_risk_levels"].upsert(
            (e.student_ref, e.set_on),
            district=e.district,
            school_id=e.school_id,
            level=e.level.value,
        )

    @p.on(CarerPaired)
    def _(e: CarerPaired, rows: Changes) -> None:
        rows["care_pairings"].upsert(
            e.pairing_id,
            district=e.district,
            school_id=e.school_id,
            student_ref=e.student_ref,
            kind=e.kind.value,
            carer_ref=e.carer_ref,
            org=e.org,
            paired_on=e.paired_on,
        )

    @p.on(CarerAccepted)
    def _(e: CarerAccepted, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, accepted_on=e.accepted_on)

    @p.on(CarerDeclined)
    def _(e: CarerDeclined, rows: Changes) -> None:
        rows["care_pairings"].update(
            e.pairing_id, declined_on=e.declined_on, decline_reason=e.reason.value
        )

    @p.on(CarerReleased)
    def _(e: CarerReleased, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, released_on=e.released_on)

    @p.on(CareContactLogged)
    def _(e: CareContactLogged, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, last_contact_on=Greatest(e.contact_on))
        rows["care_contacts"].upsert(
            (e.pairing_id, e.contact_on),
            district=e.district,
            school_id=e.school_id,
            mode=e.mode.value,
        )


# --- guard posts and shifts ----------------------------------------------------------------------


def guard_tables() -> list[Table]:
    return [
        Table(
            "guard_posts",
            ("post_id",),
            {
                "post_id": T,
                "district": NN,
                "school_id": NN,
                "place": NN,
                "police_station": T,
                "established_on": DNN,
            },
        ),
        Table(
            "guard_shifts",
            ("shift_id",),
            {
                "shift_id": T,
                "district": NN,
                "school_id": NN,
                "post_id": NN,
                "shift_on": DNN,
                "period": T,
                "guards": "integer NOT NULL DEFAULT 0",
                "police_guards": "integer NOT NULL DEFAULT 0",
                # scheduled (nothing recorded yet), completed or missed
                "status": "text NOT NULL DEFAULT 'scheduled'",
                "missed_reason": T,
            },
            indexes={"guard_shifts_by_school": "(school_id, shift_on)"},
        ),
    ]


def register_guard(p: Projection) -> None:
    @p.on(GuardPostEstablished)
    def _(e: GuardPostEstablished, rows: Changes) -> None:
        rows["guard_posts"].upsert(
            e.post_id,
            district=e.district,
            school_id=e.school_id,
            place=e.place.value,
            police_station=e.police_station,
            established_on=e.established_on,
        )

    @p.on(GuardShiftScheduled)
    def _(e: GuardShiftScheduled, rows: Changes) -> None:
        rows["guard_shifts"].upsert(
            e.shift_id,
            district=e.district,
            school_id=e.school_id,
            post_id=e.post_id,
            shift_on=e.on,
            period=e.period.value,
            guards=len(e.guards),
            police_guards=sum(1 for g in e.guards if g.kind.value == "police"),
        )

    # A shift's outcome may be recorded without a schedule the model saw: upsert.
    def outcome(e: GuardShiftCompleted | GuardShiftMissed, rows: Changes) -> None:
        rows["guard_shifts"].upsert(
            e.shift_id,
            district=e.district,
            school_id=e.school_id,
            post_id=e.post_id,
            shift_on=e.on,
            **(
                {"status": "missed", "missed_reason": e.reason.value}
                if isinstance(e, GuardShiftMissed)
                else {"status": "completed", "missed_reason": None}
            ),
        )

    p.on(GuardShiftCompleted)(outcome)
    p.on(GuardShiftMissed)(outcome)


# --- inspections and hazards ---------------------------------------------------------------------


def hazard_tables() -> list[Table]:
    return [
        Table(
            "inspections",
            ("inspection_id",),
            {
                "inspection_id": T,
                "district": NN,
                "school_id": NN,
                "kind": NN,
                "inspector": NN,
                "inspected_on": DNN,
                "reinspection_of": T,
                "hazards_found": "integer NOT NULL DEFAULT 0",
            },
        ),
        Table(
            "hazards",
            ("hazard_id",),
            {
                "hazard_id": T,
                "district": NN,
                "school_id": NN,
                "inspection_id": NN,
                "kind": NN,
                "severity": NN,
                "owner": NN,
                "rectify_by": DNN,
                "rectified_on": D,
                "within_deadline": "boolean",
            },
            indexes={"hazards_by_school": "(school_id)"},
        ),
    ]


def register_hazards(p: Projection, kinds: Collection[InspectionKind] | None = None) -> None:
    """Inspections and hazards; ``kinds``: only these (the police's, market regulation's)."""
    wanted = frozenset(kinds) if kinds is not None else frozenset(InspectionKind)

    @p.on(InspectionCompleted)
    def _(e: InspectionCompleted, rows: Changes) -> None:
        if e.kind in wanted:
            rows["inspections"].upsert(
                e.inspection_id,
                district=e.district,
                school_id=e.school_id,
                kind=e.kind.value,
                inspector=e.inspector.value,
                inspected_on=e.inspected_on,
                reinspection_of=e.reinspection_of,
                hazards_found=e.hazards_found,
            )

    @p.on(HazardReported)
    def _(e: HazardReported, rows: Changes) -> None:
        if e.kind in wanted:
            rows["hazards"].upsert(
                e.hazard_id,
                district=e.district,
                school_id=e.school_id,
                inspection_id=e.inspection_id,
                kind=e.kind.value,
                severity=e.severity.value,
                owner=e.owner.value,
                rectify_by=e.rectify_by,
            )

    # The inspection's stream orders a rectification after its report: an update (a hazard of
    # a kind this model does not keep has no row, and gets none).
    @p.on(HazardRectified)
    def _(e: HazardRectified, rows: Changes) -> None:
        rows["hazards"].update(
            e.hazard_id, rectified_on=e.rectified_on, within_deadline=e.within_deadline
        )


# --- incidents and mandatory reports -------------------------------------------------------------


def incident_tables() -> list[Table]:
    return [
        Table(
            "incidents",
            ("incident_id",),
            {
                "incident_id": T,
                "district": NN,
                "school_id": NN,
                "category": NN,
                "students_involved": "integer NOT NULL DEFAULT 0",  # a count, never who
                "occurred_at": "timestamptz NOT NULL",
                "recorded_at": "timestamptz NOT NULL",
                "recorded_on": DNN,  # China date of recorded_at
                "report_required": "boolean NOT NULL",
                "report_due_at": "timestamptz",
                "filed_at": "timestamptz",
                "filed_on": D,
                "delay_seconds": "integer",
                "late": "boolean",
                "departments": "text[] NOT NULL DEFAULT '{}'",
                "escalated_at": "timestamptz",
            },
            indexes={"incidents_by_school": "(school_id)"},
        )
    ]


def register_incidents(p: Projection) -> None:
    @p.on(IncidentReported)
    def _(e: IncidentReported, rows: Changes) -> None:
        rows["incidents"].upsert(
            e.incident_id,
            district=e.district,
            school_id=e.school_id,
            category=e.category.value,
            students_involved=len(set(e.student_refs)),
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            recorded_on=china_date(e.recorded_at),
            report_required=e.mandatory_report_required,
            report_due_at=e.report_due_at,
        )

    @p.on(MandatoryReportFiled)
    def _(e: MandatoryReportFiled, rows: Changes) -> None:
        rows["incidents"].update(
            e.incident_id,
            filed_at=e.filed_at,
            filed_on=china_date(e.filed_at),
            delay_seconds=e.delay_seconds,
            late=e.late,
            departments=sorted(d.value for d in e.departments),
        )

    @p.on(MandatoryReportEscalated)
    def _(e: MandatoryReportEscalated, rows: Changes) -> None:
        rows["incidents"].update(e.incident_id, escalated_at=e.escalated_at)


TABLES: list[Table] = [*CARE_TABLES, *guard_tables(), *hazard_tables(), *incident_tables()]


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""
    register_care(p)
    register_guard(p)
    register_hazards(p)
    register_incidents(p)
