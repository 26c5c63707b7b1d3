"""Reads of the attention list and the plans (schema ``wellbeing``): the team's view of a
school, a head teacher's view of their class (listed or not, and the plan's next step — opened
from the sealed review; never a score, an answer or a reason), the overdue reviews, and counts
(numbers only) per school and district."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from tongxin_contracts import Sealed
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.application.queries import W
from tongxin_wellbeing.domain.plans import overdue_months


def _sealed(stored: str | dict[str, Any]) -> Sealed:
    """A review as the read model stores it (jsonb: text, or decoded by the pool's codec)."""
    if isinstance(stored, str):
        return Sealed.model_validate_json(stored)
    return Sealed.model_validate(stored)


async def _reviewed(pool: asyncpg.Pool, plan_ids: list[str]) -> dict[str, list[str]]:
    rows = await pool.fetch(
        f"SELECT plan_id, month FROM {W}.plan_reviews WHERE plan_id = ANY($1::text[])"
        " ORDER BY month",
        plan_ids,
    )
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        out[r["plan_id"]].append(r["month"])
    return out


def _plan(row: dict[str, Any], reviewed: list[str], as_of: date) -> dict[str, Any]:
    open_ = row["status"] == "open"
    return {
        "plan_id": row["plan_id"],
        "status": row["status"],
        "opened_on": row["opened_on"],
        "owner_ref": row["owner_ref"],
        "months_reviewed": reviewed,
        "overdue_months": overdue_months(row["opened_on"], reviewed, as_of) if open_ else [],
    }


async def school_view(pool: asyncpg.Pool, school_id: str, as_of: date) -> dict[str, Any]:
    """The team's view: listed students with their plan's status and overdue months, and the
    pending proposals with their sign-offs (sealed reasons stay sealed)."""
    listed = await pool.fetch(
        f"""SELECT a.student_ref, a.listed_class_id, a.signed_by, st.class_id,
                   p.plan_id, p.status, p.opened_on, p.owner_ref
            FROM {W}.attention a
            LEFT JOIN {W}.students st ON st.student_ref = a.student_ref
            LEFT JOIN {W}.plans p ON p.student_ref = a.student_ref
            WHERE a.school_id = $1 AND a.status = 'listed' ORDER BY a.student_ref""",
        school_id,
    )
    reviewed = await _reviewed(pool, [r["plan_id"] for r in listed if r["plan_id"]])
    proposals = await pool.fetch(
        f"""SELECT a.student_ref, a.proposal_id, a.source, st.class_id
            FROM {W}.attention a LEFT JOIN {W}.students st ON st.student_ref = a.student_ref
            WHERE a.school_id = $1 AND a.status = 'proposed' ORDER BY a.student_ref""",
        school_id,
    )
    signs = await pool.fetch(
        f"SELECT proposal_id, role, staff_ref FROM {W}.attention_sign_offs"
        " WHERE proposal_id = ANY($1::text[])",
        [r["proposal_id"] for r in proposals],
    )
    signed: dict[str, dict[str, str]] = defaultdict(dict)
    for s in signs:
        signed[s["proposal_id"]][s["role"]] = s["staff_ref"]
    return {
        "school_id": school_id,
        "as_of": as_of,
        "listed": [
            {
                "student_ref": r["student_ref"],
                "class_id": r["class_id"] or r["listed_class_id"],
                "signed_by": list(r["signed_by"]),
                "plan": _plan(dict(r), reviewed.get(r["plan_id"], []), as_of)
                if r["plan_id"]
                else None,
            }
            for r in listed
        ],
        "proposals": [
            {
                "student_ref": r["student_ref"],
                "class_id": r["class_id"],
                "proposal_id": r["proposal_id"],
                "source": r["source"],
                "sign_offs": signed.get(r["proposal_id"], {}),
                "missing_roles": [
                    role
                    for role in ("head_teacher", "psych_teacher", "health_vp")
                    if role not in signed.get(r["proposal_id"], {})
                ],
            }
            for r in proposals
        ],
    }


async def class_view(uow: UnitOfWork, pool: asyncpg.Pool, class_id: str) -> list[dict[str, Any]]:
    """A head teacher's view of their class: which students are listed, and the plan's next
    step (from the latest month's review, opened with the student's key). Nothing else."""
    rows = await pool.fetch(
        f"""SELECT a.student_ref, p.plan_id, p.status AS plan_status,
                   (SELECT r.review FROM {W}.plan_reviews r WHERE r.plan_id = p.plan_id
                    ORDER BY r.month DESC LIMIT 1) AS review,
                   (SELECT max(r.month) FROM {W}.plan_reviews r WHERE r.plan_id = p.plan_id)
                    AS month
            FROM {W}.attention a
            JOIN {W}.students st ON st.student_ref = a.student_ref
            LEFT JOIN {W}.plans p ON p.student_ref = a.student_ref AND p.status = 'open'
            WHERE st.class_id = $1 AND a.status = 'listed' ORDER BY a.student_ref""",
        class_id,
    )
    out = []
    for r in rows:
        next_step = None
        if r["review"] is not None:
            with contextlib.suppress(SubjectErasedError):
                opened = await uow.keys.open(_sealed(r["review"]))
                next_step = opened.get("next_step")
        out.append(
            {
                "student_ref": r["student_ref"],
                "listed": True,
                "plan_open": r["plan_status"] == "open",
                "next_step": next_step,
                "next_step_from_month": r["month"],
            }
        )
    return out


async def plan_of(pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
    found = await pool.fetchrow(f"SELECT * FROM {W}.plans WHERE student_ref = $1", student_ref)
    return dict(found) if found is not None else None


async def plan_record(
    uow: UnitOfWork, pool: asyncpg.Pool, student_ref: str, as_of: date
) -> dict[str, Any] | None:
    """The team's (restricted, logged) read of one student's plan: every review opened."""
    plan = await plan_of(pool, student_ref)
    if plan is None:
        return None
    reviews = await pool.fetch(
        f"SELECT month, reviewed_by, review FROM {W}.plan_reviews WHERE plan_id = $1"
        " ORDER BY month",
        plan["plan_id"],
    )
    opened = []
    for r in reviews:
        content: dict[str, Any] | None = None
        with contextlib.suppress(SubjectErasedError):
            content = await uow.keys.open(_sealed(r["review"]))
        opened.append({"month": r["month"], "reviewed_by": r["reviewed_by"], "review": content})
    return {
        "student_ref": student_ref,
        "school_id": plan["school_id"],
        **_plan(plan, [r["month"] for r in reviews], as_of),
        "closed_reason": plan["closed_reason"],
        "reviews": opened,
    }


async def overdue(pool: asyncpg.Pool, school_id: str, as_of: date) -> list[dict[str, Any]]:
    """The school's open plans with months ended without a review."""
    plans = await pool.fetch(
        f"SELECT * FROM {W}.plans WHERE school_id = $1 AND status = 'open' ORDER BY student_ref",
        school_id,
    )
    reviewed = await _reviewed(pool, [p["plan_id"] for p in plans])
    out = []
    for p in plans:
        months = overdue_months(p["opened_on"], reviewed.get(p["plan_id"], []), as_of)
        if months:
            out.append(
                {
                    "student_ref": p["student_ref"],
                    "plan_id": p["plan_id"],
                    "owner_ref": p["owner_ref"],
                    "overdue_months": months,
                }
            )
    return out


async def counts(pool: asyncpg.Pool, district: str, school_id: str | None) -> list[dict[str, Any]]:
    """Numbers only: listed students, pending proposals and open plans per school."""
    rows = await pool.fetch(
        f"""SELECT s.school_id,
                   (SELECT count(*) FROM {W}.attention a
                    WHERE a.school_id = s.school_id AND a.status = 'listed') AS listed,
                   (SELECT count(*) FROM {W}.attention a
                    WHERE a.school_id = s.school_id AND a.status = 'proposed') AS proposed,
                   (SELECT count(*) FROM {W}.plans p
                    WHERE p.school_id = s.school_id AND p.status = 'open') AS open_plans
            FROM {W}.schools s
            WHERE s.district = $1 AND ($2::text IS NULL OR s.school_id = $2)
            ORDER BY s.school_id""",
        district,
        school_id,
    )
    return [
        {
            "school_id": r["school_id"],
            "listed": r["listed"],
            "proposed": r["proposed"],
            "open_plans": r["open_plans"],
        }
        for r in rows
    ]
