"""The city's pages on real figures: the city service on the city's world (``city_env``: three
districts' events through real Kafka into the city's own store). The city dashboard and every
district's carry exactly the figures of the JSON API (``GET /kpis``,
``GET /districts/{d}/kpis``, ``GET /filings``), for every district the city has heard of, and
not all of them empty; and the city page in headless Chromium, opened by
``/demo/city_analyst`` alone, shows them as the dashboard says."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser, browser
from tests.support.city_env import CityEnv
from tongxin_city.application.kpi_values import CITY
from tongxin_web.session import COOKIE

CELLS = (
    "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map(tr =>"
    " [...tr.children].map(td => [td.getAttribute('data-value'), td.className]))"
)


def panel(board: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in board["panels"] if p["key"] == key)
    return found


async def get(env: CityEnv, path: str, **token: Any) -> dict[str, Any]:
    r = await env.http.get(path, headers=env.token(**token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_the_city_dashboard_has_the_apis_figures_for_every_district_and_the_city(
    city_env: CityEnv,
) -> None:
    day = city_env.world.day
    kpis = await get(city_env, f"/kpis?as_of={day}", role="city_analyst")
    board = await get(city_env, f"/dashboards/city?as_of={day}", role="city_analyst")
    assert len(kpis["districts"]) == 3
    table = panel(board, "kpis")["tables"][0]
    keys = [c["key"] for c in table["columns"][1:]]
    assert len(keys) == 12
    by = {(v["district"], v["kpi"]): v for v in kpis["values"]}
    assert len(table["rows"]) == len(kpis["districts"]) + 1
    for district, row in zip([*kpis["districts"], CITY], table["rows"], strict=True):
        if district != CITY:
            assert row[0]["link"] == f"/pages/district?district={district}"
        shown = {k: (c["value"], c["meets"]) for k, c in zip(keys, row[1:], strict=True)}
        assert shown == {k: (by[(district, k)]["value"], by[(district, k)]["meets"]) for k in keys}
        assert any(c["value"] is not None for c in row[1:]), f"{district}: every KPI empty"
    city = {f["key"]: f["value"] for f in panel(board, "city")["figures"]}
    assert city == {k: by[(CITY, k)]["value"] for k in keys}
    filings = (await get(city_env, f"/filings?as_of={day}", role="city_analyst"))["rows"]
    summary = panel(board, "filings")["tables"][0]["rows"]
    expected_kinds = {(r["district"], r["kind"]) for r in filings}
    assert len(summary) == len(expected_kinds)


async def test_each_districts_dashboard_has_its_apis_figures_and_a_chart_per_trend(
    city_env: CityEnv,
) -> None:
    day = city_env.world.day
    for district in (await get(city_env, "/kpis", role="city_analyst"))["districts"]:
        api = await get(
            city_env, f"/districts/{district}/kpis?as_of={day}", role="bureau_officer",
            district=district,
        )  # fmt: skip
        board = await get(
            city_env, f"/dashboards/district?district={district}&as_of={day}",
            role="bureau_officer", district=district,
        )  # fmt: skip
        figures = {f["key"]: (f["value"], f["meets"]) for f in panel(board, "kpis")["figures"]}
        assert figures == {v["kpi"]: (v["value"], v["meets"]) for v in api["values"]}
        charts = {s["key"]: s for s in panel(board, "trend")["charts"]}
        trend_kpis = {v["kpi"] for v in api["trend"]}
        assert set(charts) == trend_kpis
        assert len(trend_kpis) == 5
        for kpi, chart in charts.items():
            months = sorted(v["period"] for v in api["trend"] if v["kpi"] == kpi)
            assert chart["months"] == months
        filed = await get(
            city_env, f"/districts/{district}/filings?as_of={day}", role="bureau_officer",
            district=district,
        )  # fmt: skip
        assert len(panel(board, "filings")["tables"][0]["rows"]) == len(filed["rows"])


@pytest.fixture
async def window(
    city_env: CityEnv, jwt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Browser]:
    monkeypatch.setenv("TONGXIN_JWT_PRIVATE_KEY_FILE", str(jwt_dir / "private.pem"))
    async with browser(city_env.base_url) as b:
        yield b


async def test_the_city_page_in_a_browser_shows_every_districts_real_figures_as_the_dashboard(
    city_env: CityEnv, window: Browser
) -> None:
    b = window
    await b.get("/demo/city_analyst")
    await b.loaded()
    assert await b.path() == "/pages/city"
    cookie = await b.call(b.driver.get_cookie, COOKIE)
    assert cookie is not None
    r = await city_env.http.get(
        "/dashboards/city", headers={"Authorization": f"Bearer {cookie['value']}"}
    )
    table = panel(r.json(), "kpis")["tables"][0]
    shown = await b.js(CELLS, '[data-table="kpis/districts"]')
    assert len(shown) == len(city_env.world.districts) + 1 == len(table["rows"])
    for row, cells in zip(table["rows"], shown, strict=True):
        assert [json.loads(v) for v, _ in cells] == [c["value"] for c in row]
        assert [css for _, css in cells[1:]] == [
            "" if c["meets"] is None else ("meets" if c["meets"] else "misses") for c in row[1:]
        ]
        assert any(json.loads(v) is not None for v, _ in cells[1:])
    await b.screenshot("city-real")
    await b.click('[data-table="kpis/districts"] tbody tr:first-child td a')
    await b.loaded()
    assert (await b.path()).startswith("/pages/district?district=")
    await b.until(
        lambda: b.js("return document.querySelectorAll('.chart[data-ready=\"1\"] canvas').length"),
        timeout=20,
        what="the trend charts drawn",
    )
    await b.screenshot("city-real-district")
    assert await b.console_errors() == []
