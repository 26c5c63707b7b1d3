"""Fuzz the agencies service's API on the generated district (``agencies_env``): schemathesis
over the served OpenAPI (every operation, made-up and real dashboard and list keys, days near
the ends of the calendar), then every view with query parameters the schema cannot describe
(each view reads its own: a district, a school, a hospital, a committee, a pairing, a status…)
drawn from real ids, made-up ones and malformed ones, under the tokens of the people who use
the pages and of some who may not. No answer may be a 5xx; every error is problem+json."""

from __future__ import annotations

import random
from datetime import date

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_pages import page_links
from tests.support.fuzzing import (
    Caller,
    assert_fuzzed_well,
    days,
    fuzz_service,
    iso,
)
from tests.support.matrix import PROBLEM
from tongxin_agencies.projections.models import MODELS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

BUDGET = 30.0  # seconds of schemathesis, shared among operations and callers
DASHBOARDS = [
    "district",
    "school",
    "hospital",
    "screening",
    "police",
    "carers",
    "market",
    "committee",
]
PARAMS = ("district", "school_id", "hospital_id", "committee_id", "pairing_id", "class_id")


def callers(env: AgenciesEnv) -> dict[str, dict[str, str]]:
    w = env.world
    school = w.schools[0]
    member = next(m for m in w.members if m.current)
    carer = next(c for c in w.carers if c.kind == "community")
    head = next(k for k in w.classes if k.head_teacher_ref)
    return {
        "bureau_officer": env.token("bureau_officer"),
        "principal": env.token("principal", school.principal, school=school.school_id),
        "head_teacher": env.token(
            "head_teacher",
            head.head_teacher_ref,
            school=head.school_id,
            class_id=head.class_id,
        ),
        "psych_teacher": env.token("psych_teacher", school.psych_teacher, school=school.school_id),
        "hospital": env.token("hospital", "oncall", org=sorted(w.hospitals)[0]),
        "police": env.token("police", "police-1"),
        "community_worker": env.token("community_worker", carer.carer_ref),
        "market_regulation": env.token("market_regulation", "inspector-1"),
        "committee_member": env.token(
            "committee_member", member.guardian_ref, school=member.school_id
        ),
        "city_analyst": env.token("city_analyst", "analyst", district=None),
        "nobody": {},
    }


async def test_fuzzing_the_agencies_openapi_never_gets_a_5xx_nor_an_error_not_a_problem(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    who = callers(env)
    lists = sorted(
        {
            link.split("?")[0].removeprefix("/lists/")
            for link in await all_links(env, who["bureau_officer"])
        }
        | {"school.attention_list", "carers.pairings", "committee.seats", "health.referrals"}
    )
    shares = {"nobody": 0.1, "city_analyst": 0.3}
    run = await fuzz_service(
        env.base_url,
        {name: Caller(h, share=shares.get(name, 1.0)) for name, h in who.items()},
        {"page": [*DASHBOARDS, "none"], "key": [*lists, "none.x"], "notification_id": ["1"]},
        budget=BUDGET,
        harvests={},
        bodies={},
        edges={"as_of": iso(days(env.world.day, ahead=400))},
    )
    education = next(m for m in MODELS if m.name == "education")
    await assert_fuzzed_well(
        run,
        pool=env.pool,
        group=education.group,
        topic=env.settings.topic_of("registry"),
        kafka=env.settings.kafka_bootstrap_servers,
        setup_failures=[],
        min_operations=2,
        budget=BUDGET,
    )


async def all_links(env: AgenciesEnv, headers: dict[str, str]) -> set[str]:
    r = await env.http.get(
        "/dashboards/district", params={"district": env.district}, headers=headers
    )
    assert r.status_code == 200, r.text
    return {link for link in page_links(r.json()) if link.startswith("/lists/")}


async def test_every_view_with_any_query_parameters_answers_a_2xx_or_a_problem(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    w = env.world
    rng = random.Random(13)
    who = callers(env)
    real = {
        "district": [*w.districts, "999999", "33010", "x" * 70, ""],
        "school_id": [s.school_id for s in w.schools] + ["zz", "330106001' OR 1=1", "%00"],
        "hospital_id": [*sorted(w.hospitals), "hosp-none", ""],
        "committee_id": [s.committee_id for s in w.schools] + ["cmt-none"],
        "pairing_id": [p.pairing_id for p in w.pairings[:4]] + ["pair-none"],
        "class_id": [k.class_id for k in w.classes[:3]] + ["c-none"],
        "status": ["all", "open", "overdue", "answered", "x"],
        "as_of": [
            str(w.day),
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "yesterday",
            str(date(2026, 9, 1)),
        ],
    }
    lists = sorted({link.split("?")[0] for link in await all_links(env, who["bureau_officer"])})
    views = [f"/dashboards/{d}" for d in DASHBOARDS] + lists
    views += ["/lists/school.attention_list", "/lists/carers.pairings", "/lists/carers.contacts"]
    views += ["/lists/committee.seats", "/lists/committee.feedback", "/lists/health.referrals"]
    wrong: list[str] = []
    statuses: dict[int, int] = {}
    for view in views:
        for name, headers in who.items():
            for _ in range(3):
                params = {
                    k: rng.choice(v)
                    for k, v in real.items()
                    if rng.random() < (0.7 if k in PARAMS else 0.3)
                }
                r = await env.http.get(view, params=params, headers=headers)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                ctype = r.headers.get("content-type", "")
                if r.status_code >= 500 or (r.status_code >= 400 and ctype != PROBLEM):
                    wrong.append(f"{view} {params} as {name} → {r.status_code} {r.text[:200]}")
    print(f"statuses: {sorted(statuses.items())}")
    assert statuses.get(200, 0) > 0, statuses
    assert not wrong, f"{len(wrong)} bad answers:\n" + "\n".join(wrong[:40])
