"""Secrets and master keys (issue 9, finding 4): production refuses a published, empty or short
pseudonym secret and a missing keyring; development says so and goes on; the keyring wraps data
keys under its current master key and keeps older ones readable after a rotation."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tongxin_platform import secrets
from tongxin_platform.keyring import (
    KeyringError,
    LocalKeyring,
    UnwrapError,
    forget_keyrings,
    keyring_of,
    retire,
    rotate,
)
from tongxin_platform.secrets import InsecureSettingError
from tongxin_registry.config import DEV_SECRET, RegistrySettings

GOOD = "k1G8vQ3y0Xv3Qm8p3mZt1l7wQfJ2r9sYcU4eH6bN0aA"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """TONGXIN_ENV unset (production), a keyring with one master key."""
    monkeypatch.delenv("TONGXIN_ENV", raising=False)
    monkeypatch.delenv("REGISTRY_PSEUDONYM_SECRET", raising=False)
    directory = tmp_path / "keyring"
    LocalKeyring.create(directory)
    monkeypatch.setenv("TONGXIN_KEYRING_DIR", str(directory))
    forget_keyrings()
    return directory


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "is the published development default"),
        ("", "is empty"),
        ("short-but-not-empty", "is shorter than 32 characters"),
    ],
)
def test_production_refuses_a_default_empty_or_short_pseudonym_secret(
    production: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None, problem: str
) -> None:
    if secret is not None:
        monkeypatch.setenv("REGISTRY_PSEUDONYM_SECRET", secret)
    settings = RegistrySettings()
    assert settings.environment == "production"
    with pytest.raises(InsecureSettingError) as refused:
        settings.check_secrets()
    assert str(refused.value).startswith(f"REGISTRY_PSEUDONYM_SECRET {problem}")
    assert "TONGXIN_ENV=development" in str(refused.value)


def test_production_accepts_a_long_random_secret(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_PSEUDONYM_SECRET", GOOD)
    settings = RegistrySettings()
    settings.check_secrets()
    assert settings.pseudonym_key() == GOOD.encode()


def test_development_accepts_the_default_with_a_warning(
    production: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TONGXIN_ENV", "development")
    monkeypatch.setattr(secrets, "_warned", set())
    settings = RegistrySettings()
    with caplog.at_level(logging.WARNING, logger="tongxin.secrets"):
        settings.check_secrets()
        assert settings.pseudonym_key() == DEV_SECRET.encode()
    assert "REGISTRY_PSEUDONYM_SECRET is the published development default" in caplog.text
    assert "TONGXIN_ENV=development" in caplog.text
    assert caplog.text.count("REGISTRY_PSEUDONYM_SECRET") == 1, "said once, not at every check"


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIN_ENV", "staging")
    with pytest.raises(ValueError, match="TONGXIN_ENV"):
        RegistrySettings()


def test_the_service_command_exits_non_zero_naming_the_variable(
    production: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongxin_registry.entrypoints.cli import app

    for command in (["serve", "--port", "18409"], ["worker", "--port", "0"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "REGISTRY_PSEUDONYM_SECRET is the published development default" in result.output


def test_production_refuses_to_start_without_a_keyring(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TONGXIN_ENV", raising=False)
    monkeypatch.setenv("REGISTRY_PSEUDONYM_SECRET", GOOD)
    forget_keyrings()
    monkeypatch.delenv("TONGXIN_KEYRING_DIR", raising=False)
    with pytest.raises(KeyringError, match="TONGXIN_KEYRING_DIR is not set"):
        RegistrySettings().check_secrets()
    monkeypatch.setenv("TONGXIN_KEYRING_DIR", str(tmp_path / "absent"))
    with pytest.raises(KeyringError, match="no master key in"):
        RegistrySettings().check_secrets()
    assert not (tmp_path / "absent").exists()


def test_development_creates_its_master_key_on_first_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TONGXIN_ENV", "development")
    monkeypatch.setenv("TONGXIN_KEYRING_DIR", str(tmp_path / "dev-keyring"))
    forget_keyrings()
    keyring = keyring_of(RegistrySettings())
    key_file = tmp_path / "dev-keyring" / f"{keyring.current_id}.key"
    assert key_file.is_file()
    assert key_file.stat().st_mode & 0o777 == 0o600
    forget_keyrings()
    assert keyring_of(RegistrySettings()).current_id == keyring.current_id  # kept, not replaced


def test_a_wrapped_key_opens_only_with_its_master_key_and_its_context(tmp_path: Path) -> None:
    keyring = LocalKeyring.create(tmp_path / "a")
    other = LocalKeyring.create(tmp_path / "b")
    data_key = os.urandom(32)
    master, wrapped = keyring.wrap(data_key, b"subject-1")
    assert master == keyring.current_id
    assert data_key not in wrapped
    assert keyring.unwrap(master, wrapped, b"subject-1") == data_key
    with pytest.raises(UnwrapError):
        keyring.unwrap(master, wrapped, b"subject-2")  # moved to another row
    with pytest.raises(UnwrapError):
        other.unwrap(master, wrapped, b"subject-1")  # another keyring has no such key


def test_rotation_makes_a_new_key_current_and_keeps_the_old_one_readable(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "keyring"
    first = LocalKeyring.create(directory)
    old_id, wrapped = first.wrap(b"k" * 32, b"ctx")
    new_id = rotate(directory)
    rotated = LocalKeyring.load(directory)
    assert rotated.current_id == new_id != old_id
    assert rotated.unwrap(old_id, wrapped, b"ctx") == b"k" * 32
    assert first.unwrap(new_id, rotated.wrap(b"n" * 32, b"ctx")[1], b"ctx") == b"n" * 32
    with pytest.raises(KeyringError, match="current master key"):
        retire(directory, new_id)
    retire(directory, old_id)
    with pytest.raises(UnwrapError, match="not in"):
        LocalKeyring.load(directory).unwrap(old_id, wrapped, b"ctx")
