"""Incidents and mandatory reports, and referrals to the guidance committee, as the school's
list and the district's figures read them: one row per incident with its report's due time and
what became of it, one row per referral with the committee's decision. No account (it stays
sealed in the event store, opened only by ``GET /incidents/{id}``)."""

from __future__ import annotations

from tongxin_contracts.events.safety import (
    GuidanceCommitteeDecided,
    GuidanceCommitteeReferral,
    IncidentReported,
    MandatoryReportEscalated,
    MandatoryReportFiled,
)
from tongxin_platform.projection import Changes, Projection, Table
from tongxin_safety.domain.calendar import china_date

T, NN, TS = "text", "text NOT NULL", "timestamptz"
TABLES = [
    Table(
        "incidents",
        ("incident_id",),
        {
            "incident_id": T,
            "district": NN,
            "school_id": NN,
            "category": NN,
            "student_refs": "text[] NOT NULL DEFAULT '{}'",
            "occurred_at": "timestamptz NOT NULL",
            "recorded_at": "timestamptz NOT NULL",
            "recorded_on": "date NOT NULL",  # China time: the figures' ranges
            "recorded_by": NN,
            "report_required": "boolean NOT NULL",
            "report_due_at": TS,
            "filed_at": TS,
            "departments": "text[] NOT NULL DEFAULT '{}'",
            "delay_seconds": "integer",
            "late": "boolean",
            "escalated_at": TS,
        },
        indexes={
            "incidents_by_school": "(school_id, recorded_at)",
            "incidents_by_district": "(district, recorded_on)",
        },
    ),
    Table(
        "guidance_referrals",
        ("referral_id",),
        {
            "referral_id": T,
            "district": NN,
            "school_id": NN,
            "student_ref": NN,
            "misbehaviour": NN,
            "incident_id": T,
            "referred_on": "date NOT NULL",
            "referred_by": NN,
            "decision": T,
            "decided_on": "date",
            "members_present": "text[] NOT NULL DEFAULT '{}'",
        },
        indexes={"guidance_by_district": "(district, school_id)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of the incidents' and referrals' events, on the service's one read model."""

    @p.on(IncidentReported)
    def _(e: IncidentReported, rows: Changes) -> None:
        rows["incidents"].upsert(
            e.incident_id,
            district=e.district,
            school_id=e.school_id,
            category=e.category.value,
            student_refs=list(e.student_refs),
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            recorded_on=china_date(e.recorded_at),
            recorded_by=e.recorded_by,
            report_required=e.mandatory_report_required,
            report_due_at=e.report_due_at,
        )

    @p.on(MandatoryReportFiled)
    def _(e: MandatoryReportFiled, rows: Changes) -> None:
        rows["incidents"].update(
            e.incident_id,
            filed_at=e.filed_at,
            departments=[d.value for d in e.departments],
            delay_seconds=e.delay_seconds,
            late=e.late,
        )

    @p.on(MandatoryReportEscalated)
    def _(e: MandatoryReportEscalated, rows: Changes) -> None:
        rows["incidents"].update(e.incident_id, escalated_at=e.escalated_at)

    @p.on(GuidanceCommitteeReferral)
    def _(e: GuidanceCommitteeReferral, rows: Changes) -> None:
        rows["guidance_referrals"].upsert(
            e.referral_id,
            district=e.district,
            school_id=e.school_id,
            student_ref=e.student_ref,
            misbehaviour=e.misbehaviour.value,
            incident_id=e.incident_id,
            referred_on=e.referred_on,
            referred_by=e.referred_by,
        )

    @p.on(GuidanceCommitteeDecided)
    def _(e: GuidanceCommitteeDecided, rows: Changes) -> None:
        rows["guidance_referrals"].update(
            e.referral_id,
            decision=e.decision.value,
            decided_on=e.decided_on,
            members_present=[m.value for m in e.members_present],
        )
