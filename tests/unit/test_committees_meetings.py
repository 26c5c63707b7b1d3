"""Meetings' rules: committees of the school only, a parent meeting's scope and attendance, a
head teacher's own class, reception by the school's leaders, the figures per school year; and
no event of the committees service has a field that could rank a student."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from tongxin_committees.domain.errors import CommitteesError
from tongxin_committees.domain.meetings import (
    Held,
    Joint,
    MeetingKind,
    OpenDay,
    Parent,
    Reception,
    Recorder,
    RecordMeeting,
    SchoolFacts,
    committee_streams,
    decide_meeting,
    district_figures,
)
from tongxin_contracts.events import committees as contract
from tongxin_contracts.events.committees import (
    CommitteeFormed,
    CommitteeLevel,
    JointMeetingHeld,
    MeetingScope,
    ParentMeetingHeld,
    committee_stream,
)
from tongxin_platform.domain import ConflictError

NOW = datetime(2026, 11, 20, 4, tzinfo=UTC)
FACTS = SchoolFacts({"c1": 1, "c2": 1, "c3": 2}, frozenset({"p1", "m1"}))
MANAGER = Recorder("p1")


def formed(committee_id: str, school_id: str | None) -> CommitteeFormed:
    return CommitteeFormed(
        district="110101",
        committee_id=committee_id,
        school_id=school_id,
        level=CommitteeLevel.school if school_id else CommitteeLevel.district,
        seats=5,
        term_start=date(2026, 9, 1),
        term_end=date(2029, 8, 31),
        formed_on=date(2026, 9, 10),
        formed_by="p1",
    )


HISTORIES = {
    committee_stream("k1"): [formed("k1", "s1")],
    committee_stream("k9"): [formed("k9", "s9")],
    committee_stream("kd"): [formed("kd", None)],
}


def meeting(
    details: object, recorder: Recorder = MANAGER, held_on: date = date(2026, 11, 1)
) -> RecordMeeting:
    return RecordMeeting("m-1", "110101", "s1", held_on, recorder, details)  # type: ignore[arg-type]


def decide(cmd: RecordMeeting) -> list[object]:
    return list(decide_meeting(cmd, HISTORIES, FACTS, NOW))


def refused(rule: str, cmd: RecordMeeting) -> None:
    with pytest.raises(CommitteesError) as e:
        decide(cmd)
    assert e.value.rule == rule


def parent(**kw: object) -> Parent:
    base: dict[str, object] = {
        "scope": MeetingScope.class_,
        "class_id": "c1",
        "families_invited": 40,
        "parents_attending": 38,
        "opinions_before": True,
        "opinions_after": False,
    }
    base.update(kw)
    return Parent(**base)  # type: ignore[arg-type]


def test_a_joint_meeting_of_the_schools_committee_is_recorded() -> None:
    [e] = decide(meeting(Joint(("k1",), 7, 4, 3)))
    assert isinstance(e, JointMeetingHeld)
    assert (e.committee_ids, e.resolutions) == (["k1"], 3)


@pytest.mark.parametrize("other", ["k9", "kd", "unknown"])
def test_a_joint_meeting_naming_a_committee_not_of_the_school_is_refused(other: str) -> None:
    refused("committee_of_school", meeting(Joint(("k1", other), 7, 4, 3)))


def test_a_joint_meeting_names_its_committees() -> None:
    refused("committee_of_school", meeting(Joint((), 7, 4, 3)))


def test_the_committees_named_are_read_for_the_decision() -> None:
    assert committee_streams(Joint(("k1", "k1", "k2"), 1, 1, 0)) == ["committee-k1", "committee-k2"]


def test_a_class_parent_meeting_records_opinions_before_and_after() -> None:
    [e] = decide(meeting(parent(opinions_after=True)))
    assert isinstance(e, ParentMeetingHeld)
    assert (e.class_id, e.opinions_before, e.opinions_after) == ("c1", True, True)


def test_more_parents_attending_than_families_invited_is_refused() -> None:
    refused("attending_within_invited", meeting(parent(parents_attending=41)))


def test_a_parent_meetings_class_is_one_of_the_schools() -> None:
    refused("class_of_school", meeting(parent(class_id="elsewhere")))


def test_a_grade_meeting_names_a_grade_the_school_has() -> None:
    assert decide(meeting(parent(scope=MeetingScope.grade, class_id=None, grade=2)))
    refused("grade_of_school", meeting(parent(scope=MeetingScope.grade, class_id=None, grade=5)))
    refused("scope_named", meeting(parent(scope=MeetingScope.grade, class_id=None)))
    refused("scope_named", meeting(parent(scope=MeetingScope.school)))


def test_a_head_teacher_records_only_their_own_class_parent_meeting() -> None:
    own = Recorder("h1", own_class="c1", head_teacher=True)
    assert decide(meeting(parent(), recorder=own))
    for details in (
        parent(class_id="c2"),
        parent(scope=MeetingScope.school, class_id=None),
        OpenDay(1, 5, 0),
    ):
        with pytest.raises(CommitteesError) as e:
            decide(meeting(details, recorder=own))
        assert e.value.rule == "head_teacher_own_class"


def test_a_reception_day_is_received_by_the_schools_leaders_only() -> None:
    assert decide(meeting(Reception(12, ("p1", "m1"))))
    refused("received_by_leaders", meeting(Reception(12, ("p1", "t1"))))
    refused("received_by_leaders", meeting(Reception(12, ())))


def test_a_meeting_in_the_future_is_refused_and_one_is_recorded_once() -> None:
    refused("held_on_not_in_future", meeting(OpenDay(1, 5, 0), held_on=date(2026, 11, 21)))
    done = decide(meeting(OpenDay(1, 5, 0)))
    with pytest.raises(ConflictError):
        decide_meeting(meeting(OpenDay(1, 5, 0)), {"meeting-m-1": done}, FACTS, NOW)  # type: ignore[dict-item]


def test_the_figures_count_each_kind_and_show_a_school_without_its_open_day() -> None:
    held = [
        Held("s1", MeetingKind.joint),
        Held("s1", MeetingKind.parent, True, True),
        Held("s1", MeetingKind.parent, True, False),
        Held("s1", MeetingKind.open_day),
        Held("s2", MeetingKind.reception_day),
        Held("s2", MeetingKind.parent, False, True),
        Held("s9", MeetingKind.open_day),  # not of the district's schools
    ]
    got = district_figures("2026-2027", ["s1", "s2"], held, 1)
    s1, s2 = got["schools"]
    assert (s1["joint_meetings"], s1["parent_meetings"], s1["open_days"], s1["open_days_met"]) == (
        1,
        2,
        1,
        True,
    )
    assert (s1["parent_meetings_opinions_before"], s1["parent_meetings_opinions_after"]) == (2, 1)
    assert s1["parent_meetings_opinions_before_and_after"] == 1
    assert (s2["reception_days"], s2["open_days"], s2["open_days_met"]) == (1, 0, False)
    assert got["schools_without_open_day"] == ["s2"]
    assert got["totals"]["open_days"] == 1
    assert got["totals"]["parent_meetings"] == 3


RANKING = re.compile(r"rank|score|grade_point|gpa|mark|position|percentile", re.IGNORECASE)


def test_no_committees_event_has_a_field_that_could_rank_a_student() -> None:
    def fields(model: type) -> set[str]:
        out: set[str] = set()
        for name, f in model.model_fields.items():  # type: ignore[attr-defined]
            out.add(name)
            kind = f.annotation
            for arg in (kind, *getattr(kind, "__args__", ())):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    out |= fields(arg)
        return out

    found = {e.name: sorted(n for n in fields(e) if RANKING.search(n)) for e in contract.EVENTS}
    assert {k: v for k, v in found.items() if v} == {}
    assert all(e.model_config.get("extra") == "forbid" for e in contract.EVENTS)
