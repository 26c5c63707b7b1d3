"""Fixtures of the unit tests of the services' pages (tongxin_web, the agencies', the city's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tongxin_platform.auth import dev_keypair


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """Dev signing keys of the test's own; the demo sign-in mints with the private one."""
    private, public = dev_keypair(tmp_path / "dev-jwt")
    monkeypatch.setenv("TONGXIN_JWT_PRIVATE_KEY_FILE", str(tmp_path / "dev-jwt" / "private.pem"))
    return private, public
