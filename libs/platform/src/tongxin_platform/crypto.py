"""Per-subject encryption of personal data (envelope encryption, crypto-shredding).

Each data subject (a student, a guardian's child record, a staff member) gets a random 256-bit
data key stored in ``subject_keys``. Personal fields are sealed with AES-256-GCM under that key
before they enter an event; the subject reference is bound as associated data, so a ciphertext
cannot be moved to another subject. Erasing a subject deletes the key: the ciphertext stays in
the immutable log (and in the hash chain) but can never be opened again.

Keys are wrapped by nothing yet: the database holding ``subject_keys`` must be protected like the
keys themselves. (A KMS master key is the next step; the API does not change.)
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tongxin_contracts import Sealed


class SubjectErasedError(LookupError):
    """The subject's key is gone: their personal data can no longer be read."""


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def seal_with(key_id: uuid.UUID, key: bytes, subject: str, data: dict[str, Any]) -> Sealed:
    nonce = os.urandom(12)
    plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    ct = AESGCM(key).encrypt(nonce, plain, subject.encode())
    # Every field is built right here, so validation would only cost time.
    return Sealed.model_construct(
        subject=subject, key_id=str(key_id), nonce=_b64(nonce), ciphertext=_b64(ct)
    )


def open_with(key: bytes, sealed: Sealed) -> dict[str, Any]:
    plain = AESGCM(key).decrypt(
        _unb64(sealed.nonce), _unb64(sealed.ciphertext), sealed.subject.encode()
    )
    data: dict[str, Any] = json.loads(plain)
    return data


class KeyStore:
    """Data keys per subject in the service's database."""

    async def keys_for(
        self, conn: asyncpg.Connection | asyncpg.Pool, subjects: list[str]
    ) -> dict[str, tuple[uuid.UUID, bytes]]:
        """The key of each subject, created if missing (in the caller's transaction)."""
        fresh = [(s, uuid.uuid4(), os.urandom(32)) for s in subjects]
        await conn.execute(
            """INSERT INTO subject_keys (subject, key_id, data_key)
               SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[])
               ON CONFLICT (subject) DO NOTHING""",
            [f[0] for f in fresh],
            [f[1] for f in fresh],
            [f[2] for f in fresh],
        )
        rows = await conn.fetch(
            "SELECT subject, key_id, data_key FROM subject_keys WHERE subject = ANY($1::text[])",
            subjects,
        )
        return {r["subject"]: (r["key_id"], bytes(r["data_key"])) for r in rows}

    async def seal(
        self, conn: asyncpg.Connection | asyncpg.Pool, subject: str, data: dict[str, Any]
    ) -> Sealed:
        key_id, key = (await self.keys_for(conn, [subject]))[subject]
        return seal_with(key_id, key, subject, data)

    async def open(self, conn: asyncpg.Connection | asyncpg.Pool, sealed: Sealed) -> dict[str, Any]:
        row = await conn.fetchrow(
            "SELECT data_key FROM subject_keys WHERE key_id = $1", uuid.UUID(sealed.key_id)
        )
        if row is None:
            raise SubjectErasedError(f"subject {sealed.subject} has been erased")
        return open_with(bytes(row["data_key"]), sealed)

    async def erase(self, conn: asyncpg.Connection | asyncpg.Pool, subject: str) -> bool:
        return (
            await conn.fetchval(
                "DELETE FROM subject_keys WHERE subject = $1 RETURNING true", subject
            )
            is not None
        )
