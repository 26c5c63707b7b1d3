"""The city's pages on tongxin_web, through the city's app on an ASGI transport with the
figures faked (``tests/support/city_page_fakes.py``): who sees the city dashboard and a
district's, what they show (every district × KPI red or green, the city row, the filings, the
trend charts), the demo users and where each lands."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import city_page_fakes as fakes
from tongxin_city.application.kpi_values import CITY
from tongxin_city.bootstrap import City
from tongxin_city.config import CitySettings
from tongxin_city.entrypoints.api import create_app
from tongxin_city.entrypoints.web_site import home_of
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_web.session import COOKIE

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China, the fakes' as_of
ANALYST = Principal("ana_1", Role.city_analyst)


@dataclass
class FakeWriter:
    def clock(self) -> datetime:
        return NOW


def app_for(keys: tuple[bytes, bytes], environment: str = "development") -> FastAPI:
    settings = CitySettings(TONGXIN_ENV=environment)
    app = create_app(settings, TokenVerifier(keys[1]))
    app.state.service = City(settings, object(), object(), FakeWriter())  # type: ignore[arg-type]
    return app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://city.test")


@pytest.fixture
async def city(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    fakes.install(monkeypatch)
    async with client_of(app_for(keys)) as c:
        yield c


def bearer(keys: tuple[bytes, bytes], who: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(keys[0], who, ttl=3600)}"}


def panel(board: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in board["panels"] if p["key"] == key)
    return found


async def test_the_city_dashboard_has_a_row_per_district_and_the_citys_with_each_kpi_red_or_green(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    r = await city.get("/dashboards/city", headers=bearer(keys, ANALYST))
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["as_of"] == "2026-11-20"
    table = panel(board, "kpis")["tables"][0]
    assert [c["key"] for c in table["columns"]] == ["district", *fakes.KPIS]
    assert len(table["rows"]) == len(fakes.DISTRICTS) + 1
    for row, district in zip(table["rows"], [*fakes.DISTRICTS, CITY], strict=True):
        if district != CITY:
            assert district in row[0]["value"]
            assert row[0]["link"] == f"/pages/district?district={district}"
        for cell, (_, _, unit, target, values) in zip(row[1:], fakes.KPIS.values(), strict=True):
            assert cell["value"] == values[district]
            assert cell["meets"] == fakes.meets(values[district], target, unit)
    xihu = table["rows"][0]
    assert xihu[0]["value"] == "西湖区 330106"
    assert [c["meets"] for c in xihu[1:4]] == [False, True, False]  # 50 %, 100 %, 3 overdue
    city_figures = {f["key"]: f for f in panel(board, "city")["figures"]}
    assert city_figures["visit_coverage"]["value"] == 0.75
    assert city_figures["visit_coverage"]["meets"] is False


async def test_the_city_dashboards_filings_count_each_district_and_kind_over_its_months(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    board = (await city.get("/dashboards/city", headers=bearer(keys, ANALYST))).json()
    table = panel(board, "filings")["tables"][0]
    cols = [c["key"] for c in table["columns"]]
    rows = {(r[0]["value"], r[1]["value"].split()[0]): r for r in table["rows"]}
    assert len(rows) == 8  # 2 districts × 4 kinds
    monthly = rows[("滨江区 330108", "月度家访统计")]
    counts = {
        k: monthly[cols.index(k)]["value"] for k in ("expected", "on_time", "late", "pending")
    }
    assert counts == {"expected": 2, "on_time": 0, "late": 1, "pending": 1}
    assert monthly[1]["meets"] is False  # late: red
    assert rows[("滨江区 330108", "区级家校共育工作计划")][cols.index("missing")]["value"] == 1
    assert rows[("滨江区 330108", "区级家校共育工作计划")][1]["meets"] is False
    assert rows[("滨江区 330108", "学校家访工作计划")][1]["meets"] is True  # every one on time
    assert rows[("西湖区 330106", "年度工作总结")][1]["meets"] is None  # not due yet


async def test_a_districts_dashboard_shows_its_kpis_trend_charts_with_targets_and_its_filings(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    officer = Principal("off_1", Role.bureau_officer, "330108")
    r = await city.get("/dashboards/district?district=330108", headers=bearer(keys, officer))
    assert r.status_code == 200, r.text
    board = r.json()
    figures = {f["key"]: f for f in panel(board, "kpis")["figures"]}
    assert set(figures) == set(fakes.KPIS)
    assert figures["hazards_overdue"]["value"] == 2
    assert figures["hazards_overdue"]["meets"] is False
    charts = {s["key"]: s for s in panel(board, "trend")["charts"]}
    assert set(charts) == set(fakes.TREND)
    assert charts["guard_completion"]["months"] == fakes.MONTHS
    assert charts["guard_completion"]["target"] == 0.95
    assert charts["guard_completion"]["lines"] == {"滨江区 330108": [0.3, 0.6, 0.9]}
    rows = panel(board, "filings")["tables"][0]["rows"]
    assert len(rows) == 5  # its plan, its schools' plans, two months, the summary
    assert all(len(r) == 8 for r in rows)  # no district column: all its own


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (Principal("off_1", Role.bureau_officer, "330108"), "/dashboards/city", 403),
        (Principal("aud_1", Role.auditor, "330108"), "/dashboards/city", 403),
        (Principal("ht_1", Role.head_teacher, "330106", "330106001"), "/dashboards/city", 403),
        (Principal("off_1", Role.bureau_officer, "330108"),
         "/dashboards/district?district=330106", 404),
        (ANALYST, "/dashboards/district?district=330199", 404),
        (ANALYST, "/dashboards/district", 422),
        (ANALYST, "/dashboards/school?school_id=330106001", 404),  # the agencies' page, not ours
    ],
)  # fmt: skip
async def test_a_caller_outside_a_dashboards_readers_or_scope_is_refused_by_a_problem(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes], who: Principal, path: str, status: int
) -> None:
    r = await city.get(path, headers=bearer(keys, who))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if status == 403:
        assert body["rule"] == "city.read"
    if status == 422:
        assert body["field"] == "district"


async def test_the_auditor_of_the_city_reads_the_city_dashboard(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    r = await city.get("/dashboards/city", headers=bearer(keys, Principal("a", Role.auditor)))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("role", "home", "district"),
    [("city_analyst", "/pages/city", None),
     ("bureau_officer", "/pages/district?district=330106", "330106")],
)  # fmt: skip
async def test_a_demo_user_is_signed_in_and_sent_to_their_city_page(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes], role: str, home: str, district: str | None
) -> None:
    r = await city.get(f"/demo/{role}")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == home
    token = r.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    who = TokenVerifier(keys[1]).verify(token)
    assert (who.role.value, who.district, who.school) == (role, district, None)
    page = await city.get(home)
    assert page.status_code == 200, page.text


async def test_the_sign_in_page_offers_the_citys_demo_users(city: httpx.AsyncClient) -> None:
    r = await city.get("/sign-in")
    assert set(re.findall(r'href="/demo/(\w+)"', r.text)) == {"city_analyst", "bureau_officer"}
    assert "市教育局" in r.text


async def test_a_district_officer_before_any_district_is_heard_of_gets_the_demo_data_page(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.install(monkeypatch, districts=[])
    async with client_of(app_for(keys)) as c:
        r = await c.get("/demo/bureau_officer")
    assert r.status_code == 503
    assert COOKIE not in r.headers.get("set-cookie", "")
    assert "make run" in r.text


async def test_in_production_there_is_no_demo_user(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.install(monkeypatch)
    async with client_of(app_for(keys, "production")) as c:
        r = await c.get("/demo/city_analyst")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_the_city_page_renders_the_table_red_and_green_with_each_district_linked(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    city.cookies.set(COOKIE, mint(keys[0], ANALYST, ttl=3600))
    r = await city.get("/pages/city")
    assert r.status_code == 200, r.text
    assert 'data-source="/dashboards/city"' in r.text
    for district in fakes.DISTRICTS:
        assert f'href="/pages/district?district={district}"' in r.text
    table = r.text.split('data-table="kpis/districts"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    assert body.count("<tr>") == len(fakes.DISTRICTS) + 1
    assert 'class="misses"' in body
    assert 'class="meets"' in body
    assert "50%" in body  # 西湖区's visit coverage, as the page writes a share
    assert "echarts" not in r.text  # no chart on the city page


async def test_a_district_page_loads_echarts_from_the_service_and_draws_each_trend(
    city: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    city.cookies.set(COOKIE, mint(keys[0], Principal("o", Role.bureau_officer, "330106"), ttl=3600))
    r = await city.get("/pages/district?district=330106")
    assert r.status_code == 200, r.text
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in r.text
    assert len(re.findall(r'data-chart="trend/\w+"', r.text)) == len(fakes.TREND)
    assert (await city.get("/static/app.js")).status_code == 200
    other = await city.get("/pages/district?district=330108")
    assert other.status_code == 404  # another district's page: as if there were none


@pytest.mark.parametrize(
    ("who", "home"),
    [(ANALYST, "/pages/city"),
     (Principal("a", Role.auditor), "/pages/city"),
     (Principal("o", Role.bureau_officer, "330108"), "/pages/district?district=330108"),
     (Principal("p", Role.principal, "330108", "330108001"), None),
     (Principal("h", Role.hospital, "330108"), None)],
)  # fmt: skip
def test_each_role_starts_on_its_city_page_or_none(who: Principal, home: str | None) -> None:
    assert home_of(who) == home
