"""The rules of a family's one-time confirmation code, as pure decisions.

A code is the family's evidence that a visit took place, so the teacher who recorded the visit
must not be able to guess it by re-sending. The rules:

- **Budget per visit, not per code.** At most ``max_attempts`` wrong codes are ever evaluated
  for a visit; a re-sent code inherits the visit's count. Once the budget is spent the visit is
  locked for family confirmation, for good: nothing unlocks it. The visit can still be
  confirmed by a co-visitor (``POST /visits/{id}/confirm``), who is never its recorder.
- **Re-sends are limited** per visit (``sends_per_visit`` codes in all, the first included) and
  per issuing staff member per day in China (``resends_per_day``: a visit's second or later
  code; first codes are bounded by the visits recorded). The daily limit says when it opens.
- **A code works once, until it expires.** An expired, used or locked code is not evaluated.

The application stores the state (``family_codes``) and compares the code's salted hash; these
functions say what may happen and what the state becomes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tongxin_contracts.calendar import CHINA, china_date
from tongxin_visits.domain.model import VisitsError


@dataclass(frozen=True, slots=True)
class CodeRules:
    max_attempts: int = 5  # wrong codes evaluated per visit, over all its codes
    sends_per_visit: int = 3  # codes sent for one visit, the first included
    resends_per_day: int = 10  # second or later codes one staff member sends per day in China
    valid_for: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CodeState:
    """A visit's family code: how many were sent, how many wrong ones were evaluated."""

    sends: int = 0
    attempts: int = 0
    expires_at: datetime | None = None
    used: bool = False

    def locked(self, rules: CodeRules) -> bool:
        return self.attempts >= rules.max_attempts


class CodeSendRefusedError(VisitsError):
    """A code may not be sent now. ``status`` 409 for a visit that will never take one, 429
    for a limit (``retry_after`` seconds when the limit opens again, else ``None``)."""

    def __init__(
        self, message: str, rule: str, status: int, retry_after: int | None = None
    ) -> None:
        super().__init__(message, "visit_id", rule)
        self.status = status
        self.retry_after = retry_after


def decide_send(
    state: CodeState, *, resent_today_by_issuer: int, rules: CodeRules, now: datetime
) -> CodeState:
    """The state after sending a new code, or ``CodeSendRefusedError``. The new code replaces the
    old one; the attempts are the visit's and stay."""
    if state.used:
        raise CodeSendRefusedError(
            "the family has already confirmed this visit", "family_code.used", 409
        )
    if state.locked(rules):
        raise CodeSendRefusedError(
            f"{state.attempts} wrong codes were tried: the visit is locked for family"
            " confirmation; a co-visitor can confirm it",
            "family_code.locked",
            409,
        )
    if state.sends >= rules.sends_per_visit:
        raise CodeSendRefusedError(
            f"{state.sends} codes were already sent for this visit (at most"
            f" {rules.sends_per_visit}); a co-visitor can confirm it",
            "family_code.sends_per_visit",
            429,
        )
    if state.sends > 0 and resent_today_by_issuer >= rules.resends_per_day:
        raise CodeSendRefusedError(
            f"{resent_today_by_issuer} codes were re-sent by you today (at most"
            f" {rules.resends_per_day} a day)",
            "family_code.resends_per_day",
            429,
            retry_after=seconds_to_next_china_day(now),
        )
    return replace(state, sends=state.sends + 1, expires_at=now + rules.valid_for)


def may_evaluate(state: CodeState | None, *, rules: CodeRules, now: datetime) -> bool:
    """Whether a guess is compared with the code at all: a code exists, is unused, unexpired
    and the visit is not locked. A guess that is not evaluated changes nothing."""
    return (
        state is not None
        and not state.used
        and not state.locked(rules)
        and state.expires_at is not None
        and now <= state.expires_at
    )


def after_guess(state: CodeState, *, matched: bool) -> CodeState:
    """The state after an evaluated guess: used when it matched, one attempt more if not."""
    return replace(state, used=True) if matched else replace(state, attempts=state.attempts + 1)


def start_of_china_day(now: datetime) -> datetime:
    d = china_date(now)
    return datetime(d.year, d.month, d.day, tzinfo=CHINA)


def seconds_to_next_china_day(now: datetime) -> int:
    nxt = start_of_china_day(now) + timedelta(days=1)
    return max(1, int((nxt - now).total_seconds()) + 1)
