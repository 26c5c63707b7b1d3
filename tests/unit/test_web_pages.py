"""tongxin_web's pages and sign-in (issue 13, deliverables 2-4; a library since issue 14) as
the agencies serve them, on the agencies' app itself over httpx's ASGI transport with a fake
provider (``tests/support/web_fakes.py``) and a fake read model for the demo users: no Kafka,
no PostgreSQL.

Sessions are an HttpOnly SameSite=Strict cookie holding a token; the cookie authenticates GETs
only; the demo users exist in development only; pages render the providers' answers with red and
green, links to the lists' pages, both languages, and their refusals as pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.support import web_fakes
from tongxin_agencies.bootstrap import Agencies
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.entrypoints.api import create_app
from tongxin_platform.auth import Principal, Role, TokenVerifier, dev_keypair, mint
from tongxin_platform.edge import service_router
from tongxin_platform.http import Caller, install_auth, install_problem_handlers
from tongxin_web import pages as web_pages
from tongxin_web.render import fmt, page_link
from tongxin_web.session import COOKIE, SessionAuth

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PRINCIPAL = Principal("stf_p1", Role.principal, "330106", "330106001")


@dataclass
class FakeWriter:
    now: datetime = NOW

    def clock(self) -> datetime:
        return self.now


@dataclass
class FakePool:
    """The read model's first rows, by table (what the demo users are picked from)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def fetchrow(self, sql: str, *args: object) -> dict[str, Any] | None:
        for table, row in self.rows.items():
            if f" {table} " in sql or sql.rstrip().endswith(table):
                if table == "education.staff":
                    role = re.search(r"'(\w+)' = ANY\((?:s\.)?roles\)", sql)
                    return row if role and role.group(1) in row["roles"] else None
                return row
        return None


MODEL = {
    "education.staff": {
        "staff_ref": "stf_p1",
        "district": "330106",
        "school_id": "330106001",
        "roles": ["principal", "head_teacher", "psych_teacher"],
        "class_id": "330106001-01",  # the class a head teacher heads (education.classes)
    },
    "education.schools": {"district": "330106"},
    "health.referrals": {"hospital_id": "hosp_1", "district": "330106"},
    "police.schools": {"district": "330106"},
    "market.schools": {"district": "330106"},
    "carers.pairings": {"carer_ref": "car_9", "district": "330106"},
    "committee.members": {
        "committee_id": "cmt_1",
        "guardian_ref": "gdn_4",
        "district": "330106",
        "school_id": "330106001",
    },
}


@pytest.fixture(autouse=True)
def fakes() -> Iterator[None]:
    with web_fakes.registered():
        yield


def app_for(
    keys: tuple[bytes, bytes], environment: str = "development", model: dict[str, Any] | None = None
) -> FastAPI:
    settings = AgenciesSettings(TONGXIN_ENV=environment, live_interval=1.5)
    app = create_app(settings, TokenVerifier(keys[1]))
    app.state.service = Agencies(
        settings, FakePool(MODEL if model is None else model), FakeWriter()
    )  # type: ignore[arg-type]
    return app


@pytest.fixture
async def dev(keys: tuple[bytes, bytes]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app_for(keys)) as c:
        yield c


def client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://agencies.test")


def session(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes], who: Principal = PRINCIPAL
) -> str:
    token = mint(keys[0], who, ttl=3600)
    client.cookies.set(COOKIE, token)
    return token


# --- sign-in -----------------------------------------------------------------------------------


async def test_in_development_the_sign_in_page_offers_every_demo_user(
    dev: httpx.AsyncClient,
) -> None:
    r = await dev.get("/sign-in")
    assert r.status_code == 200
    demos = set(re.findall(r'href="/demo/(\w+)"', r.text))
    assert demos == {
        "bureau_officer",
        "principal",
        "head_teacher",
        "psych_teacher",
        "hospital",
        "police",
        "community_worker",
        "committee_member",
        "market_regulation",
    }
    assert 'name="token"' in r.text


async def test_in_production_the_sign_in_page_offers_no_demo_user_and_demo_is_a_404(
    keys: tuple[bytes, bytes],
) -> None:
    async with client_of(app_for(keys, "production")) as c:
        page = await c.get("/sign-in")
        demo = await c.get("/demo/principal")
    assert page.status_code == 200
    assert 'name="token"' in page.text
    assert "/demo/" not in page.text
    assert demo.status_code == 404
    assert demo.headers["content-type"].startswith("application/problem+json")
    assert COOKIE not in demo.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("role", "home", "claims"),
    [
        ("bureau_officer", "/pages/district?district=330106", ("bureau_officer", None, None)),
        ("principal", "/pages/school?school_id=330106001", ("principal", "330106001", None)),
        ("head_teacher", "/pages/school?school_id=330106001",
         ("head_teacher", "330106001", "330106001-01")),
        ("psych_teacher", "/pages/school?school_id=330106001",
         ("psych_teacher", "330106001", None)),
        ("hospital", "/pages/hospital?hospital_id=hosp_1", ("hospital", None, None)),
        ("police", "/pages/police?district=330106", ("police", None, None)),
        ("community_worker", "/pages/carers", ("community_worker", None, None)),
        ("committee_member", "/pages/committee?committee_id=cmt_1",
         ("committee_member", "330106001", None)),
        ("market_regulation", "/pages/market?district=330106", ("market_regulation", None, None)),
    ],
)  # fmt: skip
async def test_a_demo_user_is_signed_in_with_a_session_cookie_and_sent_to_their_page(
    dev: httpx.AsyncClient,
    keys: tuple[bytes, bytes],
    role: str,
    home: str,
    claims: tuple[str, str | None, str | None],
) -> None:
    r = await dev.get(f"/demo/{role}")
    assert r.status_code == 303
    assert r.headers["location"] == home
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    who = TokenVerifier(keys[1]).verify(token)
    minted = jwt.decode(token, options={"verify_signature": False})
    assert minted["exp"] - minted["iat"] == 8 * 3600  # the session's length (AGENCIES_SESSION_TTL)
    assert "Max-Age=28800" in cookie
    assert (who.role.value, who.school, who.class_id) == claims
    assert who.district == "330106"
    if role == "hospital":
        assert who.org == "hosp_1"
    if role == "community_worker":
        assert who.subject == "car_9"
    if role == "committee_member":
        assert who.subject == "gdn_4"


async def test_a_demo_role_without_people_in_the_models_says_the_demo_data_is_not_there(
    keys: tuple[bytes, bytes],
) -> None:
    async with client_of(app_for(keys, model={})) as c:
        r = await c.get("/demo/hospital")
    assert r.status_code == 503
    assert "make run" in r.text
    assert "health.referrals" in r.text
    assert "set-cookie" not in r.headers


async def test_an_unknown_demo_role_is_a_404(dev: httpx.AsyncClient) -> None:
    assert (await dev.get("/demo/headmaster")).status_code == 404


async def test_a_token_from_the_issuer_signs_in_and_a_bad_one_shows_the_form_with_the_reason(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    good = mint(keys[0], PRINCIPAL, ttl=3600)
    ok = await dev.post("/sign-in", data={"token": good})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/pages/school?school_id=330106001"
    assert ok.headers["set-cookie"].startswith(f"{COOKIE}={good};")
    forged = mint(dev_keypair(_other_dir())[0], PRINCIPAL)
    bad = await dev.post("/sign-in", data={"token": forged})
    assert bad.status_code == 401
    assert 'name="token"' in bad.text
    assert "token: invalid token" in bad.text
    assert "set-cookie" not in bad.headers
    empty = await dev.post("/sign-in", data={"token": ""})
    assert empty.status_code == 422
    assert "token:" in empty.text


def _other_dir() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp()) / "other-jwt"


async def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    token = mint(keys[0], PRINCIPAL, ttl=3600)
    back = await dev.post("/sign-in", data={"token": token, "next": "/pages/lists/x?a=1"})
    assert back.headers["location"] == "/pages/lists/x?a=1"
    away = await dev.post("/sign-in", data={"token": token, "next": "//evil.example/x"})
    assert away.headers["location"] == "/pages/school?school_id=330106001"


async def test_a_form_posted_from_another_site_is_refused(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    token = mint(keys[0], PRINCIPAL, ttl=3600)
    evil = {"Origin": "https://evil.example"}
    r = await dev.post("/sign-in", data={"token": token}, headers=evil)
    assert r.status_code == 403
    assert "set-cookie" not in r.headers
    session(dev, keys)
    out = await dev.post("/sign-out", headers=evil)
    assert out.status_code == 403
    assert "set-cookie" not in out.headers


async def test_a_form_from_this_site_behind_a_proxy_is_accepted(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    token = mint(keys[0], PRINCIPAL, ttl=3600)
    here = {"Origin": "http://agencies.test"}
    assert (await dev.post("/sign-in", data={"token": token}, headers=here)).status_code == 303
    proxied = {"Origin": "https://tongxin.example.cn", "X-Forwarded-Host": "tongxin.example.cn"}
    r = await dev.post("/sign-in", data={"token": token}, headers=proxied)
    assert r.status_code == 303


async def test_sign_out_clears_the_cookie(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    r = await dev.post("/sign-out")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert (
        r.headers["set-cookie"].startswith(f'{COOKIE}="";')
        or "Max-Age=0" in r.headers["set-cookie"]
    )


async def test_home_sends_a_session_to_its_page_and_anyone_else_to_sign_in(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    anonymous = await dev.get("/")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/sign-in"
    session(dev, keys, Principal("o", Role.bureau_officer, "330106"))
    r = await dev.get("/")
    assert r.headers["location"] == "/pages/district?district=330106"


# --- the cookie authenticates GETs only ------------------------------------------------------


async def test_the_session_cookie_authenticates_the_pages_own_json_fetches(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    assert (await dev.get("/dashboards/test_web?school_id=s1")).status_code == 401
    session(dev, keys)
    r = await dev.get("/dashboards/test_web?school_id=s1")
    assert r.status_code == 200
    assert r.json()["page"] == "test_web"
    items = await dev.get("/lists/test_web.items?school_id=s1")
    assert items.status_code == 200
    assert len(items.json()["rows"]) == 3


async def test_the_cookie_never_authenticates_anything_but_a_get_and_never_beats_a_header(
    keys: tuple[bytes, bytes],
) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(keys[1]))
    router = service_router()

    @router.get("/who")
    async def who_get(who: Caller) -> dict[str, str]:
        return {"subject": who.subject}

    @router.post("/who")
    async def who_post(who: Caller) -> dict[str, str]:
        return {"subject": who.subject}

    app.include_router(router)
    app.add_middleware(SessionAuth)
    async with client_of(app) as c:
        c.cookies.set(COOKIE, mint(keys[0], PRINCIPAL, ttl=3600))
        assert (await c.get("/who")).json() == {"subject": "stf_p1"}
        posted = await c.post("/who")
        assert posted.status_code == 401
        other = mint(keys[0], Principal("someone-else", Role.auditor), ttl=3600)
        header = await c.get("/who", headers={"Authorization": f"Bearer {other}"})
        assert header.json() == {"subject": "someone-else"}
        c.cookies.set(COOKIE, "not a token; Path=/")
        assert (await c.get("/who")).status_code == 401


# --- pages ---------------------------------------------------------------------------------------


async def test_a_page_without_a_session_sends_the_reader_to_sign_in_and_back(
    dev: httpx.AsyncClient,
) -> None:
    r = await dev.get("/pages/test_web?school_id=s1")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=%2Fpages%2Ftest_web%3Fschool_id%3Ds1"


async def test_a_page_renders_the_providers_figures_red_where_missed_and_green_where_met(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    r = await dev.get("/pages/test_web?school_id=s1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    overdue = figure(html, "visits/followups_overdue")
    assert 'class="figure misses"' in overdue
    assert ">3<" in overdue
    coverage = figure(html, "visits/visit_coverage")
    assert 'class="figure meets"' in coverage
    assert "87.5%" in coverage
    assert "80%" in coverage
    flag = figure(html, "visits/counselling_room")
    assert 'class="figure "' in flag
    assert "是" in flag
    assert "yes" in flag


async def test_every_figure_and_cell_link_opens_the_lists_page(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    html = (await dev.get("/pages/test_web?school_id=s1")).text
    assert 'href="/pages/lists/test_web.items?school_id=s1"' in figure(
        html, "visits/followups_overdue"
    )
    assert html.count('href="/pages/lists/test_web.items?school_id=s1"') == 2
    assert "javascript:" not in html
    listed = await dev.get("/pages/lists/test_web.items?school_id=s1")
    assert listed.status_code == 200
    assert 'data-rows="3"' in listed.text
    assert listed.text.split("<tbody>")[1].count("<tr>") == 3


async def test_labels_are_in_both_languages_with_a_toggle_remembered_by_the_script(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    html = (await dev.get("/pages/test_web?school_id=s1")).text
    assert '<html lang="zh-CN" data-lang="zh">' in html
    both = (
        '<span class="zh" lang="zh-CN">逾期跟进</span><span class="en" lang="en">Overdue follow-ups'
    )
    assert both in html
    assert 'id="lang-toggle"' in html
    assert '<script src="/static/lang.js"></script>' in html
    script = (await dev.get("/static/lang.js")).text
    assert "localStorage" in script
    assert "data-lang" in script
    css = (await dev.get("/static/app.css")).text
    assert 'html[data-lang="zh"] .en' in css
    assert 'html[data-lang="en"] .zh' in css


async def test_a_page_carries_no_inline_script_and_a_policy_forbidding_one(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    r = await dev.get("/pages/test_web?school_id=s1")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert (
        "unsafe-inline"
        not in r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    scripts = re.findall(r"<script([^>]*)>", r.text)
    assert scripts
    assert all("src=" in s for s in scripts)
    assert "&lt;b&gt;" in r.text
    assert "case-1<b>" not in r.text


async def test_the_page_is_live_from_its_dashboards_json(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    html = (await dev.get("/pages/test_web?school_id=s1&as_of=2026-11-19")).text
    assert 'data-source="/dashboards/test_web?school_id=s1&amp;as_of=2026-11-19"' in html
    assert 'data-interval="1.5"' in html
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in html
    assert 'data-chart="visits/coverage_trend"' in html
    assert '<span class="as-of">2026-11-19</span>' in html


async def test_a_deadline_cell_counts_down_and_is_red_once_passed(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    html = (await dev.get("/pages/test_web?school_id=s1")).text
    assert '<time class="deadline" datetime="2026-11-20T03:00:00+00:00">01:00:00</time>' in html
    web_fakes.STATE["deadline_in"] = -65
    late = (await dev.get("/pages/test_web?school_id=s1")).text
    assert '<time class="deadline passed" datetime="2026-11-20T01:58:55+00:00">' in late
    assert "overdue" in late
    assert "00:01:05</time>" in late


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("school_id=forbidden", 403, "role x may not test.read"),
        ("school_id=elsewhere", 404, "school_id: no such school"),
        ("", 422, "school_id: this view needs it"),
        ("school_id=s1&as_of=2026-13-01", 422, "as_of: not a day"),
    ],
)
async def test_a_providers_refusal_is_a_page_with_its_title_detail_and_status(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes], query: str, status: int, words: str
) -> None:
    session(dev, keys)
    for path in ("/pages/test_web", "/pages/lists/test_web.items"):
        r = await dev.get(f"{path}?{query}")
        assert r.status_code == status
        assert r.headers["content-type"].startswith("text/html")
        assert words in r.text
        assert f'data-status="{status}"' in r.text


async def test_an_unknown_page_or_list_is_a_404_page(
    dev: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    session(dev, keys)
    assert (await dev.get("/pages/nothing")).status_code == 404
    assert (await dev.get("/pages/lists/school.nothing")).status_code == 404


# --- static files -------------------------------------------------------------------------------


async def test_static_files_are_served_by_the_service_and_never_outside_its_folder(
    dev: httpx.AsyncClient,
) -> None:
    js = await dev.get("/static/app.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert js.headers["cache-control"] == "public, max-age=3600"
    assert (await dev.get("/static/../config.py")).status_code in (404, 422)
    assert (await dev.get("/static/nothing.js")).status_code == 404


async def test_a_missing_echarts_is_a_503_naming_the_script_that_fetches_it(
    dev: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web_pages, "STATIC", tmp_path)
    monkeypatch.setattr(web_pages, "VENDOR", tmp_path / "vendor")
    r = await dev.get("/static/vendor/echarts.min.js")
    assert r.status_code == 503
    assert "bash infra/web/fetch.sh" in r.json()["detail"]


# --- formatting (the script formats the JSON the same way) --------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (None, "count", "—"),
        (3, "count", "3"),
        (2.5, "hours", "2.5"),
        (1.0, "count", "1"),
        (0.875, "share", "87.5%"),
        (1, "share", "100%"),
        (0.33333, "share", "33.3%"),
        (0.0005, "share", "0.1%"),
        ("2026-11-20", "date", "2026-11-20"),
        ("2026-11-20T02:05:00Z", "text", "2026-11-20 10:05"),
        ("a<b", "text", "a&lt;b"),
    ],
)
def test_values_are_shown_by_their_unit(value: Any, unit: str, shown: str) -> None:
    assert str(fmt(value, unit)) == shown


def test_only_local_paths_become_links() -> None:
    assert page_link("/lists/school.x?a=1") == "/pages/lists/school.x?a=1"
    assert page_link("/pages/school?school_id=1") == "/pages/school?school_id=1"
    assert page_link("https://evil.example/") is None
    assert page_link("//evil.example/") is None
    assert page_link("javascript:alert(1)") is None
    assert page_link(None) is None


def figure(html: str, key: str) -> str:
    start = html.index(f'data-figure="{key}"')
    end = html.find("data-figure=", start + 1)
    return html[html.rindex("<div", 0, start) : end if end > 0 else html.index("</section>", start)]
