"""The city's pages on ``tongxin_web``: its views, its demo users and the page each role starts
on (``/pages/city`` for the city bureau, ``/pages/district?district=`` for a district's)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from fastapi import APIRouter

from tongxin_city.application.city_views import VIEWS, ViewContext
from tongxin_city.application.demo_users import DEMO_ROLES, demo_user
from tongxin_city.config import CitySettings
from tongxin_platform.auth import Principal, Role
from tongxin_web.app import page_routers
from tongxin_web.demo import page
from tongxin_web.site import PageService, Site
from tongxin_web.views import L


def home_of(who: Principal) -> str | None:
    """The page a person of this role starts on (None: no page for the role)."""
    if who.school:
        return None
    if who.role in (Role.city_analyst, Role.auditor) and not who.district:
        return page("city")
    if who.role in (Role.city_analyst, Role.auditor, Role.bureau_officer) and who.district:
        return page("district", district=who.district)
    return None


def context(
    app: PageService, who: Principal, params: Mapping[str, str], today: date, now: datetime
) -> ViewContext:
    settings = app.settings
    assert isinstance(settings, CitySettings)
    return ViewContext(app.pool, settings, who, params, today, now)


SITE = Site(
    views=VIEWS,
    context=context,
    demo_roles=DEMO_ROLES,
    demo_user=demo_user,
    home_of=home_of,
    brand=L("市教育局", "city bureau"),
)


def routers() -> tuple[APIRouter, ...]:
    """The JSON views, the sign-in and the pages."""
    return page_routers(SITE)
