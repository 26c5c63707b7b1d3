"""``Idempotency-Key`` for HTTP commands: the same key and request get the first response back;
the same key with a different request is a 422, so a client bug cannot pass silently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse

from tongxin_platform.http import ProblemError


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def once(
    pool: asyncpg.Pool,
    key: str | None,
    fp: str,
    run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> tuple[int, dict[str, Any]]:
    """Run the command unless ``key`` was seen; return (status, body) either way."""
    if not key:
        return await run()
    if len(key) > 200:
        raise ProblemError(422, "Invalid idempotency key", "Idempotency-Key: at most 200 chars")
    row = await pool.fetchrow(
        "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = $1", key
    )
    if row is not None:
        if row["fingerprint"] != fp:
            raise ProblemError(
                422,
                "Idempotency key reused",
                "Idempotency-Key was already used for a different request",
            )
        return row["status"], dict(row["body"])
    status, body = await run()
    if status < 500:
        # Another request with the same key may have finished first: its answer stands.
        await pool.execute(
            "INSERT INTO idempotency_keys (key, fingerprint, status, body) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (key) DO NOTHING",
            key,
            fp,
            status,
            json.loads(json.dumps(body)),
        )
    return status, body


async def command(
    pool: asyncpg.Pool,
    request: Request,
    subject: str,
    key: str | None,
    run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Run an HTTP command at most once per ``Idempotency-Key`` (keyed on caller, path, body)."""
    fp = fingerprint("POST", f"{request.url.path}:{subject}", await request.body())
    status, body = await once(pool, key, fp, run)
    return JSONResponse(body, status_code=status)
