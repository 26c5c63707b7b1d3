"""Refusals a domain can state, for every service alike: pure (no I/O, no framework), so a
service's ``domain`` package may import this module and nothing else of the platform.

The HTTP edge turns them into problem+json naming ``field`` and ``rule``: a ``DomainError`` is a
422, ``NotFoundError`` a 404, ``NotAllowedError`` a 403, ``ConflictError`` a 409.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command the domain refuses. ``field`` names what to correct (a JSON path into the
    request, e.g. ``visitors.0.role``), ``rule`` the rule that refused it (e.g.
    ``integrity_attestation``); either may be empty. ``extra``: further members of the problem
    (e.g. the ids a rule found missing), JSON values."""

    status = 422

    def __init__(self, message: str, field: str = "", rule: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.extra = extra


class NotFoundError(DomainError):
    """The command names something that does not exist (a visit, a class, a student)."""

    status = 404


class NotAllowedError(DomainError):
    """The caller is not the person the rule asks for (e.g. confirming one's own visit)."""

    status = 403


class ConflictError(DomainError):
    """The command contradicts the current state in a way a retry will not fix by itself."""

    status = 409
