"""Hand-made safety events (care files and their carers, guard shifts, inspections and
hazards, incidents and mandatory reports) of one school on a day D, and the fold of a model's
tables from them, shared by the unit tests of the education, police and market models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CareContactLogged,
    CareFileOpened,
    CarerAccepted,
    CarerKind,
    CarerPaired,
    ContactMode,
    Department,
    FileSource,
    Guard,
    GuardKind,
    GuardPostEstablished,
    GuardShiftCompleted,
    GuardShiftMissed,
    GuardShiftScheduled,
    HazardOwner,
    HazardRectified,
    HazardReported,
    HazardSeverity,
    IncidentCategory,
    IncidentReported,
    InspectionCompleted,
    InspectionKind,
    Inspector,
    MandatoryReportFiled,
    MissedReason,
    PostPlace,
    RiskLevel,
    RiskLevelSet,
    ShiftPeriod,
)
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_platform.projection import Projection

DIST, SCHOOL, OTHER = "330106", "sch_1", "sch_2"
D = date(2026, 11, 16)  # a Monday of the first semester of 2026-2027
STUDENT, CLASS = "stu_1", "cls_1"
Tables = dict[str, list[dict[str, Any]]]


# --- events -------------------------------------------------------------------------------------


def file_opened(on: date, student: str = STUDENT, school: str = SCHOOL) -> CareFileOpened:
    return CareFileOpened(
        district=DIST,
        school_id=school,
        student_ref=student,
        class_id=CLASS,
        source=FileSource.categorised,
        care_groups=[CareGroup.left_behind],
        opened_on=on,
        opened_by=None,
    )


def _pairing(pid: str, kind: CarerKind, student: str = STUDENT) -> dict[str, Any]:
    """The fields every event of pairing ``pid`` (a carer of ``kind`` for ``student``) carries."""
    return {
        "district": DIST,
        "school_id": SCHOOL,
        "student_ref": student,
        "pairing_id": pid,
        "kind": kind,
    }


def paired(pid: str, kind: CarerKind, on: date, student: str = STUDENT) -> CarerPaired:
    return CarerPaired(
        **_pairing(pid, kind, student),
        carer_ref=f"carer_{pid}",
        org="org_1",
        paired_on=on,
        paired_by="stf_head",
    )


def accepted(pid: str, kind: CarerKind, on: date, student: str = STUDENT) -> CarerAccepted:
    return CarerAccepted(**_pairing(pid, kind, student), accepted_on=on)


def contact(pid: str, kind: CarerKind, on: date) -> CareContactLogged:
    return CareContactLogged(
        **_pairing(pid, kind), contact_on=on, mode=ContactMode.phone, note=None
    )


def risk(level: RiskLevel, on: date) -> RiskLevelSet:
    return RiskLevelSet(
        district=DIST,
        school_id=SCHOOL,
        student_ref=STUDENT,
        level=level,
        previous=None,
        set_on=on,
        set_by="stf_psych",
        reason=None,
    )


def fully_paired(on: date) -> list[IntegrationEvent]:
    """A file opened on ``on`` and a carer of every kind paired and accepted the same day."""
    out: list[IntegrationEvent] = [file_opened(on)]
    for kind in CarerKind:
        out += [paired(f"p_{kind.value}", kind, on), accepted(f"p_{kind.value}", kind, on)]
    return out


def post() -> GuardPostEstablished:
    return GuardPostEstablished(
        district=DIST,
        school_id=SCHOOL,
        post_id="post_1",
        place=PostPlace.school_gate,
        police_station="ps_1",
        established_on=date(2026, 9, 1),
    )


def _shift(sid: str, on: date) -> dict[str, Any]:
    """The fields every event of shift ``sid`` at post_1 on ``on`` carries."""
    return {"district": DIST, "school_id": SCHOOL, "shift_id": sid, "post_id": "post_1", "on": on}


def scheduled(sid: str, on: date) -> GuardShiftScheduled:
    return GuardShiftScheduled(
        **_shift(sid, on),
        period=ShiftPeriod.morning,
        guards=[Guard(kind=GuardKind.police, ref="pol_1"), Guard(kind=GuardKind.staff, ref="s")],
    )


def completed(sid: str, on: date) -> GuardShiftCompleted:
    return GuardShiftCompleted(
        **_shift(sid, on), guards_present=[GuardKind.police], recorded_by="stf_1"
    )


def missed(sid: str, on: date) -> GuardShiftMissed:
    return GuardShiftMissed(**_shift(sid, on), reason=MissedReason.no_show, recorded_by="stf_1")


def inspection(iid: str, kind: InspectionKind, on: date = date(2026, 10, 1)) -> InspectionCompleted:
    return InspectionCompleted(
        district=DIST,
        school_id=SCHOOL,
        inspection_id=iid,
        kind=kind,
        inspector=Inspector.police,
        inspected_on=on,
        inspected_by="insp_1",
        reinspection_of=None,
        hazards_found=1,
    )


def hazard(
    hid: str, rectify_by: date, kind: InspectionKind = InspectionKind.fire
) -> HazardReported:
    return HazardReported(
        district=DIST,
        school_id=SCHOOL,
        inspection_id=f"insp_{hid}",
        hazard_id=hid,
        kind=kind,
        severity=HazardSeverity.general,
        owner=HazardOwner.school,
        rectify_by=rectify_by,
        detail=None,
    )


def rectified(hid: str, on: date) -> HazardRectified:
    return HazardRectified(
        district=DIST,
        school_id=SCHOOL,
        inspection_id=f"insp_{hid}",
        hazard_id=hid,
        rectified_on=on,
        reinspection_id=f"re_{hid}",
        within_deadline=True,
    )


def at(d: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Beijing on ``d``."""
    return datetime(d.year, d.month, d.day, hour - 8, tzinfo=UTC)


def incident(
    iid: str,
    recorded: datetime,
    *,
    required: bool = True,
    students: Sequence[str] = ("stu_a", "stu_b"),
    category: IncidentCategory = IncidentCategory.physical_abuse,
) -> IncidentReported:
    return IncidentReported(
        district=DIST,
        school_id=SCHOOL,
        incident_id=iid,
        category=category,
        student_refs=list(students),
        occurred_at=recorded - timedelta(hours=1),
        recorded_at=recorded,
        recorded_by="stf_1",
        mandatory_report_required=required,
        report_due_at=recorded + timedelta(hours=24) if required else None,
        account=None,
    )


def filed(iid: str, when: datetime, delay: int, late: bool) -> MandatoryReportFiled:
    return MandatoryReportFiled(
        district=DIST,
        school_id=SCHOOL,
        incident_id=iid,
        departments=[Department.police, Department.education],
        filed_at=when,
        filed_by="stf_1",
        delay_seconds=delay,
        late=late,
    )


# --- folding ------------------------------------------------------------------------------------


async def fold(projection: Projection, events: Sequence[IntegrationEvent]) -> Tables:
    """The rows after ``events``: the same whether folded in one batch or one at a time."""
    results = []
    for batches in ([list(events)], [[e] for e in events]):
        tables = MemoryTables(MemoryDatabase(default_registry()), projection.tables)
        for batch in batches:
            await projection.write(tables, projection.schema, projection.fold(batch))
        results.append(
            {
                name: [dict(r) for _, r in sorted(tables.rows(projection.schema, name).items())]
                for name in projection.tables
            }
        )
    assert results[0] == results[1], "one event at a time differs from one batch"
    return results[0]
