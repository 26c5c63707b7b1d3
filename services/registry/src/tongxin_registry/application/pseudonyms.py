"""Pseudonyms for people: stable across re-imports, meaningless without the district's secret.

A keyed hash (HMAC-SHA256) of the identifier the school system knows (学籍号, a guardian's
phone, a staff number). The wire never carries the identifier itself. Whoever knows the secret
recomputes every pseudonym from a student number or a phone number, so the registry refuses to
start on the published development secret outside development (``RegistrySettings.pseudonym_key``).
"""

from __future__ import annotations

import hmac


class Pseudonymizer:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the pseudonym secret must be at least 16 bytes")
        self._secret = secret

    def _ref(self, prefix: str, kind: str, district: str, identifier: str) -> str:
        msg = f"{kind}:{district}:{identifier.strip()}".encode()
        return prefix + hmac.digest(self._secret, msg, "sha256").hex()[:20]

    def student(self, district: str, student_id: str) -> str:
        return self._ref("stu_", "student", district, student_id)

    def guardian(self, district: str, phone: str) -> str:
        return self._ref("gdn_", "guardian", district, phone)

    def staff(self, district: str, staff_id: str) -> str:
        return self._ref("stf_", "staff", district, staff_id)
