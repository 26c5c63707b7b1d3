"""Reads of care files: one child's file in full (from the event store, its sealed texts opened
with the child's key: restricted, the route logs it), the ledger of a school, the district's
figures, a carer's own files, and who may see a file (from the read model)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CareConcernAssessed,
    CareConcernRaised,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareNoticeRecorded,
    CarerKind,
    RiskLevel,
    RiskLevelSet,
    care_file_stream,
)
from tongxin_platform.crypto import SubjectErasedError
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.application.queries import S
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain import ledger
from tongxin_safety.domain.files import FileState, fold
from tongxin_safety.domain.ledger import FileFacts, PairingFacts, Rhythm

OPEN = ("proposed", "accepted")


def rhythm_of(settings: SafetySettings) -> Rhythm:
    return Rhythm(
        contact_days={
            RiskLevel.low: settings.contact_days_low,
            RiskLevel.medium: settings.contact_days_medium,
            RiskLevel.high: settings.contact_days_high,
        },
        parent_contact_days=settings.parent_contact_days,
        risk_review_days=settings.risk_review_days,
    )


# --- who may see a file ------------------------------------------------------------------------


async def file_row(pool: asyncpg.Pool, student_ref: str) -> dict[str, Any] | None:
    r = await pool.fetchrow(f"SELECT * FROM {S}.care_files WHERE student_ref = $1", student_ref)
    return dict(r) if r is not None else None


async def paired(
    pool: asyncpg.Pool,
    student_ref: str,
    kind: CarerKind,
    *,
    carer_ref: str | None = None,
    org: str | None = None,
) -> bool:
    """Whether the file has an open (proposed or accepted) pairing of ``kind`` for this carer
    (``carer_ref``) or this organisation (``org``)."""
    found = await pool.fetchval(
        f"""SELECT 1 FROM {S}.care_pairings
             WHERE student_ref = $1 AND kind = $2 AND status = ANY($3::text[])
               AND ($4::text IS NULL OR carer_ref = $4) AND ($5::text IS NULL OR org = $5)
             LIMIT 1""",
        student_ref,
        kind.value,
        list(OPEN),
        carer_ref,
        org,
    )
    return found is not None


# --- the ledger and the figures ------------------------------------------------------------------


async def open_files(
    pool: asyncpg.Pool,
    *,
    school_id: str | None = None,
    district: str | None = None,
    student_refs: Sequence[str] | None = None,
) -> list[FileFacts]:
    """The open files of a school, a district or these children, with their pairings (open and
    ended: the ledger judges), their open concerns and the child's class as the roster has it
    now (a move within the school does not hand the file over)."""
    files = await pool.fetch(
        f"""SELECT f.*, COALESCE(r.class_id, f.class_id) AS now_class,
                   (SELECT count(*) FROM {S}.care_concerns c
                     WHERE c.student_ref = f.student_ref AND c.outcome IS NULL) AS concerns
              FROM {S}.care_files f
              LEFT JOIN {S}.students r
                ON r.student_ref = f.student_ref AND r.school_id = f.school_id
             WHERE f.status = 'open'
               AND ($1::text IS NULL OR f.school_id = $1)
               AND ($2::text IS NULL OR f.district = $2)
               AND ($3::text[] IS NULL OR f.student_ref = ANY($3::text[]))
             ORDER BY f.school_id, now_class NULLS LAST, f.student_ref""",
        school_id,
        district,
        list(student_refs) if student_refs is not None else None,
    )
    refs = [f["student_ref"] for f in files]
    pairings = await pool.fetch(
        f"""SELECT * FROM {S}.care_pairings WHERE student_ref = ANY($1::text[])
             ORDER BY paired_on, pairing_id""",
        refs,
    )
    by_student: dict[str, list[PairingFacts]] = {}
    for p in pairings:
        by_student.setdefault(p["student_ref"], []).append(
            PairingFacts(
                pairing_id=p["pairing_id"],
                kind=CarerKind(p["kind"]),
                carer_ref=p["carer_ref"],
                org=p["org"],
                status=p["status"],
                paired_on=p["paired_on"],
                accepted_on=p["accepted_on"],
                last_contact_on=p["last_contact_on"],
            )
        )
    return [
        FileFacts(
            student_ref=f["student_ref"],
            district=f["district"],
            school_id=f["school_id"],
            class_id=f["now_class"],  # the roster's class: a move within the school
            care_groups=tuple(CareGroup(g) for g in f["care_groups"]),
            risk_level=RiskLevel(f["risk_level"]) if f["risk_level"] else None,
            risk_set_on=f["risk_set_on"],
            notice_on=f["notice_on"],
            parent_contact_on=f["parent_contact_on"],
            open_concerns=f["concerns"],
            pairings=tuple(by_student.get(f["student_ref"], ())),
        )
        for f in files
    ]


async def school_ledger(
    pool: asyncpg.Pool, school_id: str, rhythm: Rhythm, as_of: date
) -> list[dict[str, Any]]:
    return [
        ledger.ledger_row(f, rhythm, as_of) for f in await open_files(pool, school_id=school_id)
    ]


async def district_figures(
    pool: asyncpg.Pool, district: str, schools: Sequence[str], rhythm: Rhythm, as_of: date
) -> dict[str, Any]:
    files = await open_files(pool, district=district)
    return ledger.district_figures(schools, files, rhythm, as_of)


async def carer_files(
    pool: asyncpg.Pool,
    carer_ref: str,
    kind: CarerKind,
    org: str | None,
    rhythm: Rhythm,
    as_of: date,
) -> list[dict[str, Any]]:
    """The files paired to this carer (their open pairings of ``kind``, in ``org`` for an
    agency's carer), each with the carer's own pairing and its contact due."""
    mine = await pool.fetch(
        f"""SELECT student_ref, pairing_id, status FROM {S}.care_pairings
             WHERE carer_ref = $1 AND kind = $2 AND status = ANY($3::text[])
               AND ($4::text IS NULL OR org = $4)""",
        carer_ref,
        kind.value,
        list(OPEN),
        org,
    )
    pairing_of = {r["student_ref"]: (r["pairing_id"], r["status"]) for r in mine}
    out = []
    for f in await open_files(pool, student_refs=sorted(pairing_of)):
        pairing_id, status = pairing_of[f.student_ref]
        p = next(p for p in f.pairings if p.pairing_id == pairing_id)
        due = ledger.next_contact_due(p, f.risk_level, rhythm)
        out.append(
            {
                "student_ref": f.student_ref,
                "district": f.district,
                "school_id": f.school_id,
                "class_id": f.class_id,
                "care_groups": [g.value for g in f.care_groups],
                "risk_level": f.risk_level.value if f.risk_level else None,
                "pairing_id": pairing_id,
                "kind": kind.value,
                "status": status,
                "last_contact_on": p.last_contact_on,
                "next_due_on": due,
                "overdue": ledger.contact_overdue(p, f.risk_level, rhythm, as_of),
            }
        )
    return out


# --- one file in full -----------------------------------------------------------------------------


def facts_of(student_ref: str, state: FileState) -> FileFacts:
    return FileFacts(
        student_ref=student_ref,
        district=state.district,
        school_id=state.school_id,
        class_id=state.class_id,
        care_groups=state.care_groups,
        risk_level=state.risk,
        risk_set_on=state.risk_set_on,
        notice_on=state.notice_on,
        parent_contact_on=state.parent_contact_on,
        open_concerns=sum(c.outcome is None for c in state.concerns),
        pairings=tuple(
            PairingFacts(
                p.pairing_id,
                p.kind,
                p.carer_ref,
                p.org,
                p.status,
                p.paired_on,
                p.accepted_on,
                p.last_contact_on,
            )
            for p in state.pairings
        ),
    )


async def _open(uow: UnitOfWork, sealed: Sealed | None) -> dict[str, Any] | None:
    if sealed is None:
        return None
    with contextlib.suppress(SubjectErasedError):
        return dict(await uow.keys.open(sealed))
    return None


def _text(opened: dict[str, Any] | None) -> str | None:
    return None if opened is None else opened.get("text")


async def record(
    uow: UnitOfWork, student_ref: str, rhythm: Rhythm, as_of: date
) -> dict[str, Any] | None:
    """The child's file in full, judged on ``as_of``: its sealed texts opened (``None`` once
    the child is erased); ``None`` when the child never had a file."""
    stream = care_file_stream(student_ref)
    history: list[IntegrationEvent] = (await uow.events.load([stream])).of(stream)
    state = fold(history)
    if state.status == "none":
        return None
    current: list[IntegrationEvent] = []  # the events since the file was last opened
    for e in history:
        current = [e] if isinstance(e, CareFileOpened) else [*current, e]
    opened = next(e for e in current if isinstance(e, CareFileOpened))
    risk = next((e for e in reversed(current) if isinstance(e, RiskLevelSet)), None)
    notice = next((e for e in reversed(current) if isinstance(e, CareNoticeRecorded)), None)
    handed = [e for e in current if isinstance(e, CareFileHandedOver)]
    closed = next((e for e in reversed(current) if isinstance(e, CareFileClosed)), None)
    assessed = {e.concern_id: e for e in history if isinstance(e, CareConcernAssessed)}
    facts = facts_of(student_ref, state)
    concerns = []
    for e in history:
        if isinstance(e, CareConcernRaised):
            a = assessed.get(e.concern_id)
            concerns.append(
                {
                    "concern_id": e.concern_id,
                    "source": e.source.value,
                    "visit_id": e.visit_id,
                    "raised_on": e.raised_on,
                    "raised_by": e.raised_by,
                    "detail": _text(await _open(uow, e.detail)),
                    "status": "assessed" if a else "open",
                    "outcome": a.outcome.value if a else None,
                    "assessed_on": a.assessed_on if a else None,
                    "note": _text(await _open(uow, a.note)) if a else None,
                }
            )
    entrusted = await _open(uow, notice.entrusted) if notice else None
    return {
        "student_ref": student_ref,
        "status": state.status,
        "district": state.district,
        "school_id": state.school_id,
        "class_id": state.class_id,
        "source": opened.source.value,
        "opened_on": opened.opened_on,
        "care_groups": [g.value for g in state.care_groups],
        "as_of": as_of,
        "risk": {
            "level": state.risk.value if state.risk else None,
            "previous": risk.previous.value if risk and risk.previous else None,
            "last_review_on": state.risk_set_on,
            "review_due": ledger.risk_review_due(facts, rhythm, as_of),
            "reason": _text(await _open(uow, risk.reason)) if risk else None,
            "contact_days": rhythm.days_for(state.risk),
        },
        "pairings": [
            {
                "pairing_id": p.pairing_id,
                "kind": p.kind.value,
                "carer_ref": p.carer_ref,
                "org": p.org,
                "status": p.status,
                "paired_on": p.paired_on,
                "accepted_on": p.accepted_on,
            }
            for p in state.pairings
        ],
        "missing_kinds": [k.value for k in ledger.missing_kinds(facts)],
        "contacts": ledger.contacts(facts, rhythm, as_of),
        "left_behind": state.left_behind,
        "notice": {
            "recorded": notice is not None,
            "missing": ledger.notice_missing(facts),
            "notice_on": notice.notice_on if notice else None,
            "relation": notice.relation.value if notice else None,
            "entrusted_name": entrusted.get("name") if entrusted else None,
            "entrusted_contact": entrusted.get("contact") if entrusted else None,
        },
        "parents_contact": {
            "last_on": state.parent_contact_on,
            "stale": ledger.parents_contact_stale(facts, rhythm, as_of),
            "days": rhythm.parent_contact_days,
        },
        "concerns": concerns,
        "open_concerns": facts.open_concerns,
        "handed_over": [
            {"from_school_id": e.school_id, "to_school_id": e.to_school_id, "on": e.handed_over_on}
            for e in handed
        ],
        "closed": {"on": closed.closed_on, "reason": closed.reason.value} if closed else None,
    }
