"""Wellbeing's refusals: each names the field and the rule it broke (problem+json at the API)."""

from __future__ import annotations

from tongxin_platform.domain import DomainError, NotAllowedError, NotFoundError


class WellbeingError(DomainError):
    """422: a command the rules refuse."""


class UnknownRecordError(WellbeingError, NotFoundError):
    """404: no such campaign, proposal, plan or referral (or not one the caller may see)."""


class NotEntitledError(WellbeingError, NotAllowedError):
    """403: the caller does not hold the role the rule needs here (e.g. a sign-off)."""
