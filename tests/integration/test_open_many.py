"""Opening many sealed values at once: one query for their keys, ``None`` where the subject was
erased (a roster page opens every student's special groups this way)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tongxin_platform.crypto import KeyStore
from tongxin_platform.keyring import LocalKeyring


async def test_open_many_opens_each_and_answers_none_for_the_erased(
    migrated_db: str, tmp_path: Path
) -> None:
    store = KeyStore(LocalKeyring.create(tmp_path / "keyring"))
    conn = await asyncpg.connect(migrated_db)
    try:
        a = await store.seal(conn, "student-a", {"groups": ["left_behind"]})
        a2 = await store.seal(conn, "student-a", {"name": "甲"})
        b = await store.seal(conn, "student-b", {"groups": []})
        assert await store.erase(conn, "student-b")
        assert await store.open_many(conn, [a, b, a2]) == [
            {"groups": ["left_behind"]},
            None,
            {"name": "甲"},
        ]
        assert await store.open_many(conn, []) == []
    finally:
        await conn.close()
