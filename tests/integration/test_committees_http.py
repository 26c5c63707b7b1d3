"""Committees through the real stack (registry roster → Kafka → committees' read model; the
committees API on PostgreSQL): a school committee formed, its charter, nominations from the
roster, an election refused for the class without a representative and then recorded, the
members' names opened for managers and fellow members only, a member's own committees, a
resignation, a class opened later shown unrepresented until a by-election seats one of its
parents, a removal, a seat ending when its member's last child leaves, and the district's
figures — each checked against what the test computes from the roster it imported."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from tests.support.committees_school import CommitteesEnv, CommitteesSchool, committees_env_fixture
from tests.support.waiting import eventually
from tongxin_committees.bootstrap import Committees
from tongxin_registry.application.pseudonyms import Pseudonymizer

__all__ = ["committees_env_fixture"]

TERM = {"term_start": "2026-09-01", "term_end": "2028-08-31"}


async def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def refused(r: Any, status: int, rule: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["rule"] == rule, body
    return body


async def nominate(s: CommitteesSchool, committee_id: str, guardian_ref: str, **extra: Any) -> Any:
    name = extra.pop("name", None) or s.roster.guardian(guardian_ref).name
    return await s.http.post(
        f"/committees/{committee_id}/candidates",
        json={"guardian_ref": guardian_ref, "name": name, **extra},
        headers=s.principal(),
    )


async def open_class(s: CommitteesSchool, env: CommitteesEnv, class_id: str, grade: int) -> str:
    """The registry opens ``class_id`` (one pupil, one mother) at the first school; the mother's
    pseudonym."""
    first = next(csv.DictReader(io.StringIO(s.roster.students_csv)))
    phone = "13600000001"
    row = {
        **first,
        "class_id": class_id,
        "class_name": f"{grade}年级新班",
        "grade": str(grade),
        "head_teacher_id": first["head_teacher_id"],
        "student_id": f"G{class_id}0001",
        "student_name": "新同学",
        "guardian1_name": "新家长",
        "guardian1_phone": phone,
        "guardian2_name": "",
        "guardian2_relation": "",
        "guardian2_phone": "",
    }
    out = io.StringIO()
    w = csv.DictWriter(out, list(first), lineterminator="\n")
    w.writeheader()
    w.writerow(row)
    r = await s.registry.post(
        "/imports/students", content=out.getvalue().encode(), headers=s.officer
    )
    assert r.status_code == 200, r.text
    await eventually(
        lambda: s.pool.fetchval(
            "SELECT count(*) FROM committees.classes WHERE class_id = $1", class_id
        ),
        lambda n: n == 1,
        timeout=90,
        what="the new class in committees",
    )
    return Pseudonymizer(env.registry_settings.pseudonym_key()).guardian(s.district, phone)


async def test_a_school_committee_is_elected_with_every_class_represented_and_kept_so(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        r, sid = s.roster, s.school_id
        classes = r.class_ids(sid)
        assert len(classes) == 4
        # the school committee, formed once per term
        body = await ok(
            await s.http.post(
                f"/schools/{sid}/committees",
                json={"level": "school", "seats": 4, **TERM},
                headers=s.principal(),
            )
        )
        k = body["committee_id"]
        refused(
            await s.http.post(
                f"/schools/{sid}/committees",
                json={"level": "school", "seats": 4, **TERM},
                headers=s.principal(),
            ),
            422,
            "one_committee_per_scope",
        )
        charter = await ok(
            await s.http.post(
                f"/committees/{k}/charter",
                json={"articles": 12, "text": "家长委员会章程 第一条……"},
                headers=s.principal(),
            )
        )
        assert charter["version_no"] == 1

        # nominations: a parent of each of classes 1–3 (the sibling's mother names her class)
        reps = {c: r.guardian_of(c, 1).ref for c in classes}
        for c in classes[:3]:
            await ok(await nominate(s, k, reps[c]))
        sibling = r.sibling_guardian(sid).ref
        refused(await nominate(s, k, sibling), 422, "class_required")
        await ok(await nominate(s, k, sibling, class_id=classes[2]))
        again = await ok(await nominate(s, k, sibling, class_id=classes[2]))
        assert again["events"] == []
        assert again["nominated_already"] is True
        stranger = r.guardian_of(r.class_ids(s.other_school_id)[0]).ref
        bad = refused(await nominate(s, k, stranger), 422, "guardian_in_scope")
        assert bad["field"] == "guardian_ref"

        # an election leaving class 4 without a representative is refused, naming it
        members = [
            {"guardian_ref": reps[classes[0]], "role": "chair"},
            {"guardian_ref": reps[classes[1]], "role": "secretary"},
            {"guardian_ref": reps[classes[2]]},
        ]
        problem = refused(
            await s.http.post(
                f"/committees/{k}/election",
                json={"elected_on": "2026-09-20", "members": members},
                headers=s.principal(),
            ),
            422,
            "every_class_represented",
        )
        assert problem["field"] == "members"
        assert problem["classes"] == [classes[3]]
        assert classes[3] in problem["detail"]

        await ok(await nominate(s, k, reps[classes[3]]))
        members.append({"guardian_ref": reps[classes[3]]})
        elected = await ok(
            await s.http.post(
                f"/committees/{k}/election",
                json={"elected_on": "2026-09-20", "voters": 30, "members": members},
                headers=s.principal(),
            )
        )
        assert elected["events"] == ["CommitteeElected"]
        refused(
            await s.http.post(
                f"/committees/{k}/election",
                json={"elected_on": "2026-09-20", "members": members},
                headers=s.principal(),
            ),
            422,
            "already_elected",
        )

        async def view(headers: dict[str, str], **params: str) -> Any:
            return await s.http.get(f"/committees/{k}", headers=headers, params=params)

        async def seated(n: int) -> None:
            await eventually(
                lambda: s.pool.fetchval(
                    "SELECT count(*) FROM committees.committee_members"
                    " WHERE committee_id = $1 AND left_on IS NULL",
                    k,
                ),
                lambda got: got == n,
                timeout=60,
                what=f"{n} seats in the read model",
            )

        await seated(4)
        shown = await ok(await view(s.principal()))
        names = {m["guardian_ref"]: m["name"] for m in shown["members"]}
        assert names == {g: r.guardian(g).name for g in reps.values()}
        assert (shown["seats"], shown["vacancies"], shown["charter_version"]) == (4, 0, 1)
        assert all(c["representatives"] for c in shown["representation"])
        assert "student_ref" not in str(shown)
        logged = await s.pool.fetch(
            "SELECT actor, record FROM access_log WHERE action = 'committee.read'"
        )
        principal_ref = r.one("principal", sid).ref
        assert {x["record"] for x in logged if x["actor"] == principal_ref} == {
            f"guardian-{g}" for g in reps.values()
        }  # the members' names (after the election, the open round has no nominee yet)

        # a fellow member sees the names; a guardian without a seat gets the missing answer
        chair = s.member(reps[classes[0]], sid)
        assert (await ok(await view(chair)))["members"] == shown["members"]
        outsider = await view(s.member(stranger, s.other_school_id))
        missing = await s.http.get(
            "/committees/no-such-committee", headers=s.member(stranger, s.other_school_id)
        )
        assert outsider.status_code == missing.status_code == 404
        assert outsider.json() == missing.json()
        mine = await ok(await s.http.get("/committees/mine", headers=chair))
        assert [(c["committee_id"], c["role"]) for c in mine["committees"]] == [(k, "chair")]
        # the auditor sees the seats, not the names
        auditor = await ok(await view(s.agency("auditor")))
        assert {m["name"] for m in auditor["members"]} == {None}

        # the secretary resigns (herself); a member may not resign someone else
        refused(
            await s.http.post(
                f"/committees/{k}/members/{reps[classes[1]]}/resignation",
                json={"reason": "personal"},
                headers=chair,
            ),
            403,
            "member_resigns_own_seat",
        )
        await ok(
            await s.http.post(
                f"/committees/{k}/members/{reps[classes[1]]}/resignation",
                json={"reason": "personal"},
                headers=s.member(reps[classes[1]], sid),
            )
        )
        refused(
            await s.http.post(
                f"/committees/{k}/members/{reps[classes[1]]}/removal",
                json={"reason": "conduct"},
                headers=s.principal(),
            ),
            404,
            "member",
        )
        await seated(3)

        # a class opened later shows unrepresented until a by-election seats one of its parents
        new_class = f"{sid}-05"
        newcomer = await open_class(s, committees_env, new_class, 3)
        rep = await ok(await s.http.get(f"/schools/{sid}/representation", headers=s.principal()))
        assert rep["unrepresented"] == [classes[1], new_class]
        figures = await ok(
            await s.http.get(f"/districts/{s.district}/committee-figures", headers=s.bureau())
        )
        first, other = figures["schools"]
        assert first == {
            "school_id": sid,
            "committees": {"class": 0, "grade": 0, "school": 1},
            "school_committee_elected": True,
            "classes_unrepresented": 2,
            "unrepresented_class_ids": [classes[1], new_class],
            "vacancies": 1,
            "without_charter": 0,
        }
        assert other["committees"] == {"class": 0, "grade": 0, "school": 0}
        assert other["school_committee_elected"] is False
        assert other["classes_unrepresented"] == 4
        assert figures["totals"] == {
            "schools": 2,
            "committees": {"class": 0, "grade": 0, "school": 1},
            "school_committees_elected": 1,
            "classes_unrepresented": 2 + 4,
            "vacancies": 1,
            "without_charter": 0,
        }

        replacement = r.guardian_of(classes[1], 2).ref
        await ok(await nominate(s, k, replacement))
        await ok(await nominate(s, k, newcomer, name="新家长"))
        held = await ok(
            await s.http.post(
                f"/committees/{k}/by-election",
                json={
                    "held_on": "2026-11-10",
                    "seats": 5,
                    "members": [{"guardian_ref": replacement}, {"guardian_ref": newcomer}],
                },
                headers=s.principal(),
            )
        )
        assert (held["events"], held["seats"]) == (["ByElectionHeld"], 5)
        await seated(5)
        rep = await ok(await s.http.get(f"/schools/{sid}/representation", headers=s.principal()))
        assert rep["unrepresented"] == []

        # a removal names the reason and who decided
        removed = await ok(
            await s.http.post(
                f"/committees/{k}/members/{reps[classes[2]]}/removal",
                json={"reason": "repeated_absence", "note": "缺席三次"},
                headers=s.principal(),
            )
        )
        assert removed["decided_by"] == r.one("principal", sid).ref

        # the class-4 member's only child leaves: the seat ends at the end of the term
        leaver = r.guardian_of(classes[3], 1)
        [child] = r.children_of(leaver.ref)
        left = await s.registry.post(
            f"/students/{child.ref}/leave", json={"reason": "moved_away"}, headers=s.principal()
        )
        assert left.status_code == 200, left.text
        committees: Committees = s.app.state.service
        ending = await committees.service.committees.end_memberships(
            leaver.ref, s.district, sid, date(2026, 11, 20), except_student=child.ref
        )
        assert [(e.name, getattr(e, "ends_on", None)) for e in ending] == [
            ("MembershipEnding", date(2027, 1, 31))
        ]
        again_ending = await committees.service.committees.end_memberships(
            leaver.ref, s.district, sid, date(2026, 11, 21), except_student=child.ref
        )
        assert again_ending == []
        await eventually(
            lambda: s.pool.fetchval(
                "SELECT ends_on FROM committees.committee_members"
                " WHERE committee_id = $1 AND guardian_ref = $2",
                k,
                leaver.ref,
            ),
            lambda d: d == date(2027, 1, 31),
            timeout=60,
            what="the seat ending in the read model",
        )
        before = await ok(await view(s.principal(), as_of="2027-01-31"))
        after = await ok(await view(s.principal(), as_of="2027-02-01"))
        assert leaver.ref in {m["guardian_ref"] for m in before["members"]}
        assert leaver.ref not in {m["guardian_ref"] for m in after["members"]}
        assert after["vacancies"] == before["vacancies"] + 1


async def test_class_and_grade_committees_take_candidates_from_their_own_scope(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        r, sid = s.roster, s.school_id
        c1, c2, c3, _ = r.class_ids(sid)

        async def form(**body: Any) -> str:
            made = await ok(
                await s.http.post(
                    f"/schools/{sid}/committees",
                    json={"seats": 3, **TERM, **body},
                    headers=s.coordinator(),
                )
            )
            return str(made["committee_id"])

        once = {**s.coordinator(), "Idempotency-Key": "form-class-1"}
        body = {"level": "class", "class_id": c1, "seats": 3, **TERM}
        made = await s.http.post(f"/schools/{sid}/committees", json=body, headers=once)
        replayed = await s.http.post(f"/schools/{sid}/committees", json=body, headers=once)
        klass = (await ok(made))["committee_id"]
        assert (await ok(replayed))["committee_id"] == klass
        assert replayed.headers.get("Idempotent-Replayed") == "true"
        grade = await form(level="grade", grade=1)
        refused(
            await s.http.post(
                f"/schools/{sid}/committees",
                json={"level": "class", "class_id": f"{s.other_school_id}-01", "seats": 3, **TERM},
                headers=s.principal(),
            ),
            422,
            "class_of_school",
        )
        refused(
            await s.http.post(
                f"/schools/{sid}/committees",
                json={"level": "grade", "grade": 6, "seats": 3, **TERM},
                headers=s.principal(),
            ),
            422,
            "grade_of_school",
        )
        # the class committee: parents of class 1 only; the grade committee: of grade 1's classes
        refused(await nominate(s, klass, r.guardian_of(c2).ref), 422, "guardian_in_scope")
        refused(await nominate(s, grade, r.guardian_of(c3, 1).ref), 422, "guardian_in_scope")
        await ok(await nominate(s, klass, r.guardian_of(c1, 1).ref))
        await ok(await nominate(s, grade, r.guardian_of(c2, 1).ref))
        # the sibling's children are in classes 1 (grade 1) and 3 (grade 2): one class in grade 1
        sibling = await ok(await nominate(s, grade, r.sibling_guardian(sid).ref))
        assert sibling["round_no"] == 0
        await ok(
            await s.http.post(
                f"/committees/{klass}/election",
                json={
                    "elected_on": "2026-09-15",
                    "members": [{"guardian_ref": r.guardian_of(c1, 1).ref, "role": "chair"}],
                },
                headers=s.head_teacher(c1),
            )
        )
        # the head teacher of class 1 sees the class committee, not the grade one
        await eventually(
            lambda: s.pool.fetchval(
                "SELECT count(*) FROM committees.committees WHERE school_id = $1", sid
            ),
            lambda n: n == 2,
            timeout=60,
            what="both committees in the read model",
        )
        head = s.head_teacher(c1)
        listed = await ok(await s.http.get(f"/schools/{sid}/committees", headers=head))
        assert [c["committee_id"] for c in listed["committees"]] == [klass]
        assert (await s.http.get(f"/committees/{grade}", headers=head)).status_code == 404
        everything = await ok(await s.http.get(f"/schools/{sid}/committees", headers=s.principal()))
        assert [(c["level"], c["committee_id"]) for c in everything["committees"]] == [
            ("grade", grade),
            ("class", klass),
        ]
        figures = await ok(
            await s.http.get(f"/districts/{s.district}/committee-figures", headers=s.principal())
        )
        # a school's manager sees their own school's row only; no school committee: every
        # class unrepresented; two committees without a charter
        [mine] = figures["schools"]
        assert mine["school_id"] == sid
        assert mine["committees"] == {"class": 1, "grade": 1, "school": 0}
        assert (mine["classes_unrepresented"], mine["without_charter"]) == (4, 2)


async def test_a_district_committee_with_its_standing_members_where_the_district_runs_one(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world(district_committees=frozenset({"330106"})) as s:
        r, d = s.roster, s.district
        refused(
            await s.http.post(
                f"/districts/{d}/committees", json={"seats": 5, **TERM}, headers=s.principal()
            ),
            403,
            "district_committee_by_bureau",
        )
        refused(
            await s.http.post(
                "/districts/330107/committees",
                json={"seats": 5, **TERM},
                headers=s.bureau("330107"),
            ),
            422,
            "district_committee",
        )
        k = (
            await ok(
                await s.http.post(
                    f"/districts/{d}/committees", json={"seats": 5, **TERM}, headers=s.bureau()
                )
            )
        )["committee_id"]
        first = r.guardian_of(r.class_ids(s.school_id)[1])
        second = r.guardian_of(r.class_ids(s.other_school_id)[1])
        for g in (first, second):
            made = await ok(
                await s.http.post(
                    f"/committees/{k}/candidates",
                    json={"guardian_ref": g.ref, "name": g.name},
                    headers=s.bureau(),
                )
            )
            assert made["events"] == ["CandidateNominated"]
        await ok(
            await s.http.post(
                f"/committees/{k}/election",
                json={
                    "elected_on": "2026-10-01",
                    "members": [
                        {"guardian_ref": first.ref, "role": "chair", "standing": True},
                        {"guardian_ref": second.ref, "standing": False},
                    ],
                },
                headers=s.bureau(),
            )
        )
        elected = await s.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type LIKE $2",
            f"committee-{k}",
            "%CommitteeElected%",
        )
        assert elected == 1
        await eventually(
            lambda: s.pool.fetchval(
                "SELECT count(*) FROM committees.committee_members WHERE committee_id = $1", k
            ),
            lambda n: n == 2,
            timeout=60,
            what="the district committee's seats in the read model",
        )
        member = s.member(second.ref)  # a district committee's member: no school
        listed = await ok(await s.http.get(f"/districts/{d}/committees", headers=member))
        [committee] = listed["committees"]
        assert {
            (m["guardian_ref"], m["represents_school_id"], m["standing"])
            for m in committee["members"]
        } == {
            (first.ref, s.school_id, True),
            (second.ref, s.other_school_id, False),
        }
        shown = await ok(await s.http.get(f"/committees/{k}", headers=member))
        assert {m["name"] for m in shown["members"]} == {first.name, second.name}
        # a guardian without a seat there lists nothing and sees the committee as missing
        outsider = s.member(r.guardian_of(r.class_ids(s.school_id)[2]).ref)
        assert (await ok(await s.http.get(f"/districts/{d}/committees", headers=outsider)))[
            "committees"
        ] == []
        assert (await s.http.get(f"/committees/{k}", headers=outsider)).status_code == 404
