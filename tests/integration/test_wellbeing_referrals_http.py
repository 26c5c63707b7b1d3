"""Crisis referrals (1小时响应通道) over real HTTP, Kafka and PostgreSQL: a referral acknowledged
in time is never escalated; one left unacknowledged is escalated exactly once after the deadline
by the worker's injected clock, and the district's robot gets one alert; the guardians' message
waits in the development inbox without a word about the student; another hospital sees nothing
(and a hospital finds a student's records only once the student was referred to it); the
deadline survives a worker restart; the district's SLA figures count without a student."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.receiver import Receiver, receiving
from tests.support.referrals import PUBLIC_URL, Stack, referral_stack
from tests.support.service_world import Clock
from tests.support.waiting import eventually
from tongxin_platform.auth import Principal, Role, TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_platform.http import ProblemError
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_wellbeing.application.policy import Action
from tongxin_wellbeing.bootstrap import bootstrap
from tongxin_wellbeing.entrypoints.deps import student_scope_for

pytestmark = pytest.mark.integration

H1, H2 = "hosp-kangning", "hosp-other"
NOTE = "近两周多次表达轻生念头，已由心理教师陪同"


@pytest.fixture
async def stack(
    infra: Infra,
    kafka: str,
    topic: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
    jwt_keys: tuple[bytes, bytes],
) -> AsyncIterator[tuple[Stack, Receiver]]:
    async with receiving() as robot:
        hooks = {"330106": [{"kind": "wecom", "url": robot.url("/cgi-bin/webhook/send?key=K1")}]}
        async with referral_stack(
            infra,
            kafka,
            topic,
            unique,
            database_name,
            registry_settings,
            verifier,
            bearer,
            jwt_keys,
            webhooks=hooks,
            clock=Clock(),
        ) as s:
            yield s, robot


async def refer(s: Stack, student_ref: str, hospital: str = H1, **extra: str) -> dict[str, Any]:
    r = await s.http.post(
        f"/students/{student_ref}/referrals",
        json={"hospital_id": hospital, "note": NOTE},
        headers={**s.team(), **extra},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_referral_acknowledged_in_time_is_never_escalated(
    stack: tuple[Stack, Receiver],
) -> None:
    s, robot = stack
    student, guardians = s.students[0]
    before = now_utc()
    made = await refer(s, student, **{"Idempotency-Key": "refer-1"})
    again = await refer(s, student, **{"Idempotency-Key": "refer-1"})
    assert again["referral_id"] == made["referral_id"], "same key, same referral"
    assert made["events"] == ["CrisisReferred"] + ["GuardianNotified"] * len(set(guardians))
    due = datetime.fromisoformat(made["acknowledge_by"])
    assert before + timedelta(seconds=3600) <= due <= now_utc() + timedelta(seconds=3600)
    rid = made["referral_id"]

    r = await s.http.post(f"/referrals/{rid}/acknowledgement", headers=s.hospital(H1))
    assert r.status_code == 200, r.text
    assert r.json()["within_deadline"] is True
    twice = await s.http.post(f"/referrals/{rid}/acknowledgement", headers=s.hospital(H1))
    assert twice.status_code == 409
    assert twice.json()["rule"] == "acknowledge_once"

    s.clock.ahead = timedelta(hours=3)  # long past the deadline: the cancelled row never fires
    await s.deadline_polls_after(3)
    assert await s.escalations(rid) == 0
    assert await s.pool.fetchval("SELECT count(*) FROM deadlines WHERE key = $1", rid) == 0

    r = await s.http.post(
        f"/referrals/{rid}/resolution", json={"outcome": "admitted"}, headers=s.hospital(H1)
    )
    assert r.status_code == 200, r.text
    record = (await s.http.get(f"/referrals/{rid}", headers=s.team("health_vp"))).json()
    assert record["status"] == "resolved"
    assert record["note"] == NOTE
    assert record["within_deadline"] is True
    assert record["escalated_at"] is None
    assert robot.received == [], "nothing to alert"

    async def sla() -> dict[str, Any]:
        r = await s.http.get(f"/districts/{s.district}/referral-sla", headers=s.officer())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    figures = await eventually(sla, lambda f: f["acknowledged_in_time"] == 1, what="the SLA")
    assert (figures["referred"], figures["escalated"], figures["compliance"]) == (1, 0, 1.0)
    assert [x["school_id"] for x in figures["schools"]] == [s.school_id]


async def test_an_unacknowledged_referral_is_escalated_once_after_the_deadline(
    stack: tuple[Stack, Receiver],
) -> None:
    s, robot = stack
    student, guardians = s.students[0]
    assert guardians, "the demo roster gives every student a guardian"
    rid = (await refer(s, student))["referral_id"]

    await s.deadline_polls_after(3)  # the real time: not due yet
    assert await s.escalations(rid) == 0

    s.clock.ahead = timedelta(seconds=3601)
    await eventually(lambda: s.escalations(rid), lambda n: n >= 1, what="the escalation")
    await eventually(
        lambda: _ok(robot), lambda n: n >= 1, timeout=60, what="the alert at the robot"
    )
    s.clock.ahead = timedelta(hours=5)  # later polls find the row fired
    await s.deadline_polls_after(5)
    assert await s.escalations(rid) == 1
    assert len(robot.delivered()) == 1

    (message,) = robot.delivered()
    content = message.body["markdown"]["content"]
    assert message.body["msgtype"] == "markdown"
    assert f"{PUBLIC_URL}/referrals/{rid}" in content
    assert s.school_id in content
    assert "区教育局" in content
    for secret in (student, NOTE, *s.names):
        assert secret not in content

    record = (await s.http.get(f"/referrals/{rid}", headers=s.team())).json()
    assert record["status"] == "escalated"
    assert record["escalated_to"] == ["district_education", "district_health"]
    # The hospital may still acknowledge, late.
    r = await s.http.post(f"/referrals/{rid}/acknowledgement", headers=s.hospital(H1))
    assert r.status_code == 200, r.text
    assert r.json()["within_deadline"] is False

    # Each guardian's message is in the development inbox: what happened, no student data.
    async def inbox(guardian: str) -> list[dict[str, str]]:
        r = await s.http.get("/message-inbox", params={"recipient": guardian}, headers=s.operator())
        assert r.status_code == 200, r.text
        rows: list[dict[str, str]] = r.json()
        return rows

    for guardian in guardians:
        (msg,) = await eventually(
            partial(inbox, guardian), lambda rows: len(rows) == 1, what="the guardian's message"
        )
        shown = msg["title"] + msg["text"] + msg["link"]
        assert msg["channel"] == "guardian"
        assert "专科医院" in msg["text"]
        assert "心理教师" in msg["text"]
        for secret in (student, NOTE, *s.names):
            assert secret not in shown

    # The SLA: one acknowledged late, one escalation; no student anywhere in the answer.
    async def sla() -> dict[str, object]:
        r = await s.http.get(f"/districts/{s.district}/referral-sla", headers=s.officer())
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    figures = await eventually(sla, lambda f: f["acknowledged_late"] == 1, what="the SLA")
    assert (figures["referred"], figures["escalated"], figures["acknowledged_in_time"]) == (
        1,
        1,
        0,
    )
    assert figures["compliance"] == 0.0
    assert student not in str(figures)

    # On the wire: the note travels sealed, no name anywhere.
    raw = b"".join(r.value for r in await read_all(kafka_of(s), s.settings.topic))
    assert rid.encode() in raw, "the referral's events are on the topic"
    for secret in (NOTE, *s.names):
        assert secret.encode() not in raw


def kafka_of(s: Stack) -> str:
    return s.settings.kafka_bootstrap_servers


async def _ok(robot: Receiver) -> int:
    return len(robot.delivered())


async def test_a_hospital_sees_only_the_referrals_made_to_it(
    stack: tuple[Stack, Receiver],
) -> None:
    s, _ = stack
    student, _g = s.students[1]
    rid = (await refer(s, student))["referral_id"]
    other = s.hospital(H2)
    missing = await s.http.get("/referrals/no-such-referral", headers=s.hospital(H1))
    assert missing.status_code == 404
    for r in (
        await s.http.get(f"/referrals/{rid}", headers=other),
        await s.http.post(f"/referrals/{rid}/acknowledgement", headers=other),
        await s.http.post(
            f"/referrals/{rid}/resolution", json={"outcome": "admitted"}, headers=other
        ),
    ):
        assert r.status_code == 404, r.text
        assert r.json() == missing.json(), "another hospital's referral is answered as missing"
    # Staff of the school may read it, but only the hospital responds.
    r = await s.http.post(f"/referrals/{rid}/acknowledgement", headers=s.team())
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    # Another school's team finds nothing.
    stranger = s.bearer("psych_teacher", s.district, "330106999", subject="stf_x")
    assert (await s.http.get(f"/referrals/{rid}", headers=stranger)).status_code == 404
    # A head teacher may not read a referral at all.
    head = s.bearer("head_teacher", s.district, s.school_id, "c1", subject="stf_h")
    assert (await s.http.get(f"/referrals/{rid}", headers=head)).status_code == 403

    # The queue: the receiving hospital's own, with the deadline; not another's.
    async def queue() -> list[dict[str, object]]:
        r = await s.http.get(f"/hospitals/{H1}/referrals", headers=s.hospital(H1))
        assert r.status_code == 200, r.text
        rows: list[dict[str, object]] = r.json()["referrals"]
        return rows

    (row,) = await eventually(queue, lambda rows: len(rows) == 1, what="the hospital's queue")
    assert row["referral_id"] == rid
    assert row["overdue"] is False
    assert isinstance(row["seconds_left"], int)
    assert 0 < row["seconds_left"] <= 3600
    assert "note" not in row
    r = await s.http.get(f"/hospitals/{H1}/referrals", headers=other)
    assert r.status_code == 403
    assert r.json()["rule"] == "hospital_queue_own"
    r = await s.http.get(f"/hospitals/{H2}/referrals", headers=other)
    assert r.json()["referrals"] == []

    # Every read of the referral is in the access log.
    auditor = s.bearer("auditor", s.district)
    await s.http.get(f"/referrals/{rid}", headers=s.hospital(H1))
    log = (await s.http.get("/access-log", params={"record": rid}, headers=auditor)).json()
    assert {e["role"] for e in log} >= {"hospital"}
    assert all(e["action"] == "referral.read" for e in log)


async def test_a_referral_is_refused_for_a_student_outside_the_school(
    stack: tuple[Stack, Receiver],
) -> None:
    s, _ = stack
    stranger = s.bearer("psych_teacher", s.district, "330106999", subject="stf_x")
    r = await s.http.post(
        f"/students/{s.students[0][0]}/referrals", json={"hospital_id": H1}, headers=stranger
    )
    assert r.status_code == 404
    r = await s.http.post(
        f"/students/{s.students[0][0]}/referrals",
        json={"hospital_id": H1},
        headers=s.bearer("head_teacher", s.district, s.school_id, "c1", subject="stf_h"),
    )
    assert r.status_code == 403
    r = await s.http.post(
        f"/students/{s.students[0][0]}/referrals",
        json={"hospital_id": "not a hospital!"},
        headers=s.team(),
    )
    assert r.status_code == 422


async def test_the_deadline_survives_a_worker_restart_and_escalates_once(
    stack: tuple[Stack, Receiver],
) -> None:
    """The deadline is a row: a worker stopped before it falls due and another started after
    escalate it exactly once, and the robot hears of it once — even when the escalation is
    delivered to the alerts reaction again."""
    s, robot = stack
    rid = (await refer(s, s.students[2][0]))["referral_id"]
    await s.stop_worker()  # nothing of the worker runs from here …
    await s.start_worker(Clock(timedelta(hours=2)))  # … until a new one, long after the deadline
    await eventually(lambda: s.escalations(rid), lambda n: n >= 1, what="the escalation")
    await eventually(lambda: _ok(robot), lambda n: n >= 1, timeout=60, what="the alert")
    await s.restart_worker(Clock(timedelta(hours=4)))  # and once more
    await s.redeliver("ReferralEscalated", rid)
    await s.caught_up("wellbeing.alerts")
    await s.deadline_polls_after(3)
    await s.delivery_polls_after(3)
    assert await s.escalations(rid) == 1
    assert len(robot.delivered()) == 1
    fired = await s.pool.fetchrow("SELECT fired_at, due_at FROM deadlines WHERE key = $1", rid)
    assert fired["fired_at"] is not None
    assert fired["fired_at"] >= fired["due_at"]


async def test_a_hospital_finds_a_students_records_only_once_referred_to_it(
    stack: tuple[Stack, Receiver],
) -> None:
    """The receiving hospital's side of access: the scope of every route keyed by a student
    (screenings, plan) is, for a hospital, the students referred to it."""
    s, _ = stack
    student = s.students[3][0]

    def hospital(org: str) -> Principal:
        return Principal(f"doc-{org}", Role.hospital, s.district, org=org)

    app = await bootstrap(s.settings)
    try:

        async def scope(p: Principal) -> int:
            try:
                await student_scope_for(app, p, Action.record_read, student)
            except ProblemError as refused:
                return refused.status
            return 200

        assert await scope(hospital(H1)) == 404
        await refer(s, student)
        await eventually(lambda: scope(hospital(H1)), lambda st: st == 200, what="H1's scope")
        assert await scope(hospital(H2)) == 404
        team = Principal(s.staff["psych_teacher"], Role.psych_teacher, s.district, s.school_id)
        assert await scope(team) == 200
    finally:
        await app.close()
