"""Care files (一人一档) as the ledger (台账), the district's figures, the carers' lists and the
carers' access read them: one row per file (where it is, its groups, risk, the parents' notice
and last contact), per pairing (kind, carer, organisation, status, last contact) and per concern.
No sealed text: reasons, notes, the entrusted carer and concern details stay in the event store,
opened only by ``GET /students/{student_ref}/care-file``."""

from __future__ import annotations

from tongxin_contracts.events.safety import (
    CareConcernAssessed,
    CareConcernRaised,
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareGroupsChanged,
    CareNoticeRecorded,
    CarerAccepted,
    CarerDeclined,
    CarerPaired,
    CarerReleased,
    ParentContactRecorded,
    RiskLevelSet,
)
from tongxin_platform.projection import Changes, Greatest, Projection, Table

T, NN, D = "text", "text NOT NULL", "date"
TABLES = [
    Table(
        "care_files",
        ("student_ref",),
        {
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "class_id": T,
            "status": NN,  # open | closed
            "source": NN,
            "care_groups": "text[] NOT NULL DEFAULT '{}'",
            "opened_on": "date NOT NULL",
            "risk_level": T,
            "risk_set_on": D,
            "notice_on": D,
            "parent_contact_on": D,
            "handed_over_on": D,
            "closed_on": D,
            "closed_reason": T,
        },
        indexes={
            "care_files_by_school": "(school_id, status)",
            "care_files_by_district": "(district, status)",
        },
    ),
    Table(
        "care_pairings",
        ("pairing_id",),
        {
            "pairing_id": T,
            "student_ref": NN,
            "kind": NN,
            "carer_ref": NN,
            "org": NN,
            "status": NN,  # proposed | accepted | declined | released
            "paired_on": "date NOT NULL",
            "accepted_on": D,
            "ended_on": D,
            "last_contact_on": D,
        },
        indexes={
            "care_pairings_by_student": "(student_ref, kind)",
            "care_pairings_by_carer": "(carer_ref, kind, org)",
        },
    ),
    Table(
        "care_concerns",
        ("concern_id",),
        {
            "concern_id": T,
            "student_ref": NN,
            "source": NN,
            "visit_id": T,
            "raised_on": "date NOT NULL",
            "outcome": T,
            "assessed_on": D,
        },
        indexes={"care_concerns_by_student": "(student_ref)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of the care files' events, on the service's one read model."""

    @p.on(CareFileOpened)
    def _(e: CareFileOpened, rows: Changes) -> None:
        # A file opened again after its closing starts afresh (the decider's rule).
        rows["care_files"].upsert(
            e.student_ref,
            district=e.district,
            school_id=e.school_id,
            class_id=e.class_id,
            status="open",
            source=e.source.value,
            care_groups=sorted(g.value for g in e.care_groups),
            opened_on=e.opened_on,
            risk_level=None,
            risk_set_on=None,
            notice_on=None,
            parent_contact_on=None,
            handed_over_on=None,
            closed_on=None,
            closed_reason=None,
        )

    @p.on(CareGroupsChanged)
    def _(e: CareGroupsChanged, rows: Changes) -> None:
        rows["care_files"].update(e.student_ref, care_groups=sorted(g.value for g in e.care_groups))

    @p.on(CarerPaired)
    def _(e: CarerPaired, rows: Changes) -> None:
        rows["care_pairings"].upsert(
            e.pairing_id,
            student_ref=e.student_ref,
            kind=e.kind.value,
            carer_ref=e.carer_ref,
            org=e.org,
            status="proposed",
            paired_on=e.paired_on,
        )

    @p.on(CarerAccepted)
    def _(e: CarerAccepted, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, status="accepted", accepted_on=e.accepted_on)

    @p.on(CarerDeclined)
    def _(e: CarerDeclined, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, status="declined", ended_on=e.declined_on)

    @p.on(CarerReleased)
    def _(e: CarerReleased, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, status="released", ended_on=e.released_on)

    @p.on(RiskLevelSet)
    def _(e: RiskLevelSet, rows: Changes) -> None:
        rows["care_files"].update(e.student_ref, risk_level=e.level.value, risk_set_on=e.set_on)

    @p.on(CareContactLogged)
    def _(e: CareContactLogged, rows: Changes) -> None:
        rows["care_pairings"].update(e.pairing_id, last_contact_on=Greatest(e.contact_on))

    @p.on(CareNoticeRecorded)
    def _(e: CareNoticeRecorded, rows: Changes) -> None:
        rows["care_files"].update(e.student_ref, notice_on=e.notice_on)

    @p.on(ParentContactRecorded)
    def _(e: ParentContactRecorded, rows: Changes) -> None:
        rows["care_files"].update(e.student_ref, parent_contact_on=Greatest(e.contact_on))

    @p.on(CareConcernRaised)
    def _(e: CareConcernRaised, rows: Changes) -> None:
        rows["care_concerns"].upsert(
            e.concern_id,
            student_ref=e.student_ref,
            source=e.source.value,
            visit_id=e.visit_id,
            raised_on=e.raised_on,
        )

    @p.on(CareConcernAssessed)
    def _(e: CareConcernAssessed, rows: Changes) -> None:
        rows["care_concerns"].update(
            e.concern_id, outcome=e.outcome.value, assessed_on=e.assessed_on
        )

    @p.on(CareFileHandedOver)
    def _(e: CareFileHandedOver, rows: Changes) -> None:
        rows["care_files"].update(
            e.student_ref,
            district=e.to_district,
            school_id=e.to_school_id,
            class_id=e.to_class_id,
            handed_over_on=e.handed_over_on,
        )

    @p.on(CareFileClosed)
    def _(e: CareFileClosed, rows: Changes) -> None:
        rows["care_files"].update(
            e.student_ref, status="closed", closed_on=e.closed_on, closed_reason=e.reason.value
        )
