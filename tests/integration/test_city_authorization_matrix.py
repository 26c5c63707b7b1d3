"""Who may see the city's figures and file what: every route of the city service × every role ×
in/out of scope, over real HTTP, Kafka and PostgreSQL (the city's world of ``city_env``: three
districts, their events through the city's read models).

The expected answers are written out below as a matrix — an independent statement of the
issue's and the layout's who-sees-what (DESIGN.md §1; issue 14), never recomputed from
``tongxin_city.application.policy``:
- the whole city's figures and filings (``/kpis``, ``/filings``) are the city's analysts' and
  auditors' — with a city-level token; a token bound to one district is refused for the whole
  city (403, scope);
- one district's figures and filings: the city's analysts and auditors, and the district's bureau
  officer; another district's are a 404 exactly like a district the city never heard of;
- the city's dashboards (``/dashboards/city``, ``/dashboards/district?district=``) as the JSON
  routes of the same figures: the city's to the city's analysts and auditors with a city token
  (a district's token: 403, scope), a district's also to its bureau officer (another
  district's: 404 like unknown); the pages ``/pages/city`` and ``/pages/district`` answer the
  same statuses as their dashboards (``test_every_page_answers_like_its_dashboard``); the
  session routes (``/sign-in``, ``/sign-out``, ``/demo/{role}``) and ``/static/...`` take no
  token and are outside the OpenAPI (tests/integration/test_city_pages.py covers them); the city
  has no lists, so no ``/lists/{key}`` is served;
- a district's plan (and December summary) is filed by the district's bureau officer (another
  district's: 403, scope); a school's visit plan by the school's principal or the district's
  bureau officer (another school's, another district's: 403, scope); a role that may file no
  kind is refused before the body is read, naming the neutral rule ``filing``; a principal
  asking for a district's plan is refused naming the district's rule;
- the kit's: operators and auditors read the notifications of their district, operators the
  development inbox and resend, auditors the access log;
- no one else: not the schools' staff, not the other agencies, not the committees.
Filings are filed for 2025 (late, on the world's day in November 2026): the world's 2026 filings
and figures, which other tests of the session read, stay as they were.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.city_env import CityEnv
from tests.support.matrix import (
    DISTRICT,
    KIT_ENDPOINTS,
    PLACES,
    SCHOOL,
    Caller,
    Endpoint,
    Where,
    assert_every_role_and_route_once,
    cells_of,
    check_problem,
    kit_requests,
    parse_matrix,
    token_of,
)
from tests.support.matrix import where_of as where_in
from tests.support.matrix_run import assert_no_wrong, other_district_entries, run_matrix
from tongxin_city.entrypoints.api import create_app
from tongxin_platform.auth import TokenVerifier

pytestmark = pytest.mark.integration

LEVELS: dict[str, tuple[Where, Where | None]] = PLACES
NOTIFICATION = "987654321"  # there is none: a retry is a 404 for whoever may retry

ENDPOINTS = (
    Endpoint("kpi", "GET", "/kpis", "city.read", aggregate=True),
    Endpoint("dkp", "GET", "/districts/{district}/kpis", "city.district", aggregate=True),
    # the dashboards, by key: the city's and a district's
    Endpoint("dcy", "GET", "/dashboards/{page}", "city.read", aggregate=True),
    Endpoint("dds", "GET", "/dashboards/{page}", "city.district", aggregate=True),
    # POST /filings checks "filing" (may the caller file any kind?) before reading the body;
    # then the kind's own rule: a refusal names the rule of the kind asked.
    Endpoint("fdp", "POST", "/filings", "filing.district"),
    Endpoint("fsp", "POST", "/filings", "filing.school"),
    Endpoint("fls", "GET", "/filings", "city.read", aggregate=True),
    Endpoint("dfl", "GET", "/districts/{district}/filings", "city.district", aggregate=True),
    *KIT_ENDPOINTS,
)

# Each cell: first letter with the inside token, second with the outside one.
#   Y = 2xx   R = 403, the role may not (names the action and the role)
#   S = 403, outside the caller's scope (names the action and says "scope")
#   E = 403 at the edge of POST /filings, before the body: names the rule "filing" and the
#       role (the run checks a rule is named; test_a_role_that_may_file_nothing_… the rest)
#   N = 404 like a record that does not exist   - = no such token
# Inside: district 330106, school 330106001; outside: district 330108, school 330106002.
MATRIX = (
    """
caller                       level    kpi dkp dcy dds fdp fsp fls dfl ntf inb log rty
principal                    school   RR  RR  RR  RR  RR  YS  RR  RR  RR  RR  RR  RR
middle_leader                school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
head_teacher                 class    RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  YN  RR  YN  YS  YS  RR  YN  RR  RR  RR  RR
hospital                     district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  EE  EE  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  EE  EE  RR  RR  YY  YY  RR  NN
auditor                      district SS  YN  SS  YN  EE  EE  SS  YN  YY  RR  YY  RR
city_analyst                 city     Y-  Y-  Y-  Y-  E-  E-  Y-  Y-  R-  R-  R-  R-
city_analyst@district        district SS  YN  SS  YN  EE  EE  SS  YN  RR  RR  RR  RR
auditor@city                 city     Y-  Y-  Y-  Y-  E-  E-  Y-  Y-  Y-  R-  Y-  R-
bureau_officer@city          city     R-  Y-  R-  Y-  Y-  Y-  R-  Y-  R-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  E-  E-  R-  R-  Y-  Y-  R-  N-
""",
)

CALLERS = parse_matrix(MATRIX, ENDPOINTS, LEVELS, "YRSEN")


def test_the_matrix_states_every_role_and_every_route_once() -> None:
    assert_every_role_and_route_once(CALLERS, ENDPOINTS)


def subject(caller: Caller, side: str) -> str:
    return f"matrix-{caller.label.replace('@', '-at-')}-{side}"


def request_for(column: str, caller: Caller) -> tuple[str, str, dict[str, Any]]:
    plan = {"kind": "district_plan", "district": DISTRICT, "year": 2025}
    school_plan = {"kind": "school_visit_plan", "district": DISTRICT, "year": 2025}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "kpi": ("GET", "/kpis", {}),
        "dkp": ("GET", f"/districts/{DISTRICT}/kpis", {}),
        "dcy": ("GET", "/dashboards/city", {}),
        "dds": ("GET", "/dashboards/district", {"params": {"district": DISTRICT}}),
        "fdp": ("POST", "/filings", {"json": plan}),
        "fsp": ("POST", "/filings", {"json": {**school_plan, "school_id": SCHOOL}}),
        "fls": ("GET", "/filings", {}),
        "dfl": ("GET", f"/districts/{DISTRICT}/filings", {}),
        **kit_requests(NOTIFICATION),
    }
    return requests[column]


def people_of(env: CityEnv) -> set[str]:
    """Every pseudonym of the world: students, guardians, staff."""
    w = env.world
    return (
        {s.student_ref for s in w.students}
        | {s.guardian_ref for s in w.students}
        | {s.staff_ref for s in w.staff}
    )


def tables_of(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for p in board["panels"] for t in p.get("tables") or []]


def check_ok(
    e: Endpoint,
    caller: Caller,
    side: str,
    r: httpx.Response,
    people: set[str],
    districts: list[str],
) -> str | None:
    if seen := sorted(p for p in people if p in r.text):
        return f"names people: {seen[:3]}"
    body = r.json()
    if e.column in ("dkp", "dfl"):
        rows = body["values"] if e.column == "dkp" else body["rows"]
        others = {row["district"] for row in rows} - {DISTRICT}
        if not rows or others:
            return f"not the district's own rows only: {sorted(others)} of {len(rows)}"
    if e.column == "kpi" and not {v["district"] for v in body["values"]} >= {"330106", "city"}:
        return f"not every district's figures: {body['districts']}"
    if e.column == "dcy":
        shown = {c["value"] for t in tables_of(body) for row in t["rows"] for c in row[:1]}
        named = {d for d in districts if any(str(v).endswith(d) for v in shown)}
        if body.get("scope") != "city" or named != set(districts):
            return f"not every district's row: {sorted(named)} of {sorted(districts)}"
    if e.column == "dds":
        others = sorted(d for d in districts if d != DISTRICT and d in r.text)
        figures = [f for p in body["panels"] for f in p.get("figures") or []]
        if body.get("scope") != DISTRICT or not figures or others:
            return f"not the district's own figures: {body.get('scope')}, others {others}"
    if e.column in ("fdp", "fsp") and (
        r.status_code != 201 or body.get("events") != ["FilingSubmitted"]
    ):
        return f"not filed: {r.status_code} {body}"
    if e.column in ("ntf", "inb", "log"):
        return other_district_entries(where_in(LEVELS, caller, side), r)
    return None


async def test_every_route_answers_every_role_in_and_out_of_scope_as_the_matrix_says(
    city_env: CityEnv, verifier: TokenVerifier
) -> None:
    app = create_app(city_env.settings, verifier)  # its routes, as served by city_env
    people = people_of(city_env)

    def token(caller: Caller, side: str) -> str:
        where = where_in(LEVELS, caller, side)
        return token_of(city_env.private_key, subject(caller, side), caller, where)

    outcome = await run_matrix(
        app,
        city_env.http,
        city_env.pool,
        ENDPOINTS,
        CALLERS,
        setup_failures=[],
        setup_actors=set(),
        token=token,
        subject=subject,
        request_for=request_for,
        check_ok=lambda e, caller, side, r: check_ok(
            e, caller, side, r, people, city_env.world.districts
        ),
        reads=lambda r: False,  # the city reads no one's record: nothing for the access log
        # The ids in paths are numbers or district codes: a made-up one of another shape is a
        # 422, so "like missing" is checked by the test below for districts.
        ids=(),
        of_record="E",
    )
    assert_no_wrong(outcome)
    assert outcome.checked >= 150


@pytest.mark.parametrize(
    "route",
    ["/districts/{}/kpis", "/districts/{}/filings", "/dashboards/district?district={}"],
)
async def test_another_district_answers_exactly_like_one_the_city_never_heard_of(
    city_env: CityEnv, route: str
) -> None:
    officer = city_env.token("bureau_officer", district="330108")
    other = await city_env.http.get(route.format(DISTRICT), headers=officer)
    unknown = await city_env.http.get(route.format("339999"), headers=officer)
    assert other.status_code == 404, other.text
    assert check_problem(other, 404) is None
    assert (unknown.status_code, unknown.headers["content-type"], unknown.json()) == (
        other.status_code,
        other.headers["content-type"],
        other.json(),
    )
    assert DISTRICT not in other.text


@pytest.mark.parametrize("kind", ["district_plan", "school_visit_plan", "december_summary"])
async def test_a_role_that_may_file_nothing_is_refused_before_the_body_naming_filing_and_itself(
    city_env: CityEnv, kind: str
) -> None:
    """The edge of POST /filings: "filing" (no kind's rule: the body is not read yet), for
    every caller whose cell of the kind's column is E."""
    column = "fdp" if kind != "school_visit_plan" else "fsp"
    body = {"kind": kind, "district": DISTRICT, "year": 2025}
    if kind == "school_visit_plan":
        body["school_id"] = SCHOOL
    wrong = []
    for caller, side, code in cells_of(CALLERS, column):
        if code != "E":
            continue
        where = where_in(LEVELS, caller, side)
        token = token_of(city_env.private_key, subject(caller, side), caller, where)
        r = await city_env.http.post(
            "/filings", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        problem = check_problem(r, 403) if r.status_code == 403 else f"{r.status_code}"
        if problem is None and (
            r.json().get("rule") != "filing" or caller.role.value not in r.json()["detail"]
        ):
            problem = f"names {r.json().get('rule')!r}: {r.json()['detail']!r}"
        if problem:
            wrong.append(f"{caller.label}/{side}: {problem}")
    assert not wrong, wrong


async def test_a_principal_asking_for_a_districts_plan_is_refused_naming_the_districts_rule(
    city_env: CityEnv,
) -> None:
    caller = next(c for c in CALLERS if c.label == "principal")
    where = where_in(LEVELS, caller, "in")
    token = token_of(city_env.private_key, subject(caller, "in"), caller, where)
    principal = {"Authorization": f"Bearer {token}"}
    for kind in ("district_plan", "december_summary"):
        r = await city_env.http.post(
            "/filings", json={"kind": kind, "district": DISTRICT, "year": 2025}, headers=principal
        )
        assert r.status_code == 403, r.text
        assert check_problem(r, 403) is None
        assert r.json()["rule"] == "filing.district", r.json()
        assert "principal" in r.json()["detail"]


PAGES = {"dcy": ("/pages/city", {}), "dds": ("/pages/district", {"district": DISTRICT})}


async def test_every_page_answers_like_its_dashboard(city_env: CityEnv) -> None:
    """/pages/city and /pages/district render their dashboards' providers: the same status for
    every cell of the dashboards' columns (Y 200, R/S 403, N 404), as a page (HTML)."""
    statuses = {"Y": 200, "R": 403, "S": 403, "N": 404}
    wrong = []
    for column, (path, params) in PAGES.items():
        for caller, side, code in cells_of(CALLERS, column):
            where = where_in(LEVELS, caller, side)
            token = token_of(city_env.private_key, subject(caller, side), caller, where)
            r = await city_env.http.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            html = r.headers.get("content-type", "").startswith("text/html")
            if r.status_code != statuses[code] or not html:
                wrong.append(f"{path} as {caller.label}/{side}: {r.status_code}, {code} expected")
            elif code == "N" and DISTRICT in r.text:
                wrong.append(f"{path} as {caller.label}/{side}: a 404 naming the district")
    assert not wrong, "\n".join(wrong)
