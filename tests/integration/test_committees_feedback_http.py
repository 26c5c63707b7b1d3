"""Parents' voice through the committees API on the real stack (the registry's roster imported,
committees' worker and API on the test's topics and database): the school names a handler per
channel (专人管理), items come in on the principal's mailbox, the hotline, the committee channel
(from a member of that committee) and the bureau director's mailbox, are assigned and answered
with the school's decision; on time, late, open and overdue show in the school's list and the
district's figures, which equal the ones this test counts itself. Who may: a home visit's
suggestion is never received by hand, a member only on their own committee (another is 404),
only the assignee, the handler or a manager answers, once; the text is read in clear only by
those entitled, and every such read is logged."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.support.committees_school import (
    CommitteesEnv,
    CommitteesSchool,
    committees_env_fixture,
)
from tests.support.waiting import eventually
from tongxin_committees.application.committees import NewCommittee
from tongxin_committees.domain.calendar import china_date
from tongxin_committees.domain.committees import Choice
from tongxin_contracts.events.committees import CommitteeLevel, SeatRole

__all__ = ["committees_env_fixture"]


def today(s: CommitteesSchool) -> date:
    return china_date(s.clock())


async def class_committee(s: CommitteesSchool, class_id: str, guardian_ref: str) -> str:
    """A class committee of ``class_id`` with ``guardian_ref`` elected its chair (the
    committees part's commands: its routes are another helper's)."""
    cmds = s.app.state.service.service.committees
    on = today(s)
    [formed] = await cmds.form(
        NewCommittee(
            s.district,
            s.school_id,
            CommitteeLevel.class_,
            3,
            on - timedelta(days=30),
            on + timedelta(days=300),
            on,
            "principal",
            class_id=class_id,
        ),
        district_runs_one=False,
    )
    committee_id: str = formed.committee_id
    guardian = s.roster.guardian(guardian_ref)
    await cmds.nominate(
        committee_id, guardian_ref=guardian_ref, name=guardian.name, on=on, by="principal"
    )
    await cmds.elect(
        committee_id, members=(Choice(guardian_ref, SeatRole.chair),), elected_on=on, by="p"
    )
    return committee_id


async def projected(s: CommitteesSchool) -> None:
    await s.caught_up("committees.read_model")


async def post(s: CommitteesSchool, path: str, body: dict[str, Any], who: dict[str, str]) -> Any:
    r = await s.http.post(path, json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


async def test_items_from_every_channel_are_answered_on_time_late_or_overdue_as_counted(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        school, principal = s.school_id, s.principal()
        classes = s.roster.class_ids(school)
        handler = s.roster.one("middle_leader", school)
        teacher = s.roster.one("subject_teacher", school)
        member_ref = s.roster.guardian_of(classes[0]).ref
        member = s.member(member_ref, school)
        committee_id = await class_committee(s, classes[0], member_ref)
        now = today(s)

        # 专人管理: the mailbox and the hotline get a handler; the committee channel none.
        for channel in ("principal_mailbox", "hotline", "home_visit"):
            await post(
                s,
                f"/schools/{school}/feedback-handlers",
                {"channel": channel, "handler_ref": handler.ref},
                principal,
            )
        await post(
            s,
            f"/districts/{s.district}/feedback-handlers",
            {"channel": "bureau_mailbox", "handler_ref": "bureau-1"},
            s.bureau(),
        )

        def body(channel: str, days_ago: int, **more: Any) -> dict[str, Any]:
            return {
                "channel": channel,
                "topic": "homework_burden",
                "text": f"作业太多了 ({channel})",
                "received_on": str(now - timedelta(days=days_ago)),
                **more,
            }

        mailbox = await post(
            s, f"/schools/{school}/feedback", body("principal_mailbox", 3), principal
        )
        assert mailbox["due_on"] == str(now - timedelta(days=3) + timedelta(days=15))
        assert mailbox["handler_ref"] == handler.ref
        hotline_late = await post(
            s, f"/schools/{school}/feedback", body("hotline", 20), s.head_teacher(classes[1])
        )
        hotline_overdue = await post(
            s, f"/schools/{school}/feedback", body("hotline", 16), principal
        )
        via_committee = await post(
            s,
            f"/schools/{school}/feedback",
            body("committee", 1, committee_id=committee_id),
            member,
        )
        assert via_committee["handler_ref"] is None  # no handler named for the channel
        bureau = await post(s, f"/schools/{school}/feedback", body("bureau_mailbox", 2), s.bureau())

        # assigned to a teacher, who answers on time; the late one answered by the handler.
        await post(
            s,
            f"/feedback/{mailbox['item_id']}/assignment",
            {"assignee_ref": teacher.ref},
            principal,
        )
        teacher_token = s.token("subject_teacher", teacher.ref, school=school)
        on_time = await post(
            s,
            f"/feedback/{mailbox['item_id']}/answer",
            {"decision": "adopted", "answer": "下周起每天作业不超过一小时"},
            teacher_token,
        )
        assert on_time["on_time"] is True
        handler_token = s.token("middle_leader", handler.ref, school=school)
        late = await post(
            s,
            f"/feedback/{hotline_late['item_id']}/answer",
            {"decision": "explained", "answer": "已向家长说明"},
            handler_token,
        )
        assert late["on_time"] is False
        await post(
            s,
            f"/feedback/{bureau['item_id']}/answer",
            {"decision": "referred", "answer": "转交教育局基础教育科"},
            s.bureau(),
        )

        await projected(s)
        listed = (await s.http.get(f"/schools/{school}/feedback", headers=principal)).json()
        status = {i["item_id"]: i["status"] for i in listed["items"]}
        assert status == {
            mailbox["item_id"]: "answered",
            hotline_late["item_id"]: "answered",
            hotline_overdue["item_id"]: "overdue",
            via_committee["item_id"]: "open",
            bureau["item_id"]: "answered",
        }
        overdue = await s.http.get(
            f"/schools/{school}/feedback", params={"status": "overdue"}, headers=principal
        )
        assert [i["item_id"] for i in overdue.json()["items"]] == [hotline_overdue["item_id"]]
        # as_of before the overdue one fell due: it was open then.
        earlier = await s.http.get(
            f"/schools/{school}/feedback",
            params={"status": "open", "as_of": str(now - timedelta(days=2))},
            headers=principal,
        )
        assert hotline_overdue["item_id"] in {i["item_id"] for i in earlier.json()["items"]}

        # the member sees their committee's items, not the school's list.
        mine = await s.http.get(f"/committees/{committee_id}/feedback", headers=member)
        assert [i["item_id"] for i in mine.json()["items"]] == [via_committee["item_id"]]
        refused = await s.http.get(f"/schools/{school}/feedback", headers=member)
        assert refused.status_code == 403
        assert refused.json()["rule"] == "member_reads_own_committee"

        # the figures, counted here: 5 received; 3 answered (2 on time, 1 late); 1 open;
        # 1 overdue; the committee channel has no handler. The other school: nothing.
        figures = await s.http.get(f"/districts/{s.district}/feedback-figures", headers=s.bureau())
        assert figures.status_code == 200, figures.text
        by_school = {f["school_id"]: f for f in figures.json()["schools"]}
        mine_fig = by_school[school]
        assert {
            k: mine_fig[k] for k in ("received", "answered", "on_time", "late", "open", "overdue")
        } == {
            "received": 5,
            "answered": 3,
            "on_time": 2,
            "late": 1,
            "open": 1,
            "overdue": 1,
        }
        assert mine_fig["channels"]["hotline"] == {
            "received": 2,
            "answered": 1,
            "on_time": 0,
            "late": 1,
            "open": 0,
            "overdue": 1,
        }
        assert mine_fig["channels_without_handler"] == ["committee"]
        assert by_school[s.other_school_id]["received"] == 0
        assert figures.json()["bureau_mailbox_handler_named"] is True

        # the text in clear for a manager (logged), none of it on the wire of the events.
        item = await s.http.get(f"/feedback/{mailbox['item_id']}", headers=principal)
        assert item.status_code == 200, item.text
        found = item.json()
        assert found["text"] == "作业太多了 (principal_mailbox)"
        assert found["answer"]["text"] == "下周起每天作业不超过一小时"
        assert found["answer"]["on_time"] is True
        logged = await s.pool.fetchval(
            "SELECT count(*) FROM access_log WHERE action = 'feedback.read' AND record = $1",
            mailbox["item_id"],
        )
        assert logged == 1
        stored = await s.pool.fetch(
            "SELECT payload FROM events WHERE event_type LIKE '%ParentFeedback%'"
        )
        payloads = " ".join(bytes(r["payload"]).decode() for r in stored)
        assert len(stored) == 9  # 5 received, 1 assigned, 3 answered
        assert "作业太多了" not in payloads
        assert "一小时" not in payloads


async def test_who_may_receive_answer_and_read_parents_feedback(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        school, principal = s.school_id, s.principal()
        classes = s.roster.class_ids(school)
        member_ref = s.roster.guardian_of(classes[0]).ref
        other_ref = s.roster.guardian_of(classes[1]).ref
        mine = await class_committee(s, classes[0], member_ref)
        theirs = await class_committee(s, classes[1], other_ref)
        member = s.member(member_ref, school)
        text = {"topic": "food", "text": "午餐太咸"}

        home_visit = await s.http.post(
            f"/schools/{school}/feedback", json={"channel": "home_visit", **text}, headers=principal
        )
        assert home_visit.status_code == 422
        assert home_visit.json()["rule"] == "home_visit_from_visits"
        no_committee = await s.http.post(
            f"/schools/{school}/feedback", json={"channel": "committee", **text}, headers=member
        )
        assert (no_committee.status_code, no_committee.json()["rule"]) == (
            422,
            "committee_required",
        )
        other = await s.http.post(
            f"/schools/{school}/feedback",
            json={"channel": "committee", "committee_id": theirs, **text},
            headers=member,
        )
        assert other.status_code == 404
        hotline_by_member = await s.http.post(
            f"/schools/{school}/feedback", json={"channel": "hotline", **text}, headers=member
        )
        assert (hotline_by_member.status_code, hotline_by_member.json()["rule"]) == (
            403,
            "receiver",
        )
        mailbox_by_school = await s.http.post(
            f"/schools/{school}/feedback",
            json={"channel": "bureau_mailbox", **text},
            headers=principal,
        )
        assert mailbox_by_school.status_code == 403
        tomorrow = str(today(s) + timedelta(days=1))
        future = await s.http.post(
            f"/schools/{school}/feedback",
            json={"channel": "hotline", "received_on": tomorrow, **text},
            headers=principal,
        )
        assert (future.status_code, future.json()["rule"]) == (422, "received_on_not_future")
        keyed = {**principal, "Idempotency-Key": "hotline-1"}
        once = await post(s, f"/schools/{school}/feedback", {"channel": "hotline", **text}, keyed)
        twice = await post(s, f"/schools/{school}/feedback", {"channel": "hotline", **text}, keyed)
        assert once["item_id"] == twice["item_id"]  # same key, same answer, one item
        not_staff = await s.http.post(
            f"/schools/{school}/feedback-handlers",
            json={
                "channel": "hotline",
                "handler_ref": s.roster.one("principal", s.other_school_id).ref,
            },
            headers=principal,
        )
        assert (not_staff.status_code, not_staff.json()["rule"]) == (422, "handler_is_staff")

        # the desks: a school names its channels' handlers, the bureau its mailbox's.
        handler = {"channel": "hotline", "handler_ref": s.roster.one("middle_leader", school).ref}
        by_bureau = await s.http.post(
            f"/schools/{school}/feedback-handlers", json=handler, headers=s.bureau()
        )
        assert (by_bureau.status_code, by_bureau.json()["rule"]) == (403, "school_desk")
        by_school = await s.http.post(
            f"/districts/{s.district}/feedback-handlers",
            json={"channel": "bureau_mailbox", "handler_ref": "bureau-1"},
            headers=principal,
        )
        assert (by_school.status_code, by_school.json()["rule"]) == (403, "feedback.handler")
        assert "scope" in by_school.json()["detail"]
        wrong_desk = await s.http.post(
            f"/districts/{s.district}/feedback-handlers",
            json={"channel": "hotline", "handler_ref": "bureau-1"},
            headers=s.bureau(),
        )
        assert (wrong_desk.status_code, wrong_desk.json()["rule"]) == (422, "desk_channel")
        # lists are the school's staff's: not a subject teacher's (their assigned items only).
        subject = s.token(
            "subject_teacher", s.roster.one("subject_teacher", school).ref, school=school
        )
        listed = await s.http.get(f"/schools/{school}/feedback", headers=subject)
        assert (listed.status_code, listed.json()["rule"]) == (403, "assigned_items_only")
        # who handles which channel is known to them, and to members.
        for who in (subject, member):
            handlers = await s.http.get(f"/schools/{school}/feedback-handlers", headers=who)
            assert handlers.status_code == 200, handlers.text

        item = await post(
            s,
            f"/schools/{school}/feedback",
            {"channel": "committee", "committee_id": mine, **text},
            member,
        )
        item_id = item["item_id"]
        # the member reads the item of their committee; another committee's member does not.
        assert (await s.http.get(f"/feedback/{item_id}", headers=member)).status_code == 200
        outsider = s.member(other_ref, school)
        assert (await s.http.get(f"/feedback/{item_id}", headers=outsider)).status_code == 404
        assert (
            await s.http.get(f"/committees/{mine}/feedback", headers=outsider)
        ).status_code == 404
        # another school's principal: as if missing.
        elsewhere = s.principal(s.other_school_id)
        assert (await s.http.get(f"/feedback/{item_id}", headers=elsewhere)).status_code == 404
        # a teacher neither assignee nor handler: may not read the text nor answer.
        teacher = s.roster.one("subject_teacher", school)
        teacher_token = s.token("subject_teacher", teacher.ref, school=school)
        read = await s.http.get(f"/feedback/{item_id}", headers=teacher_token)
        assert (read.status_code, read.json()["rule"]) == (403, "reader")
        answer = {"decision": "adopted", "answer": "已调整菜谱"}
        refused = await s.http.post(
            f"/feedback/{item_id}/answer", json=answer, headers=teacher_token
        )
        assert (refused.status_code, refused.json()["rule"]) == (403, "answerer")
        not_staff_assignee = await s.http.post(
            f"/feedback/{item_id}/assignment", json={"assignee_ref": member_ref}, headers=principal
        )
        assert (not_staff_assignee.status_code, not_staff_assignee.json()["rule"]) == (
            422,
            "assignee_is_staff",
        )
        await post(s, f"/feedback/{item_id}/assignment", {"assignee_ref": teacher.ref}, principal)
        assert (await s.http.get(f"/feedback/{item_id}", headers=teacher_token)).status_code == 200
        await post(s, f"/feedback/{item_id}/answer", answer, teacher_token)
        again = await s.http.post(f"/feedback/{item_id}/answer", json=answer, headers=principal)
        assert (again.status_code, again.json()["rule"]) == (422, "already_answered")

        async def logged() -> int:
            n: int = await s.pool.fetchval(
                "SELECT count(*) FROM access_log WHERE action = 'feedback.read' AND record = $1",
                item_id,
            )
            return n

        assert await eventually(logged, lambda n: n == 2, what="two reads logged") == 2
