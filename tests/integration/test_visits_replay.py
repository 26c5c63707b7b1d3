"""Rebuilding the visits board from offset 0 of both its topics (the registry's and its own):
`tongxin-visits replay` compares without touching the live board, notices a corrupted one, and
`tongxin replay visits --swap` swaps the rebuild in, after which the live projection carries on.

CliRunner is synchronous: it runs in a thread so the services and workers in the test's loop keep
answering while a replay waits for them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import httpx
import pytest
from typer import Typer
from typer.testing import CliRunner, Result

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion, world
from tests.support.visits import School
from tests.support.waiting import caught_up, eventually
from tongxin_cli.main import app as tongxin
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.cli import app as tongxin_visits
from tongxin_visits.projections import board

pytestmark = pytest.mark.integration


def env_of(settings: VisitsSettings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "VISITS_DATABASE_NAME": settings.database_name,
        "VISITS_TOPIC": settings.topic,
        "VISITS_REGISTRY_TOPIC": settings.registry_topic,
        # the test's own: the real wellbeing.events may hold another run's visit requests
        "VISITS_WELLBEING_TOPIC": settings.wellbeing_topic,
        "VISITS_COMMITTEES_TOPIC": settings.committees_topic,
        "COLUMNS": "200",
    }


async def invoke(app: Typer, args: list[str], settings: VisitsSettings) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(app, args, env=env_of(settings)))


async def plan(http: httpx.AsyncClient, school: School, pupil: int, days: int = 0) -> str:
    """A visit planned by the pupil's head teacher; its id."""
    child = school.pupils[pupil]
    me = school.as_staff(school.head_teachers[child.class_id])
    when = now_utc().date() + timedelta(days=days)
    r = await http.post(
        "/visits", json={"student_ref": child.ref, "planned_for": str(when)}, headers=me
    )
    assert r.status_code == 200, r.text
    return str(r.json()["visit_id"])


async def record_confirmed_visit(http: httpx.AsyncClient, school: School, pupil: int) -> str:
    """Planned, completed with the principal as co-visitor (a case opens), and confirmed."""
    visit_id = await plan(http, school, pupil)
    teacher = school.head_teachers[school.pupils[pupil].class_id]
    r = await http.post(
        f"/visits/{visit_id}/complete",
        json=completion(school, teacher, school.principal),
        headers=school.as_staff(teacher),
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"/visits/{visit_id}/confirm", headers=school.as_staff(school.principal))
    assert r.status_code == 200, r.text
    return visit_id


async def board_caught_up(
    registry_db: asyncpg.Pool, visits_db: asyncpg.Pool, settings: VisitsSettings
) -> bool:
    """Both outboxes relayed, and the live board at the end of both of its topics."""
    for db in (registry_db, visits_db):
        if await db.fetchval("SELECT count(*) FROM outbox"):
            return False
    for topic in (settings.registry_topic, settings.topic):
        if not await caught_up(visits_db, board.GROUP, topic, settings.kafka_bootstrap_servers):
            return False
    return True


async def wait_for_the_board(
    registry_db: asyncpg.Pool, visits_db: asyncpg.Pool, settings: VisitsSettings
) -> None:
    await eventually(
        lambda: board_caught_up(registry_db, visits_db, settings),
        bool,
        timeout=90,
        what="the live board at the end of both topics",
    )


async def schema_like(pool: asyncpg.Pool, pattern: str) -> str:
    found = await pool.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", pattern)
    assert len(found) == 1, found
    return str(found[0]["nspname"])


async def live_offsets(pool: asyncpg.Pool) -> list[tuple[str, int, int]]:
    rows = await pool.fetch(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1"
        " ORDER BY topic, partition",
        board.GROUP,
    )
    return [(r["topic"], r["partition"], r["next_offset"]) for r in rows]


async def test_a_replay_of_both_topics_rebuilds_an_equal_board_without_touching_the_live_one(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    registry_db: asyncpg.Pool,
    visits_db: asyncpg.Pool,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        await record_confirmed_visit(http, school, 0)
        await record_confirmed_visit(http, school, 1)
        await plan(http, school, 2, days=3)
        await wait_for_the_board(registry_db, visits_db, visits_settings)
    async with visits_db.acquire() as conn:
        live_before = await board.digest(conn)
    offsets_before = await live_offsets(visits_db)
    assert {t for t, _, _ in offsets_before} == {
        visits_settings.registry_topic,
        visits_settings.topic,
    }
    assert live_before["visits"] != "empty"
    assert live_before["followups"] != "empty"

    result = await invoke(tongxin_visits, ["replay", "--timeout", "120"], visits_settings)
    assert result.exit_code == 0, result.output
    assert "digests are equal" in result.stdout
    rebuilt = await schema_like(visits_db, "board_rebuild_%")
    assert rebuilt in result.stdout
    assert visits_settings.registry_topic in result.stdout
    assert visits_settings.topic in result.stdout
    async with visits_db.acquire() as conn:
        assert await board.digest(conn) == live_before, "the replay wrote to the live board"
        assert await board.digest(conn, rebuilt) == live_before
    assert await live_offsets(visits_db) == offsets_before, "the replay moved the live offsets"
    assert (
        await visits_db.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'board_old_%'"
        )
        == 0
    ), "a replay without --swap retired the live board"


async def test_a_corrupted_board_is_found_different_then_swapped_out_and_the_board_carries_on(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    registry_db: asyncpg.Pool,
    visits_db: asyncpg.Pool,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        first = await record_confirmed_visit(http, school, 0)
        await record_confirmed_visit(http, school, 1)
        await wait_for_the_board(registry_db, visits_db, visits_settings)
        async with visits_db.acquire() as conn:
            truth = await board.digest(conn)

        # Corrupt the live board behind the projection's back: the rebuild must notice.
        await visits_db.execute(
            "UPDATE board.visits SET status = 'corrupted' WHERE visit_id = $1", first
        )
        differ = await invoke(tongxin_visits, ["replay", "--timeout", "120"], visits_settings)
        assert differ.exit_code == 3, differ.output
        assert "DIFFERENT" in differ.stdout
        assert "digests differ" in differ.stdout

        # Through `tongxin replay visits`, which runs `tongxin-visits replay` and passes its code.
        swapped = await invoke(
            tongxin, ["replay", "visits", "--swap", "--timeout", "120"], visits_settings
        )
        assert swapped.exit_code == 0, swapped.output
        assert "swapped" in swapped.stdout
        retired = await schema_like(visits_db, "board_old_%")
        async with visits_db.acquire() as conn:
            assert await board.digest(conn) == truth, "the swapped-in board is not the rebuild"
            assert (
                await conn.fetchval(
                    f"SELECT status FROM {retired}.visits WHERE visit_id = $1", first
                )
                == "corrupted"
            )

        # The live projection now writes into the swapped-in board, not the retired one.
        later = await record_confirmed_visit(http, school, 2)

        async def on_the_board() -> bool:
            return bool(
                await visits_db.fetchval(
                    "SELECT confirmed FROM board.visits WHERE visit_id = $1", later
                )
            )

        assert await eventually(on_the_board, bool, what="the new visit on the board")
        await wait_for_the_board(registry_db, visits_db, visits_settings)
        assert (
            await visits_db.fetchval(
                f"SELECT count(*) FROM {retired}.visits WHERE visit_id = $1", later
            )
            == 0
        )
        seen = await http.get(
            f"/visits/{later}",
            headers=school.as_staff(school.head_teachers[school.pupils[2].class_id]),
        )
        assert seen.status_code == 200, seen.text
        assert seen.json()["confirmed"] is True

    # And a replay now finds the live board, carried on after the swap, equal to a fresh one.
    again = await invoke(tongxin_visits, ["replay", "--timeout", "120"], visits_settings)
    assert again.exit_code == 0, again.output
    assert "digests are equal" in again.stdout


async def test_a_replay_of_a_visits_service_that_never_ran_fails_in_one_line(
    visits_settings: VisitsSettings,
) -> None:
    never = visits_settings.model_copy(
        update={"database_name": f"{visits_settings.database_name}_never"}
    )
    result = await invoke(tongxin_visits, ["replay", "--timeout", "5"], never)
    assert result.exit_code == 1, result.output
    assert f"no database '{never.database_name}': has the visits service run?" in result.stderr
    assert "Traceback" not in result.output
