"""Incidents and the mandatory report (强制报告) over real HTTP, Kafka and PostgreSQL: a
mandatory incident reported in time is never escalated; the report must name the police, civil
affairs and education; its account is read in clear only by those who may, and each read is in
the access log; the account and the names never travel in clear; the school's children only;
another school's incident is answered like a missing one; the district's figures equal those
computed here from the answers; the guidance committee's referral and decision."""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.kafka_reader import read_all
from tests.support.safety_school import (
    SafetyEnv,
    SafetySchool,
    prompt_worker,
    safety_env_fixture,  # noqa: F401 - the fixture safety_env, found here by pytest
)
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_platform.eventstore import now_utc

pytestmark = pytest.mark.integration

ACCOUNT = "午休时发现该生背部有大片淤青，自述被家人用皮带抽打"
THREE = ["police", "civil_affairs", "education"]
LIMIT = 7200
SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=3)


@pytest.fixture
async def stack(safety_env: SafetyEnv) -> AsyncIterator[SafetySchool]:
    async with safety_env.world(SPEC, report_limit_seconds=LIMIT, **prompt_worker()) as s:
        yield s


async def report(
    s: SafetySchool,
    category: str,
    students: list[str],
    *,
    school_id: str | None = None,
    headers: dict[str, str] | None = None,
    account: str | None = ACCOUNT,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    school = school_id or s.school_id
    body: dict[str, Any] = {
        "category": category,
        "student_refs": students,
        "occurred_at": (occurred_at or now_utc() - timedelta(minutes=20)).isoformat(),
    }
    if account:
        body["account"] = account
    r = await s.http.post(
        f"/schools/{school}/incidents", json=body, headers=headers or s.principal(school)
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def file(s: SafetySchool, incident_id: str, school_id: str | None = None) -> dict[str, Any]:
    r = await s.http.post(
        f"/incidents/{incident_id}/mandatory-report",
        json={"departments": THREE},
        headers=s.principal(school_id),
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def logged_reads(s: SafetySchool, record: str, action: str) -> int:
    n: int = await s.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE record = $1 AND action = $2", record, action
    )
    return n


async def test_a_mandatory_incident_reported_in_time_is_never_escalated(
    stack: SafetySchool,
) -> None:
    s = stack
    a, b = s.roster.of_school(s.school_id)[:2]
    before = now_utc()
    key = {"Idempotency-Key": "incident-1"}
    at = before - timedelta(minutes=20)
    made = await report(
        s, "physical_abuse", [a, b], headers={**s.principal(), **key}, occurred_at=at
    )
    again = await report(
        s, "physical_abuse", [a, b], headers={**s.principal(), **key}, occurred_at=at
    )
    assert again["incident_id"] == made["incident_id"], "same key, same incident"
    assert made["events"] == ["IncidentReported"]
    assert made["mandatory_report_required"] is True
    due = datetime.fromisoformat(made["report_due_at"])
    assert before + timedelta(seconds=LIMIT) <= due <= now_utc() + timedelta(seconds=LIMIT)
    iid = made["incident_id"]
    assert await s.pool.fetchval("SELECT count(*) FROM deadlines WHERE key = $1", iid) == 1

    # The report must name police, civil affairs and education.
    r = await s.http.post(
        f"/incidents/{iid}/mandatory-report",
        json={"departments": ["police", "health"]},
        headers=s.principal(),
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.json()["field"], r.json()["rule"]) == ("departments", "report_required_departments")
    assert "civil_affairs" in r.json()["detail"]

    filed = await file(s, iid)
    assert filed["events"] == ["MandatoryReportFiled"]
    assert filed["late"] is False
    assert 0 <= filed["delay_seconds"] <= (now_utc() - before).total_seconds() + 1
    twice = await s.http.post(
        f"/incidents/{iid}/mandatory-report", json={"departments": THREE}, headers=s.principal()
    )
    assert twice.status_code == 409
    assert twice.json()["rule"] == "report_once"
    assert await s.pool.fetchval("SELECT count(*) FROM deadlines WHERE key = $1", iid) == 0

    s.clock.ahead = timedelta(hours=3)  # long past the due time: the cancelled row never fires
    await s.deadline_polls_after(3)
    assert await s.escalations(iid) == 0

    # The police read the incident with its account; the read is logged.
    police = s.agency("police")
    r = await s.http.get(f"/incidents/{iid}", headers=police)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["account"] == ACCOUNT
    assert record["status"] == "reported"
    assert record["student_refs"] == [a, b]
    assert record["report"]["departments"] == sorted(THREE)
    assert record["escalated_at"] is None
    assert await logged_reads(s, iid, "incident.read") == 1

    # On the wire: the account travels sealed, no name anywhere.
    raw = b"".join(
        r.value for r in await read_all(s.settings.kafka_bootstrap_servers, s.settings.topic)
    )
    assert iid.encode() in raw, "the incident's events are on the topic"
    for secret in (ACCOUNT, *s.names):
        assert secret.encode() not in raw


async def test_an_incident_names_only_children_of_the_school_and_stays_with_it(
    stack: SafetySchool,
) -> None:
    s = stack
    mine, other = s.school_id, s.schools[1]
    child, elsewhere = s.roster.of_school(mine)[0], s.roster.of_school(other)[0]
    r = await s.http.post(
        f"/schools/{mine}/incidents",
        json={
            "category": "serious_bullying",
            "student_refs": [child, elsewhere],
            "occurred_at": now_utc().isoformat(),
        },
        headers=s.principal(),
    )
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["rule"]) == ("student_refs", "incident_children_of_school")
    # A head teacher records at their own school (a child of another class too), not another's.
    head = s.staff("head_teacher", s.school_id)
    made = await report(s, "serious_bullying", [child], headers=head)
    iid = made["incident_id"]
    body = {"category": "accident", "student_refs": [], "occurred_at": now_utc().isoformat()}
    r = await s.http.post(f"/schools/{other}/incidents", json=body, headers=head)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    # Another school's principal finds no such incident: the same answer as a missing one.
    missing = await s.http.get("/incidents/no-such-incident", headers=s.principal(other))
    assert missing.status_code == 404
    for r in (
        await s.http.get(f"/incidents/{iid}", headers=s.principal(other)),
        await s.http.post(
            f"/incidents/{iid}/mandatory-report",
            json={"departments": THREE},
            headers=s.principal(other),
        ),
    ):
        assert r.status_code == 404, r.text
        assert r.json() == missing.json()
    # Another district's police finds nothing; market regulation and the city may not read.
    assert (
        await s.http.get(f"/incidents/{iid}", headers=s.agency("police", "330105"))
    ).status_code == 404
    for who in (s.agency("market_regulation"), s.bearer("city_analyst")):
        r = await s.http.get(f"/incidents/{iid}", headers=who)
        assert r.status_code == 403
        assert r.json()["rule"] == "incident.read"
    # The head teacher who recorded it files the report.
    r = await s.http.post(
        f"/incidents/{iid}/mandatory-report",
        json={"departments": THREE},
        headers=head,
    )
    assert r.status_code == 200, r.text
    # The school's list: logged per incident, no account.
    r = await s.http.get(f"/schools/{mine}/incidents", headers=s.principal())
    assert r.status_code == 200, r.text
    listed = r.json()["incidents"]
    assert [x["incident_id"] for x in listed] in ([], [iid])  # the read model may lag
    rows = await eventually(
        lambda: _school_list(s, mine), lambda rows: len(rows) == 1, what="the school's list"
    )
    assert rows[0]["incident_id"] == iid
    assert "account" not in rows[0]
    assert ACCOUNT not in str(rows)
    assert await logged_reads(s, iid, "incident.read") >= 1
    assert (
        await s.http.get(f"/schools/{mine}/incidents", headers=s.principal(other))
    ).status_code == 403


async def _school_list(s: SafetySchool, school_id: str) -> list[dict[str, Any]]:
    r = await s.http.get(f"/schools/{school_id}/incidents", headers=s.agency("police"))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["incidents"]
    return rows


async def test_the_districts_figures_equal_those_computed_from_the_answers(
    stack: SafetySchool,
) -> None:
    s = stack
    one, two = s.school_id, s.schools[1]
    kids1, kids2 = s.roster.of_school(one), s.roster.of_school(two)
    on_time = await report(s, "physical_abuse", [kids1[0]])
    late = await report(s, "sexual_abuse", [kids1[1]])
    no_duty = await report(s, "bullying", [kids1[2]], account=None)
    voluntary = await report(s, "accident", [], account=None)
    other_school = await report(s, "domestic_violence", [kids2[0]], school_id=two)
    delays = [(await file(s, on_time["incident_id"]))["delay_seconds"]]
    delays.append((await file(s, other_school["incident_id"], two))["delay_seconds"])
    r = await s.http.post(
        f"/incidents/{voluntary['incident_id']}/mandatory-report",
        json={"departments": THREE},
        headers=s.principal(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["late"] is False, "a voluntary report is never late"

    # Past the due time: the worker escalates the unreported one; its report comes late.
    s.clock.ahead = timedelta(seconds=LIMIT + 60)
    await eventually(
        lambda: s.escalations(late["incident_id"]), lambda n: n == 1, what="the escalation"
    )
    late_filed = await file(s, late["incident_id"])
    assert late_filed["late"] is True
    assert late_filed["delay_seconds"] >= LIMIT + 60
    delays.append(late_filed["delay_seconds"])
    # Reported after the clock moved: unreported, not yet due — the API decides on the clock
    # injected into it (``create_app(..., clock=)``), the one the worker's deadlines see.
    moved = now_utc() + s.clock.ahead
    pending = await report(s, "neglect_or_abandonment", [kids1[0]])
    assert pending["mandatory_report_required"] is True
    due = datetime.fromisoformat(pending["report_due_at"])
    assert moved + timedelta(seconds=LIMIT) <= due <= s.clock() + timedelta(seconds=LIMIT)
    assert no_duty["mandatory_report_required"] is False

    expected_school_one = {
        "incidents": 5,
        "report_required": 3,
        "reports_filed": 2,
        "on_time": 1,
        "late": 1,
        "escalated": 1,
        "unreported": 1,
        "unreported_past_due": 0,
        "voluntary_reports": 1,
        "by_category": {
            "accident": 1,
            "bullying": 1,
            "neglect_or_abandonment": 1,
            "physical_abuse": 1,
            "sexual_abuse": 1,
        },
    }

    async def figures() -> dict[str, Any]:
        r = await s.http.get(
            f"/districts/{s.district}/mandatory-report-figures",
            headers=s.bearer("bureau_officer", s.district),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    f = await eventually(
        figures,
        lambda f: f["incidents"] == 6 and f["reports_filed"] == 3 and f["escalated"] == 1,
        what="the district's figures",
    )
    school_one = next(x for x in f["schools"] if x["school_id"] == one)
    for k, v in expected_school_one.items():
        assert school_one[k] == v, k
    assert (f["report_required"], f["on_time"], f["late"], f["unreported"]) == (4, 2, 1, 1)
    assert f["delay_median_seconds"] == statistics.median(delays)
    assert f["delay_max_seconds"] == max(delays)
    assert f["report_limit_seconds"] == LIMIT
    for kid in (*kids1, *kids2):
        assert kid not in str(f)
    # A principal sees their own school's row only; the police may read the figures.
    r = await s.http.get(
        f"/districts/{s.district}/mandatory-report-figures", headers=s.principal(two)
    )
    assert r.status_code == 200, r.text
    assert [x["school_id"] for x in r.json()["schools"]] == [two]
    assert (r.json()["incidents"], r.json()["reports_filed"]) == (1, 1)
    r = await s.http.get(
        f"/districts/{s.district}/mandatory-report-figures",
        params={"from": "2026-12-01", "to": "2026-11-01"},
        headers=s.agency("police"),
    )
    assert r.status_code == 422
    assert r.json()["rule"] == "date_range"


async def test_the_guidance_committee_decides_a_referral_once_with_who_sat(
    stack: SafetySchool,
) -> None:
    s = stack
    child, other_child = s.roster.of_school(s.school_id)[:2]
    incident = await report(s, "serious_misbehaviour", [child], account=None)
    police = s.agency("police")
    # From an incident that does not name the child: refused.
    r = await s.http.post(
        f"/students/{other_child}/guidance-referrals",
        json={"misbehaviour": "gang_fighting", "incident_id": incident["incident_id"]},
        headers=police,
    )
    assert r.status_code == 422
    assert r.json()["rule"] == "referral_incident_names_child"
    r = await s.http.post(
        f"/students/{child}/guidance-referrals",
        json={"misbehaviour": "gang_fighting", "incident_id": incident["incident_id"]},
        headers=police,
    )
    assert r.status_code == 200, r.text
    rid = r.json()["referral_id"]
    # Another school's principal cannot refer this child (404: not theirs).
    r = await s.http.post(
        f"/students/{child}/guidance-referrals",
        json={"misbehaviour": "drugs"},
        headers=s.principal(s.schools[1]),
    )
    assert r.status_code == 404

    committee = s.agency("guidance_committee")
    r = await s.http.post(
        f"/guidance-referrals/{rid}/decision",
        json={"decision": "special_school", "members_present": ["education", "police"]},
        headers=committee,
    )
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["rule"]) == ("members_present", "guidance_members_present")
    # Another district's committee finds nothing; a principal may not decide.
    r = await s.http.post(
        f"/guidance-referrals/{rid}/decision",
        json={"decision": "no_measure", "members_present": ["education", "police"]},
        headers=s.agency("guidance_committee", "330105"),
    )
    assert r.status_code == 404
    r = await s.http.post(
        f"/guidance-referrals/{rid}/decision",
        json={"decision": "no_measure", "members_present": ["education", "police"]},
        headers=s.principal(),
    )
    assert r.status_code == 403
    decided = {"decision": "school_guidance", "members_present": ["education", "police", "justice"]}
    r = await s.http.post(f"/guidance-referrals/{rid}/decision", json=decided, headers=committee)
    assert r.status_code == 200, r.text
    r = await s.http.post(f"/guidance-referrals/{rid}/decision", json=decided, headers=committee)
    assert r.status_code == 409
    assert r.json()["rule"] == "decide_once"

    async def listed() -> list[dict[str, Any]]:
        r = await s.http.get(f"/districts/{s.district}/guidance-referrals", headers=committee)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["referrals"]
        return rows

    (row,) = await eventually(
        listed, lambda rows: len(rows) == 1 and rows[0]["decision"] is not None, what="the list"
    )
    assert (row["student_ref"], row["decision"], row["incident_id"]) == (
        child,
        "school_guidance",
        incident["incident_id"],
    )
    assert row["members_present"] == ["education", "justice", "police"]
    assert await logged_reads(s, rid, "guidance.read") >= 1
    # The other school's principal sees none of them; the city may not read them.
    r = await s.http.get(
        f"/districts/{s.district}/guidance-referrals", headers=s.principal(s.schools[1])
    )
    assert r.status_code == 200, r.text
    assert r.json()["referrals"] == []
    assert (
        await s.http.get(
            f"/districts/{s.district}/guidance-referrals", headers=s.bearer("city_analyst")
        )
    ).status_code == 403


async def test_malformed_requests_are_refused_as_problems_naming_the_field(
    stack: SafetySchool,
) -> None:
    s = stack
    school, child = s.school_id, s.roster.of_school(s.school_id)[0]
    now = now_utc().isoformat()
    bad_incidents: list[dict[str, Any]] = [
        {
            "category": "physical_abuse",
            "student_refs": [child],
            "occurred_at": "9999-12-31T23:59:59-12:00",
        },
        {
            "category": "physical_abuse",
            "student_refs": [child],
            "occurred_at": "2026-11-03T10:00:00",
        },
        {
            "category": "physical_abuse",
            "student_refs": [child],
            "occurred_at": now,
            "account": "a\x00b",
        },
        {"category": "physical_abuse", "student_refs": ["x"] * 51, "occurred_at": now},
        {"category": "no_such_category", "student_refs": [], "occurred_at": now},
        {"category": "accident", "student_refs": ["bad ref!"], "occurred_at": now},
        {"category": "accident", "occurred_at": now, "extra": 1},
    ]
    for body in bad_incidents:
        r = await s.http.post(f"/schools/{school}/incidents", json=body, headers=s.principal())
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    future = {"category": "accident", "student_refs": [], "occurred_at": "2099-01-01T00:00:00Z"}
    r = await s.http.post(f"/schools/{school}/incidents", json=future, headers=s.principal())
    assert r.status_code == 422
    assert (r.json()["field"], r.json()["rule"]) == ("occurred_at", "occurred_not_in_future")
    made = await report(s, "unexplained_injury", [child], account=None)
    for departments in ([], ["police", "police", "nope"]):
        r = await s.http.post(
            f"/incidents/{made['incident_id']}/mandatory-report",
            json={"departments": departments},
            headers=s.principal(),
        )
        assert r.status_code == 422, r.text
    for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "2026-13-01"}):
        r = await s.http.get(
            f"/districts/{s.district}/mandatory-report-figures",
            params=params,
            headers=s.agency("police"),
        )
        assert r.status_code == 422, (params, r.text)
    assert (
        await s.http.get("/schools/no-such-school/incidents", headers=s.agency("police"))
    ).status_code == 404
    r = await s.http.post(
        "/students/no-such-child/guidance-referrals",
        json={"misbehaviour": "drugs"},
        headers=s.agency("police"),
    )
    assert r.status_code == 404
    r = await s.http.post(
        "/guidance-referrals/no-such-referral/decision",
        json={"decision": "no_measure", "members_present": ["education", "police"]},
        headers=s.agency("guidance_committee"),
    )
    assert r.status_code == 404
    assert r.json()["field"] == "referral_id"
