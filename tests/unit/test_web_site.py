"""tongxin_web on its own: a service of the test's making (its own settings, policy, views, demo
users and brand — neither the agencies nor the city) gets the JSON views, the pages, the
sign-in and the static files from ``page_routers(site)``; each service's registry is its own;
a provider's ``require`` asks the context's policy; the page settings' demo switch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

import httpx
import pytest
from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

import tongxin_web
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.http import ProblemError, install_auth, install_problem_handlers
from tongxin_platform.policy import Policy, Scope
from tongxin_web.app import add_session, page_routers
from tongxin_web.demo import DemoDataMissingError, DemoRole, DemoUser, page
from tongxin_web.session import COOKIE
from tongxin_web.settings import PageSettings
from tongxin_web.site import PageService, Site, context_of
from tongxin_web.views import Dashboard, Figure, L, Panel, ViewContext, Views

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
POLICY = Policy({"zoo.read": {Role.auditor}})


class ZooSettings(PageSettings):
    model_config = SettingsConfigDict(env_prefix="ZOO_", extra="ignore")
    service: ClassVar[str] = "zoo"
    database_name: str = "zoo"
    topic: str = "zoo.events"
    http_port: int = 18401
    worker_http_port: int = 18402


@dataclass(frozen=True)
class Ctx(ViewContext[ZooSettings]):
    policy: Policy = POLICY


VIEWS: Views[Ctx] = Views()


@VIEWS.dashboard("zoo")
async def zoo(ctx: Ctx) -> Dashboard:
    ctx.require("zoo.read", Scope())
    return Dashboard(
        page="zoo",
        title=L("动物园", "The zoo"),
        scope="city",
        as_of=ctx.today,
        panels=[Panel(key="p", label=L("面板", "Panel"), figures=[
            Figure(key="animals", label=L("动物", "Animals"), value=int(ctx.param("n", "7")))
        ])],
    )  # fmt: skip


@dataclass
class FakeWriter:
    def clock(self) -> datetime:
        return NOW


@dataclass
class Zoo:
    settings: ZooSettings
    pool: Any
    writer: FakeWriter


KEEPER = DemoRole("keeper", Role.auditor, L("饲养员", "Keeper"), "zoo.keepers")
GHOST = DemoRole("ghost", Role.auditor, L("幽灵", "Ghost"), "zoo.ghosts")


async def pick(pool: object, key: str) -> DemoUser:
    if key == "ghost":
        raise DemoDataMissingError(GHOST)
    return DemoUser(KEEPER, Principal("keeper-1", Role.auditor), page("zoo", n="3"))


SITE = Site(
    views=VIEWS,
    context=context_of(Ctx, ZooSettings),
    demo_roles=(KEEPER, GHOST),
    demo_user=pick,
    home_of=lambda who: page("zoo") if who.role is Role.auditor else None,
    brand=L("动物园", "zoo"),
)


def app_for(keys: tuple[bytes, bytes], environment: str = "development") -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(keys[1]))
    for router in page_routers(SITE):
        app.include_router(router)
    app.state.service = Zoo(ZooSettings(TONGXIN_ENV=environment), object(), FakeWriter())
    return add_session(app)


@pytest.fixture
async def client(keys: tuple[bytes, bytes]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(keys), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo.test") as c:
        yield c


async def test_any_service_gets_its_json_views_from_its_own_registry(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    auditor = {"Authorization": f"Bearer {mint(keys[0], Principal('a', Role.auditor), ttl=60)}"}
    r = await client.get("/dashboards/zoo?n=5&as_of=2026-10-01", headers=auditor)
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == "2026-10-01"
    assert r.json()["panels"][0]["figures"][0]["value"] == 5
    other = await client.get("/dashboards/district?district=330106", headers=auditor)
    assert other.status_code == 404  # another service's page is not in this registry
    assert other.json()["field"] == "page"


async def test_a_providers_require_asks_the_services_policy_and_names_its_rule(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    who = Principal("o", Role.bureau_officer, "330106")
    r = await client.get(
        "/dashboards/zoo", headers={"Authorization": f"Bearer {mint(keys[0], who, ttl=60)}"}
    )
    assert r.status_code == 403
    assert r.json()["rule"] == "zoo.read"


async def test_the_page_carries_the_services_brand_and_the_same_figures_as_the_json(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    client.cookies.set(COOKIE, mint(keys[0], Principal("a", Role.auditor), ttl=60))
    r = await client.get("/pages/zoo?n=9")
    assert r.status_code == 200, r.text
    assert "同心 · 动物园" in r.text
    assert "Tongxin · zoo" in r.text
    assert re.search(r'data-figure="p/animals"[^>]*data-value=\'9\'', r.text)
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


async def test_the_sign_in_offers_the_services_demo_users_and_each_uses_its_picker(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/sign-in")
    assert set(re.findall(r'href="/demo/(\w+)"', form.text)) == {"keeper", "ghost"}
    r = await client.get("/demo/keeper")
    assert r.status_code == 303
    assert r.headers["location"] == "/pages/zoo?n=3"
    assert r.headers["set-cookie"].startswith(f"{COOKIE}=")
    missing = await client.get("/demo/ghost")
    assert missing.status_code == 503
    assert "zoo.ghosts" in missing.text
    unknown = await client.get("/demo/principal")  # the agencies' demo user, not this service's
    assert unknown.status_code == 404


async def test_a_role_without_a_page_on_this_service_is_told_so_at_home(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    client.cookies.set(COOKIE, mint(keys[0], Principal("p", Role.police, "330106"), ttl=60))
    r = await client.get("/")
    assert r.status_code == 404
    assert "police" in r.text


async def test_the_static_files_and_templates_ship_inside_tongxin_web(
    client: httpx.AsyncClient,
) -> None:
    web = Path(tongxin_web.__file__).parent / "web"
    for name in ("static/app.js", "static/lang.js", "static/app.css", "templates/base.html"):
        assert (web / name).is_file(), name
    r = await client.get("/static/app.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")


def test_a_views_registry_refuses_a_key_provided_twice_and_is_its_services_alone() -> None:
    views: Views[Ctx] = Views()
    views.dashboard("zoo")(zoo)
    with pytest.raises(ValueError, match="provided twice"):
        views.dashboard("zoo")(zoo)
    views.item_list("zoo.animals")(zoo)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="provided twice"):
        views.item_list("zoo.animals")(zoo)  # type: ignore[arg-type]
    assert set(Views().dashboards) == set()
    assert set(VIEWS.dashboards) == {"zoo"}


def test_a_missing_parameter_is_a_422_naming_it() -> None:
    ctx = Ctx(object(), ZooSettings(), Principal("a", Role.auditor), {}, date(2026, 11, 20), NOW,
              POLICY)  # fmt: skip
    with pytest.raises(ProblemError) as caught:
        ctx.param("district")
    assert (caught.value.status, caught.value.extra.get("field")) == (422, "district")


@pytest.mark.parametrize(
    ("environment", "switch", "enabled"),
    [("development", None, True), ("development", False, False), ("development", True, True),
     ("production", None, False), ("production", True, False)],
)  # fmt: skip
def test_demo_users_exist_in_development_only_and_may_be_switched_off_there(
    environment: str, switch: bool | None, enabled: bool
) -> None:
    settings = ZooSettings(TONGXIN_ENV=environment, demo_sign_in=switch)
    assert settings.demo_enabled() is enabled


async def test_a_site_without_lists_serves_no_list_route_nor_list_page(
    client: httpx.AsyncClient, keys: tuple[bytes, bytes]
) -> None:
    """A ``/lists/{key}`` that could only ever answer 404 is not served (nor in the OpenAPI):
    no route answers, rather than a route refusing every key (``field: key``); a site with
    lists (the agencies', test_web_pages.py) serves both."""
    auditor = {"Authorization": f"Bearer {mint(keys[0], Principal('a', Role.auditor), ttl=60)}"}
    paths = app_for(keys).openapi()["paths"]
    assert "/dashboards/{page}" in paths
    assert not [p for p in paths if "lists" in p]
    for path in ("/lists/zoo.x", "/pages/lists/zoo.x"):
        r = await client.get(path, headers=auditor)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json().get("field") != "key", r.json()  # no route: not a list refused
    page = await client.get("/pages/zoo", headers=auditor)
    assert page.status_code == 200  # the pages and the rest are served as before


def test_a_sites_context_carries_the_services_pool_settings_and_the_callers_day() -> None:
    # given a zoo service; when the site makes a provider's context for a keeper
    zoo = Zoo(ZooSettings(), object(), FakeWriter())
    who = Principal("keeper-1", Role.auditor)
    ctx = SITE.context(cast(PageService, zoo), who, {"n": "3"}, date(2026, 11, 20), NOW)
    # then it is the zoo's context with the zoo's policy, pool and settings
    assert isinstance(ctx, Ctx)
    assert (ctx.pool, ctx.settings, ctx.who, ctx.policy) == (zoo.pool, zoo.settings, who, POLICY)
    assert (ctx.params, ctx.today, ctx.now) == ({"n": "3"}, date(2026, 11, 20), NOW)


def test_a_sites_context_refuses_a_service_of_other_settings() -> None:
    # given a service whose settings are plain page settings, not the zoo's
    @dataclass
    class Stranger:
        settings: PageSettings
        pool: Any
        writer: FakeWriter

    stranger = Stranger(PageSettings(), object(), FakeWriter())
    # when the zoo's site makes a context for it, then it is refused by name
    with pytest.raises(TypeError, match="ZooSettings"):
        SITE.context(
            cast(PageService, stranger), Principal("k", Role.auditor), {}, date(2026, 11, 20), NOW
        )


def test_a_pages_path_leaves_out_parameters_that_are_none_or_empty() -> None:
    assert page("district", district="330106", school_id=None, q="") == (
        "/pages/district?district=330106"
    )
    assert page("city") == "/pages/city"
