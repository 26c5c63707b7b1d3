"""The city's pages on ``tongxin_web``: its views, its demo users and the page each role starts
on (``/pages/city`` for the city bureau, ``/pages/district?district=`` for a district's)."""

from __future__ import annotations

from tongxin_city.application.city_views import VIEWS, ViewContext
from tongxin_city.application.demo_users import DEMO_ROLES, demo_user
from tongxin_city.config import CitySettings
from tongxin_platform.auth import Principal, Role
from tongxin_web.demo import page
from tongxin_web.site import Site, context_of
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


SITE = Site(
    views=VIEWS,
    context=context_of(ViewContext, CitySettings),
    demo_roles=DEMO_ROLES,
    demo_user=demo_user,
    home_of=home_of,
    brand=L("市教育局", "city bureau"),
)
