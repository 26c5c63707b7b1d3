"""Committees and their seats (from ``committees.events``): each committee's level, scope, term,
seats and charter version; its nominees per round (the name stays sealed with the guardian's
key); its members — who represents which class (or school) in which role, since when, ending
when, gone when (resigned or removed). No student appears here."""

from __future__ import annotations

from tongxin_contracts.events.committees import (
    ByElectionHeld,
    CandidateNominated,
    CharterAdopted,
    CommitteeElected,
    CommitteeFormed,
    MemberRemoved,
    MemberResigned,
    MembershipEnding,
    Seat,
)
from tongxin_platform.projection import Changes, Greatest, Projection, Table

T, NN, DAY = "text", "text NOT NULL", "date NOT NULL"
TABLES = [
    Table(
        "committees",
        ("committee_id",),
        {
            "committee_id": T,
            "district": NN,
            "school_id": T,  # null: a district committee
            "level": NN,
            "grade": "integer",
            "class_id": T,
            "seats": "integer NOT NULL",
            "term_start": DAY,
            "term_end": DAY,
            "formed_on": DAY,
            "charter_version": "integer NOT NULL DEFAULT 0",
            "charter_adopted_on": "date",
            "elected_on": "date",
            "by_elections": "integer NOT NULL DEFAULT 0",
        },
        indexes={
            "committees_by_school": "(school_id, level)",
            "committees_by_district": "(district, level)",
        },
    ),
    Table(
        "committee_nominees",
        ("committee_id", "round_no", "guardian_ref"),
        {
            "committee_id": T,
            "round_no": "integer",
            "guardian_ref": T,
            "class_id": T,
            "represents_school_id": T,
            "nominated_on": DAY,
            "guardian_name": "jsonb NOT NULL",  # sealed with the guardian's key
        },
    ),
    Table(
        "committee_members",
        ("committee_id", "guardian_ref"),
        {
            "committee_id": T,
            "guardian_ref": T,
            "role": NN,
            "class_id": T,
            "represents_school_id": T,
            "standing": "boolean NOT NULL DEFAULT false",
            "round_no": "integer NOT NULL",
            "since": DAY,
            "ends_on": "date",  # MembershipEnding: the seat's last day
            "left_on": "date",  # resigned or removed on
            "left_how": T,  # resigned:<reason> | removed:<reason>
        },
        indexes={"committee_members_by_guardian": "(guardian_ref)"},
    ),
]


def _seat(rows: Changes, committee_id: str, m: Seat, round_no: int, since: object) -> None:
    rows["committee_members"].upsert(
        (committee_id, m.guardian_ref),
        role=m.role.value,
        class_id=m.class_id,
        represents_school_id=m.school_id,
        standing=m.standing,
        round_no=round_no,
        since=since,
        ends_on=None,
        left_on=None,
        left_how=None,
    )


def register(p: Projection) -> None:
    """The handlers of the committees' events, on the service's one read model."""

    @p.on(CommitteeFormed)
    def _(e: CommitteeFormed, rows: Changes) -> None:
        rows["committees"].upsert(
            e.committee_id,
            district=e.district,
            school_id=e.school_id,
            level=e.level.value,
            grade=e.grade,
            class_id=e.class_id,
            seats=e.seats,
            term_start=e.term_start,
            term_end=e.term_end,
            formed_on=e.formed_on,
        )

    @p.on(CharterAdopted)
    def _(e: CharterAdopted, rows: Changes) -> None:
        rows["committees"].update(
            e.committee_id,
            charter_version=Greatest(e.version_no),
            charter_adopted_on=e.adopted_on,
        )

    @p.on(CandidateNominated)
    def _(e: CandidateNominated, rows: Changes) -> None:
        rows["committee_nominees"].upsert(
            (e.committee_id, e.round_no, e.guardian_ref),
            class_id=e.class_id,
            represents_school_id=e.represents_school_id,
            nominated_on=e.nominated_on,
            guardian_name=e.guardian_name.model_dump_json(),
        )

    @p.on(CommitteeElected)
    def _(e: CommitteeElected, rows: Changes) -> None:
        rows["committees"].update(e.committee_id, seats=e.seats, elected_on=e.elected_on)
        for m in e.members:
            _seat(rows, e.committee_id, m, 0, e.elected_on)

    @p.on(ByElectionHeld)
    def _(e: ByElectionHeld, rows: Changes) -> None:
        rows["committees"].update(e.committee_id, seats=e.seats, by_elections=Greatest(e.round_no))
        for m in e.members:
            _seat(rows, e.committee_id, m, e.round_no, e.held_on)

    @p.on(MemberResigned)
    def _(e: MemberResigned, rows: Changes) -> None:
        rows["committee_members"].update(
            (e.committee_id, e.guardian_ref),
            left_on=e.resigned_on,
            left_how=f"resigned:{e.reason.value}",
        )

    @p.on(MemberRemoved)
    def _(e: MemberRemoved, rows: Changes) -> None:
        rows["committee_members"].update(
            (e.committee_id, e.guardian_ref),
            left_on=e.removed_on,
            left_how=f"removed:{e.reason.value}",
        )

    @p.on(MembershipEnding)
    def _(e: MembershipEnding, rows: Changes) -> None:
        rows["committee_members"].update((e.committee_id, e.guardian_ref), ends_on=e.ends_on)
