"""The visits board records the school's answers to the parents' suggestions made at visits
(committees' ``ParentFeedbackAnswered`` carrying the visit): decision, day, on time, by
suggestion — no text; an answer on another channel (no visit) is not the board's. Folded the
same whichever way the events are batched, so a replay rebuilds it."""

from __future__ import annotations

from datetime import date

from tests.unit.test_roster_and_board_projections import folded_every_way
from tongxin_contracts import Sealed
from tongxin_contracts.events.committees import AnswerDecision, Channel, ParentFeedbackAnswered
from tongxin_visits.projections.board import BOARD

ANSWER = Sealed(subject="school-sch_1", key_id="k", nonce="n", ciphertext="c")


def answered(
    item_id: str, suggestion_id: str | None, visit_id: str | None, on: date, on_time: bool
) -> ParentFeedbackAnswered:
    return ParentFeedbackAnswered(
        district="110105",
        item_id=item_id,
        school_id="sch_1",
        channel=Channel.home_visit if visit_id else Channel.hotline,
        decision=AnswerDecision.partly_adopted,
        answered_on=on,
        due_on=date(2026, 10, 20),
        on_time=on_time,
        answered_by="stf_1",
        visit_id=visit_id,
        suggestion_id=suggestion_id,
        answer=ANSWER,
    )


async def test_the_board_shows_a_visits_suggestion_answered_and_ignores_other_channels() -> None:
    rows = await folded_every_way(
        BOARD,
        [
            answered("it_1", "sg_1", "v_1", date(2026, 10, 18), True),
            answered("it_2", None, None, date(2026, 10, 19), True),
            answered("it_3", "sg_3", "v_1", date(2026, 10, 25), False),
        ],
    )
    table = rows["suggestions_answered"]
    assert set(table) == {("sg_1",), ("sg_3",)}
    assert table[("sg_1",)] == {
        "suggestion_id": "sg_1",
        "visit_id": "v_1",
        "item_id": "it_1",
        "decision": "partly_adopted",
        "answered_on": date(2026, 10, 18),
        "on_time": True,
    }
    assert table[("sg_3",)]["on_time"] is False


def test_the_board_reads_the_committees_topic() -> None:
    assert "committees" in BOARD.sources
