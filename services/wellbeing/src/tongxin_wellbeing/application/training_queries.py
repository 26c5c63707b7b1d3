"""Reads of the training part of the read model: a school's or a district's coverage of
training and classes for a school year (no student in any of it)."""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from tongxin_contracts.events.wellbeing import ClassSessionKind, TrainingTopic
from tongxin_wellbeing.application.queries import W
from tongxin_wellbeing.domain.training import Coverage, Training, coverage


async def _coverages(
    pool: asyncpg.Pool, where: str, value: str, school_year: str
) -> list[Coverage]:
    """Coverage of every school where ``<where> = value`` (school_id or district)."""
    schools = await pool.fetch(
        f"SELECT school_id FROM {W}.schools WHERE {where} = $1 ORDER BY school_id", value
    )
    staff: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for r in await pool.fetch(
        f"SELECT school_id, staff_ref, roles FROM {W}.staff WHERE {where} = $1", value
    ):
        staff[r["school_id"]][r["staff_ref"]] = list(r["roles"])
    classes: dict[str, list[str]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT school_id, class_id FROM {W}.classes WHERE {where} = $1", value
    ):
        classes[r["school_id"]].append(r["class_id"])
    trainings: dict[str, list[Training]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT school_id, topic, staff_refs, parent_count FROM {W}.trainings"
        f" WHERE {where} = $1 AND school_year = $2",
        value,
        school_year,
    ):
        trainings[r["school_id"]].append(
            Training(TrainingTopic(r["topic"]), tuple(r["staff_refs"]), r["parent_count"])
        )
    sessions: dict[str, list[tuple[str, ClassSessionKind]]] = defaultdict(list)
    for r in await pool.fetch(
        f"SELECT school_id, class_id, kind FROM {W}.class_sessions"
        f" WHERE {where} = $1 AND school_year = $2",
        value,
        school_year,
    ):
        sessions[r["school_id"]].append((r["class_id"], ClassSessionKind(r["kind"])))
    return [
        coverage(
            s["school_id"],
            school_year,
            staff[s["school_id"]],
            trainings[s["school_id"]],
            classes[s["school_id"]],
            sessions[s["school_id"]],
        )
        for s in schools
    ]


async def school_coverage(pool: asyncpg.Pool, school_id: str, school_year: str) -> Coverage | None:
    found = await _coverages(pool, "school_id", school_id, school_year)
    return found[0] if found else None


async def district_coverage(pool: asyncpg.Pool, district: str, school_year: str) -> list[Coverage]:
    return await _coverages(pool, "district", district, school_year)
