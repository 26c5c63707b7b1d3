"""Fuzz the city service's OpenAPI with schemathesis against a real uvicorn server.

A city of its own (the city's world of ``tests.support.city_world``: three districts, their
events through the city's read models, on its own topics and database, so that what the fuzz
files touches no other test's figures) serves every operation; each gets generated requests
(valid and invalid, with made-up and real districts, as-of days near the ends of the calendar,
and filings naming real and unknown districts, schools, kinds, years and days) under the tokens
of the city's analyst and auditor, a district's bureau officer, a school's principal, an
operator, and without a token.

The verdict is ``tests.support.fuzzing.assert_fuzzed_well``: no 5xx, no error that is not
problem+json, nothing the filings' read model dead-lettered, every operation past validation
within the time budget.

The dashboards (``/dashboards/{page}``) are in the OpenAPI and fuzzed with the rest, their pages
``city``, ``district`` and an unknown one; their query parameters (a district's page takes
``district``) are not declared in the OpenAPI, so a second test sends every dashboard, and its
page (``/pages/...``, outside the OpenAPI), random real and broken ``district`` and ``as_of``
values under every caller: a 2xx or a problem, never a 5xx.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.support.agencies_world import World
from tests.support.city_env import CityEnv, city_service
from tests.support.fuzzing import Caller, assert_fuzzed_well, days, fuzz_service, iso
from tongxin_city.projections.filings import FILINGS
from tongxin_platform.auth import Role, TokenVerifier
from tongxin_platform.testing import Infra

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; hypothesis warns about it, not about this test
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

BUDGET = 45.0  # seconds of fuzzing, shared among operations and callers


@pytest.fixture
async def city(
    infra: Infra, kafka: str, verifier: TokenVerifier, jwt_keys: tuple[bytes, bytes]
) -> AsyncIterator[CityEnv]:
    """A city service of the test's own on the city's world (as ``city_env`` stands one up)."""
    async with city_service(infra, kafka, verifier, jwt_keys[0]) as env:
        yield env


def bodies(world: World) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    schools = [s.school_id for s in world.schools]
    districts = [*world.districts, "339999"]
    day = st.one_of(st.just(str(world.day)), iso(days(world.day, ahead=400)))
    return {
        "/filings": st.fixed_dictionaries(
            {
                "kind": st.sampled_from(
                    ["district_plan", "school_visit_plan", "december_summary", "monthly_stats"]
                ),
                "district": st.sampled_from(districts),
                "year": st.one_of(st.sampled_from([2025, 2026, 2027]), st.integers(1990, 2110)),
            },
            optional={
                "school_id": st.sampled_from([*schools, "330199001", "x"]),
                "filed_on": day,
            },
        )
    }


async def test_fuzzing_every_city_operation_never_gets_a_5xx_nor_an_error_not_a_problem(
    city: CityEnv,
) -> None:
    world = city.world
    district, school = world.districts[0], world.schools[0].school_id
    callers = {
        "city_analyst": Caller(city.token(Role.city_analyst)),
        "auditor": Caller(city.token(Role.auditor), share=0.5),
        "bureau_officer": Caller(city.token(Role.bureau_officer, district=district)),
        "principal": Caller(city.token(Role.principal, district=district, school=school)),
        "operator": Caller(city.token(Role.operator, district=district), share=0.3),
        # Without a token, all but a few operations stop at the 401: a token share.
        "nobody": Caller({}, share=0.1),
    }
    ids: dict[str, list[str]] = {
        "district": [*world.districts],
        "notification_id": ["1"],
        "page": ["city", "district", "none"],  # the dashboards (their query: the test below)
    }
    run = await fuzz_service(
        str(city.http.base_url).rstrip("/"),
        callers,
        ids,
        budget=BUDGET,
        harvests={},
        bodies=bodies(world),
        edges={"as_of": iso(days(world.day, ahead=400))},
    )
    assert "GET /dashboards/{page}" in run.labels, run.labels  # the dashboards are fuzzed
    await assert_fuzzed_well(
        run,
        pool=city.pool,
        group=FILINGS.group,
        topic=city.settings.topic,
        kafka=city.settings.kafka_bootstrap_servers,
        setup_failures=[],
        min_operations=5,
        budget=BUDGET,
    )


PROBLEM = "application/problem+json"


async def test_every_dashboard_and_page_with_any_query_answers_a_2xx_or_a_problem(
    city: CityEnv,
) -> None:
    world = city.world
    rng = random.Random(14)
    district, school = world.districts[0], world.schools[0].school_id
    who = {
        "city_analyst": city.token(Role.city_analyst),
        "auditor": city.token(Role.auditor, district=district),
        "bureau_officer": city.token(Role.bureau_officer, district=district),
        "principal": city.token(Role.principal, district=district, school=school),
        "operator": city.token(Role.operator, district=district),
    }
    real = {
        "district": [*world.districts, "339999", "33010", "x" * 70, "", "330106' OR 1=1"],
        "as_of": [str(world.day), "0001-01-01", "9999-12-31", "2026-02-30", "yesterday"],
        "school_id": [school, "zz"],
    }
    wrong: list[str] = []
    statuses: dict[int, int] = {}
    for view in ("city", "district", "none"):
        for path in (f"/dashboards/{view}", f"/pages/{view}"):
            for name, headers in who.items():
                for _ in range(4):
                    params = {k: rng.choice(v) for k, v in real.items() if rng.random() < 0.7}
                    r = await city.http.get(path, params=params, headers=headers)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    ctype = r.headers.get("content-type", "")
                    page = path.startswith("/pages/") and ctype.startswith("text/html")
                    if r.status_code >= 500 or (
                        r.status_code >= 400 and ctype != PROBLEM and not page
                    ):
                        wrong.append(f"{path} {params} as {name} → {r.status_code} {r.text[:200]}")
    print(f"statuses: {sorted(statuses.items())}")
    assert statuses.get(200, 0) > 0, statuses
    assert not wrong, f"{len(wrong)} bad answers:\n" + "\n".join(wrong[:40])
