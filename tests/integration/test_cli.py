"""The operator's `tongxin` command against a real registry, Kafka and PostgreSQL.

CliRunner is synchronous: it runs in a thread so the registry served in the test's loop keeps
answering while a command waits for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from typer import Typer
from typer.testing import CliRunner, Result

from tests.support.servers import serving
from tests.support.waiting import caught_up, end_offsets, eventually
from tongxin_cli.main import app as tongxin
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app
from tongxin_registry.entrypoints.cli import app as tongxin_registry
from tongxin_registry.projections import roster

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def cli_signs_with_the_test_key(jwt_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_JWT_PRIVATE_KEY_FILE", str(jwt_dir / "private.pem"))


SMALL = ["--schools", "1", "--classes", "2", "--students", "5", "--no-visits", "--no-wellbeing"]
# 1 school + 2 classes + 10 students + their categorisations (fixed demo seed) + 7 staff (the
# seeded district's first school has a school doctor)
SMALL_EVENTS = 22


def env_of(settings: RegistrySettings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "REGISTRY_DATABASE_NAME": settings.database_name,
        "REGISTRY_TOPIC": settings.topic,
        "COLUMNS": "200",
    }


async def invoke(app: Typer, args: list[str], settings: RegistrySettings) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(app, args, env=env_of(settings)))


async def events(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events"))


@pytest.fixture
async def seeded(
    verifier: TokenVerifier, registry_settings: RegistrySettings, registry_db: asyncpg.Pool
) -> RegistrySettings:
    async with serving(create_app(registry_settings, verifier)) as url:
        result = await invoke(tongxin, ["seed", "--registry-url", url, *SMALL], registry_settings)
    assert result.exit_code == 0, result.output
    assert await events(registry_db) == SMALL_EVENTS
    return registry_settings


async def test_up_with_servers_given_in_the_environment_starts_nothing_and_says_where_they_are(
    infra: Infra, kafka: str
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": infra.database_url}
    runner = CliRunner()
    result = await asyncio.to_thread(lambda: runner.invoke(tongxin, ["up"], env=env))
    assert result.exit_code == 0, result.output
    assert "PostgreSQL: using DATABASE_URL (nothing started)" in result.stdout
    assert f"Kafka       {kafka}" in result.stdout
    assert "topics: all present" in result.stdout
    down = await asyncio.to_thread(lambda: runner.invoke(tongxin, ["down", "--wipe"], env=env))
    assert down.exit_code == 0, down.output
    assert "Kafka: KAFKA_BOOTSTRAP_SERVERS is set; not ours to stop" in down.stdout


async def test_down_runs_the_stop_scripts_of_the_data_dir_and_wipes_it(tmp_path: Path) -> None:
    # A scratch data dir: nothing of the shared servers is stopped, and --wipe deletes only it.
    (tmp_path / "kafka").mkdir()
    env = {"TONGXIN_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": None, "DATABASE_URL": None}
    runner = CliRunner()
    result = await asyncio.to_thread(lambda: runner.invoke(tongxin, ["down", "--wipe"], env=env))
    assert result.exit_code == 0, result.output
    assert f"kafka: wiping {tmp_path}/kafka" in result.stdout
    assert "postgres: no cluster" in result.stdout
    assert not (tmp_path / "kafka").exists()


async def test_seeding_twice_appends_the_demo_roster_once(
    verifier: TokenVerifier, registry_settings: RegistrySettings, registry_db: asyncpg.Pool
) -> None:
    async with serving(create_app(registry_settings, verifier)) as url:
        first = await invoke(tongxin, ["seed", "--registry-url", url, *SMALL], registry_settings)
        again = await invoke(tongxin, ["seed", "--registry-url", url, *SMALL], registry_settings)
    assert first.exit_code == 0, first.output
    assert "students: 10 row(s) → 15 new event(s)" in first.stdout
    assert "StudentEnrolled" in first.stdout
    assert f"total              │    {SMALL_EVENTS}" in first.stdout
    assert again.exit_code == 0, again.output
    assert "students: 10 row(s) → 0 new event(s)" in again.stdout
    assert "staff: 7 row(s) → 0 new event(s)" in again.stdout
    assert await events(registry_db) == SMALL_EVENTS


async def test_seeding_a_registry_that_is_not_running_says_so_in_one_line(
    registry_settings: RegistrySettings,
) -> None:
    result = await invoke(
        tongxin, ["seed", "--registry-url", "http://127.0.0.1:9"], registry_settings
    )
    assert result.exit_code == 1
    assert "the registry is not running at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.output


async def test_audit_of_a_seeded_student_lists_every_version_and_verifies_the_chain(
    seeded: RegistrySettings, registry_db: asyncpg.Pool
) -> None:
    stream = await registry_db.fetchval(
        "SELECT stream_id FROM events WHERE stream_id LIKE 'student-%'"
        " GROUP BY stream_id ORDER BY max(version) DESC, stream_id LIMIT 1"
    )
    stored = await registry_db.fetch(
        "SELECT version, event_id FROM events WHERE stream_id = $1 ORDER BY version", stream
    )
    result = await invoke(tongxin, ["audit", stream, "--database", seeded.database_name], seeded)
    assert result.exit_code == 0, result.output
    assert f"{stream}: {len(stored)} event(s)" in result.stdout
    assert "StudentEnrolled.v2" in result.stdout
    for row in stored:
        assert str(row["event_id"]) in result.stdout
    assert "chain verifies" in result.stdout

    missing = await invoke(
        tongxin, ["audit", "student-nobody", "--database", seeded.database_name], seeded
    )
    assert missing.exit_code == 1
    assert "no stream 'student-nobody'" in missing.stderr


async def test_verify_passes_an_untouched_store_and_names_the_stream_whose_payload_was_altered(
    seeded: RegistrySettings, registry_db: asyncpg.Pool
) -> None:
    clean = await invoke(tongxin, ["verify", "--database", seeded.database_name], seeded)
    assert clean.exit_code == 0, clean.output
    assert f"{SMALL_EVENTS} event(s)" in clean.stdout
    assert "every chain verifies" in clean.stdout

    victim = await registry_db.fetchval(
        "SELECT stream_id FROM events WHERE event_type LIKE '%StaffAssigned%' LIMIT 1"
    )
    async with registry_db.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_immutable")
        await conn.execute(
            "UPDATE events SET payload = set_byte(payload, 2, get_byte(payload, 2)"
            " # 1) WHERE stream_id = $1 AND version = 1",
            victim,
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_immutable")

    tampered = await invoke(tongxin, ["verify", "--database", seeded.database_name], seeded)
    assert tampered.exit_code == 1, tampered.output
    assert f"stream {victim} does not verify" in tampered.stderr
    assert "Traceback" not in tampered.output
    audit = await invoke(tongxin, ["audit", victim, "--database", seeded.database_name], seeded)
    assert audit.exit_code == 1
    assert "chain broken" in audit.stderr


async def test_tail_prints_the_cloudevents_type_of_the_records_on_the_topic(
    seeded: RegistrySettings, registry_worker: None, kafka: str, topic: str
) -> None:
    await eventually(
        lambda: end_offsets(kafka, topic),
        lambda e: sum(e.values()) == SMALL_EVENTS,
        what="the seeded events on the topic",
    )
    everything = await invoke(
        tongxin, ["tail", topic, "--from-beginning", "-n", "0", "--timeout", "2"], seeded
    )
    assert everything.exit_code == 0, everything.output
    heads = [ln for ln in everything.stdout.splitlines() if " cn.tongxin.registry." in ln]
    assert len(heads) == SMALL_EVENTS
    assert any("cn.tongxin.registry.SchoolRegistered.v1" in h for h in heads)
    assert '"school_id":"330106001"' in everything.stdout

    two = await invoke(tongxin, ["tail", topic, "-n", "2", "--timeout", "2"], seeded)
    assert two.exit_code == 0, two.output
    assert len([ln for ln in two.stdout.splitlines() if " cn.tongxin.registry." in ln]) == 2

    nowhere = await invoke(tongxin, ["tail", f"{topic}.missing"], seeded)
    assert nowhere.exit_code == 1
    assert "does not exist" in nowhere.stderr


async def test_schemas_check_passes_on_what_it_wrote_and_fails_naming_an_edited_file(
    registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    out = tmp_path / "schemas"
    wrote = await invoke(tongxin, ["schemas", "--out", str(out)], registry_settings)
    assert wrote.exit_code == 0, wrote.output
    assert (out / "registry/StudentEnrolled.v1.json").exists()
    check = await invoke(tongxin, ["schemas", "--out", str(out), "--check"], registry_settings)
    assert check.exit_code == 0, check.output

    edited = out / "registry/StudentLeft.v1.json"
    edited.write_text(edited.read_text().replace('"type": "object"', '"type": "array"', 1))
    (out / "registry/ClassOpened.v1.json").unlink()
    check = await invoke(tongxin, ["schemas", "--out", str(out), "--check"], registry_settings)
    assert check.exit_code == 1
    assert "differs:  registry/StudentLeft.v1.json" in check.stdout
    assert "missing:  registry/ClassOpened.v1.json" in check.stdout
    assert "2 schema file(s)" in check.stderr
    assert (out / "registry/ClassOpened.v1.json").exists() is False, "--check wrote a file"


async def test_replay_rebuilds_an_equal_roster_then_detects_and_swaps_out_a_corrupted_one(
    seeded: RegistrySettings, registry_worker: None, registry_db: asyncpg.Pool, kafka: str
) -> None:
    await eventually(
        lambda: caught_up(registry_db, roster.GROUP, seeded.topic, kafka),
        bool,
        what="the live roster at the end of the topic",
    )
    async with registry_db.acquire() as conn:
        live_before = await roster.digest(conn)

    equal = await invoke(tongxin_registry, ["replay", "--timeout", "120"], seeded)
    assert equal.exit_code == 0, equal.output
    assert "digests are equal" in equal.stdout
    rebuilt = await registry_db.fetchval(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'roster_rebuild_%'"
    )
    assert rebuilt is not None
    assert rebuilt in equal.stdout
    async with registry_db.acquire() as conn:
        assert await roster.digest(conn) == live_before, "the replay wrote to the live model"
        assert await roster.digest(conn, rebuilt) == live_before

    # Corrupt the live model behind the projection's back: the rebuild must notice.
    await registry_db.execute(
        "UPDATE roster.students SET status = 'corrupted'"
        " WHERE student_ref = (SELECT min(student_ref) FROM roster.students)"
    )
    differ = await invoke(tongxin_registry, ["replay", "--timeout", "120"], seeded)
    assert differ.exit_code == 3, differ.output
    assert "DIFFERENT" in differ.stdout
    assert "digests differ" in differ.stdout

    # Through `tongxin replay`, which runs `tongxin-registry replay` and passes its code through.
    swapped = await invoke(tongxin, ["replay", "registry", "--swap", "--timeout", "120"], seeded)
    assert swapped.exit_code == 0, swapped.output
    assert "swapped" in swapped.stdout
    async with registry_db.acquire() as conn:
        assert await roster.digest(conn) == live_before, "the swapped-in model is not the rebuild"
        assert (
            await conn.fetchval("SELECT count(*) FROM roster.students WHERE status = 'corrupted'")
            == 0
        )
        old = await conn.fetchval(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'roster_old_%'"
        )
        assert (
            await conn.fetchval(f"SELECT count(*) FROM {old}.students WHERE status = 'corrupted'")
            == 1
        )
