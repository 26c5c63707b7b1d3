"""Unit rules of the edge (issue 9, findings 1, 6 and 7): claims of the wrong type are a 401
(never a 500), a token's lifetime is capped per role, every token has an id (``jti``) that can
be revoked, ``tongxin token`` refuses to mint beyond the cap and revokes by id, the loop-lag
gauge keeps its window, and a router whose routes would read their body first is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, FastAPI
from typer.testing import CliRunner

from tongxin_cli.main import app as tongxin
from tongxin_platform.auth import (
    AuthError,
    Principal,
    RevocationList,
    Role,
    TokenVerifier,
    claims_for,
    dev_keypair,
    mint,
    token_id,
)
from tongxin_platform.edge import check_routes, service_router
from tongxin_platform.http import Caller, install_auth, install_problem_handlers
from tongxin_platform.looplag import LoopLag

OFFICER = Principal("o", Role.bureau_officer, "330106")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[bytes, bytes]:
    return dev_keypair(tmp_path / "dev-jwt")


def signed(private: bytes, claims: dict[str, Any]) -> str:
    key = serialization.load_pem_private_key(private, password=None)
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("district", ["330106", "330107"]),
        ("school", {"id": 1}),
        ("class", 7),
        ("role", ["operator"]),
    ],
)
def test_a_claim_of_the_wrong_type_is_an_auth_error_naming_it(
    keys: tuple[bytes, bytes], claim: str, value: Any
) -> None:
    claims = claims_for(Principal("p", Role.principal, "330106", "330106001", "c1"))
    claims[claim] = value
    with pytest.raises(AuthError, match=f"claim {claim} must be a non-empty string"):
        TokenVerifier(keys[1]).verify(signed(keys[0], claims))


def test_a_list_district_claim_is_a_401_problem_over_http(keys: tuple[bytes, bytes]) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(keys[1]))

    @app.get("/who")
    async def who(caller: Caller) -> dict[str, str]:
        return {"subject": caller.subject}

    claims = claims_for(OFFICER)
    claims["district"] = ["330106"]

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            return await http.get(
                "/who", headers={"Authorization": f"Bearer {signed(keys[0], claims)}"}
            )

    r = asyncio.run(call())
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "claim district" in r.json()["detail"]


def test_a_token_longer_than_its_roles_cap_is_refused_naming_the_rule(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(keys[1])
    century = mint(keys[0], Principal("op", Role.operator), ttl=100 * 365 * 86400)
    with pytest.raises(AuthError, match=r"token\.max_ttl"):
        verifier.verify(century)
    with pytest.raises(AuthError, match="43200 s allowed for role bureau_officer"):
        verifier.verify(mint(keys[0], OFFICER, ttl=12 * 3600 + 1))
    assert verifier.verify(mint(keys[0], OFFICER, ttl=12 * 3600)).role is Role.bureau_officer
    monkeypatch.setenv("TONGXIN_TOKEN_MAX_TTL_OPERATOR", "3600")
    with pytest.raises(AuthError, match="3600 s allowed for role operator"):
        verifier.verify(mint(keys[0], Principal("op", Role.operator), ttl=7200))
    monkeypatch.setenv("TONGXIN_TOKEN_MAX_TTL", "600")
    with pytest.raises(AuthError, match="600 s allowed for role bureau_officer"):
        verifier.verify(mint(keys[0], OFFICER, ttl=900))


@pytest.mark.parametrize("missing", ["iat", "exp", "jti"])
def test_a_token_without_iat_exp_or_jti_is_refused(keys: tuple[bytes, bytes], missing: str) -> None:
    claims = claims_for(OFFICER)
    del claims[missing]
    with pytest.raises(AuthError, match=missing):
        TokenVerifier(keys[1]).verify(signed(keys[0], claims))


def test_every_minted_token_has_its_own_id(keys: tuple[bytes, bytes]) -> None:
    a, b = mint(keys[0], OFFICER), mint(keys[0], OFFICER)
    assert token_id(a)
    assert token_id(a) != token_id(b)


def test_a_revoked_token_id_is_refused_once_the_file_lists_it(
    keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    revoked = RevocationList(tmp_path / "revoked.txt")
    verifier = TokenVerifier(keys[1], revoked=RevocationList(tmp_path / "revoked.txt"))
    token = mint(keys[0], OFFICER)
    assert verifier.verify(token).subject == "o"  # no file yet: nothing revoked
    assert revoked.revoke(token_id(token), "lost laptop")
    assert not revoked.revoke(token_id(token))
    with pytest.raises(AuthError, match=r"token revoked: jti .*token\.revoked"):
        verifier.verify(token)
    assert verifier.verify(mint(keys[0], OFFICER)).subject == "o"  # other tokens still pass
    (tmp_path / "revoked.txt").write_text("# emptied\n")
    assert verifier.verify(token).subject == "o"  # read again when it changes


def test_the_verifier_from_env_reads_the_revocation_file_beside_the_key(
    keys: tuple[bytes, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGXIN_JWT_PUBLIC_KEY_FILE", str(tmp_path / "dev-jwt" / "public.pem"))
    monkeypatch.delenv("TONGXIN_JWT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("TONGXIN_JWT_REVOKED_FILE", raising=False)
    verifier = TokenVerifier.from_env()
    token = mint(keys[0], OFFICER)
    (tmp_path / "dev-jwt" / "revoked.txt").write_text(f"{token_id(token)}\n")
    with pytest.raises(AuthError, match="token revoked"):
        verifier.verify(token)


def test_tongxin_token_refuses_beyond_the_cap_and_revokes_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGXIN_DATA_DIR", str(tmp_path))
    for name in ("TONGXIN_JWT_PRIVATE_KEY_FILE", "TONGXIN_JWT_PUBLIC_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TONGXIN_JWT_REVOKED_FILE", raising=False)
    monkeypatch.delenv("TONGXIN_TOKEN_MAX_TTL", raising=False)
    runner = CliRunner()
    refused = runner.invoke(tongxin, ["token", "--role", "operator", "--ttl", "36500d"])
    assert refused.exit_code == 2, refused.output
    assert "at most 43200 s for role operator" in refused.output
    minted = runner.invoke(tongxin, ["token", "--role", "operator", "--ttl", "2h"])
    assert minted.exit_code == 0, minted.output
    token = minted.stdout.strip().splitlines()[0]
    jti = token_id(token)
    done = runner.invoke(tongxin, ["token", "revoke", jti, "--note", "test"])
    assert done.exit_code == 0, done.output
    verifier = TokenVerifier(
        dev_keypair(tmp_path / "dev-jwt")[1],
        revoked=RevocationList(tmp_path / "dev-jwt" / "revoked.txt"),
    )
    with pytest.raises(AuthError, match="token revoked"):
        verifier.verify(token)


def test_the_loop_lag_gauge_keeps_the_longest_stall_of_its_window() -> None:
    lag = LoopLag(window=10)
    now = time.monotonic()
    lag.record(0.250, now - 20)  # outside the window: forgotten
    lag.record(0.040, now - 5)
    lag.record(0.0005, now - 1)  # not a stall
    assert lag.max_stall(now) == pytest.approx(0.040)
    text = {m.name: m.samples[0].value for m in lag.collect()}
    assert text["tongxin_event_loop_stalls"] == 1  # the 250 ms one, counted since start


def test_a_service_router_of_plain_routes_is_refused_even_when_nested() -> None:
    plain = APIRouter()

    @plain.post("/reads-its-body-first")
    async def endpoint(body: dict[str, str]) -> dict[str, str]:
        return body

    outer = service_router()
    outer.include_router(plain)
    for routers in ([plain], [outer]):
        with pytest.raises(TypeError, match="service_router"):
            check_routes(routers)


def test_a_token_verified_once_is_not_checked_again_but_still_expires(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [time.time()]
    verifier = TokenVerifier(keys[1], clock=lambda: now[0])
    claims = claims_for(OFFICER, ttl=60, now=now[0])
    token = signed(keys[0], claims)
    assert verifier.verify(token).subject == "o"

    def no_second_check(*_: object, **__: object) -> None:
        raise AssertionError("the signature was checked again")

    monkeypatch.setattr(jwt, "decode", no_second_check)
    assert verifier.verify(token).subject == "o"  # from the cache: no signature check
    monkeypatch.undo()

    now[0] = claims["exp"] + 1  # past its exp: the cache does not keep it alive
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token)


def test_an_over_long_or_revoked_token_is_a_401_problem_naming_its_rule(
    keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    revoked = RevocationList(tmp_path / "revoked.txt")
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(keys[1], revoked=RevocationList(tmp_path / "revoked.txt")))

    @app.get("/who")
    async def who(caller: Caller) -> dict[str, str]:
        return {"subject": caller.subject}

    century = mint(keys[0], Principal("op", Role.operator), ttl=100 * 365 * 86400)
    lost = mint(keys[0], OFFICER)

    async def call(token: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
            return await http.get("/who", headers={"Authorization": f"Bearer {token}"})

    assert asyncio.run(call(lost)).status_code == 200  # verified (and remembered)
    revoked.revoke(token_id(lost), "lost phone")
    for token, rule in ((century, "token.max_ttl"), (lost, "token.revoked")):
        r = asyncio.run(call(token))
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["rule"] == rule
