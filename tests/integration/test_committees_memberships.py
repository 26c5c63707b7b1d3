"""A guardian whose last child leaves the school leaves its committee at the end of the term
(issue 12, deliverable 2), through the real stack: the registry records a child leaving or
moving school, committees' memberships reaction reads it from the registry's topic, and the
committee's stream gets one ``MembershipEnding`` — once, however often Kafka delivers the
trigger; a guardian with another child still at the school keeps the seat, and so does one
whose child only changed class."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.committees_school import (
    CommitteesEnv,
    CommitteesSchool,
    committees_env_fixture,
)
from tests.support.waiting import eventually
from tongxin_committees.domain.calendar import china_date
from tongxin_committees.reactions.memberships import MEMBERSHIPS

pytestmark = pytest.mark.integration
__all__ = ["committees_env_fixture"]


def term_end(day: date) -> date:
    """The last day of the school term ``day`` falls in (31 January / 31 August)."""
    if day.month >= 9:
        return date(day.year + 1, 1, 31)
    if day.month == 1:
        return date(day.year, 1, 31)
    return date(day.year, 8, 31)


async def ok(s: CommitteesSchool, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
    r = await s.http.request(method, path, headers=who, **kw)
    assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


async def elect_school_committee(s: CommitteesSchool, seated: list[tuple[str, str]]) -> str:
    """The principal forms the school committee of the first school and elects ``seated``
    (guardian_ref, class_id) — one per class; waits until the read model has their seats."""
    principal = s.principal()
    today = china_date(s.clock())
    made = await ok(
        s,
        "POST",
        f"/schools/{s.school_id}/committees",
        principal,
        json={
            "level": "school",
            "seats": len(seated),
            "term_start": str(today - timedelta(days=10)),
            "term_end": str(today + timedelta(days=700)),
        },
    )
    committee_id = str(made["committee_id"])
    for ref, class_id in seated:
        body = {"guardian_ref": ref, "name": s.roster.guardian(ref).name, "class_id": class_id}
        await ok(s, "POST", f"/committees/{committee_id}/candidates", principal, json=body)
    members = [{"guardian_ref": ref, "role": "member"} for ref, _ in seated]
    members[0]["role"] = "chair"
    await ok(
        s,
        "POST",
        f"/committees/{committee_id}/election",
        principal,
        json={"elected_on": str(today), "members": members},
    )

    async def seats() -> int:
        n: int = await s.pool.fetchval(
            "SELECT count(*) FROM committees.committee_members WHERE committee_id = $1",
            committee_id,
        )
        return n

    await eventually(seats, lambda n: n == len(seated), what="the seats in the read model")
    return committee_id


async def endings(s: CommitteesSchool, committee_id: str) -> list[dict[str, Any]]:
    return await s.events("MembershipEnding", f"committee-{committee_id}")


def guardians_ending(payloads: list[dict[str, Any]]) -> list[str]:
    return sorted(str(p["guardian_ref"]) for p in payloads)


async def test_a_guardian_whose_only_child_leaves_gets_one_ending_at_term_end_however_often_the_leaving_is_delivered(  # noqa: E501
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        roster = s.roster
        classes = roster.class_ids(s.school_id)
        sibling = roster.sibling_guardian(s.school_id)  # children in classes 01 and 03
        single = [roster.guardian_of(c, 1) for c in classes[1:]]
        seated = [
            (sibling.ref, classes[0]),
            *((g.ref, c) for g, c in zip(single, classes[1:], strict=True)),
        ]
        committee_id = await elect_school_committee(s, seated)
        leaver = roster.children_of(single[0].ref)  # the one child of class 02's member
        assert len(leaver) == 1
        sibling_child = next(p for p in roster.children_of(sibling.ref) if p.class_id == classes[0])
        # given: class 02's member's only child leaves; the sibling's child of class 01 too
        for child in (leaver[0], sibling_child):
            r = await s.registry.post(
                f"/students/{child.ref}/leave",
                json={"reason": "moved_away"},
                headers=s.principal(),  # the registry's roster.change: the school's
            )
            assert r.status_code == 200, r.text

        async def ended() -> list[str]:
            return guardians_ending(await endings(s, committee_id))

        # then: one ending, for the guardian who has no child left at the school
        await eventually(ended, lambda g: g == [single[0].ref], what="the member's seat ending")
        # when: Kafka delivers the leaving again
        await s.redeliver("StudentLeft", leaver[0].ref, s.registry_topic)
        await s.registry_read()
        await s.caught_up(MEMBERSHIPS.group, s.registry_topic)
        # then: still one ending, and the sibling's guardian keeps the seat
        rows = await endings(s, committee_id)
        assert guardians_ending(rows) == [single[0].ref]
        payload = rows[0]
        today = china_date(s.clock())
        assert payload["ends_on"] == str(term_end(today))
        assert payload["reason"] == "last_child_left"
        answered = await s.pool.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE scope = $1", MEMBERSHIPS.scope
        )
        assert answered == 2  # the two leavings, each once (the redelivery was skipped)


async def test_a_child_moving_to_another_school_ends_the_guardians_seat_and_a_change_of_class_does_not(  # noqa: E501
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        roster = s.roster
        classes = roster.class_ids(s.school_id)
        members = [roster.guardian_of(c, 1) for c in classes]
        committee_id = await elect_school_committee(
            s, [(g.ref, c) for g, c in zip(members, classes, strict=True)]
        )
        mover = roster.children_of(members[1].ref)[0]  # to the other school
        changer = roster.children_of(members[2].ref)[0]  # to another class of the same school
        other_class = roster.class_ids(s.other_school_id)[0]
        for child, to in ((mover, other_class), (changer, classes[0])):
            r = await s.registry.post(
                f"/students/{child.ref}/transfer", json={"class_id": to}, headers=s.officer
            )
            assert r.status_code == 200, r.text

        async def ended() -> list[str]:
            return guardians_ending(await endings(s, committee_id))

        await eventually(ended, lambda g: g == [members[1].ref], what="the mover's seat ending")
        await s.registry_read()
        await s.caught_up(MEMBERSHIPS.group, s.registry_topic)
        assert guardians_ending(await endings(s, committee_id)) == [members[1].ref]


async def test_a_district_committee_keeps_a_guardian_whose_child_moves_within_the_district_until_the_child_leaves(  # noqa: E501
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world(district_committees=frozenset({"*"})) as s:
        roster = s.roster
        today = china_date(s.clock())
        bureau = s.bureau()
        member = roster.guardian_of(roster.class_ids(s.school_id)[1], 1)
        child = roster.children_of(member.ref)[0]
        made = await ok(
            s,
            "POST",
            f"/districts/{s.district}/committees",
            bureau,
            json={
                "seats": 3,
                "term_start": str(today - timedelta(days=10)),
                "term_end": str(today + timedelta(days=700)),
            },
        )
        committee_id = str(made["committee_id"])
        nominee = {"guardian_ref": member.ref, "name": member.name, "school_id": s.school_id}
        await ok(s, "POST", f"/committees/{committee_id}/candidates", bureau, json=nominee)
        election = {
            "elected_on": str(today),
            "members": [{"guardian_ref": member.ref, "role": "chair", "standing": True}],
        }
        await ok(s, "POST", f"/committees/{committee_id}/election", bureau, json=election)

        async def seated() -> int:
            n: int = await s.pool.fetchval(
                "SELECT count(*) FROM committees.committee_members WHERE committee_id = $1",
                committee_id,
            )
            return n

        await eventually(seated, lambda n: n == 1, what="the district seat in the read model")
        # given: the child moves to the district's other school — the seat stays
        to = roster.class_ids(s.other_school_id)[0]
        r = await s.registry.post(
            f"/students/{child.ref}/transfer", json={"class_id": to}, headers=s.officer
        )
        assert r.status_code == 200, r.text
        await s.registry_read()
        await s.caught_up(MEMBERSHIPS.group, s.registry_topic)
        assert await endings(s, committee_id) == []
        # when: the child leaves the district's schools — the seat ends at the end of the term
        r = await s.registry.post(
            f"/students/{child.ref}/leave",
            json={"reason": "moved_away"},
            headers=s.principal(s.other_school_id),
        )
        assert r.status_code == 200, r.text

        async def ended() -> list[str]:
            return guardians_ending(await endings(s, committee_id))

        await eventually(ended, lambda g: g == [member.ref], what="the district seat ending")
