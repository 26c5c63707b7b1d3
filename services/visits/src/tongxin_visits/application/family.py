"""One-time codes by which a family confirms that a visit took place.

Quotas invite invented visits; a code sent to the guardians' phones, and typed in by them, is
evidence the teacher cannot make alone. Only a salted hash is stored; a code works once, until
it expires, and locks after a few wrong tries. Delivery is a port: in development the messages
land in ``family_inbox`` (the SMS gateway's stand-in), which only operators can read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

CODE_DIGITS = 6


class FamilyCodeError(Exception):
    """The code is wrong, expired, used or locked; ``attempts_left`` says how many tries remain."""

    def __init__(self, message: str, attempts_left: int) -> None:
        super().__init__(message)
        self.attempts_left = attempts_left


class WrongCodeError(FamilyCodeError):
    pass


@dataclass(frozen=True, slots=True)
class IssuedCode:
    recipients: int
    expires_at: datetime


def _hash(visit_id: str, code: str) -> bytes:
    return hashlib.sha256(f"{visit_id}:{code}".encode()).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


async def issue(
    conn: asyncpg.Connection,
    visit_id: str,
    guardian_refs: list[str],
    *,
    now: datetime,
    valid_for: timedelta,
    code: str | None = None,
) -> IssuedCode:
    """Replace any earlier code of the visit and send the new one to every guardian."""
    code = code or new_code()
    expires = now + valid_for
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO family_codes (visit_id, code_hash, expires_at) VALUES ($1, $2, $3)
               ON CONFLICT (visit_id) DO UPDATE
               SET code_hash = $2, expires_at = $3, attempts = 0, used_at = NULL""",
            visit_id,
            _hash(visit_id, code),
            expires,
        )
        message = (
            f"您好，老师记录了一次家访。如家访属实，请输入确认码 {code}（{expires:%m-%d} 前有效）。"
            " 学校不会因家访收取任何礼品礼金。"
        )
        await conn.executemany(
            "INSERT INTO family_inbox (guardian_ref, visit_id, message) VALUES ($1, $2, $3)",
            [(g, visit_id, message) for g in guardian_refs],
        )
    return IssuedCode(len(guardian_refs), expires)


async def redeem(
    conn: asyncpg.Connection, visit_id: str, code: str, *, now: datetime, max_attempts: int
) -> None:
    """Use the code once, or raise ``FamilyCodeError``. Call inside the confirming transaction,
    so that a code is used up exactly when the confirmation is recorded."""
    row = await conn.fetchrow(
        "SELECT code_hash, expires_at, attempts, used_at FROM family_codes"
        " WHERE visit_id = $1 FOR UPDATE",
        visit_id,
    )
    if row is None:
        raise FamilyCodeError("no code was sent for this visit", 0)
    left = max_attempts - row["attempts"]
    if row["used_at"] is not None:
        raise FamilyCodeError("this code was already used", 0)
    if left <= 0:
        raise FamilyCodeError("too many wrong codes; ask the school to send a new one", 0)
    if now > row["expires_at"]:
        raise FamilyCodeError("the code has expired; ask the school to send a new one", left)
    if not hmac.compare_digest(row["code_hash"], _hash(visit_id, code.strip())):
        # Counted outside the caller's transaction, which rolls back on this refusal.
        raise WrongCodeError("wrong code", left - 1)
    await conn.execute("UPDATE family_codes SET used_at = $2 WHERE visit_id = $1", visit_id, now)


async def count_wrong_try(pool: asyncpg.Pool, visit_id: str) -> None:
    await pool.execute(
        "UPDATE family_codes SET attempts = attempts + 1 WHERE visit_id = $1", visit_id
    )
