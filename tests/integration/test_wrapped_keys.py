"""Subject keys are wrapped by a master key held outside the database (issue 9, finding 4).

A copy of every row of every table of the registry's database opens no sealed field, while the
same ciphertexts open with the keyring; a rotation rewraps every data key and the old master key
can then go; keys stored in clear before wrapping are wrapped when the service starts; erasure
(deleting the wrapped key) still shreds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import csv
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from tests.support.services import settings_for
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import Sealed
from tongxin_platform.crypto import KeyStore, SubjectErasedError, key_counts, open_with, rewrap
from tongxin_platform.keyring import LocalKeyring, UnwrapError, forget_keyrings, retire, rotate
from tongxin_platform.service import prepare_database
from tongxin_platform.testing import Infra
from tongxin_registry.bootstrap import SERVICE as REGISTRY
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=1, students_per_class=5)


@pytest.fixture
def keyring_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "keyring"
    LocalKeyring.create(directory)
    monkeypatch.setenv("TONGXIN_KEYRING_DIR", str(directory))
    forget_keyrings()
    return directory


@pytest.fixture
def settings(
    infra: Infra, kafka: str, topic: str, database_name: str, keyring_dir: Path
) -> RegistrySettings:
    s = settings_for(REGISTRY, infra, database_name=database_name, topics={"registry": topic})
    assert isinstance(s, RegistrySettings)
    return s


async def _imported(settings: RegistrySettings) -> str:
    """The demo roster imported through the registry; its database's URL."""
    students, _ = demo_roster(SPEC)
    registry = await bootstrap(settings)
    try:
        await registry.service.import_students(students)
        return registry.runtime.database_url
    finally:
        await registry.close()


async def _dump(url: str) -> list[Any]:
    """Every value of every row of every table of the database (all schemas but the system's)."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            """SELECT table_schema, table_name FROM information_schema.tables
               WHERE table_type = 'BASE TABLE'
                 AND table_schema NOT IN ('pg_catalog', 'information_schema')"""
        )
        values: list[Any] = []
        for t in tables:
            for row in await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"'):
                values.extend(row.values())
        return values
    finally:
        await conn.close()


def _sealed_in(value: Any) -> Iterator[Sealed]:
    """Every sealed field inside a value (JSON text, bytes, jsonb)."""
    if isinstance(value, bytes | memoryview):
        try:
            value = bytes(value).decode()
        except UnicodeDecodeError:
            return
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        if {"subject", "key_id", "nonce", "ciphertext"} <= value.keys():
            yield Sealed.model_validate(value)
        for v in value.values():
            yield from _sealed_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _sealed_in(v)


def _candidate_keys(values: list[Any]) -> set[bytes]:
    """Everything in the dump that could be an AES-256 key: every 32-byte window of every binary
    value, and of every text value read as it is, as hex and as base64."""
    blobs: list[bytes] = []
    for v in values:
        if isinstance(v, bytes | memoryview):
            blobs.append(bytes(v))
        elif isinstance(v, str | uuid.UUID):
            text = str(v)
            blobs.append(text.encode())
            for decode in (bytes.fromhex, base64.b64decode, base64.urlsafe_b64decode):
                with contextlib.suppress(ValueError, binascii.Error):
                    blobs.append(decode(text.replace("-", "")))
    return {b[i : i + 32] for b in blobs for i in range(len(b) - 31)}


def _opens(key: bytes, sealed: Sealed) -> bool:
    try:
        open_with(key, sealed)
    except (InvalidTag, ValueError):
        return False
    return True


async def test_a_database_dump_alone_opens_nothing(
    settings: RegistrySettings, keyring_dir: Path
) -> None:
    url = await _imported(settings)
    values = await _dump(url)
    sealed = [s for v in values for s in _sealed_in(v)]
    assert len(sealed) >= SPEC.students_per_class, "the roster's personal fields are sealed"
    candidates = _candidate_keys(values)
    assert len(candidates) > 1000

    opened_from_dump = [s.subject for s in sealed if any(_opens(k, s) for k in candidates)]
    assert opened_from_dump == []

    # The same ciphertexts open with the master key held outside the database.
    conn = await asyncpg.connect(url)
    try:
        store = KeyStore(LocalKeyring.load(keyring_dir))
        names = [(await store.open(conn, s)) for s in sealed]
    finally:
        await conn.close()
    students = list(csv.DictReader(io.StringIO(demo_roster(SPEC)[0])))
    assert {r["student_name"] for r in students} <= {n.get("name") for n in names}


async def test_rotation_rewraps_every_key_and_the_old_master_key_can_go(
    settings: RegistrySettings, keyring_dir: Path
) -> None:
    url = await _imported(settings)
    # What an attacker who kept only the old master key would hold.
    old_copy = shutil.copytree(keyring_dir, keyring_dir.parent / "old-keyring")
    old = LocalKeyring.load(old_copy)
    conn = await asyncpg.connect(url)
    try:
        sealed = [s for v in await _dump(url) for s in _sealed_in(v)]
        before = [await KeyStore(old).open(conn, s) for s in sealed]
        assert set(await key_counts(conn)) == {old.current_id}

        new_id = rotate(keyring_dir)
        rotated = LocalKeyring.load(keyring_dir)
        # Until the rewrap, data keys under the old master key stay readable.
        assert [await KeyStore(rotated).open(conn, s) for s in sealed] == before
        # New keys are wrapped with the new master key.
        await KeyStore(rotated).keys_for(conn, ["stu_new_subject_after_rotation"])
        assert (await key_counts(conn)).get(new_id) == 1

        rewrapped = await rewrap(conn, rotated)
        counts = await key_counts(conn)
        assert rewrapped == counts[new_id] - 1
        assert set(counts) == {new_id}
        assert await rewrap(conn, rotated) == 0  # nothing left

        retire(keyring_dir, old.current_id)
        after = LocalKeyring.load(keyring_dir)
        assert [await KeyStore(after).open(conn, s) for s in sealed] == before
        # The old master key alone opens nothing any more.
        for s in sealed:
            with pytest.raises(UnwrapError, match="not in"):
                await KeyStore(old).open(conn, s)
    finally:
        await conn.close()


async def test_keys_stored_in_clear_are_wrapped_when_the_service_starts(
    settings: RegistrySettings, keyring_dir: Path
) -> None:
    url = await prepare_database(REGISTRY, settings)
    plain, key_id, subject = b"p" * 32, uuid.uuid4(), "stu_written_before_wrapping"
    conn = await asyncpg.connect(url)
    try:
        # A row as the code before wrapping wrote it.
        await conn.execute(
            "INSERT INTO subject_keys (subject, key_id, data_key) VALUES ($1, $2, $3)",
            subject,
            key_id,
            plain,
        )
        await prepare_database(REGISTRY, settings)  # the next start
        row = await conn.fetchrow("SELECT * FROM subject_keys WHERE subject = $1", subject)
        assert row["master_key_id"] == LocalKeyring.load(keyring_dir).current_id
        assert plain not in bytes(row["data_key"])
        keys = await KeyStore().keys_for(conn, [subject])
        assert keys[subject] == (key_id, plain)

        # Crypto-shredding still works: the wrapped key goes, the sealed field stays closed.
        sealed = await KeyStore().seal(conn, subject, {"name": "张三"})
        assert await KeyStore().erase(conn, subject)
        with pytest.raises(SubjectErasedError):
            await KeyStore().open(conn, sealed)
    finally:
        await conn.close()


async def test_the_keys_command_rotates_rewraps_and_retires(
    settings: RegistrySettings, keyring_dir: Path, infra: Infra
) -> None:
    from typer.testing import CliRunner

    from tongxin_registry.entrypoints.cli import app

    url = await _imported(settings)
    old_id = LocalKeyring.load(keyring_dir).current_id
    env = {
        "DATABASE_URL": infra.database_url,
        "REGISTRY_DATABASE_NAME": settings.database_name,
        "TONGXIN_KEYRING_DIR": str(keyring_dir),
    }

    def keys(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["keys", *args], env=env)
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(keys, "rotate")
    assert code == 0, out
    new_id = LocalKeyring.load(keyring_dir).current_id
    assert new_id != old_id
    assert f"data keys rewrapped under {new_id}" in out

    code, out = await asyncio.to_thread(keys, "status")
    assert code == 0, out
    assert f"current {new_id}" in out
    assert old_id not in out

    code, out = await asyncio.to_thread(keys, "retire", new_id)
    assert code == 1
    assert "current master key" in out
    code, out = await asyncio.to_thread(keys, "retire", old_id)
    assert code == 0, out
    assert not (keyring_dir / f"{old_id}.key").exists()

    conn = await asyncpg.connect(url)
    try:
        store = KeyStore(LocalKeyring.load(keyring_dir))
        sealed = [s for v in await _dump(url) for s in _sealed_in(v)]
        assert all([await store.open(conn, s) for s in sealed])
    finally:
        await conn.close()
