"""The health agency's model: crisis referrals to each hospital with their deadlines; screening
coverage per school (no scores).

From ``registry.events``: schools (names) and the current roster's students (school, enrolled),
the denominator of screening coverage. From ``wellbeing.events``: each referral's timeline
(referred, acknowledge-by, acknowledged and whether within the deadline, escalated, resolved and
its outcome) — never its note — and, per student and school year, whether screening was
offered, the consent decision and the screenings completed, with their days. No instrument,
band, score, risk flag or attention list is stored: the handlers of ``ScreeningFlagged`` and the
attention list's events do not exist here, so a hospital's model cannot hold them.

The student's pseudonym is kept only to count distinct students and for the receiving
hospital's own queue (the hospital receives the referred child); the screening views answer
counts per school.
"""

from __future__ import annotations

from tongxin_agencies.projections.wellbeing_facts import (
    acknowledgement_columns,
    consent_columns,
    referral_columns,
    resolution_columns,
)
from tongxin_contracts.events.registry import StudentEnrolled, StudentLeft, StudentTransferred
from tongxin_contracts.events.wellbeing import (
    ConsentRecorded,
    CrisisReferred,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralResolved,
    ScreeningCompleted,
    ScreeningOffered,
)
from tongxin_platform.projection import Changes, Projection, Table
from tongxin_platform.roster_part import SCHOOLS, register_schools

T, NN, TS = "text", "text NOT NULL", "timestamptz"

TABLES: list[Table] = [
    SCHOOLS,
    Table(
        "students",
        ("student_ref",),
        {
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "enrolled": "boolean NOT NULL",
        },
        indexes={"health_students_by_school": "(school_id)"},
    ),
    Table(
        "referrals",
        ("referral_id",),
        {
            "referral_id": T,
            "district": NN,
            "school_id": NN,
            "hospital_id": NN,
            "student_ref": T,  # only the receiving hospital's own queue shows it
            "referred_at": TS,
            "acknowledge_by": TS,
            "acknowledged_at": TS,
            "within_deadline": "boolean",
            "escalated_at": TS,
            "resolved_on": "date",
            "outcome": T,
        },
        indexes={"referrals_by_hospital": "(hospital_id, referred_at)"},
    ),
    Table(
        "screening",  # one row per student and school year: offered, consent
        ("school_year", "student_ref"),
        {
            "school_year": T,
            "student_ref": T,
            "district": NN,
            "school_id": NN,
            "offered": "boolean NOT NULL DEFAULT false",
            "consent": T,  # consented | refused (the latest decision)
            "consent_on": "date",
        },
    ),
    Table(
        "screened",  # each completed screening's day (several instruments a year)
        ("school_year", "student_ref", "screening_id"),
        {
            "school_year": T,
            "student_ref": T,
            "screening_id": T,
            "district": NN,
            "school_id": NN,
            "completed_on": "date NOT NULL",
        },
    ),
]

HEALTH = Projection(
    "health",
    group="agencies.health",
    sources=("registry", "wellbeing"),
    description=__doc__,
    tables=TABLES,
)
register_schools(HEALTH)


@HEALTH.on(StudentEnrolled)
def _(e: StudentEnrolled, rows: Changes) -> None:
    rows["students"].upsert(
        e.student_ref, district=e.district, school_id=e.school_id, enrolled=True
    )


@HEALTH.on(StudentTransferred)
def _(e: StudentTransferred, rows: Changes) -> None:
    rows["students"].update(e.student_ref, district=e.district, school_id=e.school_id)


@HEALTH.on(StudentLeft)
def _(e: StudentLeft, rows: Changes) -> None:
    rows["students"].update(e.student_ref, enrolled=False)


@HEALTH.on(CrisisReferred)
def _(e: CrisisReferred, rows: Changes) -> None:
    rows["referrals"].upsert(e.referral_id, **referral_columns(e))


@HEALTH.on(ReferralAcknowledged)
def _(e: ReferralAcknowledged, rows: Changes) -> None:
    rows["referrals"].upsert(
        e.referral_id,
        district=e.district,
        school_id=e.school_id,
        hospital_id=e.hospital_id,
        **acknowledgement_columns(e),
    )


@HEALTH.on(ReferralEscalated)
def _(e: ReferralEscalated, rows: Changes) -> None:
    rows["referrals"].upsert(
        e.referral_id,
        district=e.district,
        school_id=e.school_id,
        hospital_id=e.hospital_id,
        acknowledge_by=e.acknowledge_by,
        escalated_at=e.escalated_at,
    )


@HEALTH.on(ReferralResolved)
def _(e: ReferralResolved, rows: Changes) -> None:
    rows["referrals"].update(e.referral_id, **resolution_columns(e))


@HEALTH.on(ScreeningOffered)
def _(e: ScreeningOffered, rows: Changes) -> None:
    rows["screening"].upsert(
        (e.school_year, e.student_ref), district=e.district, school_id=e.school_id, offered=True
    )


@HEALTH.on(ConsentRecorded)
def _(e: ConsentRecorded, rows: Changes) -> None:
    rows["screening"].upsert((e.school_year, e.student_ref), **consent_columns(e))


@HEALTH.on(ScreeningCompleted)
def _(e: ScreeningCompleted, rows: Changes) -> None:
    rows["screened"].upsert(
        (e.school_year, e.student_ref, e.screening_id),
        district=e.district,
        school_id=e.school_id,
        completed_on=e.completed_on,
    )
