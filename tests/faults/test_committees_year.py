"""Proof (issue 12's "done when"): a school year of one school's committee work runs through the
real stack — registry, visits and committees over HTTP, real Kafka and PostgreSQL, the
committees worker a real process, SIGKILLed twice on the way (after the elections, and while a
home visit's suggestions are on their way to it).

Committees are elected at three levels (a class committee per class, a grade committee per
grade, the school committee — whose first election leaves the last class without a parent and
is refused naming that class); a member resigns and a by-election fills the seat; the last
child of another member leaves the school, so her seat ends with the term. Feedback comes in
through every channel — the principal's mailbox, the hotline, the school committee, the bureau
director's mailbox and a home visit's two suggestions (the worker's reaction) — and is answered
on time, late, or left open and overdue. A joint meeting, a parent meeting per class, an open
week and a reception day are held; the parent school holds its sessions, is assessed standard,
and the school appoints its family-education coordinator. Every figure the service answers
equals the one this test computes from what it did; the visit whose suggestion was answered
shows the answer in the visits API; no guardian's name, no feedback text and no student
pseudonym travels in clear on ``committees.events``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support.committees_school import CommitteesEnv, committees_env_fixture
from tests.support.kafka_reader import read_all
from tests.support.processes import WorkerProcess, environment_of, running
from tests.support.servers import serving
from tests.support.services import worker_of
from tests.support.waiting import eventually
from tongxin_committees.bootstrap import SERVICE
from tongxin_committees.domain.calendar import CHINA
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["committees_env_fixture"]

# Free text that must never travel in clear.
MAILBOX = "校门口放学时段交通拥堵，建议错峰放学"
ANSWER = "学校已调整放学时间并安排老师护导"
SUGGESTIONS = ("放学路口希望有老师值守", "希望多一些课外阅读")


def term_end(day: date) -> date:
    """The last day of the school term ``day`` falls in (31 January or 31 August)."""
    if day.month >= 9:
        return date(day.year + 1, 1, 31)
    return date(day.year, 1, 31) if day.month == 1 else date(day.year, 8, 31)


async def test_a_school_year_of_one_school_gives_the_figures_computed_here(
    committees_env: CommitteesEnv, visits_settings: VisitsSettings, verifier: TokenVerifier
) -> None:
    today = now_utc().astimezone(CHINA).date()
    this_year = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    # The meetings and the parent school are last school year's (a whole year, on any day the
    # test runs); the committees' term began then and runs three years.
    start = date(this_year.year - 1, 9, 1)
    last_year = f"{start.year}-{start.year + 1}"
    term = {"term_start": str(start), "term_end": str(date(start.year + 3, 8, 31))}

    async with committees_env.world(worker=False) as s:
        sid, did, roster = s.school_id, s.district, s.roster
        classes = roster.class_ids(sid)
        principal, leader = roster.one("principal", sid), roster.one("middle_leader", sid)
        me = s.principal()
        vs = visits_settings
        assert vs.committees_topic == s.settings.topic

        async def ok(method: str, path: str, who: dict[str, str], body: Any = None) -> Any:
            r = await s.http.request(method, path, json=body, headers=who)
            assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
            return r.json()

        async def seats(committee: str) -> list[str]:
            found = await ok("GET", f"/committees/{committee}", me)
            return sorted(m["guardian_ref"] for m in found["members"])

        worker = WorkerProcess(SERVICE, environment_of(SERVICE, s.settings))
        async with (
            running(worker),
            worker_of(VISITS, vs),
            serving(visits_app(vs, verifier)) as visits_url,
            httpx.AsyncClient(base_url=visits_url, timeout=30) as visits,
        ):
            await s.catch_up()

            # --- the channels' handlers (专人管理) --------------------------------------------
            for channel, handler in (
                ("principal_mailbox", principal.ref),
                ("hotline", leader.ref),
                ("committee", leader.ref),
                ("home_visit", principal.ref),
            ):
                body = {"channel": channel, "handler_ref": handler}
                await ok("POST", f"/schools/{sid}/feedback-handlers", me, body)
            body = {"channel": "bureau_mailbox", "handler_ref": "bureau-1"}
            await ok("POST", f"/districts/{did}/feedback-handlers", s.bureau(), body)

            # --- three levels of committees -----------------------------------------------------
            async def elect(
                committee: str, who: dict[str, str], nominees: list[tuple[str, str]]
            ) -> httpx.Response:
                for guardian, class_id in nominees:
                    body = {"guardian_ref": guardian, "class_id": class_id, "name": "某家长"}
                    await ok("POST", f"/committees/{committee}/candidates", who, body)
                members = [
                    {"guardian_ref": g, "role": "chair" if n == 0 else "member"}
                    for n, (g, _) in enumerate(nominees)
                ]
                body = {"elected_on": str(start + timedelta(days=20)), "members": members}
                return await s.http.post(
                    f"/committees/{committee}/election", json=body, headers=who
                )

            committees: dict[str, str] = {}
            for cid in classes:
                body = {"level": "class", "class_id": cid, "seats": 2, **term}
                made = await ok("POST", f"/schools/{sid}/committees", me, body)
                committees[cid] = made["committee_id"]
                pair = [(g.ref, cid) for g in roster.guardians_of_class(cid)[:2]]
                r = await elect(committees[cid], s.head_teacher(cid), pair)
                assert r.status_code == 200, r.text
            grades = sorted({roster.classes[c][1] for c in classes})
            for grade in grades:
                mine = roster.class_ids(sid, grade)
                body = {"level": "grade", "grade": grade, "seats": len(mine), **term}
                made = await ok("POST", f"/schools/{sid}/committees", me, body)
                committees[f"grade-{grade}"] = made["committee_id"]
                grade_nominees = [(roster.guardian_of(c, 1).ref, c) for c in mine]
                r = await elect(made["committee_id"], me, grade_nominees)
                assert r.status_code == 200, r.text
            body = {"level": "school", "seats": len(classes), **term}
            school = (await ok("POST", f"/schools/{sid}/committees", me, body))["committee_id"]
            await ok("POST", f"/committees/{school}/charter", me, {"articles": 12, "text": "章程"})
            nominees = [(roster.guardian_of(c, 2).ref, c) for c in classes]
            # The first election leaves the last class without a parent: refused, naming it.
            r = await elect(school, me, nominees[:-1])
            assert r.status_code == 422, r.text
            problem = r.json()
            assert problem["rule"] == "every_class_represented"
            assert problem["classes"] == [classes[-1]]
            assert classes[-1] in problem["detail"]
            r = await elect(school, me, nominees)
            assert r.status_code == 200, r.text
            elected = sorted(g for g, _ in nominees)
            await eventually(lambda: seats(school), lambda m: m == elected, what="the seats")

            # The worker dies after the elections and comes back: nothing is lost or doubled.
            await worker.kill()
            await worker.start()

            # --- a resignation and a by-election; a member's last child leaves ------------------
            resigning, resigning_class = nominees[1]
            await ok(
                "POST",
                f"/committees/{school}/members/{resigning}/resignation",
                s.member(resigning, sid),
                {"reason": "moved_away"},
            )
            newcomer = roster.pupils_of(resigning_class)[0].guardians[1].ref  # a father
            body = {"guardian_ref": newcomer, "class_id": resigning_class, "name": "某家长"}
            await ok("POST", f"/committees/{school}/candidates", me, body)
            body = {"held_on": str(start + timedelta(days=70))}
            body |= {"members": [{"guardian_ref": newcomer, "role": "member"}]}
            await ok("POST", f"/committees/{school}/by-election", me, body)
            leaving, leaving_class = nominees[-1]
            [child] = roster.children_of(leaving)
            r = await s.registry.post(
                f"/students/{child.ref}/leave", json={"reason": "moved_away"}, headers=me
            )
            assert r.status_code == 200, r.text
            ends_on = term_end(today)

            # --- parents' voice from every channel ----------------------------------------------
            chair = nominees[0][0]
            mailbox = {"topic": "school_management", "text": MAILBOX}
            items: dict[str, str] = {}
            for name, who, channel, received, extra in (
                ("on_time", me, "principal_mailbox", 3, {}),
                ("overdue", me, "principal_mailbox", 20, {}),
                ("late", me, "hotline", 30, {}),
                ("open", s.member(chair, sid), "committee", 0, {"committee_id": school}),
                ("bureau", s.bureau(), "bureau_mailbox", 1, {}),
            ):
                body = {"channel": channel, "received_on": str(today - timedelta(days=received))}
                made = await ok("POST", f"/schools/{sid}/feedback", who, body | mailbox | extra)
                items[name] = made["item_id"]
            answer = {"decision": "adopted", "answer": ANSWER}
            for name in ("on_time", "late", "bureau"):
                await ok("POST", f"/feedback/{items[name]}/answer", me, answer)

            # A home visit with two suggestions; the worker is killed while they travel.
            first_class = classes[0]
            pupil = roster.pupils_of(first_class)[0]
            head = s.head_teacher(first_class)
            head_ref = roster.head_of(first_class).ref

            async def planned() -> httpx.Response:
                body = {"student_ref": pupil.ref, "planned_for": str(today)}
                return await visits.post("/visits", json=body, headers=head)

            r = await eventually(planned, lambda r: r.status_code == 200, timeout=90, what="plan")
            visit_id = r.json()["visit_id"]
            body = {"appointment_at": now_utc().isoformat(), "mode": "in_home"}
            r = await visits.post(f"/visits/{visit_id}/schedule", json=body, headers=head)
            assert r.status_code == 200, r.text
            done = {
                "visitors": [{"staff_ref": head_ref, "role": "head_teacher"}],
                "mode": "in_home",
                "started_at": (now_utc() - timedelta(hours=2)).astimezone(CHINA).isoformat(),
                "duration_minutes": 45,
                "goals_covered": ["student_performance", "family_situation", "parent_opinions"],
                "findings": [],
                "parent_suggestions": [
                    {"topic": "safety", "text": SUGGESTIONS[0]},
                    {"topic": "teaching", "text": SUGGESTIONS[1]},
                ],
                "integrity_attested": True,
            }
            r = await visits.post(f"/visits/{visit_id}/complete", json=done, headers=head)
            assert r.status_code == 200, r.text
            await worker.kill()
            await worker.start()

            async def home_visit_items() -> list[dict[str, Any]]:
                r = await s.http.get(f"/schools/{sid}/feedback?channel=home_visit", headers=me)
                return list(r.json()["items"]) if r.status_code == 200 else []

            suggested = await eventually(
                home_visit_items, lambda i: len(i) >= 2, timeout=90, what="the visit's items"
            )
            assert len(suggested) == 2
            assert {i["visit_id"] for i in suggested} == {visit_id}
            answered = sorted(i["suggestion_id"] for i in suggested)[0]
            hv = next(i["item_id"] for i in suggested if i["suggestion_id"] == answered)
            await ok("POST", f"/feedback/{hv}/answer", me, answer)

            async def shown_on_the_visit() -> list[dict[str, Any]]:
                v = await visits.get(f"/visits/{visit_id}", headers=head)
                return list(v.json().get("suggestions_answered") or [])

            [shown] = await eventually(shown_on_the_visit, bool, timeout=90, what="the answer")
            assert (shown["suggestion_id"], shown["decision"]) == (answered, "adopted")
            assert shown["on_time"] is True
            assert shown["answered_on"] == str(today)

            # --- meetings of last school year ---------------------------------------------------
            day = start + timedelta(days=40)
            body = {"kind": "joint", "held_on": str(day), "committee_ids": [school]}
            body |= {"parents_attending": 4, "staff_attending": 3, "resolutions": 2}
            await ok("POST", f"/schools/{sid}/meetings", me, body)
            for n, cid in enumerate(classes):
                body = {"kind": "parent", "held_on": str(day), "scope": "class", "class_id": cid}
                body |= {"families_invited": 3, "parents_attending": 3}
                body |= {"opinions_before": True, "opinions_after": n != 0}
                await ok("POST", f"/schools/{sid}/meetings", s.head_teacher(cid), body)
            body = {"kind": "open_day", "held_on": str(day + timedelta(days=30)), "days": 5}
            body |= {"parents_attending": 20, "opinions_collected": 6}
            await ok("POST", f"/schools/{sid}/meetings", me, body)
            body = {"kind": "reception_day", "held_on": str(day), "families_received": 2}
            body |= {"received_by": [principal.ref]}
            await ok("POST", f"/schools/{sid}/meetings", me, body)

            # --- the parent school --------------------------------------------------------------
            body = {"head_ref": principal.ref, "management": [principal.ref, leader.ref]}
            body |= {"teachers": [leader.ref], "has_venue": True, "curriculum_units": 8}
            await ok("POST", f"/schools/{sid}/parent-school", me, body)
            sessions = [("lecture", 2.0), ("lecture", 2.0), ("term_start_lecture", 2.0)]
            sessions += [("holiday_lecture", 2.0), ("practice", 1.5), ("salon", 1.0)]
            sessions += [("consultation", 1.0)]
            for n, (kind, hours) in enumerate(sessions):
                body = {"kind": kind, "mode": "online" if n % 2 else "in_person"}
                body |= {"held_on": str(start + timedelta(days=10 + 20 * n))}
                body |= {"class_hours": hours, "topic": "child_development", "attendance": 30}
                await ok("POST", f"/schools/{sid}/parent-school/sessions", me, body)
            body = {"school_year": last_year, "standard": True}
            body |= {"criteria_met": ["principal_heads", "venue", "curriculum", "records"]}
            await ok("POST", f"/schools/{sid}/parent-school/assessment", s.bureau(), body)
            body = {"staff_ref": leader.ref, "led_by": principal.ref}
            await ok("POST", f"/schools/{sid}/family-education-coordinator", me, body)

            # --- the figures, computed here from what was done ----------------------------------
            officer = s.bureau()

            async def row(path: str) -> dict[str, Any]:
                found = await ok("GET", path, officer)
                return dict(next(x for x in found["schools"] if x["school_id"] == sid))

            committee_figures = await eventually(
                lambda: row(f"/districts/{did}/committee-figures"),
                lambda f: sum(f["committees"].values()) == len(classes) + len(grades) + 1,
                timeout=60,
                what="the committees in the read model",
            )
            assert committee_figures["committees"] == {
                "class": len(classes),
                "grade": len(grades),
                "school": 1,
            } | ({"district": 0} if "district" in committee_figures["committees"] else {})
            assert committee_figures["school_committee_elected"] is True
            assert committee_figures["classes_unrepresented"] == 0
            assert committee_figures["vacancies"] == 0
            assert committee_figures["without_charter"] == len(classes) + len(grades)
            now_seated = sorted([g for g, _ in nominees if g != resigning] + [newcomer])
            assert await seats(school) == now_seated
            # The member whose last child left keeps her seat to the term's end, then it is
            # vacant and her class unrepresented until a by-election.
            after = ends_on + timedelta(days=1)
            later = await eventually(
                lambda: row(f"/districts/{did}/committee-figures?as_of={after}"),
                lambda f: f["classes_unrepresented"] == 1,
                timeout=60,
                what="the seat ending with the term",
            )
            assert later["unrepresented_class_ids"] == [leaving_class]
            assert later["vacancies"] == 1
            kept = await ok("GET", f"/districts/{did}/committee-figures?as_of={ends_on}", officer)
            assert next(x for x in kept["schools"] if x["school_id"] == sid)["vacancies"] == 0

            def tally(
                received: int, on_time: int, late: int, open_: int, overdue: int
            ) -> dict[str, int]:
                answered = on_time + late
                return {"received": received, "answered": answered, "on_time": on_time} | {
                    "late": late,
                    "open": open_,
                    "overdue": overdue,
                }

            expected_channels = {
                "principal_mailbox": tally(2, 1, 0, 0, 1),
                "hotline": tally(1, 0, 1, 0, 0),
                "committee": tally(1, 0, 0, 1, 0),
                "bureau_mailbox": tally(1, 1, 0, 0, 0),
                "home_visit": tally(2, 1, 0, 1, 0),
            }
            feedback = await eventually(
                lambda: row(f"/districts/{did}/feedback-figures"),
                lambda f: f["answered"] == 4,
                timeout=60,
                what="the answers in the read model",
            )
            assert feedback["channels"] == expected_channels
            for key in ("received", "answered", "on_time", "late", "open", "overdue"):
                assert feedback[key] == sum(c[key] for c in expected_channels.values()), key
            assert feedback["channels_without_handler"] == []

            meetings = await eventually(
                lambda: row(f"/districts/{did}/meeting-figures?school_year={last_year}"),
                lambda f: f["open_days"] == 1,
                timeout=60,
                what="the meetings in the read model",
            )
            assert meetings["joint_meetings"] == 1
            assert meetings["parent_meetings"] == len(classes)
            assert meetings["parent_meetings_opinions_before"] == len(classes)
            assert meetings["parent_meetings_opinions_after"] == len(classes) - 1
            assert meetings["open_days_met"] is True
            assert meetings["reception_days"] == 1

            taught = [h for k, h in sessions if k.endswith("lecture")]
            parent_school = await eventually(
                lambda: row(f"/districts/{did}/parent-school-figures?school_year={last_year}"),
                lambda f: f["coordinator"] is not None,
                timeout=60,
                what="the parent school in the read model",
            )
            assert parent_school["taught_sessions"] == len(taught) == 4
            assert parent_school["taught_hours"] == sum(taught) == 8.0
            assert parent_school["activities"] == len(sessions) - len(taught) == 3
            assert parent_school["rule_met"] is True
            assert parent_school["assessed_standard"] is True
            assert parent_school["coordinator"] == leader.ref
            district = await ok(
                "GET", f"/districts/{did}/parent-school-figures?school_year={last_year}", officer
            )
            assert district["standard_share"] == 1 / len(roster.schools)

        # --- nothing personal in clear on the wire ---------------------------------------------
        records = await read_all(s.settings.kafka_bootstrap_servers, s.settings.topic)
        raw = b"".join(bytes(r.value) for r in records)
        assert raw, "committees published nothing"
        for text in (MAILBOX, ANSWER, *SUGGESTIONS, "章程", "某家长"):
            assert text.encode() not in raw, text
        for name in roster.names():
            assert name.encode() not in raw, name
        for p in roster.pupils:
            assert p.ref.encode() not in raw, "a student's pseudonym on committees.events"
        ended = await s.events("MembershipEnding")
        assert [(e["guardian_ref"], e["ends_on"]) for e in ended] == [(leaving, str(ends_on))]
        assert len(await s.events("CommitteeElected")) == len(classes) + len(grades) + 1
        assert len(await s.events("ParentFeedbackReceived")) == 7
