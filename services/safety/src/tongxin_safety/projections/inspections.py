"""Inspections and hazards as the schools, the district and the agencies read them: one row per
inspection and one per hazard (kind, severity, owner, deadline, and when a re-inspection found it
rectified). A hazard's detail stays sealed with the school's key (opened only by the school's
list); a hazard's day is its inspection's (joined when reading)."""

from __future__ import annotations

from tongxin_contracts.events.safety import HazardRectified, HazardReported, InspectionCompleted
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D = "text", "text NOT NULL", "date NOT NULL"
TABLES = [
    Table(
        "inspections",
        ("inspection_id",),
        {
            "inspection_id": T,
            "district": NN,
            "school_id": NN,
            "kind": NN,
            "inspector": NN,
            "inspected_on": D,
            "inspected_by": NN,
            "reinspection_of": T,
            "hazards_found": "integer NOT NULL",
        },
        indexes={"inspections_by_school": "(school_id, inspected_on)"},
    ),
    Table(
        "hazards",
        ("hazard_id",),
        {
            "hazard_id": T,
            "inspection_id": NN,
            "district": NN,
            "school_id": NN,
            "kind": NN,
            "severity": NN,
            "owner": NN,
            "rectify_by": D,
            "detail": "jsonb",  # sealed with the school's key
            "rectified_on": "date",
            "reinspection_id": T,
            "within_deadline": "boolean",
        },
        indexes={
            "hazards_by_school": "(school_id, rectify_by)",
            "hazards_by_district": "(district, rectify_by)",
            "hazards_by_inspection": "(inspection_id)",
            "hazards_by_reinspection": "(reinspection_id)",
        },
    ),
]


def register(p: Projection) -> None:
    """The handlers of the inspections' events, on the service's one read model."""

    @p.on(InspectionCompleted)
    def _(e: InspectionCompleted, rows: Changes) -> None:
        rows["inspections"].upsert(
            e.inspection_id,
            district=e.district,
            school_id=e.school_id,
            kind=e.kind.value,
            inspector=e.inspector.value,
            inspected_on=e.inspected_on,
            inspected_by=e.inspected_by,
            reinspection_of=e.reinspection_of,
            hazards_found=e.hazards_found,
        )

    @p.on(HazardReported)
    def _(e: HazardReported, rows: Changes) -> None:
        rows["hazards"].upsert(
            e.hazard_id,
            inspection_id=e.inspection_id,
            district=e.district,
            school_id=e.school_id,
            kind=e.kind.value,
            severity=e.severity.value,
            owner=e.owner.value,
            rectify_by=e.rectify_by,
            detail=e.detail.model_dump_json() if e.detail is not None else None,
        )

    @p.on(HazardRectified)
    def _(e: HazardRectified, rows: Changes) -> None:
        rows["hazards"].update(
            e.hazard_id,
            rectified_on=e.rectified_on,
            reinspection_id=e.reinspection_id,
            within_deadline=e.within_deadline,
        )
