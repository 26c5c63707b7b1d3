"""``tongxin token`` and ``tongxin erase``: development tokens, and erasing a student's data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from tongxin_cli.console import exit_with, fail, operator_errors, out
from tongxin_contracts.events.registry import ErasureReason
from tongxin_platform.auth import (
    Principal,
    RevocationList,
    Role,
    dev_keypair,
    max_ttl,
    mint,
    revocation_file,
    token_id,
)

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """``90s``, ``30m``, ``8h``, ``2d`` or plain seconds → seconds."""
    text = text.strip().lower()
    unit = DURATIONS.get(text[-1:])
    number = text[:-1] if unit else text
    if not number.isdigit() or int(number) == 0:
        raise typer.BadParameter(f"not a duration: {text!r} (e.g. 30m, 8h, 2d)")
    return int(number) * (unit or 1)


def signing_key() -> bytes:
    if path := os.environ.get("TONGXIN_JWT_PRIVATE_KEY_FILE"):
        return Path(path).read_bytes()
    return dev_keypair()[0]


def bearer_for(
    role: Role,
    district: str | None,
    school: str | None = None,
    class_id: str | None = None,
    *,
    subject: str = "tongxin-cli",
    org: str | None = None,
) -> str:
    """``TONGXIN_TOKEN`` when set (production), else a development token for this role."""
    if token := os.environ.get("TONGXIN_TOKEN"):
        return token
    p = Principal(subject, role, district, school, class_id, org)
    return mint(signing_key(), p, ttl=3600)


token_app = typer.Typer(
    name="token",
    help="Mint a development token; `tongxin token revoke JTI` revokes one.",
    add_completion=False,
)


@token_app.callback(invoke_without_command=True)
def token(
    ctx: typer.Context,
    role: Annotated[Role | None, typer.Option(help="Role carried by the token.")] = None,
    district: Annotated[str | None, typer.Option(help="District scope (omit: city level).")] = None,
    school: Annotated[str | None, typer.Option(help="School scope (needs --district).")] = None,
    class_id: Annotated[
        str | None, typer.Option("--class", help="Class scope (needs --school).")
    ] = None,
    subject: Annotated[str, typer.Option(help="Who the token is for (sub claim).")] = "dev-user",
    org: Annotated[
        str | None, typer.Option(help="Organisation of an agency's token, e.g. a hospital's id.")
    ] = None,
    ttl: Annotated[
        str, typer.Option(help="Lifetime, e.g. 30m, 8h (at most the role's cap).")
    ] = "8h",
) -> None:
    """Mint a development token (signed by the dev key in .data/dev-jwt; never for production).
    Its id (jti) is printed on stderr, for `tongxin token revoke`."""
    if ctx.invoked_subcommand is not None:
        return
    if role is None:
        exit_with("--role is required", 2)
        return
    if class_id and not school:
        exit_with("--class needs --school", 2)
    if school and not district:
        exit_with("--school needs --district", 2)
    seconds = parse_ttl(ttl)
    cap = max_ttl(role)
    if seconds > cap:
        exit_with(f"--ttl {ttl}: at most {cap} s for role {role.value} (TONGXIN_TOKEN_MAX_TTL)", 2)
    with operator_errors():
        minted = mint(
            signing_key(), Principal(subject, role, district, school, class_id, org), ttl=seconds
        )
        print(minted)
        typer.echo(f"jti: {token_id(minted)}", err=True)


@token_app.command("revoke")
def revoke(
    jti: Annotated[str, typer.Argument(help="The token's id (its jti claim).")],
    note: Annotated[str, typer.Option(help="Why, kept beside the id in the file.")] = "",
) -> None:
    """Revoke a token by its id: every service verifying with this key refuses it from now on
    (the revocation file, TONGXIN_JWT_REVOKED_FILE, is read again when it changes)."""
    if not jti.strip() or any(c.isspace() or c == "#" for c in jti.strip()):
        exit_with(f"not a token id: {jti!r}", 2)
    revoked = RevocationList(revocation_file())
    with operator_errors():
        added = revoked.revoke(jti.strip(), note)
    out().print(f"{jti}: {'revoked' if added else 'already revoked'} ({revoked.path})")


def erase(
    student_ref: Annotated[str, typer.Argument(help="The student's pseudonym (stu_…).")],
    reason: Annotated[ErasureReason, typer.Option(help="Why the data is erased (required).")],
    registry_url: Annotated[
        str, typer.Option(help="The registry's HTTP API.")
    ] = "http://127.0.0.1:8001",
    district: Annotated[str | None, typer.Option(help="The operator's district scope.")] = None,
) -> None:
    """Erase a student's personal data: delete their key and record SubjectErased (operators)."""
    headers = {
        "Authorization": f"Bearer {bearer_for(Role.operator, district)}",
        "Idempotency-Key": f"erase-{student_ref}",
    }
    with operator_errors(), httpx.Client(base_url=registry_url, timeout=30) as client:
        try:
            r = client.post(
                f"/subjects/{student_ref}/erase", json={"reason": reason.value}, headers=headers
            )
        except httpx.ConnectError:
            fail(f"the registry is not running at {registry_url} (connection refused)")
    if r.status_code != 200:
        detail = (
            r.json().get("detail") if r.headers.get("content-type", "").endswith("json") else r.text
        )
        fail(f"the registry refused the erasure ({r.status_code}): {detail}")
    events = r.json().get("events", [])
    out().print(f"{student_ref}: " + (", ".join(events) if events else "already erased"))
