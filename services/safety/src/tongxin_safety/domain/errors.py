"""Safety's refusals: each names the field and the rule it broke (problem+json at the API)."""

from __future__ import annotations

from tongxin_platform.domain import DomainError, NotAllowedError, NotFoundError


class SafetyError(DomainError):
    """422: a command the rules refuse."""


class UnknownRecordError(SafetyError, NotFoundError):
    """404: no such file, pairing, post, shift, inspection, hazard, incident or referral (or not
    one the caller may see)."""


class NotEntitledError(SafetyError, NotAllowedError):
    """403: the caller does not hold what the rule needs here (e.g. not the paired carer)."""
