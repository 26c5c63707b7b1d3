"""Committee commands (load → decide → append on ``committee-<committee_id>``): form a committee,
adopt its charter, nominate, record the election and by-elections, resignations and removals,
and end the seats of a guardian whose last child left a committee's scope
(``end_memberships``, called by the reaction to the roster's ``StudentLeft`` /
``StudentTransferred``). Facts from the roster (classes, where a guardian's children are
enrolled) are read from the read model before the decision; names, charters and notes are
sealed (guardian's key for a name, the school's or district's for what a school or district
writes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from tongxin_committees.application import committee_queries, queries
from tongxin_committees.domain.committees import (
    ByElection,
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
)
from tongxin_committees.domain.errors import UnknownRecordError
from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.committees import (
    CommitteeFormed,
    CommitteeLevel,
    RemovalReason,
    ResignReason,
    committee_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.uow import UnitOfWork


def scope_tag(
    district: str,
    school_id: str | None,
    level: CommitteeLevel,
    grade: int | None,
    class_id: str | None,
) -> str:
    """The tag of the committee streams of one scope (one committee per scope and term)."""
    return (
        f"committee-scope:{district}:{school_id or ''}:{level.value}:{grade or ''}:{class_id or ''}"
    )


def guardian_subject(guardian_ref: str) -> str:
    return f"guardian-{guardian_ref}"


def owner_subject(district: str, school_id: str | None) -> str:
    """Whose key seals what a committee's people write: the school's, or the district's."""
    return f"school-{school_id}" if school_id else f"district-{district}"


@dataclass(frozen=True, slots=True)
class NewCommittee:
    district: str
    school_id: str | None
    level: CommitteeLevel
    seats: int
    term_start: date
    term_end: date
    formed_on: date
    formed_by: str
    grade: int | None = None
    class_id: str | None = None


class CommitteeCommands:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    async def _school_classes(self, school_id: str | None) -> list[dict[str, object]]:
        return await queries.school_classes(self.pool, school_id) if school_id else []

    async def where(self, committee_id: str) -> dict[str, Any] | None:
        """Where the committee lives (district, school, level, grade, class): the read model's
        row, or — just formed, not read yet — its stream's ``CommitteeFormed``."""
        c = await committee_queries.committee(self.pool, committee_id)
        if c is not None:
            return c
        found = fold(await self.writer.history(committee_stream(committee_id))).formed
        if found is None:
            return None
        return {
            "committee_id": committee_id,
            "district": found.district,
            "school_id": found.school_id,
            "level": found.level.value,
            "grade": found.grade,
            "class_id": found.class_id,
        }

    async def _scope_of(self, committee_id: str) -> tuple[str, str | None]:
        c = await self.where(committee_id)
        if c is None:
            raise UnknownRecordError("no such committee", "committee_id", "committee")
        return c["district"], c["school_id"]

    async def form(self, n: NewCommittee, *, district_runs_one: bool) -> list[IntegrationEvent]:
        committee_id = str(self.writer.new_id())
        school_id = None if n.level is CommitteeLevel.district else n.school_id
        classes = {
            str(c["class_id"]): int(str(c["grade"])) for c in await self._school_classes(school_id)
        }
        tag = scope_tag(
            n.district,
            school_id,
            n.level,
            n.grade if n.level is CommitteeLevel.grade else None,
            n.class_id if n.level is CommitteeLevel.class_ else None,
        )
        terms: list[Term] = []

        async def same_scope(uow: UnitOfWork, _: datetime) -> None:
            terms[:] = [
                Term(e.term_start, e.term_end)
                for e, _ in await uow.events.tagged(tag)
                if isinstance(e, CommitteeFormed)
            ]

        async def tag_it(uow: UnitOfWork, streams: list[str]) -> None:
            await uow.events.tag(tag, streams)

        cmd = FormCommittee(
            committee_id=committee_id,
            district=n.district,
            school_id=school_id,
            level=n.level,
            seats=n.seats,
            term=Term(n.term_start, n.term_end),
            formed_on=n.formed_on,
            formed_by=n.formed_by,
            grade=n.grade,
            class_id=n.class_id,
        )
        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_form(
                cmd,
                history,
                school_classes=classes,
                same_scope=terms,
                district_runs_one=district_runs_one,
            ),
            before=same_scope,
            after=tag_it,
        )

    async def adopt_charter(
        self, committee_id: str, *, articles: int, text: str, on: date, by: str
    ) -> list[IntegrationEvent]:
        district, school_id = await self._scope_of(committee_id)
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed[:] = [await uow.keys.seal(owner_subject(district, school_id), {"text": text})]

        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_charter(
                history, articles=articles, text=sealed[0], on=on, by=by
            ),
            before=seal,
        )

    async def nominate(
        self,
        committee_id: str,
        *,
        guardian_ref: str,
        name: str,
        on: date,
        by: str,
        class_id: str | None = None,
        school_id: str | None = None,
    ) -> list[IntegrationEvent]:
        """A guardian nominated in the open round; nominated already: ``[]``."""
        places = await committee_queries.guardian_places(self.pool, guardian_ref)
        sealed: list[Sealed] = []

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            sealed[:] = [await uow.keys.seal(guardian_subject(guardian_ref), {"name": name})]

        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_nominate(
                Nominate(guardian_ref, sealed[0], on, by, class_id, school_id),
                history,
                places=places,
            ),
            before=seal,
        )

    async def _classes_now(self, committee_id: str) -> list[str]:
        _, school_id = await self._scope_of(committee_id)
        return [str(c["class_id"]) for c in await self._school_classes(school_id)]

    async def elect(
        self,
        committee_id: str,
        *,
        members: tuple[Choice, ...],
        elected_on: date,
        by: str,
        voters: int | None = None,
    ) -> list[IntegrationEvent]:
        classes = await self._classes_now(committee_id)
        cmd = Election(members, elected_on, by, voters)
        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_election(cmd, history, school_classes=classes),
        )

    async def by_election(
        self,
        committee_id: str,
        *,
        members: tuple[Choice, ...],
        held_on: date,
        by: str,
        seats: int | None = None,
    ) -> list[IntegrationEvent]:
        classes = await self._classes_now(committee_id)
        cmd = ByElection(members, held_on, by, seats)
        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_by_election(cmd, history, school_classes=classes),
        )

    async def resign(
        self, committee_id: str, guardian_ref: str, *, reason: ResignReason, on: date, by: str
    ) -> list[IntegrationEvent]:
        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_resign(
                history, guardian_ref=guardian_ref, reason=reason, on=on, by=by
            ),
        )

    async def remove(
        self,
        committee_id: str,
        guardian_ref: str,
        *,
        reason: RemovalReason,
        on: date,
        by: str,
        note: str | None = None,
    ) -> list[IntegrationEvent]:
        district, school_id = await self._scope_of(committee_id)
        sealed: list[Sealed | None] = [None]

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            if note:
                sealed[0] = await uow.keys.seal(owner_subject(district, school_id), {"text": note})

        return await self.writer.run(
            committee_stream(committee_id),
            lambda history, _: decide_remove(
                history, guardian_ref=guardian_ref, reason=reason, on=on, by=by, note=sealed[0]
            ),
            before=seal,
        )

    async def end_memberships(
        self,
        guardian_ref: str,
        district: str,
        school_id: str,
        on: date,
        *,
        except_student: str | None = None,
    ) -> list[IntegrationEvent]:
        """For every committee of ``school_id`` (and the district committee of ``district``)
        where the guardian holds a current seat and no longer has a child enrolled in the
        committee's scope (``except_student``: a child who has just left, whatever the roster
        read model says yet), ``MembershipEnding`` with ``ends_on`` the end of the school term
        ``on`` falls in (31 January / 31 August) or the committee's term end if sooner.
        Idempotent: a seat already ending appends nothing; ``[]`` when there is nothing to do."""
        committee_ids = await committee_queries.seats_of_guardian(
            self.pool, guardian_ref, district, school_id
        )
        if not committee_ids:
            return []
        places = await committee_queries.guardian_places(
            self.pool, guardian_ref, except_student=except_student
        )
        out: list[IntegrationEvent] = []
        for committee_id in committee_ids:

            def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
                return decide_ending(history, guardian_ref=guardian_ref, on=on, places=places)

            out += await self.writer.run(committee_stream(committee_id), decide)
        return out
