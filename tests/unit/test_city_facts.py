"""The city's facts folded in memory from the city's world (the kit's in-memory tables): the
roster and every dated fact the KPIs count, students only as marks, no person anywhere; a batch
and one event at a time give the same rows; without a key nothing is folded."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest
from pydantic import SecretStr

from tests.support.agencies_fold import Rows, fold_rows, one_by_one
from tests.support.agencies_world import World
from tests.support.city_world import city_world, people_refs
from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_city.domain.marks import mark
from tongxin_city.projections.facts import FACTS
from tongxin_city.projections.facts_mark import MARK
from tongxin_contracts.calendar import china_date
from tongxin_contracts.events import registry as rg
from tongxin_contracts.events import safety as sf
from tongxin_contracts.events import visits as vs
from tongxin_platform.worker import Worker

KEY = b"unit-test-key-of-the-city-marks-0123"


@pytest.fixture(autouse=True)
def _key() -> None:
    MARK.key = KEY


@cache
def world() -> World:
    return city_world()


def folded() -> Rows:
    MARK.key = KEY
    return fold_rows(FACTS, world().events)


def test_the_roster_counts_every_current_student_by_district_as_a_mark() -> None:
    # given the city's world folded into the facts
    rows = folded()["students"]
    w = world()
    left = {e.student_ref for e in w.of(rg.StudentLeft)}
    # then each district's enrolled students are its students less those who left
    enrolled = Counter(r["district"] for r in rows.values() if r["enrolled"])
    expected: Counter[str] = Counter()
    for e in w.of(rg.StudentEnrolled):
        if e.student_ref not in left:
            expected[e.district] += 1
    assert enrolled == expected
    # and every student is keyed by the mark of its pseudonym in its district
    marks = {mark(KEY, e.district, e.student_ref) for e in w.of(rg.StudentEnrolled)}
    assert {k[0] for k in rows} == marks


def test_a_completed_visit_is_kept_with_its_mark_mode_and_china_day() -> None:
    rows = folded()["visits"]
    for e in world().of(vs.VisitCompleted):
        row = rows[(e.visit_id,)]
        assert row["mark"] == mark(KEY, e.district, e.student_ref)
        assert row["mode"] == e.mode.value
        assert row["visited_on"] == china_date(e.started_at)


def test_a_guard_shift_is_completed_whichever_event_comes_first() -> None:
    rows = folded()["guard_shifts"]
    done = {e.shift_id for e in world().of(sf.GuardShiftCompleted)}
    assert done
    assert {k[0] for k, r in rows.items() if r["completed"]} == done


def test_no_row_of_the_facts_holds_a_persons_pseudonym() -> None:
    # given every person named in the world's events
    refs = people_refs(world().events)
    assert len(refs) > 100
    # when every value of every row of every table is read as text
    text = "\n".join(
        repr(v) for table in folded().values() for row in table.values() for v in row.values()
    )
    # then no pseudonym occurs in it
    assert sorted(r for r in refs if r in text) == []


def test_a_batch_and_one_event_at_a_time_give_the_same_facts() -> None:
    assert folded() == one_by_one(FACTS, world().events)


def test_the_worker_configures_the_key_from_the_settings() -> None:
    # given the city's settings with a key of their own
    settings = CitySettings(mark_key=SecretStr("a-settings-key-of-the-city-0123456789"))
    # when the city's worker is declared with them (nothing started)
    worker = Worker(SERVICE, settings)
    # then the facts mark with the settings' key, and so does the worker's ledger
    assert MARK.key == b"a-settings-key-of-the-city-0123456789"
    stream_ids = worker.ledgers.stream_ids
    assert stream_ids is not None
    assert stream_ids("care_file:stu-1") == mark(MARK.key, "stream", "care_file:stu-1")


def test_without_a_key_nothing_is_folded() -> None:
    # given no key
    MARK.key = None
    # when a student's enrolment is folded
    # then the handler refuses, naming the missing key
    with pytest.raises(RuntimeError, match="mark key"):
        FACTS.fold(world().of(rg.StudentEnrolled)[:1])
