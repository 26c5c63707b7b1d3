"""Crisis referrals as the hospitals' queues and the district's SLA figures read them: one row
per referral with its deadline and what became of it. No note (it stays sealed in the event
store, opened only by ``GET /referrals/{id}``)."""

from __future__ import annotations

from tongxin_contracts.events.wellbeing import (
    CrisisReferred,
    GuardianNotified,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralResolved,
)
from tongxin_platform.projection import Add, Changes, Projection, Table

T, NN, TS = "text", "text NOT NULL", "timestamptz"
TABLES = [
    Table(
        "referrals",
        ("referral_id",),
        {
            "referral_id": T,
            "district": NN,
            "school_id": NN,
            "student_ref": NN,
            "hospital_id": NN,
            "referred_by": NN,
            "referred_at": "timestamptz NOT NULL",
            "acknowledge_by": "timestamptz NOT NULL",
            "acknowledged_at": TS,
            "within_deadline": "boolean",
            "escalated_at": TS,
            "resolved_on": "date",
            "outcome": T,
            "guardians_notified": "integer NOT NULL DEFAULT 0",
        },
        indexes={
            "referrals_by_hospital": "(hospital_id, acknowledge_by)",
            "referrals_by_district": "(district, school_id)",
            "referrals_by_student": "(student_ref, hospital_id)",
        },
    ),
]


def register(p: Projection) -> None:
    """The handlers of the referrals' events, on the service's one read model."""

    @p.on(CrisisReferred)
    def _(e: CrisisReferred, rows: Changes) -> None:
        rows["referrals"].upsert(
            e.referral_id,
            district=e.district,
            school_id=e.school_id,
            student_ref=e.student_ref,
            hospital_id=e.hospital_id,
            referred_by=e.referred_by,
            referred_at=e.referred_at,
            acknowledge_by=e.acknowledge_by,
            guardians_notified=0,
        )

    @p.on(GuardianNotified)
    def _(e: GuardianNotified, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, guardians_notified=Add(1))

    @p.on(ReferralAcknowledged)
    def _(e: ReferralAcknowledged, rows: Changes) -> None:
        rows["referrals"].update(
            e.referral_id, acknowledged_at=e.acknowledged_at, within_deadline=e.within_deadline
        )

    @p.on(ReferralEscalated)
    def _(e: ReferralEscalated, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, escalated_at=e.escalated_at)

    @p.on(ReferralResolved)
    def _(e: ReferralResolved, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, resolved_on=e.resolved_on, outcome=e.outcome.value)
