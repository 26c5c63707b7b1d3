"""Reads of crisis referrals: one referral in full (from the event store, its note opened with
the student's key: restricted, the route logs it), a hospital's queue and a district's SLA
figures (from the read model; no student in the latter)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import asyncpg

from tongxin_contracts import Sealed
from tongxin_contracts.events.wellbeing import CrisisReferred, referral_stream
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.domain.referrals import ReferralState, compliance, fold, time_left

W = "wellbeing"  # the read model's schema


async def state(uow: UnitOfWork, referral_id: str) -> ReferralState:
    stream = referral_stream(referral_id)
    return fold((await uow.events.load([stream])).of(stream))


async def where(uow: UnitOfWork, referral_id: str) -> CrisisReferred | None:
    """The referral as made (school, student, hospital), or ``None``."""
    return (await state(uow, referral_id)).referred


async def _open(uow: UnitOfWork, sealed: Sealed | None) -> str | None:
    if sealed is None:
        return None
    with contextlib.suppress(SubjectErasedError):
        return str((await uow.keys.open(sealed))["text"])
    return None


async def record(uow: UnitOfWork, referral_id: str) -> dict[str, Any] | None:
    """The referral in full, the note in clear (``None`` once the student is erased)."""
    s = await state(uow, referral_id)
    r = s.referred
    if r is None:
        return None
    ack, esc, res = s.acknowledged, s.escalated, s.resolved
    return {
        "referral_id": r.referral_id,
        "district": r.district,
        "school_id": r.school_id,
        "student_ref": r.student_ref,
        "hospital_id": r.hospital_id,
        "referred_by": r.referred_by,
        "referred_at": r.referred_at,
        "acknowledge_by": r.acknowledge_by,
        "status": s.status,
        "note": await _open(uow, r.note),
        "guardians_notified": len(s.guardians_notified),
        "acknowledged_at": ack.acknowledged_at if ack else None,
        "within_deadline": ack.within_deadline if ack else None,
        "escalated_at": esc.escalated_at if esc else None,
        "escalated_to": [b.value for b in esc.escalated_to] if esc else [],
        "resolved_on": res.resolved_on if res else None,
        "outcome": res.outcome.value if res else None,
    }


async def referred_to(pool: asyncpg.Pool, student_ref: str, hospital_id: str | None) -> bool:
    """Whether the student was referred to this hospital: the receiving hospital's right to see
    the student's wellbeing records (any other hospital finds no such student)."""
    if hospital_id is None:
        return False
    found = await pool.fetchval(
        f"SELECT 1 FROM {W}.referrals WHERE student_ref = $1 AND hospital_id = $2 LIMIT 1",
        student_ref,
        hospital_id,
    )
    return found is not None


async def hospital_queue(
    pool: asyncpg.Pool, hospital_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The hospital's open referrals (not resolved), the most urgent first, each with its
    deadline and the seconds left (negative: overdue)."""
    rows = await pool.fetch(
        f"""SELECT referral_id, district, school_id, student_ref, referred_at, acknowledge_by,
                   acknowledged_at, within_deadline, escalated_at
              FROM {W}.referrals
             WHERE hospital_id = $1 AND resolved_on IS NULL
             ORDER BY acknowledged_at IS NOT NULL, acknowledge_by, referral_id""",
        hospital_id,
    )
    out = []
    for r in rows:
        acked = r["acknowledged_at"] is not None
        left, overdue = time_left(r["acknowledge_by"], acked, now)
        status = "acknowledged" if acked else "escalated" if r["escalated_at"] else "referred"
        out.append({**dict(r), "status": status, "seconds_left": left, "overdue": overdue})
    return out


async def district_sla(pool: asyncpg.Pool, district: str, now: datetime) -> dict[str, Any]:
    """The district's compliance with the 1-hour channel, per school and in all: counts only.
    ``compliance`` is the share acknowledged in time among the referrals whose deadline is
    decided (acknowledged, or past due); ``None`` when there is none yet."""
    rows = await pool.fetch(
        f"""SELECT school_id,
                   count(*) AS referred,
                   count(*) FILTER (WHERE within_deadline) AS acknowledged_in_time,
                   count(*) FILTER (WHERE NOT within_deadline) AS acknowledged_late,
                   count(escalated_at) AS escalated,
                   count(*) FILTER (WHERE acknowledged_at IS NULL AND acknowledge_by < $2)
                       AS open_and_overdue,
                   count(*) FILTER (WHERE acknowledged_at IS NULL AND acknowledge_by >= $2)
                       AS awaiting
              FROM {W}.referrals WHERE district = $1
             GROUP BY school_id ORDER BY school_id""",
        district,
        now,
    )
    schools = [_with_compliance(dict(r)) for r in rows]
    keys = (
        "referred",
        "acknowledged_in_time",
        "acknowledged_late",
        "escalated",
        "open_and_overdue",
        "awaiting",
    )
    total = _with_compliance({k: sum(s[k] for s in schools) for k in keys})
    return {"district": district, "as_of": now, **total, "schools": schools}


def _with_compliance(counts: dict[str, Any]) -> dict[str, Any]:
    share = compliance(counts["acknowledged_in_time"], counts["referred"], counts["awaiting"])
    return {**counts, "compliance": share}
