"""One-way marks: how the city counts a person once without keeping who.

``mark(key, district, ref)`` is ``HMAC-SHA256(key, "{district}|{ref}")`` in hex, cut to 32
characters. The same student of the same district always has the same mark, so a student
visited twice is counted once; in another district the same pseudonym has an unrelated mark;
and without the key nobody can test a pseudonym against a mark. Pure: the key is given.
"""

from __future__ import annotations

import hashlib
import hmac

MARK_LENGTH = 32


def mark(key: bytes, district: str, ref: str) -> str:
    """The mark of ``ref`` (a student's or staff member's pseudonym) in ``district``."""
    if not key:
        raise ValueError("a mark needs a key")
    digest = hmac.new(key, f"{district}|{ref}".encode(), hashlib.sha256).hexdigest()
    return digest[:MARK_LENGTH]
