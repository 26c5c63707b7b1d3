"""The other agencies' pages show the figures computed independently from the generated events
(``tests.support.agencies_expected``): a hospital's referral queue, the district's screening
counts (no score, no band), the police's guard shifts, mandatory reports and traffic hazards."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_expected import hospital_figures, police_figures, screening_figures
from tests.support.agencies_world import World

pytestmark = pytest.mark.integration


def figures_of(page: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in page["panels"]:
        for f in p["figures"]:
            out.setdefault(f["key"], f["value"])
    return out


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    wrong = []
    for key, value in want.items():
        shown = got.get(key, "(no figure)")
        if isinstance(value, float) and isinstance(shown, int | float):
            if not math.isclose(shown, value, abs_tol=1e-6):
                wrong.append(f"{key}: {shown!r}, expected {value!r}")
        elif shown != value:
            wrong.append(f"{key}: {shown!r}, expected {value!r}")
    return wrong


async def page(env: AgenciesEnv, key: str, params: dict[str, str], headers: dict[str, str]) -> Any:
    r = await env.http.get(f"/dashboards/{key}", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def per_district(
    env: AgenciesEnv,
    key: str,
    want: Callable[[World, str], dict[str, Any]],
    role: str,
    sub: str | None = None,
) -> list[str]:
    """What page ``key`` shows each district's ``role`` (as ``sub``) that differs from ``want``."""
    wrong = []
    for district in env.world.districts:
        headers = env.token(role, sub, district=district)
        shown = figures_of(await page(env, key, {"district": district}, headers))
        wrong += [f"{district} {w}" for w in differences(shown, want(env.world, district))]
    return wrong


async def test_each_hospitals_queue_counts_its_open_and_overdue_referrals(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    wrong = []
    for hospital in sorted(env.world.hospitals):
        # given a hospital's on-call; when they open their queue
        headers = env.token(
            "hospital", f"oncall-{hospital}", district=env.world.hospitals[hospital], org=hospital
        )
        shown = figures_of(await page(env, "hospital", {}, headers))
        # then it counts what the events say
        wrong += [
            f"{hospital} {w}" for w in differences(shown, hospital_figures(env.world, hospital))
        ]
    assert not wrong, "\n".join(wrong)


async def test_the_screening_page_counts_offers_consents_refusals_and_screenings(
    agencies_env: AgenciesEnv,
) -> None:
    # given each district's bureau officer; when they open the screening page
    wrong = await per_district(agencies_env, "screening", screening_figures, "bureau_officer")
    # then it counts what the events say
    assert not wrong, "\n".join(wrong)


async def test_the_police_page_counts_shifts_reports_and_traffic_hazards(
    agencies_env: AgenciesEnv,
) -> None:
    # given each district's police; when they open the police page
    wrong = await per_district(agencies_env, "police", police_figures, "police", "police-1")
    # then it counts what the events say
    assert not wrong, "\n".join(wrong)
