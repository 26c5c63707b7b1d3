"""The mandatory report's escalation over real Kafka and PostgreSQL, with the worker stopped
between the incident's recording and its due time: the deadline is a row, so the next worker
— its clock injected past the due time — escalates the unreported incident to the district
bureau exactly once; a further restart later finds the row fired and escalates nothing more.
The district's robots (a WeCom and a signed DingTalk receiver on 127.0.0.1) each get exactly
one message: the school, the incident, its category code and a link — no child, no account, no
name; the escalation delivered again by Kafka sends nothing new. The school's report after the
escalation is still recorded, late."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest

from tests.support.receiver import Receiver, receiving
from tests.support.safety_school import (
    PUBLIC_URL,
    SafetyEnv,
    SafetySchool,
    prompt_worker,
    safety_env_fixture,  # noqa: F401 - the fixture safety_env, found here by pytest
)
from tests.support.services import worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_platform.eventstore import now_utc
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.reactions.alerts import ALERTS

pytestmark = pytest.mark.integration

ACCOUNT = "放学后该生独自在校门口徘徊至深夜，称家中无人已三天"
LIMIT = 7200
SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=3)


@pytest.fixture
async def stack(
    safety_env: SafetyEnv,
) -> AsyncIterator[tuple[SafetySchool, Receiver, Receiver]]:
    async with receiving() as robot, receiving() as ding:
        hooks = {
            "330106": [
                {"kind": "wecom", "url": robot.url("/cgi-bin/webhook/send?key=K1")},
                {
                    "kind": "dingtalk",
                    "url": ding.url("/robot/send?access_token=T1"),
                    "secret": "SEC-test-secret",
                },
            ]
        }
        async with safety_env.world(SPEC, report_limit_seconds=LIMIT, **prompt_worker(hooks)) as s:
            yield s, robot, ding


async def _delivered(robot: Receiver) -> int:
    return len(robot.delivered())


async def _deadline(s: SafetySchool, incident_id: str) -> dict[str, Any]:
    row = await s.pool.fetchrow(
        "SELECT due_at, fired_at FROM deadlines WHERE kind = 'incident.report' AND key = $1",
        incident_id,
    )
    assert row is not None
    return dict(row)


async def test_an_unreported_incident_is_escalated_once_across_worker_restarts(
    stack: tuple[SafetySchool, Receiver, Receiver],
) -> None:
    s, robot, ding = stack
    child = s.roster.of_school(s.school_id)[0]
    r = await s.http.post(
        f"/schools/{s.school_id}/incidents",
        json={
            "category": "neglect_or_abandonment",
            "student_refs": [child],
            "occurred_at": (now_utc() - timedelta(hours=1)).isoformat(),
            "account": ACCOUNT,
        },
        headers=s.principal(),
    )
    assert r.status_code == 200, r.text
    iid = r.json()["incident_id"]
    due = datetime.fromisoformat(r.json()["report_due_at"])

    await s.deadline_polls_after(3)  # the real time: not due yet
    assert await s.escalations(iid) == 0

    # The worker stops before the due time; the time passes while no worker runs.
    await s.stop_worker()
    s.clock.ahead = timedelta(seconds=LIMIT + 1)
    assert (await _deadline(s, iid))["fired_at"] is None
    assert await s.escalations(iid) == 0

    await s.start_worker()  # a new worker, its clock past the due time
    await eventually(lambda: s.escalations(iid), lambda n: n >= 1, what="the escalation")
    for receiver in (robot, ding):
        await eventually(
            partial(_delivered, receiver),
            lambda n: n >= 1,
            timeout=60,
            what="the alert at each robot",
        )
    row = await _deadline(s, iid)
    assert row["due_at"] == due
    assert row["fired_at"] is not None
    assert row["fired_at"] >= due

    # Restarted once more, hours later: the row is fired, nothing escalates again.
    await s.stop_worker()
    s.clock.ahead = timedelta(hours=6)
    await s.start_worker()
    await s.deadline_polls_after(5)
    assert await s.escalations(iid) == 1

    # Kafka delivers the escalation again: the alert is not sent twice.
    await s.redeliver("MandatoryReportEscalated", iid)
    await s.caught_up(ALERTS.group)
    notices: int = await s.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = 'incident.report_escalated'"
    )
    assert notices == 2, "one row per robot of the district"
    for receiver in (robot, ding):
        assert len(receiver.received) == 1
        assert len(receiver.delivered()) == 1
    (signed,) = ding.delivered()
    assert {"timestamp", "sign"} <= set(signed.query), "the DingTalk robot's messages are signed"
    ding_text = signed.body["markdown"]["text"]
    assert f"{PUBLIC_URL}/incidents/{iid}" in ding_text
    assert child not in ding_text
    assert ACCOUNT not in ding_text

    (message,) = robot.delivered()
    content = message.body["markdown"]["content"]
    assert message.body["msgtype"] == "markdown"
    assert f"{PUBLIC_URL}/incidents/{iid}" in content
    assert s.school_id in content
    assert "neglect_or_abandonment" in content
    assert "区教育局" in content
    for student in sorted(s.roster.students):
        assert student not in content
    for secret in (ACCOUNT, *s.names):
        assert secret not in content

    # The school's report after the escalation is still recorded, late.
    r = await s.http.post(
        f"/incidents/{iid}/mandatory-report",
        json={"departments": ["police", "civil_affairs", "education", "womens_federation"]},
        headers=s.principal(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["late"] is True
    assert r.json()["delay_seconds"] >= LIMIT
    record = (await s.http.get(f"/incidents/{iid}", headers=s.agency("police"))).json()
    assert record["status"] == "reported"
    assert record["escalated_at"] is not None
    assert record["report"]["late"] is True
    assert record["account"] == ACCOUNT


async def test_two_workers_past_the_due_time_escalate_once(
    stack: tuple[SafetySchool, Receiver, Receiver],
) -> None:
    s, robot, _ = stack
    incidents = []
    for category in ("sexual_abuse", "trafficking_or_abduction", "serious_bullying"):
        r = await s.http.post(
            f"/schools/{s.school_id}/incidents",
            json={
                "category": category,
                "student_refs": [],
                "occurred_at": (now_utc() - timedelta(minutes=5)).isoformat(),
            },
            headers=s.principal(),
        )
        assert r.status_code == 200, r.text
        incidents.append(r.json()["incident_id"])
    s.clock.ahead = timedelta(seconds=LIMIT + 1)
    async with worker_of(SERVICE, s.settings, clock=s.clock):  # a second worker beside the first
        for iid in incidents:
            await eventually(partial(s.escalations, iid), lambda n: n >= 1, what="escalation")
        await s.deadline_polls_after(5)
    for iid in incidents:
        assert await s.escalations(iid) == 1
    await eventually(
        partial(_delivered, robot), lambda n: n >= 3, timeout=60, what="the alerts at the robot"
    )
    await s.deadline_polls_after(3)
    assert len(robot.delivered()) == 3
    bodies = [json.dumps(m.body, ensure_ascii=False) for m in robot.delivered()]
    for iid in incidents:
        assert sum(iid in b for b in bodies) == 1, "one alert per escalated incident"
