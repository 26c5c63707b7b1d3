"""The committees service's refusals: each names the field and the rule it broke (problem+json
at the API)."""

from __future__ import annotations

from tongxin_platform.domain import DomainError, NotAllowedError, NotFoundError


class CommitteesError(DomainError):
    """422: a command the rules refuse."""


class UnknownRecordError(CommitteesError, NotFoundError):
    """404: no such committee, member, feedback item, meeting or parent school (or not one the
    caller may see)."""


class NotEntitledError(CommitteesError, NotAllowedError):
    """403: the caller does not hold what the rule needs here (e.g. not a member of this
    committee)."""
