"""The city's pages in a real browser (headless Chromium) against the city service over real
HTTP on its own database, its figures those of ``tests/support/city_page_fakes.py`` (the figures
themselves are tested on real events elsewhere): ``/demo/city_analyst`` alone opens the city
page, which shows a row for every district the city has heard of and the city's, each cell the
JSON dashboard's value, red or green as it says; a district's name opens that district's page,
whose trend charts ECharts draws; the English toggle; no console error. Screenshots under
``.data/browser/``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import city_page_fakes as fakes
from tests.support.browser import Browser, browser, demo_session
from tests.support.cleanup import fresh_unique
from tests.support.servers import serving
from tests.support.services import database_of, settings_for
from tongxin_city.bootstrap import SERVICE
from tongxin_city.entrypoints.api import create_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.testing import Infra

CELLS = (
    "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map(tr =>"
    " [...tr.children].map(td => [td.getAttribute('data-value'), td.className,"
    " td.querySelector('a')?.getAttribute('href') || null]))"
)


@pytest.fixture
async def city_url(
    infra: Infra, verifier: TokenVerifier, jwt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    monkeypatch.setenv("TONGXIN_JWT_PRIVATE_KEY_FILE", str(jwt_dir / "private.pem"))
    fakes.install(monkeypatch)
    unique = fresh_unique()
    settings = settings_for(SERVICE, infra, database_name=f"t_{unique}_city", topics={})
    async with database_of(SERVICE, settings), serving(create_app(settings, verifier)) as url:
        yield url


@pytest.fixture
async def window(city_url: str) -> AsyncIterator[Browser]:
    async with browser(city_url) as b:
        yield b


def shown_class(meets: bool | None) -> str:
    return "" if meets is None else ("meets" if meets else "misses")


async def test_the_city_page_shows_every_district_as_the_json_says_and_opens_each_districts_page(
    city_url: str, window: Browser
) -> None:
    b = window
    # given the city analyst signed in by the URL alone
    bearer = await demo_session(b, "city_analyst")
    assert await b.path() == "/pages/city"
    async with httpx.AsyncClient(base_url=city_url) as http:
        board: dict[str, Any] = (await http.get("/dashboards/city", headers=bearer)).json()
    await b.screenshot("city")
    # then the table has a row for every district and the city's, each cell the JSON's
    table = next(p for p in board["panels"] if p["key"] == "kpis")["tables"][0]
    shown = await b.js(CELLS, '[data-table="kpis/districts"]')
    assert len(shown) == len(fakes.DISTRICTS) + 1 == len(table["rows"])
    for row, cells in zip(table["rows"], shown, strict=True):
        for cell, (value, css, _) in zip(row, cells, strict=True):
            assert json.loads(value) == cell["value"]
            assert css == shown_class(cell["meets"])
    names = [cells[0][2] for cells in shown[:-1]]
    assert names == [f"/pages/district?district={d}" for d in fakes.DISTRICTS]
    assert {"meets", "misses"} <= {css for cells in shown for _, css, _ in cells}
    assert any(json.loads(v) is not None for cells in shown for v, _, _ in cells[1:])
    # and the filings panel has every district's kinds
    filings = await b.js(CELLS, '[data-table="filings/filings"]')
    assert len(filings) == 4 * len(fakes.DISTRICTS)
    assert await b.console_errors() == []
    # when a district's name is clicked
    await b.click('[data-table="kpis/districts"] tbody tr:nth-child(2) td a')
    await b.loaded()
    # then its page opens with its KPIs and every trend drawn by ECharts
    assert await b.path() == f"/pages/district?district={fakes.DISTRICTS[1]}"
    await b.until(
        lambda: b.js(
            "return document.querySelectorAll('.chart[data-ready=\"1\"] canvas').length"
            " === arguments[0]",
            len(fakes.TREND),
        ),
        timeout=20,
        what="every trend chart drawn",
    )
    assert await b.value_of('[data-figure="kpis/hazards_overdue"]') == 2
    assert "misses" in (await b.attribute('[data-figure="kpis/hazards_overdue"]', "class") or "")
    await b.screenshot("city-district")
    assert await b.console_errors() == []


async def test_a_district_officer_lands_on_their_district_and_the_page_speaks_english_on_demand(
    window: Browser,
) -> None:
    b = window
    await demo_session(b, "bureau_officer")
    assert await b.path() == f"/pages/district?district={fakes.DISTRICTS[0]}"
    assert await b.text("h1") == "西湖区 330106 家校共育指标"
    await b.click("#lang-toggle")
    assert await b.text("h1") == "District 西湖区 330106"
    await b.click("#lang-toggle")
    assert await b.console_errors() == []
