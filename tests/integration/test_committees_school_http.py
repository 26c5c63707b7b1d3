"""Meetings and the parent school through the real stack (registry roster → committees' read
model on Kafka and PostgreSQL, the committees API): a school year of one school's meetings and
parent-school sessions, the figures equal to those computed here from what the test recorded;
the refusals naming their rule; nothing that ranks a student gets in.

The dates are those of the school year before the current one: every day is past, whatever day
the test runs. Committees are formed, and a member elected, through the committees API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.committees_school import (
    CommitteesEnv,
    CommitteesSchool,
    Guardian,
    committees_env_fixture,
)
from tests.support.kafka_reader import read_all
from tests.support.waiting import eventually
from tongxin_committees.domain.calendar import china_date, school_year_of
from tongxin_platform.eventstore import now_utc

__all__ = ["committees_env_fixture"]


def last_year() -> tuple[str, int]:
    """The school year before the current one, and the calendar year it starts in."""
    start = int(school_year_of(china_date(now_utc()))[:4]) - 1
    return f"{start}-{start + 1}", start


def refused(r: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    if rule is not None:
        assert body.get("rule") == rule, body
    return body


async def class_committee(
    s: CommitteesSchool, school_id: str, class_id: str, member: Guardian | None = None
) -> str:
    """A class committee formed through the committees API (and ``member`` elected its chair)."""
    _, y = last_year()
    headers = s.principal(school_id)
    r = await s.http.post(
        f"/schools/{school_id}/committees",
        json={
            "level": "class",
            "class_id": class_id,
            "seats": 3,
            "term_start": f"{y}-09-01",
            "term_end": f"{y + 3}-08-31",
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    committee_id: str = r.json()["committee_id"]
    if member is not None:
        r = await s.http.post(
            f"/committees/{committee_id}/candidates",
            json={"guardian_ref": member.ref, "name": member.name},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        r = await s.http.post(
            f"/committees/{committee_id}/election",
            json={
                "elected_on": f"{y}-09-20",
                "members": [{"guardian_ref": member.ref, "role": "chair"}],
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
    return committee_id


async def shown(s: CommitteesSchool, path: str, headers: dict[str, str], probe: Any) -> Any:
    """The answer of ``path`` once ``probe(body)`` holds (the read model catches up)."""

    async def get() -> Any:
        r = await s.http.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    return await eventually(get, probe, timeout=60, what=path)


async def test_a_school_year_of_meetings_and_the_parent_school_gives_the_figures_computed_here(
    committees_env: CommitteesEnv,
) -> None:
    year, y = last_year()
    async with committees_env.world() as s:
        one, two = s.school_id, s.other_school_id
        roster = s.roster
        principal, bureau = s.principal(), s.bureau()
        leader, coordinator = (
            roster.one("middle_leader", one),
            roster.one("family_education_coordinator", one),
        )
        teacher = roster.one("subject_teacher", one)
        c1 = roster.class_ids(one)[0]
        mother = roster.guardian_of(c1)
        member = mother.ref
        k_one = await class_committee(s, one, c1, mother)
        k_two = await class_committee(s, two, roster.class_ids(two)[0])

        # --- meetings ---------------------------------------------------------------------
        posted: list[tuple[dict[str, str], dict[str, Any]]] = [
            (
                principal,
                {
                    "kind": "joint",
                    "held_on": f"{y}-10-12",
                    "committee_ids": [k_one],
                    "parents_attending": 5,
                    "staff_attending": 4,
                    "resolutions": 3,
                    "minutes": "决议：减轻作业负担",
                },
            ),
            (
                s.head_teacher(c1),
                {
                    "kind": "parent",
                    "held_on": f"{y}-09-20",
                    "scope": "class",
                    "class_id": c1,
                    "families_invited": 3,
                    "parents_attending": 3,
                    "opinions_before": True,
                    "opinions_after": True,
                },
            ),
            (
                principal,
                {
                    "kind": "parent",
                    "held_on": f"{y + 1}-03-01",
                    "scope": "grade",
                    "grade": 1,
                    "families_invited": 6,
                    "parents_attending": 5,
                    "opinions_before": True,
                    "opinions_after": False,
                    "committee_ids": [k_one],
                },
            ),
            (
                principal,
                {
                    "kind": "reception_day",
                    "held_on": f"{y}-11-05",
                    "families_received": 9,
                    "received_by": [roster.one("principal", one).ref, leader.ref],
                },
            ),
            (
                s.principal(two),
                {"kind": "open_day", "held_on": f"{y}-11-15", "days": 5, "parents_attending": 80},
            ),
        ]
        ids = []
        for headers, body in posted:
            school = two if body["kind"] == "open_day" else one
            r = await s.http.post(f"/schools/{school}/meetings", json=body, headers=headers)
            assert r.status_code == 200, r.text
            ids.append(r.json()["meeting_id"])

        listed = await shown(
            s,
            f"/schools/{one}/meetings?school_year={year}",
            principal,
            lambda b: len(b["meetings"]) == 4,
        )
        assert [m["kind"] for m in listed["meetings"]] == [
            "parent",
            "joint",
            "reception_day",
            "parent",
        ]
        assert "minutes" not in listed["meetings"][1]
        assert listed["meetings"][1]["has_minutes"]
        assert "决议" not in str(listed)
        on_the_wire = await read_all(s.settings.kafka_bootstrap_servers, s.settings.topic)
        assert on_the_wire
        assert not any("决议".encode() in r.value for r in on_the_wire)

        # The figures, computed here from what was posted.
        expected: dict[str, dict[str, Any]] = {}
        for sid in (one, two):
            mine = [b for h, b in posted if (two if b["kind"] == "open_day" else one) == sid]
            parent = [b for b in mine if b["kind"] == "parent"]
            opens = sum(b["kind"] == "open_day" for b in mine)
            expected[sid] = {
                "school_id": sid,
                "joint_meetings": sum(b["kind"] == "joint" for b in mine),
                "parent_meetings": len(parent),
                "parent_meetings_opinions_before": sum(b["opinions_before"] for b in parent),
                "parent_meetings_opinions_after": sum(b["opinions_after"] for b in parent),
                "parent_meetings_opinions_before_and_after": sum(
                    b["opinions_before"] and b["opinions_after"] for b in parent
                ),
                "open_days": opens,
                "open_days_met": opens >= 1,
                "reception_days": sum(b["kind"] == "reception_day" for b in mine),
            }
        figures = (
            await s.http.get(
                f"/districts/{s.district}/meeting-figures?school_year={year}", headers=bureau
            )
        ).json()
        assert figures["schools"] == [expected[one], expected[two]]
        assert figures["schools_without_open_day"] == [one]

        # The meetings a committee sat in: its member sees their own committee's only.
        sat = await shown(
            s,
            f"/committees/{k_one}/meetings",
            s.member(member, one),
            lambda b: len(b["meetings"]) == 2,
        )
        assert sorted(m["meeting_id"] for m in sat["meetings"]) == sorted([ids[0], ids[2]])
        other = s.member(member, one)
        refused(await s.http.get(f"/committees/{k_two}/meetings", headers=other), 404)
        refused(await s.http.get(f"/committees/{k_one}/meetings", headers=s.principal(two)), 404)
        own = await s.http.get(
            f"/schools/{one}/meetings?school_year={year}", headers=s.member(member, one)
        )
        refused(own, 403, "member_reads_own_committee")
        teacher_of_c2 = s.head_teacher(roster.class_ids(one)[1])
        read = await s.http.get(
            f"/schools/{one}/meetings?school_year={year}", headers=teacher_of_c2
        )
        assert len(read.json()["meetings"]) == 4, read.text

        # --- the parent school ----------------------------------------------------------------
        refused(
            await s.http.post(
                f"/schools/{one}/parent-school/sessions",
                json={
                    "kind": "lecture",
                    "mode": "in_person",
                    "held_on": f"{y}-09-10",
                    "class_hours": 2,
                    "topic": "reading",
                    "attendance": 30,
                },
                headers=principal,
            ),
            422,
            "parent_school_established",
        )
        refused(
            await s.http.post(
                f"/schools/{one}/parent-school",
                json={
                    "head_ref": leader.ref,
                    "management": [leader.ref],
                    "teachers": [teacher.ref],
                    "has_venue": True,
                    "curriculum_units": 8,
                },
                headers=principal,
            ),
            422,
            "principal_heads",
        )
        r = await s.http.post(
            f"/schools/{one}/parent-school",
            json={
                "head_ref": roster.one("principal", one).ref,
                "management": [leader.ref, coordinator.ref],
                "teachers": [teacher.ref, "lecturer-police-1"],
                "has_venue": True,
                "curriculum_units": 8,
                "curriculum": "家庭教育课程",
            },
            headers=principal,
        )
        assert r.status_code == 200, r.text
        sessions = [
            ("lecture", f"{y}-09-25", 2.0),
            ("holiday_lecture", f"{y + 1}-01-15", 2.0),
            ("term_start_lecture", f"{y + 1}-02-20", 2.0),
            ("term_mid_lecture", f"{y + 1}-04-20", 1.5),
            ("salon", f"{y}-10-20", 1.0),
            ("practice", f"{y + 1}-05-10", 2.0),
        ]

        async def session(kind: str, held_on: str, hours: float) -> None:
            r = await s.http.post(
                f"/schools/{one}/parent-school/sessions",
                json={
                    "kind": kind,
                    "mode": "online" if kind == "salon" else "in_person",
                    "held_on": held_on,
                    "class_hours": hours,
                    "topic": "parent_child_communication",
                    "attendance": 40,
                    "title": "亲子沟通",
                },
                headers=s.coordinator(one),
            )
            assert r.status_code == 200, r.text
            assert r.json()["school_year"] == year

        for kind, held_on, hours in sessions:
            await session(kind, held_on, hours)
        view = await shown(
            s,
            f"/schools/{one}/parent-school?school_year={year}",
            principal,
            lambda b: len(b["sessions"]) == 6,
        )
        taught = [x for x in sessions if x[0].endswith("lecture")]
        rule = view["teaching_rule"]
        assert (rule["taught_sessions"], rule["taught_hours"], rule["activities"]) == (
            len(taught),
            sum(h for _, _, h in taught),
            2,
        )
        assert (rule["hours_met"], rule["rule_met"]) == (False, False)  # 7.5 hours of 8
        assert view["parent_school"]["outside_lecturers"] == ["lecturer-police-1"]
        assert "亲子沟通" not in str(view)
        assert "家庭教育课程" not in str(view)

        wire = b"".join(
            r.value for r in await read_all(s.settings.kafka_bootstrap_servers, s.settings.topic)
        )
        assert "亲子沟通".encode() not in wire
        assert "家庭教育课程".encode() not in wire

        await session("term_end_lecture", f"{y + 1}-06-25", 0.5)  # now 8 hours
        view = await shown(
            s,
            f"/schools/{one}/parent-school?school_year={year}",
            principal,
            lambda b: len(b["sessions"]) == 7,
        )
        assert view["teaching_rule"]["rule_met"] is True

        # --- the coordinator and the assessment -------------------------------------------------
        body = {"staff_ref": coordinator.ref, "led_by": teacher.ref}
        refused(
            await s.http.post(
                f"/schools/{one}/family-education-coordinator", json=body, headers=principal
            ),
            422,
            "led_by_school_leader",
        )
        refused(
            await s.http.post(
                f"/schools/{one}/family-education-coordinator",
                json={"staff_ref": coordinator.ref, "led_by": leader.ref},
                headers=s.middle_leader(one),
            ),
            403,
        )
        r = await s.http.post(
            f"/schools/{one}/family-education-coordinator",
            json={"staff_ref": coordinator.ref, "led_by": leader.ref},
            headers=principal,
        )
        assert r.status_code == 200, r.text
        for school, standard in ((one, True), (two, False)):
            r = await s.http.post(
                f"/schools/{school}/parent-school/assessment",
                json={"school_year": year, "standard": standard, "criteria_met": ["venue"]},
                headers=bureau,
            )
            assert r.status_code == 200, r.text
        path = f"/districts/{s.district}/parent-school-figures?school_year={year}"
        got = await shown(s, path, bureau, lambda b: b["schools"][1]["assessed_standard"] is False)
        assert [
            (x["school_id"], x["rule_met"], x["assessed_standard"], x["coordinator"])
            for x in got["schools"]
        ] == [(one, True, True, coordinator.ref), (two, False, False, None)]
        assert got["schools_without_coordinator"] == [two]
        assert (got["standard_share"], got["standard_target_met"]) == (0.5, False)

        # A later assessment of the same year replaces the earlier: 2 of 2 standard.
        r = await s.http.post(
            f"/schools/{two}/parent-school/assessment",
            json={"school_year": year, "standard": True, "criteria_met": []},
            headers=bureau,
        )
        assert r.status_code == 200, r.text
        got = await shown(s, path, bureau, lambda b: b["standard_share"] == 1.0)
        assert got["standard_target_met"] is True

        # Withdrawn, the coordinator's school shows up without one.
        r = await s.http.post(
            f"/schools/{one}/family-education-coordinator/withdrawal", json={}, headers=principal
        )
        assert r.status_code == 200, r.text
        got = await shown(s, path, bureau, lambda b: b["schools_without_coordinator"] == [one, two])


async def test_meetings_are_refused_naming_their_rule_and_nothing_can_rank_a_student(
    committees_env: CommitteesEnv,
) -> None:
    _, y = last_year()
    async with committees_env.world() as s:
        one, two = s.school_id, s.other_school_id
        c1, c2 = s.roster.class_ids(one)[:2]
        elsewhere = await class_committee(s, two, s.roster.class_ids(two)[0])
        base = {
            "kind": "parent",
            "held_on": f"{y}-10-10",
            "scope": "class",
            "class_id": c1,
            "families_invited": 3,
            "parents_attending": 3,
            "opinions_before": True,
            "opinions_after": True,
        }
        url = f"/schools/{one}/meetings"
        for extra in ({"ranking": [1, 2, 3]}, {"rank": 1}, {"scores": {"a": 98}}):
            body = refused(
                await s.http.post(url, json={**base, **extra}, headers=s.principal()), 422
            )
            assert next(iter(extra)) in str(body)
        refused(
            await s.http.post(url, json={**base, "parents_attending": 4}, headers=s.principal()),
            422,
            "attending_within_invited",
        )
        refused(
            await s.http.post(url, json={**base, "class_id": c2}, headers=s.head_teacher(c1)),
            403,
            "head_teacher_own_class",
        )
        joint = {
            "kind": "joint",
            "held_on": f"{y}-10-10",
            "committee_ids": [elsewhere],
            "parents_attending": 3,
            "staff_attending": 2,
            "resolutions": 1,
        }
        refused(
            await s.http.post(url, json=joint, headers=s.principal()), 422, "committee_of_school"
        )
        refused(
            await s.http.post(
                url,
                json={
                    "kind": "reception_day",
                    "held_on": f"{y}-10-10",
                    "families_received": 2,
                    "received_by": [s.roster.one("subject_teacher", one).ref],
                },
                headers=s.principal(),
            ),
            422,
            "received_by_leaders",
        )
        refused(
            await s.http.post(
                url,
                json={
                    "kind": "open_day",
                    "held_on": f"{y}-10-10",
                    "days": 8,
                    "parents_attending": 1,
                },
                headers=s.principal(),
            ),
            422,
        )
        refused(await s.http.post(url, json=base, headers=s.principal(two)), 403)
        r = await s.http.post(url, json=base, headers=s.head_teacher(c1))
        assert r.status_code == 200, r.text

        # The same Idempotency-Key records the meeting once, with the same answer.
        day = {"kind": "open_day", "held_on": f"{y}-10-11", "parents_attending": 12}
        keyed = {**s.principal(), "Idempotency-Key": "open-day-1"}
        first = await s.http.post(url, json=day, headers=keyed)
        again = await s.http.post(url, json=day, headers=keyed)
        assert first.status_code == again.status_code == 200, again.text
        assert first.json() == again.json()
        stored = await s.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id LIKE 'meeting-%'"
            " AND event_type LIKE '%OpenDayHeld%'"
        )
        assert stored == 1
