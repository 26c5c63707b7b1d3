"""A service started before the development key pair exists does not refuse every caller until
it is restarted: it looks for the key again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tongxin_platform.auth import AuthError, Principal, Role, TokenVerifier, dev_keypair, mint


def test_a_verifier_finds_a_key_made_after_it_started(tmp_path: Path) -> None:
    keys = tmp_path / "dev-jwt"
    verifier = TokenVerifier(
        None, loader=lambda: (keys / "public.pem").read_bytes() if keys.exists() else None
    )
    private, _ = dev_keypair(tmp_path / "other")
    with pytest.raises(AuthError, match="no token verification key"):
        verifier.verify(mint(private, Principal("p", Role.principal, "330106", "330106001")))
    private, _ = dev_keypair(keys)  # `tongxin up` makes the key pair now
    p = verifier.verify(mint(private, Principal("p", Role.principal, "330106", "330106001")))
    assert (p.subject, p.role, p.school) == ("p", Role.principal, "330106001")


def test_a_verifier_without_a_loader_keeps_refusing() -> None:
    with pytest.raises(AuthError, match="no token verification key"):
        TokenVerifier(None).verify("x.y.z")
