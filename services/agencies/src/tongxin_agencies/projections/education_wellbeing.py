"""Wellbeing in the education model, as dated facts and no more: screening offered, consented
and completed per student and school year (never a score, band or flag), who is on the
attention list now (read only by the school's wellbeing team; the others see its size), crisis
referrals with their deadlines (no note), and staff training (topic, day, who attended)."""

from __future__ import annotations

from tongxin_agencies.projections.wellbeing_facts import (
    acknowledgement_columns,
    consent_columns,
    referral_columns,
    resolution_columns,
)
from tongxin_contracts.events.wellbeing import (
    ConsentRecorded,
    CrisisReferred,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralResolved,
    ScreeningCompleted,
    ScreeningOffered,
    StudentAddedToAttentionList,
    StudentRemovedFromAttentionList,
    TrainingRecorded,
)
from tongxin_platform.projection import Changes, Projection, Table

T, NN, D, TS = "text", "text NOT NULL", "date", "timestamptz"

TABLES: list[Table] = [
    Table(
        "screening_offers",
        ("student_ref", "school_year"),
        {
            "student_ref": T,
            "school_year": T,
            "district": NN,
            "school_id": NN,
            "offered": "boolean NOT NULL DEFAULT false",
            "consent": T,  # granted / refused (ConsentDecision)
            "consent_on": D,
        },
        indexes={"offers_by_school": "(school_id, school_year)"},
    ),
    Table(
        "screenings",
        ("screening_id",),
        {
            "screening_id": T,
            "district": NN,
            "school_id": NN,
            "student_ref": NN,
            "school_year": NN,
            "instrument_id": NN,
            "completed_on": "date NOT NULL",
        },
        indexes={"screenings_by_student": "(student_ref, school_year, completed_on)"},
    ),
    Table(
        "attention",
        ("student_ref",),
        {
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "class_id": T,
            "proposal_id": T,
            "listed": "boolean NOT NULL",
        },
        indexes={"attention_by_school": "(school_id)"},
    ),
    Table(
        "referrals",
        ("referral_id",),
        {
            "referral_id": T,
            "district": NN,
            "school_id": NN,
            "student_ref": T,
            "hospital_id": T,
            "referred_at": TS,
            "acknowledge_by": TS,
            "acknowledged_at": TS,
            "within_deadline": "boolean",
            "escalated_at": TS,
            "resolved_on": D,
            "outcome": T,
        },
        indexes={"referrals_by_school": "(school_id, referred_at)"},
    ),
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
        },
    ),
    Table(
        "training_attendance",
        ("training_id", "staff_ref"),
        {
            "training_id": T,
            "staff_ref": T,
            "school_id": NN,
            "topic": NN,
            "held_on": "date NOT NULL",
        },
        indexes={"attendance_by_staff": "(staff_ref, topic, held_on)"},
    ),
]


def register(p: Projection) -> None:
    """The handlers of this part, on the education model."""

    @p.on(ScreeningOffered)
    def _(e: ScreeningOffered, rows: Changes) -> None:
        rows["screening_offers"].upsert(
            (e.student_ref, e.school_year),
            district=e.district,
            school_id=e.school_id,
            offered=True,
        )

    @p.on(ConsentRecorded)
    def _(e: ConsentRecorded, rows: Changes) -> None:
        rows["screening_offers"].upsert((e.student_ref, e.school_year), **consent_columns(e))

    @p.on(ScreeningCompleted)
    def _(e: ScreeningCompleted, rows: Changes) -> None:
        rows["screenings"].upsert(
            e.screening_id,
            district=e.district,
            school_id=e.school_id,
            student_ref=e.student_ref,
            school_year=e.school_year,
            instrument_id=e.instrument_id,
            completed_on=e.completed_on,
        )

    @p.on(StudentAddedToAttentionList)
    def _(e: StudentAddedToAttentionList, rows: Changes) -> None:
        rows["attention"].upsert(
            e.student_ref,
            district=e.district,
            school_id=e.school_id,
            class_id=e.class_id,
            proposal_id=e.proposal_id,
            listed=True,
        )

    @p.on(StudentRemovedFromAttentionList)
    def _(e: StudentRemovedFromAttentionList, rows: Changes) -> None:
        rows["attention"].update(e.student_ref, listed=False)

    @p.on(CrisisReferred)
    def _(e: CrisisReferred, rows: Changes) -> None:
        rows["referrals"].upsert(e.referral_id, **referral_columns(e))

    @p.on(ReferralAcknowledged)
    def _(e: ReferralAcknowledged, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, **acknowledgement_columns(e))

    @p.on(ReferralEscalated)
    def _(e: ReferralEscalated, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, escalated_at=e.escalated_at)

    @p.on(ReferralResolved)
    def _(e: ReferralResolved, rows: Changes) -> None:
        rows["referrals"].update(e.referral_id, **resolution_columns(e))

    @p.on(TrainingRecorded)
    def _(e: TrainingRecorded, rows: Changes) -> None:
        rows["trainings"].upsert(
            e.training_id,
            district=e.district,
            school_id=e.school_id,
            school_year=e.school_year,
            topic=e.topic.value,
            held_on=e.held_on,
            staff_refs=sorted(set(e.staff_refs)),
        )
        for ref in sorted(set(e.staff_refs)):
            rows["training_attendance"].upsert(
                (e.training_id, ref), school_id=e.school_id, topic=e.topic.value, held_on=e.held_on
            )
