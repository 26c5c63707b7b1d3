"""The city's demo users (development only): the city bureau's analyst (the whole city, no
district: always there) and a district's bureau officer (the first district the city has heard
of; none yet is ``DemoDataMissingError``). ``/demo/<role>`` signs one in at once."""

from __future__ import annotations

import asyncpg

from tongxin_city.application import figures
from tongxin_platform.auth import Principal, Role
from tongxin_web.demo import DemoDataMissingError, DemoRole, DemoUser, page
from tongxin_web.views import L

DEMO_ROLES: tuple[DemoRole, ...] = (
    DemoRole("city_analyst", Role.city_analyst, L("市教育局分析员", "City analyst"), "city"),
    DemoRole("bureau_officer", Role.bureau_officer, L("区教育局干部", "District officer"),
             "city districts"),
)  # fmt: skip
BY_KEY = {d.key: d for d in DEMO_ROLES}


async def demo_user(pool: asyncpg.Pool, key: str) -> DemoUser:
    """The demo person of ``key`` (a ``DEMO_ROLES`` key; ``KeyError`` for another), or
    ``DemoDataMissingError``."""
    demo = BY_KEY[key]
    if demo.role is Role.city_analyst:
        return DemoUser(demo, Principal("demo-city-analyst", demo.role), page("city"))
    districts = await figures.districts(pool)
    if not districts:
        raise DemoDataMissingError(demo)
    district = districts[0]
    who = Principal(f"demo-officer-{district}", demo.role, district)
    return DemoUser(demo, who, page("district", district=district))
