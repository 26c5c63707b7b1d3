"""What the committees tests' cells and fuzzing touch, made as the people who would make it:
committee A (the school committee of school 330106001, every class seated, one seat vacant, a
nominee for its by-election), committee B (the class committee of class 330106001-02), committee
C (the class committee of class 330106001-01, a nominee, not elected), the district committee,
the channels' handlers and an item on three channels (a hotline item assigned to the head
teacher of 330106001-01, a bureau-mailbox item, one passed on through committee A by its chair),
a joint meeting with A, the parent school and its coordinator. What could not be made is in
``failures`` (the caller reports it: one part missing still lets the others be tested)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.support.committees_school import CommitteesSchool
from tests.support.matrix import CLASS, DISTRICT, OTHER_CLASS, SCHOOL
from tongxin_committees.domain.calendar import china_date
from tongxin_platform.eventstore import now_utc

TODAY = china_date(now_utc())
TERM = {"term_start": str(TODAY - timedelta(days=30)), "term_end": str(TODAY + timedelta(days=700))}


@dataclass
class Seeded:
    """What ``seed`` made (ids of what it could not make stay "no-…": the cell reports it)."""

    a: str = "no-committee-a"  # the school committee of SCHOOL, elected, one seat vacant
    b: str = "no-committee-b"  # the class committee of OTHER_CLASS, elected
    c: str = "no-committee-c"  # the class committee of CLASS, nominees, not elected
    district: str = "no-district-committee"
    hotline: str = "no-item"  # a hotline item, assigned to CLASS's head teacher
    bureau: str = "no-item"  # a bureau-mailbox item naming SCHOOL
    committee: str = "no-item"  # an item passed on through committee A by its chair
    member_in: str = ""  # the chair of A
    member_out: str = ""  # the chair of B (on B only)
    resigns: str = ""  # a member of A whose resignation the staff record
    removed: str = ""  # a member of A the managers remove
    by_election: str = ""  # a nominee of A's by-election
    c_nominee: str = ""  # a nominee of C (C's election seats them)
    c_new: str = ""  # a guardian of CLASS the cells nominate to C
    failures: list[str] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)


async def seed(s: CommitteesSchool) -> Seeded:
    """What the cells touch, made by the people who would make it."""
    sd = Seeded()
    roster = s.roster
    classes = roster.class_ids(SCHOOL)
    principal = s.principal(SCHOOL)
    sd.actors.add(roster.one("principal", SCHOOL).ref)

    async def step(what: str, method: str, path: str, who: dict[str, str], **kw: Any) -> Any:
        r = await s.http.request(method, path, headers=who, **kw)
        if r.status_code >= 300:
            sd.failures.append(f"setup {what}: {method} {path} → {r.status_code} {r.text[:300]}")
            return {}
        return r.json()

    async def form(body: dict[str, Any], path: str = f"/schools/{SCHOOL}/committees") -> str:
        made = await step("form", "POST", path, principal, json={**body, **TERM})
        return str(made.get("committee_id", "no-committee"))

    async def nominate(committee_id: str, guardian_ref: str, class_id: str) -> None:
        body = {
            "guardian_ref": guardian_ref,
            "name": roster.guardian(guardian_ref).name,
            "class_id": class_id,
        }
        await step(
            "nominate", "POST", f"/committees/{committee_id}/candidates", principal, json=body
        )

    sd.a = await form({"level": "school", "seats": len(classes) + 1})
    sd.b = await form({"level": "class", "class_id": OTHER_CLASS, "seats": 3})
    sd.c = await form({"level": "class", "class_id": CLASS, "seats": 3})
    seated = [roster.guardian_of(c, 1).ref for c in classes]
    sd.member_in, sd.resigns, sd.removed = seated[0], seated[-1], seated[-2]
    sd.member_out = roster.guardian_of(OTHER_CLASS, 2).ref
    sd.by_election = roster.guardian_of(OTHER_CLASS, 0).ref
    sd.c_nominee = roster.guardian_of(CLASS, 0).ref
    sd.c_new = roster.guardian_of(CLASS, 2).ref
    for ref, class_id in zip(seated, classes, strict=True):
        await nominate(sd.a, ref, class_id)
    await nominate(sd.b, sd.member_out, OTHER_CLASS)
    await nominate(sd.c, sd.c_nominee, CLASS)
    members = [
        {"guardian_ref": ref, "role": "chair" if ref == sd.member_in else "member"}
        for ref in seated
    ]
    election = {"elected_on": str(TODAY), "members": members}
    await step("election A", "POST", f"/committees/{sd.a}/election", principal, json=election)
    b_election = {
        "elected_on": str(TODAY),
        "members": [{"guardian_ref": sd.member_out, "role": "chair"}],
    }
    await step("election B", "POST", f"/committees/{sd.b}/election", principal, json=b_election)
    await nominate(sd.a, sd.by_election, OTHER_CLASS)
    bureau = s.bureau()
    made = await step(
        "district committee",
        "POST",
        f"/districts/{DISTRICT}/committees",
        bureau,
        json={"seats": 5, **TERM},
    )
    sd.district = str(made.get("committee_id", sd.district))
    # the parents' voice: handlers, an item on each of three channels
    for channel, ref in (
        ("principal_mailbox", roster.one("principal", SCHOOL).ref),
        ("hotline", roster.one("family_education_coordinator", SCHOOL).ref),
        ("committee", roster.one("family_education_coordinator", SCHOOL).ref),
    ):
        body = {"channel": channel, "handler_ref": ref}
        await step("handler", "POST", f"/schools/{SCHOOL}/feedback-handlers", principal, json=body)
    item = {"topic": "homework_burden", "text": "作业太多，孩子睡得晚", "received_on": str(TODAY)}
    made = await step(
        "hotline item",
        "POST",
        f"/schools/{SCHOOL}/feedback",
        principal,
        json={**item, "channel": "hotline"},
    )
    sd.hotline = str(made.get("item_id", sd.hotline))
    head = roster.head_of(CLASS).ref
    await step(
        "assignment",
        "POST",
        f"/feedback/{sd.hotline}/assignment",
        principal,
        json={"assignee_ref": head},
    )
    made = await step(
        "bureau item",
        "POST",
        f"/schools/{SCHOOL}/feedback",
        bureau,
        json={**item, "channel": "bureau_mailbox"},
    )
    sd.bureau = str(made.get("item_id", sd.bureau))
    chair = s.member(sd.member_in, SCHOOL)
    sd.actors.add(sd.member_in)
    made = await step(
        "committee item",
        "POST",
        f"/schools/{SCHOOL}/feedback",
        chair,
        json={**item, "channel": "committee", "committee_id": sd.a},
    )
    sd.committee = str(made.get("item_id", sd.committee))
    # a joint meeting with committee A; the parent school and its coordinator
    joint = {
        "kind": "joint",
        "held_on": str(TODAY),
        "committee_ids": [sd.a],
        "parents_attending": 4,
        "staff_attending": 3,
        "resolutions": 2,
    }
    await step("joint meeting", "POST", f"/schools/{SCHOOL}/meetings", principal, json=joint)
    await step(
        "parent school",
        "POST",
        f"/schools/{SCHOOL}/parent-school",
        principal,
        json=parent_school(s),
    )
    await step(
        "coordinator",
        "POST",
        f"/schools/{SCHOOL}/family-education-coordinator",
        principal,
        json=coordinator(s),
    )
    return sd


def parent_school(s: CommitteesSchool) -> dict[str, Any]:
    r = s.roster
    return {
        "head_ref": r.one("principal", SCHOOL).ref,
        "management": [r.one("middle_leader", SCHOOL).ref, r.one("principal", SCHOOL).ref],
        "teachers": [r.head_of(CLASS).ref],
        "has_venue": True,
        "curriculum_units": 8,
    }


def coordinator(s: CommitteesSchool) -> dict[str, Any]:
    r = s.roster
    return {
        "staff_ref": r.one("family_education_coordinator", SCHOOL).ref,
        "led_by": r.one("middle_leader", SCHOOL).ref,
    }
