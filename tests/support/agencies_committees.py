"""Hand-made committee events for the unit tests of the committee model and of the education
model's committee KPIs: a committee's formation and election, the ends of its seats and its
by-elections (``CommitteeOf``: one committee of one school of one district), and a class's
parents' meeting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CommitteeElected,
    CommitteeFormed,
    CommitteeLevel,
    EndingReason,
    MeetingScope,
    MemberRemoved,
    MemberResigned,
    MembershipEnding,
    ParentMeetingHeld,
    RemovalReason,
    ResignReason,
    Seat,
)


@dataclass(frozen=True)
class CommitteeOf:
    district: str
    school_id: str
    committee_id: str

    def _ids(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "committee_id": self.committee_id,
            "school_id": self.school_id,
        }

    def formed(
        self,
        *,
        seats: int,
        term: tuple[date, date],
        on: date,
        by: str,
        level: CommitteeLevel = CommitteeLevel.school,
        class_id: str | None = None,
    ) -> CommitteeFormed:
        return CommitteeFormed(
            **self._ids(),
            level=level,
            grade=None,
            class_id=class_id,
            seats=seats,
            term_start=term[0],
            term_end=term[1],
            formed_on=on,
            formed_by=by,
        )

    def elected(
        self,
        members: Sequence[Seat],
        *,
        round_no: int,
        seats: int,
        term: tuple[date, date],
        on: date,
        by: str,
        level: CommitteeLevel = CommitteeLevel.school,
    ) -> CommitteeElected:
        return CommitteeElected(
            **self._ids(),
            round_no=round_no,
            level=level,
            elected_on=on,
            term_start=term[0],
            term_end=term[1],
            seats=seats,
            members=list(members),
            voters=40,
            recorded_by=by,
        )

    def resigned(self, guardian: str, on: date, reason: ResignReason, *, by: str) -> MemberResigned:
        return MemberResigned(
            **self._ids(), guardian_ref=guardian, reason=reason, resigned_on=on, recorded_by=by
        )

    def removed(self, guardian: str, on: date, reason: RemovalReason, *, by: str) -> MemberRemoved:
        return MemberRemoved(
            **self._ids(),
            guardian_ref=guardian,
            reason=reason,
            removed_on=on,
            decided_by=by,
            note=None,
        )

    def ending(
        self, guardian: str, on: date, reason: EndingReason = EndingReason.last_child_left
    ) -> MembershipEnding:
        return MembershipEnding(**self._ids(), guardian_ref=guardian, reason=reason, ends_on=on)

    def by_election(
        self, members: Sequence[Seat], *, round_no: int, seats: int, on: date, by: str
    ) -> ByElectionHeld:
        return ByElectionHeld(
            **self._ids(),
            round_no=round_no,
            held_on=on,
            members=list(members),
            seats=seats,
            recorded_by=by,
        )


def class_parents_meeting(
    district: str,
    school_id: str,
    meeting_id: str,
    on: date,
    *,
    class_id: str,
    grade: int | None,
    by: str,
) -> ParentMeetingHeld:
    """A class's parents' meeting: 35 of 40 families, opinions asked before and after."""
    return ParentMeetingHeld(
        district=district,
        meeting_id=meeting_id,
        school_id=school_id,
        held_on=on,
        recorded_by=by,
        scope=MeetingScope.class_,
        grade=grade,
        class_id=class_id,
        families_invited=40,
        parents_attending=35,
        opinions_before=True,
        opinions_after=True,
        committee_ids=[],
        minutes=None,
    )
