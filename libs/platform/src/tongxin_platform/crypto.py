"""Per-subject encryption of personal data (envelope encryption, crypto-shredding).

Each data subject (a student, a guardian's child record, a staff member) gets a random 256-bit
data key stored in ``subject_keys``. Personal fields are sealed with AES-256-GCM under that key
before they enter an event; the subject reference is bound as associated data, so a ciphertext
cannot be moved to another subject. Erasing a subject deletes the key: the ciphertext stays in
the immutable log (and in the hash chain) but can never be opened again.

Data keys are stored wrapped (``tongxin_platform.keyring``): AES-256-GCM under a master key held
outside the database, tagged with that key's id. A dump of the database alone opens nothing;
erasing a subject still deletes its (wrapped) key. Rows written before wrapping existed
(``master_key_id`` NULL) are wrapped when the service's database is prepared (``wrap_plain_keys``);
after a master key rotation ``rewrap`` moves every data key to the current master key.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tongxin_contracts import Sealed
from tongxin_platform.keyring import Keyring, default_keyring


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


def _context(subject: str, key_id: uuid.UUID) -> bytes:
    """What a wrapped key is bound to: its row (subject and key id)."""
    return f"tongxin-subject-key\x00{subject}\x00{key_id}".encode()


def unwrap_row(keyring: Keyring, row: Mapping[str, Any]) -> bytes:
    """The data key of a ``subject_keys`` row (subject, key_id, data_key, master_key_id)."""
    master = row["master_key_id"]
    if master is None:
        raise SubjectKeyNotWrappedError(
            f"the data key of {row['subject']} is not wrapped yet: start the service (it wraps "
            "them) or run `tongxin-<service> keys rewrap`"
        )
    return keyring.unwrap(master, bytes(row["data_key"]), _context(row["subject"], row["key_id"]))


class SubjectKeyNotWrappedError(RuntimeError):
    """A data key stored in clear (before wrapping existed) was read before being wrapped."""


class KeyStore:
    """Data keys per subject in the service's database, wrapped by the keyring's master key."""

    def __init__(self, keyring: Keyring | None = None) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = default_keyring()
        return self._keyring

    async def keys_for(
        self, conn: asyncpg.Connection | asyncpg.Pool, subjects: list[str]
    ) -> dict[str, tuple[uuid.UUID, bytes]]:
        """The key of each subject, created if missing (in the caller's transaction)."""
        keyring = self.keyring
        fresh, plain = [], {}
        for s in subjects:
            key_id, key = uuid.uuid4(), os.urandom(32)
            master, wrapped = keyring.wrap(key, _context(s, key_id))
            fresh.append((s, key_id, wrapped, master))
            plain[key_id] = key
        inserted = await conn.fetch(
            """INSERT INTO subject_keys (subject, key_id, data_key, master_key_id)
               SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[], $4::text[])
               ON CONFLICT (subject) DO NOTHING RETURNING subject, key_id""",
            [f[0] for f in fresh],
            [f[1] for f in fresh],
            [f[2] for f in fresh],
            [f[3] for f in fresh],
        )
        # The keys inserted just now are known; only those that were there are read back and
        # unwrapped (a bulk import of new subjects then reads nothing back).
        keys = {r["subject"]: (r["key_id"], plain[r["key_id"]]) for r in inserted}
        there = [s for s in subjects if s not in keys]
        if there:
            rows = await conn.fetch(
                """SELECT subject, key_id, data_key, master_key_id FROM subject_keys
                   WHERE subject = ANY($1::text[])""",
                there,
            )
            keys.update({r["subject"]: (r["key_id"], unwrap_row(keyring, r)) for r in rows})
        return keys

    async def seal(
        self, conn: asyncpg.Connection | asyncpg.Pool, subject: str, data: dict[str, Any]
    ) -> Sealed:
        key_id, key = (await self.keys_for(conn, [subject]))[subject]
        return seal_with(key_id, key, subject, data)

    async def key(self, conn: asyncpg.Connection | asyncpg.Pool, sealed: Sealed) -> bytes:
        """The data key ``sealed`` was sealed with; ``SubjectErasedError`` once erased."""
        row = await conn.fetchrow(
            """SELECT subject, key_id, data_key, master_key_id FROM subject_keys
               WHERE key_id = $1""",
            uuid.UUID(sealed.key_id),
        )
        if row is None:
            raise SubjectErasedError(f"subject {sealed.subject} has been erased")
        return unwrap_row(self.keyring, row)

    async def open(self, conn: asyncpg.Connection | asyncpg.Pool, sealed: Sealed) -> dict[str, Any]:
        return open_with(await self.key(conn, sealed), sealed)

    async def open_many(
        self, conn: asyncpg.Connection | asyncpg.Pool, sealed: Sequence[Sealed]
    ) -> list[dict[str, Any] | None]:
        """Each of ``sealed`` opened, ``None`` where its subject was erased: one query for all
        the keys (a page of a roster is one round trip, not one per student)."""
        ids = list({uuid.UUID(s.key_id) for s in sealed})
        rows = await conn.fetch(
            """SELECT subject, key_id, data_key, master_key_id FROM subject_keys
               WHERE key_id = ANY($1::uuid[])""",
            ids,
        )
        keys = {str(r["key_id"]): unwrap_row(self.keyring, r) for r in rows}
        return [open_with(keys[s.key_id], s) if s.key_id in keys else None for s in sealed]

    async def erase(self, conn: asyncpg.Connection | asyncpg.Pool, subject: str) -> bool:
        return (
            await conn.fetchval(
                "DELETE FROM subject_keys WHERE subject = $1 RETURNING true", subject
            )
            is not None
        )


async def rewrap(conn: asyncpg.Connection, keyring: Keyring, *, batch: int = 1000) -> int:
    """Wrap every data key not under the keyring's current master key with it (clear legacy rows
    included); return how many were rewrapped. Batches of ``batch`` rows, one transaction each,
    so a large table never holds its locks long; safe to run while the service runs. Rows another
    process is rewrapping are waited for (not skipped): when this returns, none is left."""
    return await _rewrap(conn, keyring, "master_key_id IS DISTINCT FROM $1", batch)


async def wrap_plain_keys(conn: asyncpg.Connection, keyring: Keyring) -> int:
    """Wrap the data keys stored in clear (written before wrapping existed); return how many."""
    return await _rewrap(conn, keyring, "master_key_id IS NULL AND $1::text IS NOT NULL", 1000)


async def _rewrap(conn: asyncpg.Connection, keyring: Keyring, where: str, batch: int) -> int:
    current, done = keyring.current_id, 0
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                f"""SELECT subject, key_id, data_key, master_key_id FROM subject_keys
                    WHERE {where} LIMIT $2 FOR UPDATE""",
                current,
                batch,
            )
            if not rows:
                return done
            updates = []
            for r in rows:
                plain = (
                    bytes(r["data_key"]) if r["master_key_id"] is None else unwrap_row(keyring, r)
                )
                master, wrapped = keyring.wrap(plain, _context(r["subject"], r["key_id"]))
                updates.append((r["subject"], wrapped, master))
            await conn.executemany(
                "UPDATE subject_keys SET data_key = $2, master_key_id = $3 WHERE subject = $1",
                updates,
            )
            done += len(rows)


async def key_counts(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
    """How many data keys each master key wraps (``"clear"``: not wrapped yet)."""
    rows = await conn.fetch(
        """SELECT coalesce(master_key_id, 'clear') AS master, count(*) AS n
           FROM subject_keys GROUP BY 1 ORDER BY 1"""
    )
    return {r["master"]: r["n"] for r in rows}
