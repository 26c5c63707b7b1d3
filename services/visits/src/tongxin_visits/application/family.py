"""One-time codes by which a family confirms that a visit took place.

Quotas invite invented visits; a code sent to the guardians' phones, and typed in by them, is
evidence the teacher cannot make alone. The rules (an attempt budget per visit that re-sends do
not reset, a lock nothing lifts, limits on re-sends) are the domain's
(``tongxin_visits.domain.family_code``); this module keeps their state in ``family_codes`` and
``family_code_sends``. Only a salted hash of a code is stored: HMAC-SHA256 keyed by a random
16-byte salt of that code, compared in constant time. Delivery is a port: in development the
messages land in ``family_inbox`` (the SMS gateway's stand-in), which only operators can read.

Whoever types a code in is anonymous, so every refusal of a code is the same
``CodeNotAcceptedError``: an unknown visit, a visit without a code, a wrong, expired or used
code and a locked visit cannot be told apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tongxin_visits.domain.family_code import (
    CodeRules,
    CodeState,
    after_guess,
    decide_send,
    may_evaluate,
    start_of_china_day,
)

CODE_DIGITS = 6
SALT_BYTES = 16


class CodeNotAcceptedError(Exception):
    """The one refusal an anonymous caller gets, whatever the reason."""


@dataclass(frozen=True, slots=True)
class IssuedCode:
    recipients: int
    expires_at: datetime


def code_hash(salt: bytes, visit_id: str, code: str) -> bytes:
    return hmac.new(salt, f"{visit_id}:{code}".encode(), hashlib.sha256).digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _state(row: asyncpg.Record | None) -> CodeState | None:
    if row is None:
        return None
    return CodeState(
        sends=row["sends"],
        attempts=row["attempts"],
        expires_at=row["expires_at"],
        used=row["used_at"] is not None,
    )


async def issue(
    conn: asyncpg.Connection,
    visit_id: str,
    guardian_refs: list[str],
    *,
    issued_by: str,
    now: datetime,
    rules: CodeRules,
    code: str | None = None,
) -> IssuedCode:
    """Send a new code to every guardian, replacing the visit's earlier one (its attempts
    stay), or raise ``CodeSendRefusedError``. Call inside a transaction."""
    code = code or new_code()
    # The visit's row locked (made first if need be) so that concurrent sends count one by one.
    await conn.execute(
        """INSERT INTO family_codes (visit_id, code_hash, salt, expires_at, sends)
           VALUES ($1, '', '', '-infinity', 0) ON CONFLICT (visit_id) DO NOTHING""",
        visit_id,
    )
    row = await conn.fetchrow(
        "SELECT sends, attempts, expires_at, used_at FROM family_codes"
        " WHERE visit_id = $1 FOR UPDATE",
        visit_id,
    )
    resent_today = await conn.fetchval(
        "SELECT count(*) FROM family_code_sends WHERE issued_by = $1 AND resend AND sent_at >= $2",
        issued_by,
        start_of_china_day(now),
    )
    state = _state(row) or CodeState()
    new = decide_send(state, resent_today_by_issuer=resent_today, rules=rules, now=now)
    assert new.expires_at is not None
    salt = secrets.token_bytes(SALT_BYTES)
    await conn.execute(
        """UPDATE family_codes SET code_hash = $2, salt = $3, expires_at = $4, sends = $5
           WHERE visit_id = $1""",
        visit_id,
        code_hash(salt, visit_id, code),
        salt,
        new.expires_at,
        new.sends,
    )
    await conn.execute(
        "INSERT INTO family_code_sends (visit_id, issued_by, sent_at, resend)"
        " VALUES ($1, $2, $3, $4)",
        visit_id,
        issued_by,
        now,
        new.sends > 1,
    )
    until = f"{new.expires_at:%m-%d}"
    message = (
        f"您好，老师记录了一次家访。如家访属实，请输入确认码 {code}（{until} 前有效）。"
        " 学校不会因家访收取任何礼品礼金。"
    )
    await conn.executemany(
        "INSERT INTO family_inbox (guardian_ref, visit_id, message) VALUES ($1, $2, $3)",
        [(g, visit_id, message) for g in guardian_refs],
    )
    return IssuedCode(len(guardian_refs), new.expires_at)


async def _locked_guess(
    conn: asyncpg.Connection, visit_id: str, code: str, *, now: datetime, rules: CodeRules
) -> tuple[CodeState, bool] | None:
    """The visit's code state, locked (``FOR UPDATE``: concurrent guesses are serialised), and
    whether ``code`` matches it; None when the rules allow no guess to be evaluated."""
    row = await conn.fetchrow(
        "SELECT sends, attempts, expires_at, used_at, code_hash, salt FROM family_codes"
        " WHERE visit_id = $1 FOR UPDATE",
        visit_id,
    )
    state = _state(row)
    if row is None or state is None or not may_evaluate(state, rules=rules, now=now):
        return None
    return state, hmac.compare_digest(row["code_hash"], code_hash(row["salt"], visit_id, code))


async def check(
    conn: asyncpg.Connection, visit_id: str, code: str, *, now: datetime, rules: CodeRules
) -> bool:
    """Evaluate one guess, if the rules allow evaluating it at all, and count a wrong one:
    whether it is the visit's valid code. Run in a transaction of its own, committed whatever
    the answer: the row lock serialises concurrent guesses, so no two see the same count."""
    guess = await _locked_guess(conn, visit_id, code, now=now, rules=rules)
    if guess is None:
        return False
    state, matched = guess
    if not after_guess(state, matched=matched).used:
        await conn.execute(
            "UPDATE family_codes SET attempts = attempts + 1 WHERE visit_id = $1", visit_id
        )
    return matched


async def use(
    conn: asyncpg.Connection, visit_id: str, code: str, *, now: datetime, rules: CodeRules
) -> None:
    """Use the code, inside the confirming transaction (so that a code is used up exactly when
    the confirmation is recorded); ``CodeNotAcceptedError`` if it stopped being valid since
    ``check`` (a concurrent confirmation, or the code was replaced: no new guess is counted)."""
    guess = await _locked_guess(conn, visit_id, code, now=now, rules=rules)
    if guess is None or not guess[1]:
        raise CodeNotAcceptedError
    await conn.execute("UPDATE family_codes SET used_at = $2 WHERE visit_id = $1", visit_id, now)
