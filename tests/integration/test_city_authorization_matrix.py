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
- a district's plan (and December summary) is filed by the district's bureau officer (another
  district's: 403, scope); a school's visit plan by the school's principal or the district's
  bureau officer (another school's, another district's: 403, scope);
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
    PLACES,
    SCHOOL,
    Caller,
    Endpoint,
    Where,
    assert_every_role_and_route_once,
    check_problem,
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
    # POST /filings checks "filing.school" (every role that may file anything) before reading
    # the body; the kind decides which rule of the record then applies.
    Endpoint("fdp", "POST", "/filings", "filing.school"),
    Endpoint("fsp", "POST", "/filings", "filing.school"),
    Endpoint("fls", "GET", "/filings", "city.read", aggregate=True),
    Endpoint("dfl", "GET", "/districts/{district}/filings", "city.district", aggregate=True),
    # the kit's
    Endpoint("ntf", "GET", "/notifications", "notifications.read"),
    Endpoint("inb", "GET", "/message-inbox", "message_inbox.read"),
    Endpoint("log", "GET", "/access-log", "access_log.read"),
    Endpoint("rty", "POST", "/notifications/{notification_id}/retry", "notifications.retry"),
)

# Each cell: first letter with the inside token, second with the outside one.
#   Y = 2xx   R = 403, the role may not (names the action and the role)
#   S = 403, outside the caller's scope (names the action and says "scope")
#   F = 403 naming a rule of the record: filing a district's plan, the district's rule (as a
#       principal, or for another district)
#   N = 404 like a record that does not exist   - = no such token
# Inside: district 330106, school 330106001; outside: district 330108, school 330106002.
MATRIX = (
    """
caller                       level    kpi dkp fdp fsp fls dfl ntf inb log rty
principal                    school   RR  RR  FF  YS  RR  RR  RR  RR  RR  RR
middle_leader                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
head_teacher                 class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  YN  YF  YS  RR  YN  RR  RR  RR  RR
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  YY  YY  RR  NN
auditor                      district SS  YN  RR  RR  SS  YN  YY  RR  YY  RR
city_analyst                 city     Y-  Y-  R-  R-  Y-  Y-  R-  R-  R-  R-
city_analyst@district        district SS  YN  RR  RR  SS  YN  RR  RR  RR  RR
auditor@city                 city     Y-  Y-  R-  R-  Y-  Y-  Y-  R-  Y-  R-
bureau_officer@city          city     R-  Y-  Y-  Y-  R-  Y-  R-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  R-  Y-  Y-  R-  N-
""",
)

CALLERS = parse_matrix(MATRIX, ENDPOINTS, LEVELS, "YRSFN")


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
        "fdp": ("POST", "/filings", {"json": plan}),
        "fsp": ("POST", "/filings", {"json": {**school_plan, "school_id": SCHOOL}}),
        "fls": ("GET", "/filings", {}),
        "dfl": ("GET", f"/districts/{DISTRICT}/filings", {}),
        "ntf": ("GET", "/notifications", {}),
        "inb": ("GET", "/message-inbox", {}),
        "log": ("GET", "/access-log", {}),
        "rty": ("POST", f"/notifications/{NOTIFICATION}/retry", {}),
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


def check_ok(
    e: Endpoint, caller: Caller, side: str, r: httpx.Response, people: set[str]
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
        check_ok=lambda e, caller, side, r: check_ok(e, caller, side, r, people),
        reads=lambda r: False,  # the city reads no one's record: nothing for the access log
        # The ids in paths are numbers or district codes: a made-up one of another shape is a
        # 422, so "like missing" is checked by the test below for districts.
        ids=(),
        of_record="F",
    )
    assert_no_wrong(outcome)
    assert outcome.checked >= 150


@pytest.mark.parametrize("route", ["/districts/{}/kpis", "/districts/{}/filings"])
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
