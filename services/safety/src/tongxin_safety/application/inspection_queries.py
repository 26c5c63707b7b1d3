"""Reads of inspections and hazards (from the read model): a school's inspections, its hazards
open, overdue or rectified on a day (each detail opened with the school's key), the district's
overdue hazards and its figures per school and kind. Each read names the kinds the reader may
see (market regulation: its shop kinds only); what is open or overdue on a day is the domain's
(``standing``, ``figures``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import asyncpg

from tongxin_contracts import Sealed
from tongxin_contracts.events.safety import HazardOwner, HazardSeverity, InspectionKind
from tongxin_platform.uow import UnitOfWork
from tongxin_safety.application import queries
from tongxin_safety.application.queries import S
from tongxin_safety.domain.inspections import Hazard, HazardStatus, figures, standing

_HAZARDS = f"""SELECT h.*, i.inspected_on AS reported_on
                 FROM {S}.hazards h JOIN {S}.inspections i USING (inspection_id)"""


def _kinds(kinds: Collection[InspectionKind]) -> list[str]:
    return sorted(k.value for k in kinds)


def _hazard(r: asyncpg.Record) -> Hazard:
    return Hazard(
        hazard_id=r["hazard_id"],
        inspection_id=r["inspection_id"],
        school_id=r["school_id"],
        kind=InspectionKind(r["kind"]),
        severity=HazardSeverity(r["severity"]),
        owner=HazardOwner(r["owner"]),
        reported_on=r["reported_on"],
        rectify_by=r["rectify_by"],
        rectified_on=r["rectified_on"],
        within_deadline=r["within_deadline"],
    )


def _sealed(stored: str | dict[str, Any]) -> Sealed:
    """A detail as the read model stores it (jsonb: text, or decoded by the pool's codec)."""
    if isinstance(stored, str):
        return Sealed.model_validate_json(stored)
    return Sealed.model_validate(stored)


async def school_inspections(
    pool: asyncpg.Pool, school_id: str, kinds: Collection[InspectionKind]
) -> list[dict[str, Any]]:
    """The school's inspections of ``kinds``, the latest first: each with its hazards found,
    how many of them are rectified by now, and how many earlier hazards it found rectified."""
    rows = await pool.fetch(
        f"""SELECT i.inspection_id, i.kind, i.inspector, i.inspected_on, i.inspected_by,
                   i.reinspection_of, i.hazards_found,
                   (SELECT count(*) FROM {S}.hazards h
                     WHERE h.inspection_id = i.inspection_id AND h.rectified_on IS NOT NULL)
                       AS hazards_rectified,
                   (SELECT count(*) FROM {S}.hazards h
                     WHERE h.reinspection_id = i.inspection_id) AS rectified_here
              FROM {S}.inspections i
             WHERE i.school_id = $1 AND i.kind = ANY($2::text[])
             ORDER BY i.inspected_on DESC, i.inspection_id""",
        school_id,
        _kinds(kinds),
    )
    return [dict(r) for r in rows]


async def _hazards(
    pool: asyncpg.Pool, where: str, key: str, as_of: date, kinds: Collection[InspectionKind]
) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            f"""{_HAZARDS}
                 WHERE h.{where} = $1 AND h.kind = ANY($2::text[]) AND i.inspected_on <= $3
                 ORDER BY h.rectify_by, h.hazard_id""",
            key,
            _kinds(kinds),
            as_of,
        )
    )


def _shown(h: Hazard, as_of: date) -> dict[str, Any]:
    s = standing(h, as_of)
    assert s is not None
    return {
        "hazard_id": h.hazard_id,
        "inspection_id": h.inspection_id,
        "school_id": h.school_id,
        "kind": h.kind.value,
        "severity": h.severity.value,
        "owner": h.owner.value,
        "reported_on": h.reported_on,
        "rectify_by": h.rectify_by,
        "status": s.status.value,
        "overdue": s.overdue,
        "days_overdue": s.days_overdue,
        "rectified_on": h.rectified_on if s.rectified else None,
        "within_deadline": h.within_deadline if s.rectified else None,
    }


async def school_hazards(
    pool: asyncpg.Pool,
    uow: UnitOfWork,
    school_id: str,
    status: HazardStatus | None,
    as_of: date,
    kinds: Collection[InspectionKind],
) -> list[dict[str, Any]]:
    """The school's hazards of ``kinds`` as they stood on ``as_of`` (``status``: only the open
    ones — overdue included —, the overdue or the rectified ones), each detail opened with the
    school's key (``None``: none given, or the key is gone)."""
    out: list[tuple[dict[str, Any], Any]] = []
    for r in await _hazards(pool, "school_id", school_id, as_of, kinds):
        h = _hazard(r)
        s = standing(h, as_of)
        if s is None or (status is not None and not s.shows_as(status)):
            continue
        out.append((_shown(h, as_of), r["detail"]))
    sealed = [_sealed(d) for _, d in out if d is not None]
    opened = iter(await uow.keys.open_many(sealed) if sealed else [])
    shown = []
    for row, detail in out:
        found = next(opened) if detail is not None else None
        text = str(found["text"]) if found is not None else None
        shown.append({**row, "detail": text})
    return shown


async def district_overdue(
    pool: asyncpg.Pool,
    district: str,
    as_of: date,
    kinds: Collection[InspectionKind],
    school_id: str | None = None,
) -> list[dict[str, Any]]:
    """The district's (or one of its schools') hazards of ``kinds`` overdue on ``as_of``, the
    longest overdue first (no detail: the school's list has it)."""
    rows = await _hazards(pool, "district", district, as_of, kinds)
    hazards = [_hazard(r) for r in rows if school_id in (None, r["school_id"])]
    overdue = [_shown(h, as_of) for h in hazards if (s := standing(h, as_of)) and s.overdue]
    return sorted(overdue, key=lambda h: (-h["days_overdue"], h["school_id"], h["hazard_id"]))


async def district_figures(
    pool: asyncpg.Pool,
    district: str,
    as_of: date,
    kinds: Collection[InspectionKind],
    school_id: str | None = None,
) -> dict[str, Any]:
    """Per school of the district (each one, hazards or not; or the one asked) and per kind:
    reported, open, overdue, major open, rectified, rectified late; and the totals."""
    schools = [s["school_id"] for s in await queries.district_schools(pool, district)]
    schools = [s for s in schools if school_id in (None, s)]
    hazards = [_hazard(r) for r in await _hazards(pool, "district", district, as_of, kinds)]
    return {"district": district, **figures(schools, hazards, as_of, kinds)}
