"""What a newcomer does first: `make run`, then look at the registry and the visits it played,
and at what an operator watches: a command's trace across services in Zipkin, every service's
API and worker up in Prometheus. Real processes, real HTTP, the real Kafka of `make run`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError

from tests.support.browser import browser
from tests.support.city_world import people_refs_in
from tests.support.kafka_reader import read_all
from tests.support.store_scan import found
from tests.support.waiting import end_offsets, eventually
from tongxin_platform.auth import Principal, Role, dev_keypair, mint
from tongxin_platform.db import create_pool
from tongxin_platform.settings import service_database_url
from tongxin_platform.testing import local_database_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8001"
VISITS_URL = "http://127.0.0.1:8003"
WELLBEING_URL = "http://127.0.0.1:8004"
SAFETY_URL = "http://127.0.0.1:8005"
COMMITTEES_URL = "http://127.0.0.1:8002"
AGENCIES_URL = "http://127.0.0.1:8010"
CITY_URL = "http://127.0.0.1:8020"
ZIPKIN_URL = "http://127.0.0.1:9411"
PROMETHEUS_URL = "http://127.0.0.1:9090"
TOPICS = ("registry.events", "visits.events", "wellbeing.events", "safety.events")
TOPICS += ("committees.events",)
CAUSAL_HEADERS = ("traceparent", "ce_correlationid", "ce_causationid")
Offsets = dict[str, dict[int, int]]


def kafka_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")


def make(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture
async def ends_before_run() -> Offsets:
    """Where each topic ended before `make run` (nothing: Kafka not up yet, or no such topic)."""
    ends: Offsets = {}
    for topic in TOPICS:
        try:
            ends[topic] = await end_offsets(kafka_bootstrap(), topic)
        except KafkaConnectionError:
            ends[topic] = {}
    return ends


@pytest.fixture
def system(ends_before_run: Offsets) -> Iterator[subprocess.CompletedProcess[str]]:
    result = make("run")
    try:
        yield result
    finally:
        make("stop")


async def test_make_run_brings_up_the_registry_with_the_demo_roster(
    system: subprocess.CompletedProcess[str], ends_before_run: Offsets
) -> None:
    assert system.returncode == 0, system.stdout[-3000:] + system.stderr[-3000:]
    assert f"{URL}/docs" in system.stdout
    assert f"{VISITS_URL}/docs" in system.stdout
    # It states development mode (the published pseudonym secret is accepted) and prints the
    # database without its password.
    assert "Development mode (TONGXIN_ENV=development)" in system.stdout
    assert "postgres-password" in system.stdout
    # `make run` made the development signing key; a district officer looks at the roster.
    private, _ = dev_keypair(ROOT / ".data" / "dev-jwt")
    token = mint(private, Principal("e2e", Role.bureau_officer, "330106"))
    async with httpx.AsyncClient(
        base_url=URL, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        anonymous = await http.get("/schools", headers={"Authorization": ""})
        assert anonymous.status_code == 401

        async def enrolled() -> int:
            schools = (await http.get("/schools")).json()
            total = 0
            for school in schools:
                classes = (await http.get(f"/schools/{school['school_id']}/classes")).json()
                total += sum(c["enrolled"] for c in classes)
            return total

        # The demo district: 2 schools × 6 classes × 40 students.
        assert (
            await eventually(
                enrolled, lambda n: n == 480, timeout=120, what="the demo roster in the read model"
            )
            == 480
        )
        docs = await http.get("/openapi.json")
        assert "/imports/students" in docs.json()["paths"]
    await the_demo_semester_of_visits(token)
    assert f"{WELLBEING_URL}/docs" in system.stdout
    await the_demo_screening_campaign(token)
    assert f"{SAFETY_URL}/docs" in system.stdout
    await the_demo_safety_term(token)
    assert f"{COMMITTEES_URL}/docs" in system.stdout
    await the_demo_committee_year(token, private)
    assert f"{AGENCIES_URL}/demo/bureau_officer" in system.stdout
    await the_agencies_figures_agree_with_the_services(token)
    await the_agencies_pages_in_a_browser()
    trace_id = await every_new_record_carries_its_trace_and_causation(private, ends_before_run)
    assert f"{CITY_URL}/demo/city_analyst" in system.stdout
    assert f"{ZIPKIN_URL}/zipkin/" in system.stdout
    assert f"{PROMETHEUS_URL}/targets" in system.stdout
    assert f"{PROMETHEUS_URL}/alerts" in system.stdout
    await the_command_is_one_trace_across_services_in_zipkin(trace_id)
    await prometheus_shows_every_service_up()
    await the_city_figures_for_every_district(private)
    await the_city_page_in_a_browser()
    await no_pseudonym_is_in_the_city_store()
    again = make("run")
    assert again.returncode == 0, again.stderr[-3000:]


async def the_demo_semester_of_visits(token: str) -> None:
    """`make run` played a semester of home visits: coverage, reports, events on visits.events."""
    china_today = datetime.now(timezone(timedelta(hours=8))).date()
    last_month = f"{china_today.replace(day=1) - timedelta(days=1):%Y-%m}"
    async with httpx.AsyncClient(
        base_url=VISITS_URL, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        assert "/visits" in (await http.get("/openapi.json")).json()["paths"]

        async def coverage() -> list[dict[str, Any]]:
            r = await http.get("/districts/330106/coverage")
            assert r.status_code == 200, r.text
            return list(r.json())

        schools = await eventually(
            coverage,
            lambda c: len(c) == 2 and all(s["head_teacher_semester"]["done"] > 0 for s in c),
            timeout=60,
            what="head teachers' confirmed visits in both demo schools",
        )
        assert all(s["students"] == 240 for s in schools)

        async def reports() -> list[dict[str, Any]]:
            r = await http.get(f"/districts/330106/reports/{last_month}")
            assert r.status_code == 200, r.text
            return list(r.json())

        await eventually(
            reports,
            lambda rs: len(rs) == 2 and all(r["state"] in ("on_time", "late") for r in rs),
            timeout=60,
            what=f"both demo schools' reports of {last_month} submitted",
        )
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    records = await read_all(bootstrap, "visits.events", timeout=60)
    types = [dict(r.headers).get("ce_type", b"").decode() for r in records]
    # Any version: a checkout's own Kafka keeps the events of earlier versions (v1), and a
    # demo district already played is not played again.
    assert any(".VisitCompleted.v" in t for t in types), set(types)


async def the_demo_screening_campaign(token: str) -> None:
    """`make run` played a screening campaign (心阳光) in both schools: every student offered,
    most screened; one student listed per school after three sign-offs; two crisis referrals
    per school, one acknowledged; the last school's team gaps show."""
    async with httpx.AsyncClient(
        base_url=WELLBEING_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}

        async def coverage() -> list[dict[str, Any]]:
            r = await http.get("/districts/330106/screening-coverage")
            assert r.status_code == 200, r.text
            return list(r.json()["schools"])

        schools = await eventually(
            coverage,
            lambda c: len(c) == 2 and all(s["offered"] == 240 and s["screened"] for s in c),
            timeout=60,
            what="the demo campaign's coverage in both schools",
        )
        assert all(s["full_coverage"] and s["refused"] > 0 for s in schools), schools
        counts = await eventually(
            lambda: http.get("/districts/330106/attention/counts"),
            lambda r: r.status_code == 200 and "listed" in r.text,
            timeout=60,
            what="the attention-list counts",
        )
        assert "student_ref" not in counts.text  # numbers only
        sla = (await http.get("/districts/330106/referral-sla")).json()
        assert "student_ref" not in json.dumps(sla)
        gaps = (await http.get("/districts/330106/team-gaps")).json()
        assert gaps["schools_with_gaps"] == [
            {"school_id": "330106002", "gaps": ["missing_school_doctor", "no_counselling_room"]}
        ]


async def the_demo_safety_term(token: str) -> None:
    """`make run` played a term of child safety (护平安) in both schools: every categorised
    child has a care file, one per school misses a carer kind; guard shifts done; a hazard
    overdue per school; at the first school three incidents, one reported in time."""
    async with httpx.AsyncClient(
        base_url=SAFETY_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}

        async def care() -> list[dict[str, Any]]:
            r = await http.get("/districts/330106/care-figures")
            assert r.status_code == 200, r.text
            return list(r.json()["schools"])

        schools = await eventually(
            care,
            lambda c: len(c) == 2 and all(s["files"] and s["missing_a_kind"] for s in c),
            timeout=60,
            what="the demo's care files in both schools",
        )
        assert all(s["missing_by_kind"]["womens_federation"] >= 1 for s in schools), schools
        guard = (await http.get("/districts/330106/guard-figures")).json()
        assert all(s["completed"] > 0 and s["missed"] > 0 for s in guard["schools"]), guard
        hazards = (await http.get("/districts/330106/hazard-figures")).json()
        assert all(s["overdue"] >= 1 for s in hazards["schools"]), hazards
        reports = (await http.get("/districts/330106/mandatory-report-figures")).json()
        first = next(s for s in reports["schools"] if s["school_id"] == "330106001")
        assert (first["incidents"], first["report_required"], first["on_time"]) == (3, 2, 1)
        for body in (guard, hazards, reports):
            assert "student_ref" not in json.dumps(body)  # numbers only


async def the_demo_committee_year(token: str, private: bytes) -> None:
    """`make run` played a year of committee work (家委会 · 家长学校) in both schools: the school
    committee elected with every class represented (after a refused first election), feedback
    answered and overdue, the first school meeting the parent school's teaching rule and the
    second not; a home visit's suggestion answered shows answered in the visits API."""
    async with httpx.AsyncClient(
        base_url=COMMITTEES_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}

        async def committees() -> list[dict[str, Any]]:
            r = await http.get("/districts/330106/committee-figures")
            assert r.status_code == 200, r.text
            return list(r.json()["schools"])

        rows = await eventually(
            committees,
            lambda c: len(c) == 2 and all(s["school_committee_elected"] for s in c),
            timeout=60,
            what="the demo's school committees",
        )
        assert all(s["classes_unrepresented"] == 0 and s["vacancies"] == 0 for s in rows), rows
        feedback = (await http.get("/districts/330106/feedback-figures")).json()["schools"]
        assert all(s["answered"] >= 1 and s["overdue"] >= 1 for s in feedback), feedback
        school = (await http.get("/districts/330106/parent-school-figures")).json()["schools"]
        rule = {s["school_id"]: s["rule_met"] for s in school}
        assert rule == {"330106001": True, "330106002": False}, school
        meetings = (await http.get("/districts/330106/meeting-figures")).json()["schools"]
        assert all(s["open_days_met"] for s in meetings), meetings
        for body in (rows, feedback, school, meetings):
            assert "student_ref" not in json.dumps(body)  # numbers only
        answered = (
            await http.get("/schools/330106001/feedback?channel=home_visit&status=answered")
        ).json()["items"]
    assert answered, "no home visit's suggestion was answered in the demo"
    principal = mint(private, Principal("e2e", Role.principal, "330106", "330106001"))
    async with httpx.AsyncClient(
        base_url=VISITS_URL, headers={"Authorization": f"Bearer {principal}"}, timeout=30
    ) as visits:

        async def shown() -> list[dict[str, Any]]:
            r = await visits.get(f"/visits/{answered[0]['visit_id']}")
            assert r.status_code == 200, r.text
            return list(r.json()["suggestions_answered"])

        await eventually(shown, bool, timeout=60, what="the answer shown on the visit")


def kpis_by_school(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The district page's KPI table: school id → KPI key → value."""
    for panel in dashboard["panels"]:
        for table in panel["tables"]:
            keys = [c["key"] for c in table["columns"]]
            if keys[0] != "school":
                continue
            out = {}
            for row in table["rows"]:
                school_id = parse_qs(urlsplit(row[0]["link"]).query)["school_id"][0]
                out[school_id] = {k: c["value"] for k, c in zip(keys[1:], row[1:], strict=True)}
            return out
    raise AssertionError(f"no KPI table on the district page: {dashboard}")


async def the_agencies_figures_agree_with_the_services(token: str) -> None:
    """The agencies' models, built from the events alone, show what each producing service
    computes from its own model: the same screenings, overdue hazards, representation and
    care files per school; the bureau's page holds no pseudonym."""
    async with httpx.AsyncClient(
        base_url=AGENCIES_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:

        async def district() -> dict[str, Any]:
            r = await http.get("/dashboards/district?district=330106")
            assert r.status_code == 200, r.text
            return dict(r.json())

        def complete(d: dict[str, Any]) -> bool:
            kpis = kpis_by_school(d)
            return len(kpis) == 2 and all(
                k["representation"] == 1 and k["visit_coverage"] for k in kpis.values()
            )

        page = await eventually(district, complete, timeout=90, what="the agencies' district page")
        kpis = kpis_by_school(page)
        for pseudonym in ("stu-", "grd-", "stf-", "student_ref", "guardian_ref", "staff_ref"):
            assert pseudonym not in json.dumps(page), pseudonym
        screening = (await http.get("/dashboards/screening?district=330106")).json()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        wellbeing = (await http.get(f"{WELLBEING_URL}/districts/330106/screening-coverage")).json()
        hazards = (await http.get(f"{SAFETY_URL}/districts/330106/hazard-figures")).json()
        care = (await http.get(f"{SAFETY_URL}/districts/330106/care-figures")).json()
    for s in hazards["schools"]:
        assert kpis[s["school_id"]]["hazards_overdue"] == s["overdue"], (kpis, s)
    for s in care["schools"]:
        complete_files = (s["files"] - s["missing_a_kind"]) / s["files"]
        assert abs(kpis[s["school_id"]]["care_files_complete"] - complete_files) < 1e-9, (kpis, s)
    for s in wellbeing["schools"]:
        assert abs(kpis[s["school_id"]]["screening_coverage"] - s["screened"] / 240) < 1e-9
    assert str(sum(s["screened"] for s in wellbeing["schools"])) in json.dumps(screening)


async def the_agencies_pages_in_a_browser() -> None:
    """A person signs in as the district officer, a principal, the hospital on-call and the
    police by each demo link alone, in headless Chromium, and sees non-empty figures; a
    figure's link opens the list behind it. Screenshots under .data/browser/."""
    async with browser(AGENCIES_URL) as page:
        for role in ("bureau_officer", "principal", "hospital", "police"):
            await page.get(f"/demo/{role}")
            await page.loaded()
            assert (await page.path()).startswith("/pages/"), await page.path()
            figures = await page.all("[data-figure]")
            assert figures, f"{role}: no figure on {await page.path()}"
            values = [await page.call(f.get_attribute, "data-value") for f in figures]
            assert any(v not in (None, "null", "0", "0.0") for v in values), (role, values)
            await page.screenshot(f"e2e-{role}")
            links = await page.all("[data-figure] a[href*='/pages/lists/']")
            assert links, f"{role}: no figure links to its list"
            await page.call(links[0].click)
            await page.loaded()
            assert "/pages/lists/" in await page.path()
            await page.screenshot(f"e2e-{role}-list")


def is_planned(record: ConsumerRecord, visit_id: str) -> bool:
    ce_type = dict(record.headers or ()).get("ce_type", b"").decode()
    payload = json.loads(record.value or b"{}")
    return ce_type.endswith(".VisitPlanned.v1") and payload.get("visit_id") == visit_id


async def every_new_record_carries_its_trace_and_causation(private: bytes, before: Offsets) -> str:
    """Every record this run put on the services' topics carries a ``traceparent``, a
    correlation id and a causation id; one of them is a visit planned here by a head teacher
    (in a trace of the test's own: its id is returned)."""
    trace_id = secrets.token_hex(16)
    district, school_id = "330106", "330106001"
    principal = Principal("e2e-principal", Role.principal, district, school_id)
    as_principal = {"Authorization": f"Bearer {mint(private, principal)}"}
    china_today = datetime.now(timezone(timedelta(hours=8))).date()
    async with (
        httpx.AsyncClient(base_url=URL, timeout=30) as registry,
        httpx.AsyncClient(base_url=VISITS_URL, timeout=30) as visits,
    ):
        staff = await visits.get(f"/schools/{school_id}/staff", headers=as_principal)
        assert staff.status_code == 200, staff.text
        head = next(p for p in staff.json() if "head_teacher" in p["roles"] and p["class_ids"])
        class_id = head["class_ids"][0]
        pupils = await registry.get(f"/classes/{class_id}/students", headers=as_principal)
        assert pupils.status_code == 200, pupils.text
        teacher = Principal(head["staff_ref"], Role.head_teacher, district, school_id, class_id)
        planned = await visits.post(
            "/visits",
            json={"student_ref": pupils.json()[0]["student_ref"], "planned_for": str(china_today)},
            headers={
                "Authorization": f"Bearer {mint(private, teacher)}",
                "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
            },
        )
        assert planned.status_code == 200, planned.text
        visit_id = planned.json()["visit_id"]

    async def new_records(topic: str) -> list[ConsumerRecord]:
        start = before.get(topic, {})
        records = await read_all(kafka_bootstrap(), topic, timeout=120)
        return [r for r in records if r.offset >= start.get(r.partition, 0)]

    new = {
        "visits.events": await eventually(
            lambda: new_records("visits.events"),
            lambda rs: any(is_planned(r, visit_id) for r in rs),
            timeout=60,
            what=f"the visit {visit_id} planned in this test on visits.events",
        ),
        "registry.events": await new_records("registry.events"),
        "wellbeing.events": await new_records("wellbeing.events"),
    }
    # On a machine that ran before, the demo roster is already there: the registry may have
    # nothing new; the visit planned above is new on visits.events whatever ran before.
    for topic, records in new.items():
        lacking = [
            (r.partition, r.offset, dict(r.headers or ()).get("ce_type", b"").decode())
            for r in records
            if not all(dict(r.headers or ()).get(h) for h in CAUSAL_HEADERS)
        ]
        assert not lacking, (
            f"{len(lacking)} of {len(records)} new records on {topic} lack one of "
            f"{CAUSAL_HEADERS}: {lacking[:10]}"
        )
    return trace_id


async def the_command_is_one_trace_across_services_in_zipkin(trace_id: str) -> None:
    """The head teacher's visit, planned over HTTP, is one trace in the Zipkin of `make run`:
    the visits API's request, its relay's publish to Kafka, and the projections of at least one
    other service that read visits.events (the agencies' models, the city), joined through the
    records' ``traceparent``."""
    async with httpx.AsyncClient(base_url=ZIPKIN_URL, timeout=30) as zipkin:

        async def spans() -> list[dict[str, Any]]:
            got = await zipkin.get(f"/api/v2/trace/{trace_id}")
            return list(got.json()) if got.status_code == 200 else []

        def across_services(found: list[dict[str, Any]]) -> bool:
            services = {s["localEndpoint"]["serviceName"] for s in found}
            return (
                "tongxin-visits" in services
                and len(services) >= 2
                and any(s.get("kind") == "SERVER" for s in found)
                and any(s.get("kind") == "PRODUCER" for s in found)
            )

        found = await eventually(
            spans, across_services, timeout=120, what=f"the visit's trace {trace_id} in Zipkin"
        )
    consumers = {s["localEndpoint"]["serviceName"] for s in found if s.get("kind") == "CONSUMER"}
    assert consumers - {"tongxin-visits"}, f"no other service's projection in the trace: {found}"


async def prometheus_shows_every_service_up() -> None:
    """Prometheus scrapes the API and the worker of every service under services/, all up, with
    the alert rules (outbox backlog, consumer lag, dead letters, SLA breaches) loaded."""
    names = {p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file()}
    async with httpx.AsyncClient(base_url=PROMETHEUS_URL, timeout=30) as prometheus:

        async def targets() -> list[dict[str, Any]]:
            body = (await prometheus.get("/api/v1/targets")).json()
            return [
                t
                for t in body["data"]["activeTargets"]
                if t["labels"]["job"].startswith("tongxin-")
            ]

        def all_up(ts: list[dict[str, Any]]) -> bool:
            return len(ts) == 2 * len(names) and all(t["health"] == "up" for t in ts)

        up = await eventually(targets, all_up, timeout=120, what="every target up in Prometheus")
        assert {(t["labels"]["job"], t["labels"]["service"]) for t in up} == {
            (job, name) for job in ("tongxin-api", "tongxin-worker") for name in names
        }
        groups = (await prometheus.get("/api/v1/rules")).json()["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"]}
    assert {"TongxinOutboxBacklog", "TongxinConsumerLag", "TongxinDeadLetters"} <= loaded
    assert "TongxinSlaBreached" in loaded


# The districts `make run` seeds: the demo district and the small one of `tongxin seed --city`.
CITY_DISTRICTS = ("330102", "330106")
CELLS = (
    "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map(tr =>"
    " [...tr.children].map(td => td.getAttribute('data-value')))"
)


async def the_city_figures_for_every_district(private: bytes) -> None:
    """The city aggregator counted both districts `make run` seeded from their topics: visit and
    screening coverage above zero in each; the second district's filings to the city show one
    on time, one late and one missing."""
    token = mint(private, Principal("e2e-city", Role.city_analyst))
    async with httpx.AsyncClient(
        base_url=CITY_URL, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:

        async def kpis() -> dict[str, Any]:
            r = await http.get("/kpis")
            assert r.status_code == 200, r.text
            return dict(r.json())

        def counted(body: dict[str, Any]) -> bool:
            values = {(v["district"], v["kpi"]): v["value"] for v in body["values"]}
            return all(
                (values.get((d, k)) or 0) > 0
                for d in CITY_DISTRICTS
                for k in ("visit_coverage", "screening_coverage")
            )

        body = await eventually(kpis, counted, timeout=120, what="the city's figures")
        assert set(CITY_DISTRICTS) <= set(body["districts"]), body["districts"]
        assert "student_ref" not in json.dumps(body)
        rows = (await http.get("/filings")).json()["rows"]
    mine = [r for r in rows if r["district"] == "330102" and r["kind"] != "monthly_stats"]
    assert sum(r["on_time"] for r in mine) >= 1, mine
    assert sum(r["late"] for r in mine) >= 1, mine
    assert sum(r["missing"] for r in mine) >= 1, mine


async def the_city_page_in_a_browser() -> None:
    """`/demo/city_analyst` alone opens the city page in headless Chromium: a row for every
    district and the city's, with figures; a district's name opens its page. Screenshots under
    .data/browser/."""
    async with browser(CITY_URL) as page:
        await page.get("/demo/city_analyst")
        await page.loaded()
        assert (await page.path()).startswith("/pages/city"), await page.path()
        rows = await page.js(CELLS, '[data-table="kpis/districts"]')
        assert len(rows) >= len(CITY_DISTRICTS) + 1, rows
        for cells in rows:
            assert any(v not in (None, "", "null") for v in cells[1:]), cells
        await page.screenshot("e2e-city")
        await page.click('[data-table="kpis/districts"] tbody tr td a')
        await page.loaded()
        assert (await page.path()).startswith("/pages/district"), await page.path()
        assert await page.all("[data-figure]")
        await page.screenshot("e2e-city-district")
        assert await page.console_errors() == []


async def no_pseudonym_is_in_the_city_store() -> None:
    """Every row of every table of the city's database holds none of the pseudonyms of a
    person that the services' topics carry (students, guardians, staff, carers…)."""
    payloads = []
    for topic in TOPICS:
        for record in await read_all(kafka_bootstrap(), topic, timeout=60):
            payloads.append(json.loads(record.value or b"null"))
    # Who filed or confirmed is sometimes a word ("guardian", "visits"), never a person.
    refs = {r for r in people_refs_in(payloads) if any(c.isdigit() for c in r)}
    assert len(refs) > 480, len(refs)  # the demo district's students alone are 480
    url = service_database_url(
        os.environ.get("DATABASE_URL") or local_database_url(), "tongxin_city"
    )
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        assert await found(pool, refs) == {}
    finally:
        await pool.close()
