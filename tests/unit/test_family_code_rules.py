"""The family code's rules, as pure decisions: a visit's attempt budget survives re-sends, a
locked visit stays locked, re-sends are limited per visit and per staff member a day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin_visits.domain.family_code import (
    CodeRules,
    CodeSendRefusedError,
    CodeState,
    after_guess,
    decide_send,
    may_evaluate,
    seconds_to_next_china_day,
)

RULES = CodeRules(max_attempts=5, sends_per_visit=3, resends_per_day=10)
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in China


def sent(state: CodeState | None = None, now: datetime = NOW) -> CodeState:
    return decide_send(state or CodeState(), resent_today_by_issuer=0, rules=RULES, now=now)


def test_a_re_sent_code_keeps_the_visits_wrong_tries() -> None:
    # given a code and four wrong tries
    state = sent()
    for _ in range(4):
        assert may_evaluate(state, rules=RULES, now=NOW)
        state = after_guess(state, matched=False)
    # when the code is sent again
    state = sent(state)
    # then one more wrong try locks the visit
    assert state.attempts == 4
    state = after_guess(state, matched=False)
    assert state.locked(RULES)
    assert not may_evaluate(state, rules=RULES, now=NOW)


def test_a_locked_visit_takes_no_new_code() -> None:
    # given a visit locked after five wrong tries
    state = sent()
    for _ in range(5):
        state = after_guess(state, matched=False)
    # when the teacher asks for a new code, then it is refused for good (409, no retry)
    with pytest.raises(CodeSendRefusedError) as refused:
        sent(state)
    assert (refused.value.status, refused.value.rule) == (409, "family_code.locked")
    assert refused.value.retry_after is None
    assert "co-visitor" in str(refused.value)


def test_a_visit_is_sent_at_most_three_codes() -> None:
    state = sent(sent(sent()))
    with pytest.raises(CodeSendRefusedError) as refused:
        sent(state)
    assert (refused.value.status, refused.value.rule) == (429, "family_code.sends_per_visit")
    assert refused.value.retry_after is None


def test_a_staff_member_re_sends_at_most_so_many_codes_a_day_and_learns_when_again() -> None:
    # given a visit sent one code, and a teacher who re-sent ten codes today
    once = sent()
    # when they re-send this one, then it waits for the next day in China
    with pytest.raises(CodeSendRefusedError) as refused:
        decide_send(once, resent_today_by_issuer=10, rules=RULES, now=NOW)
    assert (refused.value.status, refused.value.rule) == (429, "family_code.resends_per_day")
    # 14:00 in China: the day turns in ten hours
    assert refused.value.retry_after == 10 * 3600 + 1
    assert decide_send(once, resent_today_by_issuer=9, rules=RULES, now=NOW).sends == 2
    # a visit's first code is no re-send: the visits recorded bound those
    first = decide_send(CodeState(), resent_today_by_issuer=10, rules=RULES, now=NOW)
    assert first.sends == 1


def test_the_china_day_turns_at_16_utc() -> None:
    assert seconds_to_next_china_day(datetime(2026, 11, 28, 15, 59, 30, tzinfo=UTC)) == 31
    assert seconds_to_next_china_day(datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == 86401


def test_a_used_code_is_neither_evaluated_nor_re_sent() -> None:
    state = after_guess(sent(), matched=True)
    assert state.used
    assert state.attempts == 0
    assert not may_evaluate(state, rules=RULES, now=NOW)
    with pytest.raises(CodeSendRefusedError) as refused:
        sent(state)
    assert refused.value.rule == "family_code.used"


def test_an_expired_code_is_not_evaluated_and_costs_no_try() -> None:
    state = sent()
    assert state.expires_at == NOW + RULES.valid_for
    later = NOW + RULES.valid_for + timedelta(seconds=1)
    assert not may_evaluate(state, rules=RULES, now=later)
    assert not may_evaluate(None, rules=RULES, now=NOW), "no code: nothing to evaluate"


# --- property: no sequence of sends, guesses and waiting evaluates more than the budget ---------


@dataclass
class Visit:
    state: CodeState = field(default_factory=CodeState)
    code: int = 0
    evaluated: int = 0
    resent_today: int = 0
    now: datetime = NOW


Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 999_999)),  # the new code
        st.tuples(st.just("guess"), st.integers(0, 999_999)),
        st.tuples(st.just("wait"), st.integers(0, 10 * 24 * 3600)),  # seconds
    ),
    max_size=80,
)


def play(visit: Visit, step: Step, rules: CodeRules) -> None:
    kind, value = step
    if kind == "send":
        try:
            visit.state = decide_send(
                visit.state, resent_today_by_issuer=visit.resent_today, rules=rules, now=visit.now
            )
        except CodeSendRefusedError:
            return
        visit.code = value
        visit.resent_today += int(visit.state.sends > 1)
    elif kind == "guess":
        if may_evaluate(visit.state, rules=rules, now=visit.now):
            visit.evaluated += 1
            visit.state = after_guess(visit.state, matched=value == visit.code)
    else:
        visit.now += timedelta(seconds=value)
        if value > 24 * 3600:
            visit.resent_today = 0


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 8), st.integers(1, 5))
def test_no_sequence_of_re_sends_and_guesses_evaluates_more_than_the_budget(
    script: list[Step], max_attempts: int, sends_per_visit: int
) -> None:
    rules = CodeRules(max_attempts=max_attempts, sends_per_visit=sends_per_visit, resends_per_day=2)
    visit = Visit()
    for step in script:
        play(visit, step, rules)
        assert visit.state.attempts <= rules.max_attempts
        assert visit.state.sends <= rules.sends_per_visit
        # every evaluated guess is a counted wrong one, or the one that matched
        assert visit.evaluated == visit.state.attempts + int(visit.state.used)
        assert visit.evaluated <= rules.max_attempts


@settings(max_examples=200, deadline=None)
@given(steps)
def test_once_locked_a_visit_stays_locked(script: list[Step]) -> None:
    visit = Visit()
    play(visit, ("send", 1), RULES)
    for _ in range(RULES.max_attempts):
        play(visit, ("guess", 2), RULES)
    assert visit.state.locked(RULES)
    for step in script:
        play(visit, step, RULES)
        assert visit.state.locked(RULES)
        assert not visit.state.used
