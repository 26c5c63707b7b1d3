"""Committees, their elections and every class represented (deliverables 1–3 of the committees
service), in memory: given a committee's history, when a command is decided, then these events
(or this refusal naming the field and the rule). The read model's members are checked against
the decider's fold for any sequence of by-elections and departures (a hypothesis property)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin_committees.domain.committees import (
    ByElection,
    ChildPlace,
    Choice,
    Election,
    FormCommittee,
    Nominate,
    Term,
    decide_by_election,
    decide_charter,
    decide_election,
    decide_ending,
    decide_form,
    decide_nominate,
    decide_remove,
    decide_resign,
    fold,
    term_end_after,
    unrepresented,
)
from tongxin_committees.projections.committees import TABLES
from tongxin_committees.projections.read_model import COMMITTEES
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CandidateNominated,
    CharterAdopted,
    CommitteeElected,
    CommitteeFormed,
    CommitteeLevel,
    MemberRemoved,
    MembershipEnding,
    RemovalReason,
    ResignReason,
    SeatRole,
)
from tongxin_platform.domain import DomainError, NotFoundError
from tongxin_platform.http import domain_problem

DISTRICT, SCHOOL = "330106", "330106001"
CLASSES = {"c1": 1, "c2": 1, "c3": 2}  # class id → grade
TERM = Term(date(2026, 9, 1), date(2028, 8, 31))
DAY = date(2026, 9, 20)
L, R = CommitteeLevel, SeatRole
NAME = Sealed(subject="guardian-g", key_id="k", nonce="bm9uY2U", ciphertext="bmFtZQ")


def form(level: L = L.school, seats: int = 5, **over: Any) -> list[IntegrationEvent]:
    cmd = FormCommittee(
        committee_id="k1",
        district=DISTRICT,
        school_id=SCHOOL,
        level=level,
        seats=seats,
        term=over.pop("term", TERM),
        formed_on=DAY,
        formed_by="stf_p",
        **over,
    )
    return decide_form(cmd, [], school_classes=CLASSES, same_scope=[], district_runs_one=True)


def place(class_id: str, school_id: str = SCHOOL) -> ChildPlace:
    return ChildPlace(DISTRICT, school_id, class_id, CLASSES.get(class_id, 1))


def nominate(
    history: list[IntegrationEvent], guardian: str, *classes: str, **over: Any
) -> list[IntegrationEvent]:
    events = decide_nominate(
        Nominate(guardian, NAME, DAY, "stf_p", **over),
        history,
        places=[place(c) for c in classes],
    )
    return history + events


def school_with_nominees() -> list[IntegrationEvent]:
    h = form()
    for g, c in (("g1", "c1"), ("g2", "c2"), ("g3", "c3"), ("g4", "c1")):
        h = nominate(h, g, c)
    return h


def elect(history: list[IntegrationEvent], *members: Choice) -> list[IntegrationEvent]:
    return history + decide_election(
        Election(tuple(members), DAY, "stf_p", 120), history, school_classes=list(CLASSES)
    )


def refused(call: Any, rule: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.rule == rule, (caught.value.rule, str(caught.value))
    return caught.value


ELECTED = (Choice("g1", R.chair), Choice("g2"), Choice("g3", R.secretary))


# --- forming ---------------------------------------------------------------------------------


def test_a_class_committee_is_formed_for_a_class_of_the_school() -> None:
    [e] = form(L.class_, class_id="c2")
    assert isinstance(e, CommitteeFormed)
    assert (e.level, e.class_id, e.grade, e.school_id) == (L.class_, "c2", None, SCHOOL)


def test_a_class_committee_for_a_class_the_school_does_not_have_is_refused() -> None:
    e = refused(lambda: form(L.class_, class_id="c9"), "class_of_school")
    assert e.field == "class_id"


def test_a_grade_committee_needs_a_grade_with_classes_in_the_school() -> None:
    assert isinstance(form(L.grade, grade=2)[0], CommitteeFormed)
    refused(lambda: form(L.grade, grade=6), "grade_of_school")


def test_a_term_that_ends_before_it_starts_is_refused() -> None:
    e = refused(lambda: form(term=Term(date(2027, 9, 1), date(2026, 9, 1))), "term_order")
    assert e.field == "term_end"


def test_a_second_committee_for_an_overlapping_term_of_the_same_scope_is_refused() -> None:
    cmd = FormCommittee("k2", DISTRICT, SCHOOL, L.school, 5, TERM, DAY, "stf_p")
    refused(
        lambda: decide_form(
            cmd, [], school_classes=CLASSES, same_scope=[Term(date(2025, 9, 1), date(2027, 8, 31))]
        ),
        "one_committee_per_scope",
    )
    later = [Term(date(2028, 9, 1), date(2030, 8, 31))]
    assert decide_form(cmd, [], school_classes=CLASSES, same_scope=later)


def test_a_district_committee_only_where_the_district_runs_one() -> None:
    cmd = FormCommittee("k3", DISTRICT, None, L.district, 9, TERM, DAY, "bur_1")
    e = refused(
        lambda: decide_form(cmd, [], school_classes={}, same_scope=[], district_runs_one=False),
        "district_committee",
    )
    assert e.field == "level"
    [formed] = decide_form(cmd, [], school_classes={}, same_scope=[], district_runs_one=True)
    assert isinstance(formed, CommitteeFormed)
    assert formed.school_id is None


# --- the charter -------------------------------------------------------------------------------


def test_charters_are_versioned_from_one() -> None:
    h = form()
    first = decide_charter(h, articles=12, text=NAME, on=DAY, by="stf_p")
    second = decide_charter(h + first, articles=14, text=NAME, on=DAY, by="stf_p")
    assert [e.version_no for e in first + second if isinstance(e, CharterAdopted)] == [1, 2]
    assert fold(h + first + second).charter_version == 2


def test_a_charter_for_an_unknown_committee_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        decide_charter([], articles=1, text=NAME, on=DAY, by="stf_p")


# --- nominations -------------------------------------------------------------------------------


def test_a_guardian_without_a_child_in_the_scope_cannot_stand() -> None:
    h = form(L.class_, class_id="c1")
    e = refused(lambda: nominate(h, "g9", "c2"), "guardian_in_scope")
    assert e.field == "guardian_ref"


def test_a_candidate_represents_their_childs_class_in_round_zero() -> None:
    h = nominate(form(), "g1", "c3")
    e = h[-1]
    assert isinstance(e, CandidateNominated)
    assert (e.round_no, e.class_id, e.guardian_name) == (0, "c3", NAME)


def test_a_guardian_with_children_in_two_classes_names_the_class() -> None:
    h = form()
    refused(lambda: nominate(h, "g1", "c1", "c3"), "class_required")
    refused(lambda: nominate(h, "g1", "c1", "c3", class_id="c2"), "class_in_scope")
    e = nominate(h, "g1", "c1", "c3", class_id="c3")[-1]
    assert isinstance(e, CandidateNominated)
    assert e.class_id == "c3"


def test_a_guardian_nominated_twice_in_a_round_adds_nothing() -> None:
    h = nominate(form(), "g1", "c1")
    assert nominate(h, "g1", "c1") == h


def test_a_district_candidate_represents_the_school_of_their_child() -> None:
    cmd = FormCommittee("k3", DISTRICT, None, L.district, 9, TERM, DAY, "bur_1")
    h = decide_form(cmd, [], school_classes={}, same_scope=[], district_runs_one=True)
    places = [place("c1"), place("x1", "330106002")]
    refused(
        lambda: decide_nominate(Nominate("g1", NAME, DAY, "b"), h, places=places),
        "school_required",
    )
    [e] = decide_nominate(Nominate("g1", NAME, DAY, "b", school_id="330106002"), h, places=places)
    assert isinstance(e, CandidateNominated)
    assert (e.represents_school_id, e.class_id) == ("330106002", None)


def test_nominations_after_the_election_stand_for_the_first_by_election() -> None:
    h = nominate(elect(school_with_nominees(), *ELECTED), "g5", "c2")
    e = h[-1]
    assert isinstance(e, CandidateNominated)
    assert e.round_no == 1


# --- the election ------------------------------------------------------------------------------


def test_the_election_seats_the_nominees_with_their_classes() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    e = h[-1]
    assert isinstance(e, CommitteeElected)
    assert [(m.guardian_ref, m.role, m.class_id) for m in e.members] == [
        ("g1", R.chair, "c1"),
        ("g2", R.member, "c2"),
        ("g3", R.secretary, "c3"),
    ]
    assert (e.seats, e.voters, e.round_no) == (5, 120, 0)


def test_school_committee_without_a_parent_from_class_3_is_rejected() -> None:
    h = school_with_nominees()
    e = refused(lambda: elect(h, Choice("g1", R.chair), Choice("g2")), "every_class_represented")
    assert e.field == "members"
    assert e.extra == {"classes": ["c3"]}
    assert "c3" in str(e)


def test_the_refusal_names_the_classes_in_its_problem() -> None:
    h = school_with_nominees()
    e = refused(lambda: elect(h, Choice("g1", R.chair), Choice("g2")), "every_class_represented")
    assert isinstance(e, DomainError)
    body = json.loads(domain_problem(e).body)
    assert (body["status"], body["field"], body["rule"], body["classes"]) == (
        422,
        "members",
        "every_class_represented",
        ["c3"],
    )
    assert "c3" in body["detail"]


def test_a_class_committee_need_not_seat_other_classes() -> None:
    h = nominate(form(L.class_, class_id="c1"), "g1", "c1")
    assert isinstance(elect(h, Choice("g1", R.chair))[-1], CommitteeElected)


def test_an_election_is_recorded_once() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    refused(lambda: elect(h, *ELECTED), "already_elected")


def test_only_nominees_are_elected() -> None:
    e = refused(lambda: elect(school_with_nominees(), *ELECTED, Choice("g8")), "nominated")
    assert e.field == "members.3.guardian_ref"


def test_a_guardian_holds_one_seat() -> None:
    refused(lambda: elect(school_with_nominees(), *ELECTED, Choice("g2")), "distinct_members")


def test_no_more_members_than_seats() -> None:
    h = form(seats=3)
    for g, c in (("g1", "c1"), ("g2", "c2"), ("g3", "c3"), ("g4", "c1")):
        h = nominate(h, g, c)
    refused(lambda: elect(h, *ELECTED, Choice("g4")), "seats")


def test_exactly_one_chair() -> None:
    h = school_with_nominees()
    refused(lambda: elect(h, Choice("g1"), Choice("g2"), Choice("g3")), "one_chair")
    refused(
        lambda: elect(h, Choice("g1", R.chair), Choice("g2", R.chair), Choice("g3")), "one_chair"
    )


def test_standing_members_only_on_a_district_committee() -> None:
    h = school_with_nominees()
    e = refused(
        lambda: elect(h, Choice("g1", R.chair, standing=True), Choice("g2"), Choice("g3")),
        "standing_district",
    )
    assert e.field == "members.0.standing"


# --- by-elections and vacancies ----------------------------------------------------------------


def by_election(
    h: list[IntegrationEvent], *members: Choice, classes: list[str] | None = None
) -> list[IntegrationEvent]:
    cmd = ByElection(tuple(members), date(2027, 3, 1), "stf_p")
    return h + decide_by_election(cmd, h, school_classes=classes or list(CLASSES))


def test_a_by_election_follows_the_election() -> None:
    refused(lambda: by_election(school_with_nominees(), Choice("g4")), "elected_first")


def test_a_by_election_fills_a_resigned_seat_from_its_rounds_nominees() -> None:
    h = elect(form(seats=3) + school_with_nominees()[1:], *ELECTED)
    h += decide_resign(h, guardian_ref="g2", reason=ResignReason.personal, on=DAY, by="g2")
    assert fold(h).vacancies(DAY) == 1
    refused(lambda: by_election(h, Choice("g4")), "nominated")  # g4 stood in round 0 only
    h = nominate(h, "g4", "c2")
    h = by_election(h, Choice("g4"))
    e = h[-1]
    assert isinstance(e, ByElectionHeld)
    assert (e.round_no, e.seats, [m.class_id for m in e.members]) == (1, 3, ["c2"])
    assert fold(h).vacancies(date(2027, 3, 2)) == 0


def test_a_by_election_fills_no_more_than_the_vacancies() -> None:
    h = elect(form(seats=3) + school_with_nominees()[1:], *ELECTED)
    h = nominate(h, "g4", "c1")
    refused(lambda: by_election(h, Choice("g4")), "seats")


def test_a_class_opened_later_adds_a_seat_when_a_by_election_fills_it() -> None:
    h = elect(form(seats=3) + school_with_nominees()[1:], *ELECTED)
    now = [*CLASSES, "c4"]
    assert unrepresented(now, [m.seat for m in fold(h).members.values()]) == ["c4"]
    h += decide_nominate(Nominate("g7", NAME, DAY, "stf_p"), h, places=[place("c4")])
    h = by_election(h, Choice("g7"), classes=now)
    e = h[-1]
    assert isinstance(e, ByElectionHeld)
    assert e.seats == 4


def test_a_by_election_seats_no_second_chair() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    h = nominate(h, "g4", "c1")
    refused(lambda: by_election(h, Choice("g4", R.chair)), "one_chair")


def test_a_sitting_member_is_not_by_elected_again() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    h = nominate(h, "g1", "c1")
    refused(lambda: by_election(h, Choice("g1")), "not_a_member")


# --- leaving -----------------------------------------------------------------------------------


def test_resignation_and_removal_of_an_unknown_member_are_not_found() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    with pytest.raises(NotFoundError):
        decide_resign(h, guardian_ref="g9", reason=ResignReason.personal, on=DAY, by="g9")
    with pytest.raises(NotFoundError):
        decide_remove(h, guardian_ref="g9", reason=RemovalReason.conduct, on=DAY, by="stf_p")


def test_a_removal_names_its_reason_and_who_decided() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    [e] = decide_remove(
        h, guardian_ref="g2", reason=RemovalReason.repeated_absence, on=DAY, by="stf_p", note=NAME
    )
    assert isinstance(e, MemberRemoved)
    assert (e.reason, e.decided_by, e.note) == (RemovalReason.repeated_absence, "stf_p", NAME)
    assert "g2" not in fold([*h, e]).members


@pytest.mark.parametrize(
    ("left", "ends"),
    [
        (date(2026, 10, 5), date(2027, 1, 31)),
        (date(2027, 1, 10), date(2027, 1, 31)),
        (date(2027, 3, 5), date(2027, 8, 31)),
    ],
)
def test_a_seat_ends_at_the_end_of_the_term_its_members_last_child_left(
    left: date, ends: date
) -> None:
    assert term_end_after(left) == ends
    h = elect(school_with_nominees(), *ELECTED)
    [e] = decide_ending(h, guardian_ref="g2", on=left)
    assert isinstance(e, MembershipEnding)
    assert e.ends_on == ends
    state = fold([*h, e])
    assert "g2" in state.current(ends)
    assert "g2" not in state.current(date.fromordinal(ends.toordinal() + 1))


def test_a_seat_ends_with_the_committees_term_if_sooner() -> None:
    h = form(term=Term(date(2026, 9, 1), date(2026, 12, 31)))
    h = nominate(nominate(nominate(h, "g1", "c1"), "g2", "c2"), "g3", "c3")
    h = elect(h, *ELECTED)
    [e] = decide_ending(h, guardian_ref="g2", on=date(2026, 10, 1))
    assert isinstance(e, MembershipEnding)
    assert e.ends_on == date(2026, 12, 31)


def test_ending_a_seat_twice_or_no_seat_appends_nothing() -> None:
    h = elect(school_with_nominees(), *ELECTED)
    h += decide_ending(h, guardian_ref="g2", on=DAY)
    assert decide_ending(h, guardian_ref="g2", on=DAY) == []
    assert decide_ending(h, guardian_ref="g9", on=DAY) == []
    assert decide_ending([], guardian_ref="g2", on=DAY) == []


# --- the read model follows the decider --------------------------------------------------------

Step = tuple[str, int]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["resign", "remove", "end", "by"]), st.integers(0, 7)),
        max_size=12,
    )
)
def test_the_read_models_members_equal_the_deciders_fold(steps: list[Step]) -> None:
    h = elect(school_with_nominees(), *ELECTED)
    on = date(2026, 10, 1)
    for n, (what, who) in enumerate(steps):
        g = f"g{who}"
        try:
            match what:
                case "resign":
                    h += decide_resign(h, guardian_ref=g, reason=ResignReason.other, on=on, by=g)
                case "remove":
                    h += decide_remove(h, guardian_ref=g, reason=RemovalReason.other, on=on, by="p")
                case "end":
                    h += decide_ending(h, guardian_ref=g, on=on)
                case _:
                    h = nominate(h, f"n{n}", "c1")
                    h = by_election(h, Choice(f"n{n}"))
        except DomainError:
            pass
    changes = COMMITTEES.fold(h)
    tables = {t.name for t in TABLES}
    rows: dict[str, dict[Any, dict[str, Any]]] = {t: {} for t in tables}
    for table, key, op in changes.rows():
        if table in tables:
            if op.kind == "delete":
                rows[table].pop(key, None)
            elif op.kind == "upsert" or key in rows[table]:
                rows[table].setdefault(key, {}).update(op.cols)
    after = date(2030, 1, 1)
    held = {
        g
        for (_, g), r in rows["committee_members"].items()
        if r.get("left_on") is None and (r.get("ends_on") is None or r["ends_on"] >= on)
    }
    gone_later = {
        g
        for (_, g), r in rows["committee_members"].items()
        if r.get("left_on") is None and (r.get("ends_on") is None or r["ends_on"] >= after)
    }
    state = fold(h)
    assert held == set(state.current(on))
    assert gone_later == set(state.current(after))
    assert rows["committees"]["k1",]["seats"] == state.seats
