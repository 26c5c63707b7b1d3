"""Committees at class, grade, school and district level (三级家委会; a district committee with
its standing committee where a district runs one): forming one for a term, its charter's
versions, nominations, the election, by-elections (补选), resignations, removals and a seat
ending when its member's last child leaves the committee's scope.

Rules (each refusal names the field and the rule):

- a class committee needs a class of the school, a grade committee a grade with classes in the
  school; one committee per scope whose terms overlap (``one_committee_per_scope``);
- a candidate is a guardian of a child enrolled in the committee's scope now
  (``guardian_in_scope``), representing the class (or, on a district committee, the school) of
  that child — named when there are several (``class_required``, ``school_required``). A
  guardian nominated twice in the same round: no new event (idempotent — a repeated request or a
  second nominator changes nothing);
- the election (once: ``already_elected``) seats round 0's nominees (``nominated``), distinct,
  at most the seats (``seats``), exactly one chair (``one_chair``), ``standing`` only on a
  district committee; a school committee seats a parent of every class of the school
  (``every_class_represented``, naming the classes);
- a by-election (after the election) seats that round's nominees, at most the vacancies plus,
  at school level, the classes without a representative (the committee grows by the seats
  added);
- a seat ends with a resignation, a removal, or after the ``ends_on`` of a ``MembershipEnding``.

Pure: deciders get the stream's history and the facts read for them, and answer the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tongxin_committees.domain.errors import CommitteesError, UnknownRecordError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CandidateNominated,
    CharterAdopted,
    CommitteeElected,
    CommitteeFormed,
    CommitteeLevel,
    EndingReason,
    MemberRemoved,
    MemberResigned,
    MembershipEnding,
    RemovalReason,
    ResignReason,
    Seat,
    SeatRole,
)

L = CommitteeLevel


@dataclass(frozen=True, slots=True)
class Member:
    seat: Seat
    since: date
    ends_on: date | None = None  # a MembershipEnding: the seat's last day

    def holds_on(self, day: date) -> bool:
        return self.ends_on is None or day <= self.ends_on


@dataclass(slots=True)
class CommitteeState:
    formed: CommitteeFormed | None = None
    charter_version: int = 0
    nominees: dict[int, dict[str, CandidateNominated]] = field(default_factory=dict)
    elected: CommitteeElected | None = None
    seats: int = 0
    members: dict[str, Member] = field(default_factory=dict)  # not resigned, not removed
    by_elections: int = 0

    @property
    def open_round(self) -> int:
        """The round a nomination now stands for: 0 before the election, n for the n-th
        by-election."""
        return 0 if self.elected is None else self.by_elections + 1

    def current(self, day: date) -> dict[str, Member]:
        """The members holding a seat on ``day`` (a seat ending counts until its last day)."""
        return {g: m for g, m in self.members.items() if m.holds_on(day)}

    def vacancies(self, day: date) -> int:
        if self.elected is None:
            return 0
        return max(0, self.seats - len(self.current(day)))


def fold(history: Iterable[IntegrationEvent]) -> CommitteeState:
    s = CommitteeState()
    for e in history:
        match e:
            case CommitteeFormed():
                s.formed, s.seats = e, e.seats
            case CharterAdopted():
                s.charter_version = max(s.charter_version, e.version_no)
            case CandidateNominated():
                s.nominees.setdefault(e.round_no, {})[e.guardian_ref] = e
            case CommitteeElected():
                s.elected, s.seats = e, e.seats
                s.members = {x.guardian_ref: Member(x, e.elected_on) for x in e.members}
            case ByElectionHeld():
                s.by_elections, s.seats = max(s.by_elections, e.round_no), e.seats
                for seat in e.members:
                    s.members[seat.guardian_ref] = Member(seat, e.held_on)
            case MemberResigned() | MemberRemoved():
                s.members.pop(e.guardian_ref, None)
            case MembershipEnding():
                if (held := s.members.get(e.guardian_ref)) is not None:
                    s.members[e.guardian_ref] = Member(held.seat, held.since, e.ends_on)
    return s


def _unknown() -> UnknownRecordError:
    return UnknownRecordError("no such committee", field="committee_id", rule="committee")


def _formed(s: CommitteeState) -> CommitteeFormed:
    if s.formed is None:
        raise _unknown()
    return s.formed


def _common(f: CommitteeFormed) -> dict[str, Any]:
    return {"district": f.district, "committee_id": f.committee_id, "school_id": f.school_id}


# --- forming ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    term_start: date
    term_end: date

    def overlaps(self, other: Term) -> bool:
        return self.term_start <= other.term_end and other.term_start <= self.term_end


@dataclass(frozen=True, slots=True)
class FormCommittee:
    committee_id: str
    district: str
    school_id: str | None
    level: CommitteeLevel
    seats: int
    term: Term
    formed_on: date
    formed_by: str
    grade: int | None = None
    class_id: str | None = None


def decide_form(
    cmd: FormCommittee,
    history: Sequence[IntegrationEvent],
    *,
    school_classes: Mapping[str, int],
    same_scope: Iterable[Term],
    district_runs_one: bool = False,
) -> list[IntegrationEvent]:
    """``school_classes``: the school's classes now (class id → grade); ``same_scope``: the
    terms of the committees already formed for the same scope."""
    if fold(history).formed is not None:
        raise CommitteesError("this committee was formed already", "committee_id", "form_once")
    if cmd.term.term_end <= cmd.term.term_start:
        raise CommitteesError("a term ends after it starts", "term_end", "term_order")
    grade, class_id = None, None
    if cmd.level is L.district:
        if not district_runs_one:
            raise CommitteesError(
                "this district runs no district-level committee", "level", "district_committee"
            )
    elif cmd.level is L.class_:
        if cmd.class_id is None or cmd.class_id not in school_classes:
            raise CommitteesError(
                "a class committee is formed for a class of the school",
                "class_id",
                "class_of_school",
            )
        class_id = cmd.class_id
    elif cmd.level is L.grade:
        if cmd.grade is None or cmd.grade not in set(school_classes.values()):
            raise CommitteesError(
                "a grade committee is formed for a grade with classes in the school",
                "grade",
                "grade_of_school",
            )
        grade = cmd.grade
    if any(cmd.term.overlaps(t) for t in same_scope):
        raise CommitteesError(
            "this scope has a committee for an overlapping term",
            "term_start",
            "one_committee_per_scope",
        )
    return [
        CommitteeFormed(
            district=cmd.district,
            committee_id=cmd.committee_id,
            school_id=None if cmd.level is L.district else cmd.school_id,
            level=cmd.level,
            grade=grade,
            class_id=class_id,
            seats=cmd.seats,
            term_start=cmd.term.term_start,
            term_end=cmd.term.term_end,
            formed_on=cmd.formed_on,
            formed_by=cmd.formed_by,
        )
    ]


# --- the charter --------------------------------------------------------------------------------


def decide_charter(
    history: Sequence[IntegrationEvent], *, articles: int, text: Sealed, on: date, by: str
) -> list[IntegrationEvent]:
    s = fold(history)
    f = _formed(s)
    return [
        CharterAdopted(
            **_common(f),
            version_no=s.charter_version + 1,
            articles=articles,
            adopted_on=on,
            adopted_by=by,
            text=text,
        )
    ]


# --- nominations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildPlace:
    """Where one of the guardian's children is enrolled now (no student named)."""

    district: str
    school_id: str
    class_id: str
    grade: int


def in_scope(f: CommitteeFormed, place: ChildPlace) -> bool:
    """Whether a child enrolled at ``place`` is in the committee's scope."""
    match f.level:
        case L.class_:
            return place.class_id == f.class_id
        case L.grade:
            return place.school_id == f.school_id and place.grade == f.grade
        case L.school:
            return place.school_id == f.school_id
        case _:
            return place.district == f.district


@dataclass(frozen=True, slots=True)
class Nominate:
    guardian_ref: str
    name: Sealed
    on: date
    by: str
    class_id: str | None = None
    school_id: str | None = None


def _one_of(options: list[str], given: str | None, what: str) -> str:
    if given is not None:
        if given not in options:
            raise CommitteesError(
                f"the guardian has no child enrolled in this {what} in the committee's scope",
                f"{what}_id",
                f"{what}_in_scope",
            )
        return given
    if len(options) > 1:
        raise CommitteesError(
            f"the guardian has children in several {what}es of the scope: name the {what} "
            "they represent",
            f"{what}_id",
            f"{what}_required",
        )
    return options[0]


def decide_nominate(
    cmd: Nominate, history: Sequence[IntegrationEvent], *, places: Iterable[ChildPlace]
) -> list[IntegrationEvent]:
    """``places``: where the guardian's children are enrolled now (the roster). A guardian
    already nominated in the open round: nothing new (idempotent)."""
    s = fold(history)
    f = _formed(s)
    scoped = [p for p in places if in_scope(f, p)]
    if not scoped:
        raise CommitteesError(
            "the candidate is a guardian of a child enrolled in the committee's scope",
            "guardian_ref",
            "guardian_in_scope",
        )
    round_no = s.open_round
    if cmd.guardian_ref in s.nominees.get(round_no, {}):
        return []
    class_id, school_id = None, None
    if f.level is L.district:
        school_id = _one_of(sorted({p.school_id for p in scoped}), cmd.school_id, "school")
    else:
        class_id = _one_of(sorted({p.class_id for p in scoped}), cmd.class_id, "class")
    return [
        CandidateNominated(
            **_common(f),
            round_no=round_no,
            guardian_ref=cmd.guardian_ref,
            class_id=class_id,
            represents_school_id=school_id,
            nominated_on=cmd.on,
            nominated_by=cmd.by,
            guardian_name=cmd.name,
        )
    ]


# --- elections ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A seat the result fills: who and in which role."""

    guardian_ref: str
    role: SeatRole = SeatRole.member
    standing: bool = False


def _seats(
    f: CommitteeFormed, nominees: Mapping[str, CandidateNominated], choices: Sequence[Choice]
) -> list[Seat]:
    if not choices:
        raise CommitteesError("a result seats at least one member", "members", "members_given")
    seen: set[str] = set()
    seats: list[Seat] = []
    for i, c in enumerate(choices):
        if c.guardian_ref in seen:
            raise CommitteesError(
                "a guardian holds one seat", f"members.{i}.guardian_ref", "distinct_members"
            )
        seen.add(c.guardian_ref)
        n = nominees.get(c.guardian_ref)
        if n is None:
            raise CommitteesError(
                "a member is elected from the round's nominees",
                f"members.{i}.guardian_ref",
                "nominated",
            )
        if c.standing and f.level is not L.district:
            raise CommitteesError(
                "a standing committee is the district committee's",
                f"members.{i}.standing",
                "standing_district",
            )
        seats.append(
            Seat(
                guardian_ref=c.guardian_ref,
                role=c.role,
                class_id=n.class_id,
                school_id=n.represents_school_id,
                standing=c.standing,
            )
        )
    return seats


def unrepresented(school_classes: Iterable[str], seats: Iterable[Seat]) -> list[str]:
    """The classes (in the order given) no seat represents."""
    held = {s.class_id for s in seats}
    return [c for c in school_classes if c not in held]


def _every_class(f: CommitteeFormed, school_classes: Sequence[str], seats: Sequence[Seat]) -> None:
    if f.level is not L.school:
        return
    missing = unrepresented(school_classes, seats)
    if missing:
        raise CommitteesError(
            "a school committee seats a parent of every class; without a representative: "
            + ", ".join(missing),
            "members",
            "every_class_represented",
            classes=missing,
        )


def _one_chair(seats: Iterable[Seat]) -> None:
    if sum(1 for s in seats if s.role is SeatRole.chair) != 1:
        raise CommitteesError("a committee has exactly one chair", "members", "one_chair")


@dataclass(frozen=True, slots=True)
class Election:
    members: tuple[Choice, ...]
    elected_on: date
    by: str
    voters: int | None = None


def decide_election(
    cmd: Election, history: Sequence[IntegrationEvent], *, school_classes: Sequence[str] = ()
) -> list[IntegrationEvent]:
    """``school_classes``: the school's classes per the roster now (school level)."""
    s = fold(history)
    f = _formed(s)
    if s.elected is not None:
        raise CommitteesError(
            "this committee's election was recorded already", "committee_id", "already_elected"
        )
    seats = _seats(f, s.nominees.get(0, {}), cmd.members)
    if len(seats) > s.seats:
        raise CommitteesError(
            f"at most {s.seats} seats are filled", "members", "seats", seats=s.seats
        )
    _one_chair(seats)
    _every_class(f, school_classes, seats)
    return [
        CommitteeElected(
            **_common(f),
            round_no=0,
            level=f.level,
            elected_on=cmd.elected_on,
            term_start=f.term_start,
            term_end=f.term_end,
            seats=s.seats,
            members=seats,
            voters=cmd.voters,
            recorded_by=cmd.by,
        )
    ]


@dataclass(frozen=True, slots=True)
class ByElection:
    members: tuple[Choice, ...]
    held_on: date
    by: str
    seats: int | None = None  # the seats the recorder expects after it (checked when given)


def decide_by_election(
    cmd: ByElection, history: Sequence[IntegrationEvent], *, school_classes: Sequence[str] = ()
) -> list[IntegrationEvent]:
    """Seats the open round's nominees: at most the vacancies on ``held_on`` plus (school level)
    the classes without a representative then; the committee grows by the seats added."""
    s = fold(history)
    f = _formed(s)
    if s.elected is None:
        raise CommitteesError("a by-election follows the election", "committee_id", "elected_first")
    round_no = s.open_round
    current = s.current(cmd.held_on)
    seats = _seats(f, s.nominees.get(round_no, {}), cmd.members)
    for i, seat in enumerate(seats):
        if seat.guardian_ref in current:
            raise CommitteesError(
                "the guardian holds a seat already", f"members.{i}.guardian_ref", "not_a_member"
            )
    vacancies = max(0, s.seats - len(current))
    open_classes = (
        unrepresented(school_classes, [m.seat for m in current.values()])
        if f.level is L.school
        else []
    )
    if len(seats) > vacancies + len(open_classes):
        raise CommitteesError(
            f"a by-election fills {vacancies} vacancies"
            + (f" and {len(open_classes)} unrepresented classes" if open_classes else ""),
            "members",
            "seats",
        )
    after = s.seats + max(0, len(seats) - vacancies)
    if cmd.seats is not None and cmd.seats != after:
        raise CommitteesError(
            f"the by-election leaves {after} seats, not {cmd.seats}", "seats", "seats"
        )
    chairs = [m.seat for m in current.values() if m.seat.role is SeatRole.chair]
    if len(chairs) + sum(1 for x in seats if x.role is SeatRole.chair) > 1:
        raise CommitteesError("a committee has exactly one chair", "members", "one_chair")
    return [
        ByElectionHeld(
            **_common(f),
            round_no=round_no,
            held_on=cmd.held_on,
            members=seats,
            seats=after,
            recorded_by=cmd.by,
        )
    ]


# --- leaving ------------------------------------------------------------------------------------


def _member(s: CommitteeState, guardian_ref: str, on: date) -> Member:
    m = s.current(on).get(guardian_ref)
    if m is None:
        raise UnknownRecordError("no such member", field="guardian_ref", rule="member")
    return m


def decide_resign(
    history: Sequence[IntegrationEvent],
    *,
    guardian_ref: str,
    reason: ResignReason,
    on: date,
    by: str,
) -> list[IntegrationEvent]:
    s = fold(history)
    f = _formed(s)
    _member(s, guardian_ref, on)
    return [
        MemberResigned(
            **_common(f),
            guardian_ref=guardian_ref,
            reason=reason,
            resigned_on=on,
            recorded_by=by,
        )
    ]


def decide_remove(
    history: Sequence[IntegrationEvent],
    *,
    guardian_ref: str,
    reason: RemovalReason,
    on: date,
    by: str,
    note: Sealed | None = None,
) -> list[IntegrationEvent]:
    s = fold(history)
    f = _formed(s)
    _member(s, guardian_ref, on)
    return [
        MemberRemoved(
            **_common(f),
            guardian_ref=guardian_ref,
            reason=reason,
            removed_on=on,
            decided_by=by,
            note=note,
        )
    ]


def term_end_after(day: date) -> date:
    """The last day of the school term ``day`` falls in: 31 January (autumn term) or 31 August
    (spring term)."""
    if day.month >= 9:
        return date(day.year + 1, 1, 31)
    if day.month == 1:
        return date(day.year, 1, 31)
    return date(day.year, 8, 31)


def decide_ending(
    history: Sequence[IntegrationEvent],
    *,
    guardian_ref: str,
    on: date,
    places: Iterable[ChildPlace] = (),
) -> list[IntegrationEvent]:
    """The member's last child left the committee's scope on ``on``: the seat ends at the end of
    the term (or of the committee's term if sooner). Nothing when one of the guardian's children
    (``places``: where they are enrolled now) is still in the committee's scope, when the
    guardian holds no current seat or the seat is ending already (idempotent)."""
    s = fold(history)
    if s.formed is None or any(in_scope(s.formed, p) for p in places):
        return []
    m = s.members.get(guardian_ref)
    if m is None or m.ends_on is not None:
        return []
    return [
        MembershipEnding(
            **_common(s.formed),
            guardian_ref=guardian_ref,
            reason=EndingReason.last_child_left,
            ends_on=min(term_end_after(on), s.formed.term_end),
        )
    ]
