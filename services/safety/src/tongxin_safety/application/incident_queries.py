"""Reads of incidents and guidance referrals: one incident in full (from the event store, its
account opened with the first child's key or the school's: restricted, the route logs it), a
school's incidents and a district's referrals (from the read model; the routes log them), and
the district's mandatory-report figures (counts, no child)."""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any

import asyncpg

from tongxin_contracts import Sealed
from tongxin_contracts.events.safety import incident_stream
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.application.queries import S
from tongxin_safety.domain.incidents import IncidentRow, IncidentState, figures_by_school, fold


async def state(uow: UnitOfWork, incident_id: str) -> IncidentState:
    stream = incident_stream(incident_id)
    return fold((await uow.events.load([stream])).of(stream))


async def _open(uow: UnitOfWork, sealed: Sealed | None) -> str | None:
    if sealed is None:
        return None
    with contextlib.suppress(SubjectErasedError):
        return str((await uow.keys.open(sealed))["text"])
    return None


async def record(uow: UnitOfWork, incident_id: str) -> dict[str, Any] | None:
    """The incident in full, the account in clear (``None`` once its subject is erased)."""
    s = await state(uow, incident_id)
    r = s.reported
    if r is None:
        return None
    filed, esc = s.filed, s.escalated
    return {
        "incident_id": r.incident_id,
        "district": r.district,
        "school_id": r.school_id,
        "category": r.category.value,
        "student_refs": list(r.student_refs),
        "occurred_at": r.occurred_at,
        "recorded_at": r.recorded_at,
        "recorded_by": r.recorded_by,
        "mandatory_report_required": r.mandatory_report_required,
        "report_due_at": r.report_due_at,
        "status": s.status,
        "account": await _open(uow, r.account),
        "report": (
            {
                "departments": [d.value for d in filed.departments],
                "filed_at": filed.filed_at,
                "filed_by": filed.filed_by,
                "delay_seconds": filed.delay_seconds,
                "late": filed.late,
            }
            if filed
            else None
        ),
        "escalated_at": esc.escalated_at if esc else None,
    }


async def school_incidents(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    """A school's incidents, newest first, with their report's state (no account)."""
    rows = await pool.fetch(
        f"""SELECT incident_id, category, student_refs, occurred_at, recorded_at, recorded_by,
                   report_required, report_due_at, filed_at, departments, delay_seconds, late,
                   escalated_at
              FROM {S}.incidents WHERE school_id = $1
             ORDER BY recorded_at DESC, incident_id""",
        school_id,
    )
    return [dict(r) for r in rows]


async def district_figures(
    pool: asyncpg.Pool,
    district: str,
    school_ids: list[str],
    first: date,
    last: date,
    now: datetime,
    *,
    only_school: str | None = None,
) -> dict[str, Any]:
    """The mandatory-report figures of the district's incidents recorded (China days) from
    ``first`` to ``last``, per school and in all (``only_school``: that school's alone)."""
    rows = await pool.fetch(
        f"""SELECT school_id, category, report_required, report_due_at, filed_at IS NOT NULL
                   AS filed, delay_seconds, late, escalated_at IS NOT NULL AS escalated
              FROM {S}.incidents
             WHERE district = $1 AND recorded_on BETWEEN $2 AND $3
               AND ($4::text IS NULL OR school_id = $4)""",
        district,
        first,
        last,
        only_school,
    )
    counted = [
        IncidentRow(
            r["school_id"],
            r["category"],
            r["report_required"],
            r["report_due_at"],
            r["filed"],
            r["delay_seconds"],
            r["late"],
            r["escalated"],
        )
        for r in rows
    ]
    return figures_by_school(counted, school_ids, now)


async def guidance_referral(pool: asyncpg.Pool, referral_id: str) -> dict[str, Any] | None:
    r = await pool.fetchrow(
        f"SELECT * FROM {S}.guidance_referrals WHERE referral_id = $1", referral_id
    )
    return dict(r) if r is not None else None


async def district_referrals(
    pool: asyncpg.Pool, district: str, school_id: str | None
) -> list[dict[str, Any]]:
    """The district's referrals to the committee (one school's, for a school's leader), the
    undecided first."""
    rows = await pool.fetch(
        f"""SELECT referral_id, school_id, student_ref, misbehaviour, incident_id, referred_on,
                   referred_by, decision, decided_on, members_present
              FROM {S}.guidance_referrals
             WHERE district = $1 AND ($2::text IS NULL OR school_id = $2)
             ORDER BY decision IS NOT NULL, referred_on, referral_id""",
        district,
        school_id,
    )
    return [dict(r) for r in rows]
