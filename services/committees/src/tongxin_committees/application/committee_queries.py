"""Reads of committees and their seats (the read model): a school's or a district's committees
with their members and vacancies on a day, one committee with its members' names opened (for
managers and fellow members), the representation of every class of a school, a member's own
committees, and the district's figures per school. Nothing here returns a student."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from tongxin_committees.application.queries import S
from tongxin_committees.domain.committees import ChildPlace
from tongxin_contracts import Sealed
from tongxin_platform.uow import UnitOfWork

# A seat held on $2 (a day): not resigned or removed by then, not ended before it.
HELD = (
    "m.since <= $2 AND (m.left_on IS NULL OR m.left_on > $2)"
    " AND (m.ends_on IS NULL OR m.ends_on >= $2)"
)


def _sealed(stored: str | dict[str, Any]) -> Sealed:
    if isinstance(stored, str):
        return Sealed.model_validate_json(stored)
    return Sealed.model_validate(stored)


async def committee(pool: asyncpg.Pool, committee_id: str) -> dict[str, Any] | None:
    r = await pool.fetchrow(f"SELECT * FROM {S}.committees WHERE committee_id = $1", committee_id)
    return dict(r) if r is not None else None


async def guardian_places(
    pool: asyncpg.Pool, guardian_ref: str, *, except_student: str | None = None
) -> list[ChildPlace]:
    """Where the guardian's children are enrolled now (``except_student``: one who has just
    left, whatever the roster says yet). No student is returned."""
    rows = await pool.fetch(
        f"""SELECT DISTINCT s.district, s.school_id, s.class_id, c.grade
              FROM {S}.students s JOIN {S}.classes c USING (class_id)
             WHERE s.enrolled AND $1 = ANY(s.guardian_refs)
               AND s.student_ref IS DISTINCT FROM $2
             ORDER BY s.school_id, s.class_id""",
        guardian_ref,
        except_student,
    )
    return [ChildPlace(r["district"], r["school_id"], r["class_id"], r["grade"]) for r in rows]


async def seats_of_guardian(
    pool: asyncpg.Pool, guardian_ref: str, district: str, school_id: str
) -> list[str]:
    """The committees of the school (and the district committees of the district) where the
    guardian holds a seat not resigned or removed."""
    rows = await pool.fetch(
        f"""SELECT m.committee_id FROM {S}.committee_members m
              JOIN {S}.committees c USING (committee_id)
             WHERE m.guardian_ref = $1 AND m.left_on IS NULL
               AND ((c.school_id = $3) OR (c.school_id IS NULL AND c.district = $2))
             ORDER BY m.committee_id""",
        guardian_ref,
        district,
        school_id,
    )
    return [r["committee_id"] for r in rows]


async def holds_seat(pool: asyncpg.Pool, committee_id: str, guardian_ref: str, on: date) -> bool:
    found = await pool.fetchval(
        f"""SELECT 1 FROM {S}.committee_members m
             WHERE m.committee_id = $1 AND {HELD} AND m.guardian_ref = $3""",
        committee_id,
        on,
        guardian_ref,
    )
    return found is not None


async def members(
    pool: asyncpg.Pool, committee_ids: Sequence[str], on: date
) -> dict[str, list[dict[str, Any]]]:
    """The members of each committee on ``on``: guardian, role, the class (or school) they
    represent, standing, since, ends_on."""
    rows = await pool.fetch(
        f"""SELECT m.committee_id, m.guardian_ref, m.role, m.class_id, m.represents_school_id,
                   m.standing, m.since, m.ends_on
              FROM {S}.committee_members m
             WHERE m.committee_id = ANY($1::text[]) AND {HELD}
             ORDER BY m.committee_id, m.role <> 'chair', m.guardian_ref""",
        list(committee_ids),
        on,
    )
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in committee_ids}
    for r in rows:
        d = dict(r)
        out[d.pop("committee_id")].append(d)
    return out


def _shown(c: dict[str, Any], seated: list[dict[str, Any]]) -> dict[str, Any]:
    elected = c["elected_on"] is not None
    return {
        "committee_id": c["committee_id"],
        "district": c["district"],
        "school_id": c["school_id"],
        "level": c["level"],
        "grade": c["grade"],
        "class_id": c["class_id"],
        "term_start": c["term_start"],
        "term_end": c["term_end"],
        "seats": c["seats"],
        "elected": elected,
        "elected_on": c["elected_on"],
        "by_elections": c["by_elections"],
        "charter_version": c["charter_version"] or None,
        "charter_adopted": c["charter_version"] > 0,
        "members": seated,
        "vacancies": max(0, c["seats"] - len(seated)) if elected else 0,
    }


async def listed(
    pool: asyncpg.Pool, where: str, key: str, on: date, only: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The committees of a school (``where`` = 'school') or of a district's own level
    (``where`` = 'district'), with members and vacancies on ``on`` (``only``: these ids)."""
    cond = "school_id = $1" if where == "school" else "district = $1 AND school_id IS NULL"
    rows = [
        dict(r)
        for r in await pool.fetch(
            f"""SELECT * FROM {S}.committees WHERE {cond}
                 ORDER BY CASE level WHEN 'school' THEN 0 WHEN 'grade' THEN 1
                          WHEN 'class' THEN 2 ELSE 3 END, grade, class_id, term_start,
                          committee_id""",
            key,
        )
    ]
    if only is not None:
        rows = [r for r in rows if r["committee_id"] in only]
    seated = await members(pool, [r["committee_id"] for r in rows], on)
    return [_shown(r, seated[r["committee_id"]]) for r in rows]


async def one(
    pool: asyncpg.Pool, uow: UnitOfWork, committee_id: str, on: date
) -> dict[str, Any] | None:
    """One committee on ``on``: its members with their names opened, vacancies, the open
    round's nominees (names opened), and (school level) the representation of every class."""
    c = await committee(pool, committee_id)
    if c is None:
        return None
    shown = _shown(c, (await members(pool, [committee_id], on))[committee_id])
    round_no = 0 if c["elected_on"] is None else c["by_elections"] + 1
    nominees = [
        dict(r)
        for r in await pool.fetch(
            f"""SELECT guardian_ref, class_id, represents_school_id, nominated_on, round_no
                  FROM {S}.committee_nominees WHERE committee_id = $1 AND round_no = $2
                 ORDER BY guardian_ref""",
            committee_id,
            round_no,
        )
    ]
    # Every name a member or nominee was nominated under (the latest nomination's).
    named = {
        r["guardian_ref"]: r["guardian_name"]
        for r in await pool.fetch(
            f"""SELECT guardian_ref, guardian_name FROM {S}.committee_nominees
                 WHERE committee_id = $1 ORDER BY round_no""",
            committee_id,
        )
    }
    refs = sorted(named)
    opened = await uow.keys.open_many([_sealed(named[g]) for g in refs]) if refs else []
    names = {
        g: (str(o["name"]) if o is not None and "name" in o else None)
        for g, o in zip(refs, opened, strict=True)
    }
    for m in shown["members"]:
        m["name"] = names.get(m["guardian_ref"])
    for n in nominees:
        n["name"] = names.get(n["guardian_ref"])
    shown["open_round"] = round_no
    shown["nominees"] = nominees
    if c["level"] == "school":
        shown["representation"] = await representation_of(pool, c, shown["members"])
    return shown


async def representation_of(
    pool: asyncpg.Pool, c: dict[str, Any], seated: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    classes = await pool.fetch(
        f"SELECT class_id, grade FROM {S}.classes WHERE school_id = $1 ORDER BY grade, class_id",
        c["school_id"],
    )
    return [
        {
            "class_id": r["class_id"],
            "grade": r["grade"],
            "representatives": [
                m["guardian_ref"] for m in seated if m["class_id"] == r["class_id"]
            ],
        }
        for r in classes
    ]


async def current_school_committee(
    pool: asyncpg.Pool, school_id: str, on: date
) -> dict[str, Any] | None:
    """The school-level committee whose term holds ``on`` (else the latest formed before)."""
    r = await pool.fetchrow(
        f"""SELECT * FROM {S}.committees WHERE school_id = $1 AND level = 'school'
               AND term_start <= $2
             ORDER BY (term_end >= $2) DESC, term_start DESC, committee_id LIMIT 1""",
        school_id,
        on,
    )
    return dict(r) if r is not None else None


async def representation(pool: asyncpg.Pool, school_id: str, on: date) -> dict[str, Any]:
    """Every class of the school (per the roster now) with its representative(s) on the school
    committee on ``on``, or none."""
    c = await current_school_committee(pool, school_id, on)
    seated = (await members(pool, [c["committee_id"]], on))[c["committee_id"]] if c else []
    if c is None:
        c = {"school_id": school_id}
    classes = await representation_of(pool, c, seated)
    missing = [k["class_id"] for k in classes if not k["representatives"]]
    return {
        "school_id": school_id,
        "as_of": on,
        "committee_id": c.get("committee_id"),
        "elected": c.get("elected_on") is not None,
        "classes": classes,
        "unrepresented": missing,
    }


async def mine(pool: asyncpg.Pool, guardian_ref: str, on: date) -> list[dict[str, Any]]:
    """The committees where the guardian holds a seat on ``on``, with their role."""
    rows = await pool.fetch(
        f"""SELECT c.committee_id, c.district, c.school_id, c.level, c.grade, c.class_id,
                   c.term_start, c.term_end, m.role, m.class_id AS represents_class_id,
                   m.represents_school_id, m.standing, m.since, m.ends_on
              FROM {S}.committee_members m JOIN {S}.committees c USING (committee_id)
             WHERE m.guardian_ref = $1 AND {HELD}
             ORDER BY c.school_id NULLS FIRST, c.level, c.committee_id""",
        guardian_ref,
        on,
    )
    return [dict(r) for r in rows]


async def district_figures(
    pool: asyncpg.Pool, district: str, on: date, school_id: str | None = None
) -> dict[str, Any]:
    """Per school of the district (or the one asked): committees by level (whose term holds
    ``on``), whether the school committee is elected, the classes without a representative on
    it, vacancies, committees without a charter; and the totals."""
    schools = [
        r["school_id"]
        for r in await pool.fetch(
            f"SELECT school_id FROM {S}.schools WHERE district = $1 ORDER BY school_id", district
        )
    ]
    schools = [s for s in schools if school_id in (None, s)]
    per: list[dict[str, Any]] = []
    for sid in schools:
        live = [
            c
            for c in await listed(pool, "school", sid, on)
            if c["term_start"] <= on <= c["term_end"]
        ]
        rep = await representation(pool, sid, on)
        by_level = {
            lv: sum(1 for c in live if c["level"] == lv) for lv in ("class", "grade", "school")
        }
        per.append(
            {
                "school_id": sid,
                "committees": by_level,
                "school_committee_elected": rep["elected"],
                "classes_unrepresented": len(rep["unrepresented"]),
                "unrepresented_class_ids": rep["unrepresented"],
                "vacancies": sum(c["vacancies"] for c in live),
                "without_charter": sum(1 for c in live if not c["charter_adopted"]),
            }
        )
    totals = {
        "schools": len(per),
        "committees": {
            lv: sum(p["committees"][lv] for p in per) for lv in ("class", "grade", "school")
        },
        "school_committees_elected": sum(1 for p in per if p["school_committee_elected"]),
        "classes_unrepresented": sum(p["classes_unrepresented"] for p in per),
        "vacancies": sum(p["vacancies"] for p in per),
        "without_charter": sum(p["without_charter"] for p in per),
    }
    return {"district": district, "as_of": on, "schools": per, "totals": totals}
