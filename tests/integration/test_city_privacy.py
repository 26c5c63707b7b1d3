"""The city never keeps a person: after the whole world is in, every row of every table of the
city's database — every schema, the kit's own tables too — cast to text holds none of the
pseudonyms that occur in the world's events (students, guardians, staff, visitors, carers,
guards, members). The scan is shown to find a pseudonym planted in a scratch table."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

import asyncpg
import pytest

from tests.support.city_env import CityEnv
from tests.support.city_world import people_refs
from tongxin_city.projections.facts import FACTS
from tongxin_contracts.events import safety as sf

pytestmark = pytest.mark.integration

SYSTEM = ("pg_catalog", "information_schema", "pg_toast")


async def tables_of(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE' AND NOT (table_schema = ANY($1::text[]))
             AND table_schema NOT LIKE 'pg_temp%' ORDER BY 1, 2""",
        list(SYSTEM),
    )
    return [(r["table_schema"], r["table_name"]) for r in rows]


async def found(pool: asyncpg.Pool, refs: Iterable[str]) -> dict[str, set[str]]:
    """Table → the pseudonyms found in its rows (each row cast to text)."""
    wanted = sorted(set(refs))
    out: dict[str, set[str]] = {}
    async with pool.acquire() as conn:
        for schema, table in await tables_of(conn):
            text = await conn.fetchval(
                f'SELECT coalesce(string_agg(t::text, chr(10)), \'\') FROM "{schema}"."{table}" t'
            )
            hits = {r for r in wanted if r in text}
            if hits:
                out[f"{schema}.{table}"] = hits
    return out


async def test_no_pseudonym_of_a_person_is_anywhere_in_the_city_store(city_env: CityEnv) -> None:
    # given the world's events read by the city worker, and every person they name
    await city_env.caught_up()
    refs = people_refs(city_env.world.events)
    students = {s.student_ref for s in city_env.world.students}
    assert students <= refs
    assert len(refs) > 100
    async with city_env.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM facts.students") == len(students)
    # when every table of the city's database is scanned
    hits = await found(city_env.pool, refs)
    # then none of them is found
    assert hits == {}


async def test_the_scan_finds_a_pseudonym_planted_in_a_scratch_table(city_env: CityEnv) -> None:
    # given a student's pseudonym written into a scratch table of the city's database
    ref = city_env.world.students[0].student_ref
    async with city_env.pool.acquire() as conn:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS scratch")
        await conn.execute("CREATE TABLE IF NOT EXISTS scratch.planted (note jsonb)")
        await conn.execute("INSERT INTO scratch.planted VALUES ($1::jsonb)", f'{{"who": "{ref}"}}')
    try:
        # when the city's database is scanned
        hits = await found(city_env.pool, people_refs(city_env.world.events))
        # then the scan names the table and the pseudonym
        assert hits == {"scratch.planted": {ref}}
    finally:
        async with city_env.pool.acquire() as conn:
            await conn.execute("DROP SCHEMA scratch CASCADE")


async def test_the_ledger_keeps_marks_of_the_streams_it_read_and_still_follows_them(
    city_env: CityEnv,
) -> None:
    # given the facts caught up with the world, and an overdue hazard of the first district
    world = city_env.world
    fixed = {h.hazard_id for h in world.of(sf.HazardRectified)}
    reported = next(
        h
        for h in world.of(sf.HazardReported)
        if h.district == world.districts[0] and h.hazard_id not in fixed
    )
    async with city_env.pool.acquire() as conn:
        stored = [
            r["stream_id"]
            for r in await conn.fetch(
                "SELECT stream_id FROM consumer_streams WHERE group_id = $1", FACTS.group
            )
        ]
    # then the ledger holds a mark of each stream read, never the stream's id
    assert stored
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in stored)
    assert reported.aggregate_id() not in stored
    # when the next event of that hazard's stream comes, after the world's day
    later = world.day + timedelta(days=3)
    await city_env.publisher.publish(
        [
            sf.HazardRectified(
                district=reported.district,
                school_id=reported.school_id,
                inspection_id=reported.inspection_id,
                hazard_id=reported.hazard_id,
                rectified_on=later,
                reinspection_id=f"re-{reported.hazard_id}",
                within_deadline=False,
            )
        ]
    )
    await city_env.caught_up()
    # then it follows the stored version: applied, nothing dead-lettered
    async with city_env.pool.acquire() as conn:
        on = await conn.fetchval(
            "SELECT rectified_on FROM facts.hazards WHERE hazard_id = $1", reported.hazard_id
        )
        dead = await conn.fetchval("SELECT count(*) FROM dead_letters")
    assert on == later
    assert dead == 0
