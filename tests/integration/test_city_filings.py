"""The filings the bureaus track, on the real stack (Kafka, PostgreSQL, the city's worker and
API): schools registered and their monthly visit statistics published on the test's registry
and visits topics, plans filed through ``POST /filings`` by the roles that file them, refusals
naming the rule; then ``GET /filings`` answers filed, late, missing and pending per district
exactly as written out here, as of a day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.agencies_world import Publisher
from tests.support.service_world import wait_caught_up
from tests.support.services import settings_for, standing
from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_city.entrypoints.api import create_app
from tongxin_contracts.calendar import CHINA
from tongxin_contracts.events.registry import SchoolRegistered, SchoolStage
from tongxin_contracts.events.visits import MonthlyFigures, MonthlyVisitReportSubmitted
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra

A, B = "330106", "330105"  # district A: schools a1, a2; district B: school b1
A1, A2, B1 = "330106001", "330106002", "330105001"
TODAY = date(2026, 11, 20)
NOW = datetime.combine(TODAY, time(12), CHINA).astimezone(UTC)
SOURCES = ("registry", "visits", "wellbeing", "safety", "committees")


@dataclass
class Stack:
    http: httpx.AsyncClient
    settings: CitySettings
    pool: Any
    bearer: Bearer

    def officer(self, district: str) -> dict[str, str]:
        return self.bearer("bureau_officer", district=district)

    def principal(self, school: str) -> dict[str, str]:
        return self.bearer("principal", district=school[:6], school=school, subject=f"stf_{school}")

    async def file(
        self, who: dict[str, str], key: str | None = None, **body: Any
    ) -> httpx.Response:
        headers = {**who, **({"Idempotency-Key": key} if key else {})}
        return await self.http.post("/filings", json={"year": 2026, **body}, headers=headers)

    async def caught_up(self, topic: str) -> None:
        bootstrap = self.settings.kafka_bootstrap_servers
        await wait_caught_up(self.pool, "city.filings", topic, bootstrap)


async def text_of_store(pool: Any, needle: str) -> list[str]:
    """The tables of the city's database (every schema but the system's) holding ``needle``."""
    tables = await pool.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        " AND table_type = 'BASE TABLE'"
    )
    found = []
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        if await pool.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {name} x WHERE x::text LIKE '%' || $1 || '%')", needle
        ):
            found.append(name)
    return found


def report(school: str, month: str, revision: int, on: date) -> MonthlyVisitReportSubmitted:
    due = date(int(month[:4]), int(month[5:]), 30)
    return MonthlyVisitReportSubmitted(
        district=school[:6],
        school_id=school,
        month=month,
        revision=revision,
        figures=MonthlyFigures(**dict.fromkeys(MonthlyFigures.model_fields, 1)),
        submitted_by=f"stf_{school}",
        submitted_at=datetime.combine(on, time(16), CHINA),
        due_date=due,
        late=on > due,
    )


def school(school_id: str) -> SchoolRegistered:
    return SchoolRegistered(
        district=school_id[:6],
        school_id=school_id,
        school_name=f"学校{school_id[-3:]}",
        stage=SchoolStage.primary,
        has_counselling_room=True,
    )


@pytest.fixture
async def stack(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> AsyncIterator[Stack]:
    topics = {name: f"test-{unique}-{name}.events" for name in ("city", *SOURCES)}
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in topics.values()])
    settings = settings_for(SERVICE, infra, database_name=f"{database_name}_city", topics=topics)
    assert isinstance(settings, CitySettings)
    assert settings.topic == topics["city"]
    assert settings.visits_topic == topics["visits"]
    publisher = Publisher(kafka, topics)
    await publisher.publish(
        [
            school(A1),
            school(A2),
            school(B1),
            report(A1, "2026-09", 1, date(2026, 9, 28)),  # on time
            report(A1, "2026-10", 1, date(2026, 10, 31)),  # late
            report(A1, "2026-10", 2, date(2026, 11, 2)),  # a correction: the first one decides
            report(A2, "2026-09", 1, date(2026, 10, 2)),  # late; October: missing
            report(B1, "2026-09", 1, date(2026, 9, 30)),  # on the due day
            report(B1, "2026-10", 1, date(2026, 10, 12)),
            report(B1, "2026-11", 1, date(2026, 12, 1)),  # after the day the test asks about
        ]
    )
    app = create_app(settings, verifier, clock=lambda: NOW)
    async with standing(SERVICE, settings, app) as up:
        s = Stack(up.http, settings, up.pool, bearer)
        await s.caught_up(topics["registry"])
        await s.caught_up(topics["visits"])
        yield s


def row(
    district: str,
    kind: str,
    period: str,
    due: str,
    *,
    on_time: int = 0,
    late: int = 0,
    missing: int = 0,
    pending: int = 0,
) -> dict[str, Any]:
    return {
        "district": district,
        "kind": kind,
        "period": period,
        "due": due,
        "expected": on_time + late + missing + pending,
        "on_time": on_time,
        "late": late,
        "missing": missing,
        "pending": pending,
    }


AS_OF_TODAY = [
    row(B, "district_plan", "2026", "2026-04-20", late=1),
    row(B, "school_visit_plan", "2026", "2026-04-28", missing=1),
    row(B, "december_summary", "2026", "2026-12-31", pending=1),
    row(B, "monthly_stats", "2026-09", "2026-09-30", on_time=1),
    row(B, "monthly_stats", "2026-10", "2026-10-30", on_time=1),
    row(B, "monthly_stats", "2026-11", "2026-11-30", pending=1),
    row(A, "district_plan", "2026", "2026-04-20", on_time=1),
    row(A, "school_visit_plan", "2026", "2026-04-28", on_time=1, late=1),
    row(A, "december_summary", "2026", "2026-12-31", on_time=1),
    row(A, "monthly_stats", "2026-09", "2026-09-30", on_time=1, late=1),
    row(A, "monthly_stats", "2026-10", "2026-10-30", late=1, missing=1),
    row(A, "monthly_stats", "2026-11", "2026-11-30", pending=2),
]


async def test_filings_by_the_roles_that_file_them_give_filed_late_and_missing_per_district(
    stack: Stack,
) -> None:
    s = stack
    # Given the district's plans and the schools' visit plans filed by those who file them
    first = await s.file(
        s.officer(A), "plan-a", kind="district_plan", district=A, filed_on="2026-04-18"
    )
    assert first.status_code == 201, first.text
    assert first.json() == {
        "events": ["FilingSubmitted"],
        "filing_id": "filing-330106-district_plan-2026",
    }
    again = await s.file(
        s.officer(A), "plan-a", kind="district_plan", district=A, filed_on="2026-04-18"
    )
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    revised = await s.file(
        s.officer(A), "plan-a-2", kind="district_plan", district=A, filed_on="2026-05-06"
    )
    assert revised.status_code == 201, revised.text
    for key, who, body in (
        ("b", s.officer(B), {"kind": "district_plan", "district": B, "filed_on": "2026-04-22"}),
        (
            "a1",
            s.principal(A1),
            {"kind": "school_visit_plan", "district": A, "school_id": A1, "filed_on": "2026-04-27"},
        ),
        (
            "a2",
            s.officer(A),
            {"kind": "school_visit_plan", "district": A, "school_id": A2, "filed_on": "2026-04-30"},
        ),
    ):
        r = await s.file(who, f"plan-{key}", **body)
        assert r.status_code == 201, r.text
    # and A's December summary filed today (no day given: the API's clock, in China)
    summary = await s.file(s.officer(A), "summary-a", kind="december_summary", district=A)
    assert summary.status_code == 201, summary.text

    # When every filing has reached the read model
    await s.caught_up(s.settings.topic)

    # Then the revision kept the first day, and the events name no one
    rows = await s.pool.fetch("SELECT payload::text AS p FROM events ORDER BY position")
    assert len(rows) == 6  # the replayed key appended nothing
    assert not any("test-" in r["p"] for r in rows)  # no token subject travels
    # nor is kept anywhere in the city's store: not the principal who filed (a staff
    # pseudonym, also the owner of an Idempotency-Key), not who submitted a monthly report
    assert await text_of_store(s.pool, f"stf_{A1}") == []
    stored = await s.pool.fetchrow(
        "SELECT first_filed_on, revisions FROM filings.filings WHERE filing_id = $1",
        "filing-330106-district_plan-2026",
    )
    assert (stored["first_filed_on"], stored["revisions"]) == (date(2026, 4, 18), 2)
    today = await s.pool.fetchval(
        "SELECT first_filed_on FROM filings.filings WHERE filing_id = $1",
        "filing-330106-december_summary-2026",
    )
    assert today == TODAY

    # And the city's rows as of today are exactly these
    analyst = s.bearer("city_analyst")
    got = await s.http.get("/filings", params={"as_of": "2026-11-20"}, headers=analyst)
    assert got.status_code == 200, got.text
    assert got.json() == {"as_of": "2026-11-20", "rows": AS_OF_TODAY}

    # And today is the default day (the API's clock)
    default = await s.http.get("/filings", headers=s.bearer("auditor"))
    assert default.json() == got.json()

    # And as of 21 April: B's plan not filed yet (missing), the schools' plans not due yet
    april = await s.http.get("/filings", params={"as_of": "2026-04-21"}, headers=analyst)
    yearly = [r for r in april.json()["rows"] if r["kind"] != "monthly_stats"]
    assert yearly == [
        row(B, "district_plan", "2026", "2026-04-20", missing=1),
        row(B, "school_visit_plan", "2026", "2026-04-28", pending=1),
        row(B, "december_summary", "2026", "2026-12-31", pending=1),
        row(A, "district_plan", "2026", "2026-04-20", on_time=1),
        row(A, "school_visit_plan", "2026", "2026-04-28", pending=2),
        row(A, "december_summary", "2026", "2026-12-31", pending=1),
    ]
    monthly = {r["period"] for r in april.json()["rows"] if r["kind"] == "monthly_stats"}
    assert monthly == {
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    }

    # And a district's bureau sees its own district's rows, another's is not found
    own = await s.http.get(
        f"/districts/{B}/filings", params={"as_of": "2026-11-20"}, headers=s.officer(B)
    )
    assert own.status_code == 200, own.text
    assert own.json() == {
        "as_of": "2026-11-20",
        "rows": [r for r in AS_OF_TODAY if r["district"] == B],
    }
    other = await s.http.get(f"/districts/{A}/filings", headers=s.officer(B))
    unknown = await s.http.get("/districts/330199/filings", headers=analyst)
    assert other.status_code == unknown.status_code == 404
    assert {k: v for k, v in other.json().items() if k != "instance"} == {
        k: v for k, v in unknown.json().items() if k != "instance"
    }


async def test_filings_by_the_wrong_role_school_or_day_are_refused_naming_the_rule(
    stack: Stack,
) -> None:
    s = stack

    async def refused(who: dict[str, str], **body: Any) -> tuple[int, str | None, str | None]:
        r = await s.file(who, **body)
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        problem = r.json()
        return r.status_code, problem.get("field"), problem.get("rule")

    # a principal files a school's plan, never the district's
    status, _, rule = await refused(s.principal(A1), kind="district_plan", district=A)
    assert (status, rule) == (403, "filing.district")
    # a principal of another school, a bureau of another district
    status, _, rule = await refused(
        s.principal(A1), kind="school_visit_plan", district=A, school_id=A2
    )
    assert (status, rule) == (403, "filing.school")
    status, _, rule = await refused(
        s.officer(B), kind="school_visit_plan", district=A, school_id=A1
    )
    assert (status, rule) == (403, "filing.school")
    status, _, rule = await refused(s.officer(B), kind="december_summary", district=A)
    assert (status, rule) == (403, "filing.district")
    # the city reads, it does not file
    status, _, rule = await refused(s.bearer("city_analyst"), kind="district_plan", district=A)
    assert status == 403
    # the school: unknown, of another district, or named on a district's own filing
    assert await refused(
        s.officer(A), kind="school_visit_plan", district=A, school_id="330106999"
    ) == (404, "school_id", None)
    assert await refused(s.officer(B), kind="school_visit_plan", district=B, school_id=A1) == (
        403,
        None,
        "filing.school",
    )
    assert await refused(s.officer(A), kind="school_visit_plan", district=A) == (
        422,
        "school_id",
        "school_plan_names_school",
    )
    assert await refused(s.officer(A), kind="district_plan", district=A, school_id=A1) == (
        422,
        "school_id",
        "district_filing_names_no_school",
    )
    # the day: not after today, not before the year
    assert await refused(s.officer(A), kind="district_plan", district=A, filed_on="2026-11-21") == (
        422,
        "filed_on",
        "filed_not_in_future",
    )
    assert await refused(
        s.officer(A), kind="district_plan", district=A, year=2027, filed_on="2026-11-20"
    ) == (422, "filed_on", "filed_within_year")
    # nothing was filed
    assert await s.pool.fetchval("SELECT count(*) FROM events") == 0
    # and the filings are read by the city's analysts and auditors, not by a school
    r = await s.http.get("/filings", headers=s.principal(A1))
    assert r.status_code == 403
