"""Inspections and hazards over real HTTP, Kafka and PostgreSQL: each agency records the kinds
the law gives it (the police public order and traffic, market regulation the shops; any other
kind is a 403 naming the rule), the school and the bureau any kind naming the inspector; a
re-inspection closes a hazard on its own inspection's stream; a hazard past its deadline shows
as overdue on the day asked (``as_of``) in the school's list, the district's overdue list and
the figures per school and kind, counted here by hand; market regulation reads only its shop
kinds; the hazard's detail never travels in clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support.safety_school import (
    SafetyEnv,
    SafetySchool,
    safety_env_fixture,  # noqa: F401 - the fixture safety_env, found here by pytest
)
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_platform.eventstore import now_utc
from tongxin_safety.domain.calendar import china_date

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=1, students_per_class=1)
PROBLEM = "application/problem+json"
TODAY = china_date(now_utc())
FIGURES = ("reported", "open", "overdue", "open_major", "rectified", "rectified_late")


def day(offset: int) -> str:
    return str(TODAY + timedelta(days=offset))


@pytest.fixture
async def w(safety_env: SafetyEnv) -> AsyncIterator[SafetySchool]:
    async with safety_env.world(SPEC) as world:
        yield world


def refused(r: httpx.Response, status: int, field: str | None, rule: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body.get("rule") == rule, body
    if field is not None:
        assert body.get("field") == field, body


async def record(
    w: SafetySchool, school_id: str, who: dict[str, str], body: dict[str, Any], **headers: str
) -> dict[str, Any]:
    r = await w.http.post(
        f"/schools/{school_id}/inspections", json=body, headers={**who, **headers}
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def read(w: SafetySchool, path: str, who: dict[str, str], **params: str) -> dict[str, Any]:
    r = await w.http.get(path, params=params, headers=who)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def read_when(
    w: SafetySchool, path: str, who: dict[str, str], done: Any, what: str, **params: str
) -> dict[str, Any]:
    found: dict[str, Any] = await eventually(
        lambda: read(w, path, who, **params), done, timeout=60, what=what
    )
    return found


def hazard(severity: str, owner: str, rectify_by: str, detail: str | None = None) -> dict[str, Any]:
    h = {"severity": severity, "owner": owner, "rectify_by": rectify_by}
    return {**h, "detail": detail} if detail else h


async def test_each_agency_records_the_kinds_the_law_gives_it_and_no_other(w: SafetySchool) -> None:
    school, other = w.schools
    police, market = w.agency("police"), w.agency("market_regulation")
    road = {"kind": "order_and_traffic", "inspected_on": day(0)}
    made = await record(w, school, police, road)
    assert made["events"] == ["InspectionCompleted"]
    assert (made["inspector"], made["hazard_ids"]) == ("police", [])
    for kind in ("fire", "buildings", "food_shops", "stationery_shops"):
        r = await w.http.post(
            f"/schools/{school}/inspections", json={**road, "kind": kind}, headers=police
        )
        refused(r, 403, "kind", "police_inspect_order_and_traffic")
    for kind in ("food_shops", "stationery_shops"):
        made = await record(w, school, market, {"kind": kind, "inspected_on": day(0)})
        assert made["inspector"] == "market_regulation"
    for kind in ("fire", "buildings", "order_and_traffic"):
        r = await w.http.post(
            f"/schools/{school}/inspections",
            json={"kind": kind, "inspected_on": day(0)},
            headers=market,
        )
        refused(r, 403, "kind", "market_regulation_inspects_shops")
    # the school: its own check, or an agency's it hosted; never the police's
    principal = w.principal(school)
    fire = {"kind": "fire", "inspected_on": day(0)}
    assert (await record(w, school, principal, fire))["inspector"] == "school"
    hosted = {**fire, "inspector": "fire_rescue"}
    assert (await record(w, school, principal, hosted))["inspector"] == "fire_rescue"
    shops = {"kind": "food_shops", "inspected_on": day(0)}
    assert (await record(w, school, principal, shops))["inspector"] == "school"
    r = await w.http.post(
        f"/schools/{school}/inspections", json={**road, "inspector": "police"}, headers=principal
    )
    refused(r, 403, "inspector", "inspector_named_by_recorder")
    # the bureau: education, or a joint inspection's agency, any kind
    officer = w.agency("bureau_officer")
    buildings = {"kind": "buildings", "inspected_on": day(0)}
    assert (await record(w, other, officer, buildings))["inspector"] == "education"
    joint = {**buildings, "inspector": "housing"}
    assert (await record(w, other, officer, joint))["inspector"] == "housing"
    # a role that records none, and a principal at another school
    teacher = w.bearer("head_teacher", w.district, school, subject="t-1")
    r = await w.http.post(f"/schools/{school}/inspections", json=fire, headers=teacher)
    refused(r, 403, None, "inspection.record")
    r = await w.http.post(f"/schools/{other}/inspections", json=fire, headers=principal)
    refused(r, 403, None, "inspection.record")
    r = await w.http.post("/schools/nope/inspections", json=fire, headers=officer)
    assert r.status_code == 404, r.text
    r = await w.http.post(
        f"/schools/{school}/inspections", json={**fire, "inspected_on": day(1)}, headers=officer
    )
    refused(r, 422, "inspected_on", "inspected_on_not_in_future")


async def test_a_reinspection_closes_a_hazard_and_another_shows_overdue_on_the_day_asked(
    w: SafetySchool,
) -> None:
    school, other = w.schools
    principal = w.principal(school)
    detail = "教学楼三楼东侧消防通道堆放杂物"
    first = await record(
        w,
        school,
        principal,
        {
            "kind": "fire",
            "inspector": "fire_rescue",
            "inspected_on": day(-20),
            "hazards": [
                hazard("general", "school", day(-15), detail),  # rectified on day -16
                hazard("major", "property_owner", day(-10)),  # overdue from day -9
                hazard("general", "school", day(10)),  # open, due later
            ],
        },
    )
    assert first["events"] == ["InspectionCompleted"] + ["HazardReported"] * 3
    h1, h2, h3 = first["hazard_ids"]
    inspection = first["inspection_id"]
    r = await w.http.post(
        f"/schools/{school}/inspections",
        json={
            "kind": "fire",
            "inspected_on": day(-21),
            "hazards": [hazard("general", "school", day(-22))],
        },
        headers=principal,
    )
    refused(r, 422, "hazards.0.rectify_by", "rectify_by_not_before_inspection")

    again = await record(
        w,
        school,
        principal,
        {
            "kind": "fire",
            "inspected_on": day(-16),
            "reinspection_of": inspection,
            "rectified": [h1],
            "hazards": [hazard("general", "school", day(-12))],  # a new one, overdue too
        },
    )
    assert again["events"] == ["InspectionCompleted", "HazardReported", "HazardRectified"]
    [h4] = again["hazard_ids"]
    # rectifying it again, an unknown hazard, a re-inspection of another kind or school
    base = {"kind": "fire", "inspected_on": day(-1), "reinspection_of": again["inspection_id"]}
    r = await w.http.post(
        f"/schools/{school}/inspections", json={**base, "rectified": [h1]}, headers=principal
    )
    refused(r, 409, "rectified.0", "rectify_once")
    r = await w.http.post(
        f"/schools/{school}/inspections",
        json={**base, "rectified": [h2, "no-such-hazard"]},
        headers=principal,
    )
    refused(r, 404, "rectified.1", "hazard_of_reinspected_inspection")
    r = await w.http.post(
        f"/schools/{school}/inspections",
        json={**base, "kind": "buildings", "rectified": [h2]},
        headers=principal,
    )
    refused(r, 422, "kind", "reinspection_same_kind")
    officer = w.agency("bureau_officer")
    r = await w.http.post(
        f"/schools/{other}/inspections", json={**base, "rectified": [h2]}, headers=officer
    )
    refused(r, 404, "reinspection_of", "reinspection_of_known_inspection")

    # a shop inspection at the other school, overdue, for the district's lists
    shop = await record(
        w,
        other,
        w.agency("market_regulation"),
        {
            "kind": "food_shops",
            "inspected_on": day(-30),
            "hazards": [hazard("general", "shop_operator", day(-25))],
        },
    )
    [h5] = shop["hazard_ids"]

    path = f"/schools/{school}/hazards"
    listed = await read_when(
        w,
        path,
        principal,
        lambda b: (
            {h["hazard_id"]: h["status"] for h in b["hazards"]}
            == {h1: "rectified", h2: "overdue", h3: "open", h4: "overdue"}
        ),
        what="the school's hazards today",
    )
    assert listed["as_of"] == day(0)
    rows = {h["hazard_id"]: h for h in listed["hazards"]}
    assert rows[h1]["detail"] == detail  # opened with the school's key for the school
    assert (rows[h1]["rectified_on"], rows[h1]["within_deadline"]) == (day(-16), True)
    assert (rows[h2]["days_overdue"], rows[h2]["severity"], rows[h2]["owner"]) == (
        10,
        "major",
        "property_owner",
    )
    assert (rows[h4]["days_overdue"], rows[h4]["inspection_id"]) == (12, again["inspection_id"])
    assert rows[h3]["overdue"] is False
    status = {"open": {h2, h3, h4}, "overdue": {h2, h4}, "rectified": {h1}}
    for name, ids in status.items():
        got = await read(w, path, principal, status=name)
        assert {h["hazard_id"] for h in got["hazards"]} == ids, name
    # as of day -17: h1 not yet rectified and not overdue, h2 open, h4 not yet reported
    then = await read(w, path, principal, as_of=day(-17))
    assert {h["hazard_id"]: h["status"] for h in then["hazards"]} == {
        h1: "open",
        h2: "open",
        h3: "open",
    }
    # as of day -10, h2 is due that very day: not overdue; h4 is (due on day -12)
    then = await read(w, path, principal, status="overdue", as_of=day(-10))
    assert [h["hazard_id"] for h in then["hazards"]] == [h4]

    district = await read_when(
        w,
        f"/districts/{w.district}/hazards/overdue",
        officer,
        lambda b: len(b["hazards"]) == 3,
        what="the district's overdue hazards",
    )
    assert [(h["hazard_id"], h["days_overdue"]) for h in district["hazards"]] == [
        (h5, 25),
        (h4, 12),
        (h2, 10),
    ]
    assert all("detail" not in h for h in district["hazards"])
    earlier = await read(w, f"/districts/{w.district}/hazards/overdue", officer, as_of=day(-26))
    assert earlier["hazards"] == []

    figures = await read(w, f"/districts/{w.district}/hazard-figures", officer)
    zero = dict.fromkeys(FIGURES, 0)
    by_school = {s["school_id"]: s for s in figures["schools"]}
    mine = {**zero, "reported": 4, "open": 3, "overdue": 2, "open_major": 1, "rectified": 1}
    assert {k: by_school[school][k] for k in FIGURES} == mine
    assert by_school[school]["kinds"]["fire"] == mine
    assert by_school[school]["kinds"]["food_shops"] == zero
    theirs = {**zero, "reported": 1, "open": 1, "overdue": 1}
    assert {k: by_school[other][k] for k in FIGURES} == theirs
    assert by_school[other]["kinds"]["food_shops"] == theirs
    totals = {**zero, "reported": 5, "open": 4, "overdue": 3, "open_major": 1, "rectified": 1}
    assert {k: figures["totals"][k] for k in FIGURES} == totals
    # and the school's inspections: found, rectified since, rectified here
    inspections = await read(w, f"/schools/{school}/inspections", principal)
    by_id = {i["inspection_id"]: i for i in inspections["inspections"]}
    assert (by_id[inspection]["hazards_found"], by_id[inspection]["hazards_rectified"]) == (3, 1)
    assert by_id[again["inspection_id"]]["reinspection_of"] == inspection
    assert by_id[again["inspection_id"]]["rectified_here"] == 1

    # the detail never travels in clear: not in the event store, not in the read model
    stored = await w.pool.fetch("SELECT payload FROM events WHERE event_type LIKE '%Hazard%'")
    assert stored
    assert all(detail.encode() not in bytes(r["payload"]) for r in stored)
    kept = await w.pool.fetchval("SELECT detail::text FROM safety.hazards WHERE hazard_id = $1", h1)
    assert kept is not None
    assert detail not in kept


async def test_market_regulation_reads_only_its_shop_kinds_and_the_police_every_kind(
    w: SafetySchool,
) -> None:
    school, _ = w.schools
    principal = w.principal(school)
    market, police = w.agency("market_regulation"), w.agency("police")
    fire = await record(
        w,
        school,
        principal,
        {
            "kind": "fire",
            "inspected_on": day(-5),
            "hazards": [hazard("general", "school", day(-3), "配电箱未上锁")],
        },
    )
    shop = await record(
        w,
        school,
        principal,
        {
            "kind": "stationery_shops",
            "inspected_on": day(-5),
            "hazards": [hazard("general", "shop_operator", day(-2), "销售三无文具")],
        },
    )
    both = {fire["inspection_id"], shop["inspection_id"]}
    await read_when(
        w,
        f"/schools/{school}/hazards",
        police,
        lambda b: len(b["hazards"]) == 2,
        what="both hazards for the police",
    )
    seen = await read(w, f"/schools/{school}/inspections", police)
    assert {i["inspection_id"] for i in seen["inspections"]} == both
    assert len(seen["kinds"]) == 5
    mine = await read(w, f"/schools/{school}/inspections", market)
    assert [i["inspection_id"] for i in mine["inspections"]] == [shop["inspection_id"]]
    assert mine["kinds"] == ["food_shops", "stationery_shops"]
    hazards = await read(w, f"/schools/{school}/hazards", market, status="overdue")
    assert [h["hazard_id"] for h in hazards["hazards"]] == shop["hazard_ids"]
    assert hazards["hazards"][0]["detail"] == "销售三无文具"
    hazards = await read(w, f"/schools/{school}/hazards", police, status="overdue")
    assert {h["hazard_id"] for h in hazards["hazards"]} == {
        *fire["hazard_ids"],
        *shop["hazard_ids"],
    }
    overdue = await read(w, f"/districts/{w.district}/hazards/overdue", market)
    assert [h["kind"] for h in overdue["hazards"]] == ["stationery_shops"]
    figures = await read(w, f"/districts/{w.district}/hazard-figures", market)
    assert figures["kinds"] == ["food_shops", "stationery_shops"]
    assert figures["totals"]["overdue"] == 1
    assert set(figures["totals"]["kinds"]) == {"food_shops", "stationery_shops"}
    figures = await read(w, f"/districts/{w.district}/hazard-figures", police)
    assert figures["totals"]["overdue"] == 2
    # nor does market regulation find the fire inspection to re-inspect
    r = await w.http.post(
        f"/schools/{school}/inspections",
        json={
            "kind": "food_shops",
            "inspected_on": day(0),
            "reinspection_of": fire["inspection_id"],
            "rectified": fire["hazard_ids"],
        },
        headers=market,
    )
    refused(r, 404, "reinspection_of", "reinspection_of_known_inspection")
    # the city sees aggregates only
    city = w.bearer("city_analyst", subject="city-1")
    assert (await read(w, f"/districts/{w.district}/hazard-figures", city))["totals"][
        "reported"
    ] == 2
    r = await w.http.get(f"/schools/{school}/hazards", headers=city)
    refused(r, 403, None, "inspection.read")
    # a school's token sees its own school's rows of the district's lists, no other school's
    r = await w.http.get(f"/districts/{w.district}/hazards/overdue", headers=principal)
    assert r.status_code == 200, r.text
    assert {h["school_id"] for h in r.json()["hazards"]} <= {school}
    r = await w.http.get("/districts/330999/hazards/overdue", headers=principal)
    refused(r, 403, None, "inspection.read")
    r = await w.http.get(
        f"/districts/{w.district}/hazards/overdue", headers=w.agency("civil_affairs")
    )
    refused(r, 403, None, "inspection.read")


async def test_one_idempotency_key_records_an_inspection_once(w: SafetySchool) -> None:
    school, _ = w.schools
    principal = w.principal(school)
    body = {
        "kind": "buildings",
        "inspector": "housing",
        "inspected_on": day(0),
        "hazards": [hazard("major", "property_owner", day(30))],
    }
    first = await record(w, school, principal, body, **{"Idempotency-Key": "insp-1"})
    again = await record(w, school, principal, body, **{"Idempotency-Key": "insp-1"})
    assert again == first
    listed = await read_when(
        w,
        f"/schools/{school}/inspections",
        principal,
        lambda b: len(b["inspections"]) >= 1,
        what="the inspection",
    )
    assert [i["inspection_id"] for i in listed["inspections"]] == [first["inspection_id"]]
    n = await w.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type LIKE '%InspectionCompleted%'"
    )
    assert n == 1
