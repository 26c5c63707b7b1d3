"""What a wellbeing event says, in the columns both models that fold ``wellbeing.events`` for a
referral or a screening write: the health model (a hospital's queue, screening counts) and the
education model's wellbeing part. Each model keeps its own tables and keys; these functions are
the one place where the event's fields become row values. No score, band or note: the events
these read carry none, and nothing here adds one.
"""

from __future__ import annotations

from typing import Any

from tongxin_contracts.events.wellbeing import (
    ConsentRecorded,
    CrisisReferred,
    ReferralAcknowledged,
    ReferralResolved,
)


def referral_columns(e: CrisisReferred) -> dict[str, Any]:
    """A referral as made: where from, to which hospital, for whom, and its deadline."""
    return {
        "district": e.district,
        "school_id": e.school_id,
        "hospital_id": e.hospital_id,
        "student_ref": e.student_ref,
        "referred_at": e.referred_at,
        "acknowledge_by": e.acknowledge_by,
    }


def acknowledgement_columns(e: ReferralAcknowledged) -> dict[str, Any]:
    return {"acknowledged_at": e.acknowledged_at, "within_deadline": e.within_deadline}


def resolution_columns(e: ReferralResolved) -> dict[str, Any]:
    return {"resolved_on": e.resolved_on, "outcome": e.outcome.value}


def consent_columns(e: ConsentRecorded) -> dict[str, Any]:
    """A screening offer's consent (with where the student is)."""
    return {
        "district": e.district,
        "school_id": e.school_id,
        "consent": e.decision.value,
        "consent_on": e.recorded_on,
    }
