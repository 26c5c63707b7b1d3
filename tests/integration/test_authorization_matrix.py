"""Who may do what, where: every registry endpoint × every role × in/out of scope, over real HTTP.

The expected answers are written out below as a matrix — an independent statement of the rules,
never recomputed from ``tongxin_platform.policy``. One registry (real Kafka, PostgreSQL, relay
and roster projection) serves the whole module, over a demo roster of 2 schools × 2 classes ×
3 students. Each cell is checked for its status, and 401/403s for a problem+json body whose 403
names the rule; 200s are checked for staying inside the caller's scope. Every wrong cell is
collected and reported at once.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.support.cleanup import fresh_unique
from tests.support.matrix import (
    CLASS,
    DISTRICT,
    OTHER_CLASS,
    PLACES,
    PUBLIC,
    SCHOOL,
    Caller,
    Endpoint,
    Where,
    assert_every_role_and_route_once,
    cells_of,
    check_like_missing,
    check_problem,
    check_refusal,
    parse_matrix,
    served_routes,
    token_of,
    where_of,
)
from tests.support.servers import serving
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, claims_for, dev_keypair, mint
from tongxin_platform.db import create_pool
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.bootstrap import prepare_database
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app
from tongxin_registry.entrypoints.worker import WorkerOptions, run_worker

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=3)
FAR_CLASS = "330106002-01"

# The token a caller of each level holds: the places' (tests.support.matrix). "Inside" contains
# every resource the matrix touches (they all lie in class 330106001-01, except trX's student,
# in -02); "outside" is the neighbour at the same level: another class, school or district.
LEVELS = PLACES


# Columns, in the order they run (reads before commands; the destructive commands last, each on
# its own student so no command disturbs another column):
#   imS  POST /imports/students      the class-330106001-01 rows again (no change: 0 events)
#   imT  POST /imports/staff         the school-330106001 staff rows again (no change)
#   sch  GET  /schools               the caller's own scope: "outside" is a neighbour's own scope
#   cls  GET  /schools/330106001/classes
#   stf  GET  /schools/330106001/staff                pseudonyms and roles, no names
#   cst  GET  /classes/330106001-01/students        cs+  … ?include_personal=true
#   stu  GET  /students/{A}                          st+  … ?include_personal=true
#   his  GET  /students/{A}/history
#   log  GET  /access-log            the caller's own scope, like sch
#   cat  POST /students/{A}/categories   {"groups": ["migrant"]} (repeats change nothing)
#   trn  POST /students/{A}/transfer     to A's own class (no change)
#   trX  POST /students/{D}/transfer     D (of 330106001-02) to 330106002-01: another school
#   ers  POST /subjects/{B}/erase        (a repeat changes nothing)
#   lea  POST /students/{C}/leave        the first allowed cell is 200; C has left for the next
#                                        allowed ones, so they are 404 (authorised, then refused)
#   ntf  GET  /notifications             the kit's: messages the service queued, the caller's own
#                                        district (none here: an empty list)
#   nrt  POST /notifications/{id}/retry  a notification that does not exist: 404 once allowed
#   inb  GET  /message-inbox             the kit's development inbox, the caller's own district
# A, B, C are the students of 330106001-01; D is one of 330106001-02.

ENDPOINTS = (
    Endpoint("imS", "POST", "/imports/students", "roster.import"),
    Endpoint("imT", "POST", "/imports/staff", "roster.import"),
    Endpoint("sch", "GET", "/schools", "roster.read"),
    Endpoint("cls", "GET", "/schools/{school_id}/classes", "roster.read"),
    Endpoint("stf", "GET", "/schools/{school_id}/staff", "roster.read"),
    Endpoint("cst", "GET", "/classes/{class_id}/students", "roster.read"),
    Endpoint("cs+", "GET", "/classes/{class_id}/students", "roster.read_personal", "cst"),
    Endpoint("stu", "GET", "/students/{student_ref}", "roster.read"),
    Endpoint("st+", "GET", "/students/{student_ref}", "roster.read_personal", "stu"),
    Endpoint("his", "GET", "/students/{student_ref}/history", "roster.history"),
    Endpoint("log", "GET", "/access-log", "access_log.read"),
    Endpoint("cat", "POST", "/students/{student_ref}/categories", "roster.change"),
    Endpoint("trn", "POST", "/students/{student_ref}/transfer", "roster.transfer"),
    Endpoint("trX", "POST", "/students/{student_ref}/transfer", "roster.transfer"),
    Endpoint("ers", "POST", "/subjects/{student_ref}/erase", "subject.erase"),
    Endpoint("lea", "POST", "/students/{student_ref}/leave", "roster.change"),
    Endpoint("ntf", "GET", "/notifications", "notifications.read"),
    Endpoint("nrt", "POST", "/notifications/{notification_id}/retry", "notifications.retry"),
    Endpoint("inb", "GET", "/message-inbox", "message_inbox.read"),
)

# Each cell: first letter with the inside token, second with the outside one.
#   Y = 200   R = 403, the role may not   S = 403, outside the caller's scope   - = no such token
#   N = 404, exactly the answer (status and body) for a student that does not exist: a student
#       outside the caller's scope is not told apart from a missing one (the role is checked
#       first, so R wins over N; the destination class of a transfer is still S)
# A head or subject teacher holds a class token: a whole school (cls) is wider than their scope.
# An include_personal read by a caller who may read the roster but not personal data is R on
# roster.read_personal inside, and N outside (scope is checked on the first rule, roster.read).
MATRIX = """
caller                       level    imS imT sch cls stf cst cs+ stu st+ his log cat trn trX ers
principal                    school   YS  YS  YY  YS  YS  YS  YS  YN  YN  YN  RR  YN  YN  SN  RR
middle_leader                school   RR  RR  YY  YS  YS  YS  YS  YN  YN  RR  RR  YN  YN  SN  RR
head_teacher                 class    RR  RR  YY  SS  SS  YS  YS  YN  YN  RR  RR  YN  RR  RR  RR
subject_teacher              class    RR  RR  YY  SS  SS  YS  RS  YN  RN  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  YY  YS  YS  YS  YS  YN  YN  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  YY  YS  YS  YS  YS  YN  YN  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  YY  YS  YS  YS  YS  YN  YN  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  YY  YS  YS  YS  RS  YN  RN  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  YY  YS  YS  YS  RS  YN  RN  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  YY  YS  YS  YS  YS  YN  YN  RR  RR  RR  RR  RR  RR
bureau_officer               district YS  YS  YY  YS  YS  YS  RS  YN  RN  RR  RR  RR  YN  YN  RR
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district YS  YS  YY  YS  YS  YS  RS  YN  RN  YN  RR  RR  RR  RR  YN
auditor                      district RR  RR  YY  YS  YS  YS  RS  YN  RN  YN  YY  RR  RR  RR  RR
city_analyst                 district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor@school               school   RR  RR  YY  YS  YS  YS  RS  YN  RN  YN  SS  RR  RR  RR  RR
bureau_officer@city          city     Y-  Y-  Y-  Y-  Y-  Y-  R-  Y-  R-  R-  R-  R-  Y-  Y-  R-
operator@city                city     Y-  Y-  Y-  Y-  Y-  Y-  R-  Y-  R-  Y-  R-  R-  R-  R-  Y-
auditor@city                 city     R-  R-  Y-  Y-  Y-  Y-  R-  Y-  R-  Y-  Y-  R-  R-  R-  R-
city_analyst@city            city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
"""

# Leaving (lea, the last roster column: the table is split to keep lines short), then the
# kit's routes on every service's API (tongxin_platform.notify_api), same callers and codes.
KIT_MATRIX = """
caller                       level    lea ntf nrt inb
principal                    school   YN  RR  RR  RR
middle_leader                school   YN  RR  RR  RR
head_teacher                 class    YN  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR
bureau_officer               district RR  RR  RR  RR
hospital                     district RR  RR  RR  RR
police                       district RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR
community_worker             district RR  RR  RR  RR
committee_member             district RR  RR  RR  RR
operator                     district RR  YY  NN  YY
auditor                      district RR  YY  RR  RR
city_analyst                 district RR  RR  RR  RR
auditor@school               school   RR  SS  RR  RR
bureau_officer@city          city     R-  R-  R-  R-
operator@city                city     R-  Y-  N-  Y-
auditor@city                 city     R-  Y-  R-  R-
city_analyst@city            city     R-  R-  R-  R-
"""


CALLERS = parse_matrix((MATRIX, KIT_MATRIX), ENDPOINTS, LEVELS, "YRSN")


def contains(where: Where, district: str, school: str, class_id: str | None = None) -> bool:
    d, s, c, _ = where
    return (
        (d is None or d == district) and (s is None or s == school) and (c is None or c == class_id)
    )


# --- one registry for the module ---------------------------------------------------------------


@dataclass
class World:
    app: FastAPI
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    private_key: bytes
    students_csv: str  # the rows of class 330106001-01
    staff_csv: str  # the rows of school 330106001
    a: str
    b: str
    c: str
    d: str
    homes: dict[str, tuple[str, str, str]]  # student_ref → (district, school, class) at setup

    def token(self, caller: Caller, side: str) -> str:
        where = where_of(LEVELS, caller, side)
        return token_of(self.private_key, f"matrix:{caller.label}:{side}", caller, where)


def rows_where(text: str, column: str, value: str) -> str:
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    keep = [ln for ln in lines[1:] if next(csv.reader([ln]))[header.index(column)] == value]
    return "\n".join([lines[0], *keep]) + "\n"


@pytest.fixture(scope="module")
async def world(
    infra: Infra, kafka: str, jwt_keys: tuple[bytes, bytes], verifier: TokenVerifier
) -> AsyncIterator[World]:
    unique = fresh_unique()
    topic = f"test-{unique}.events"
    await ensure_topics(kafka, [TopicSpec(topic, 3, event_topic_config())])
    settings = RegistrySettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        DATABASE_URL=infra.database_url,
        database_name=f"t_{unique}",
        topic=topic,
    )
    pool = await create_pool(await prepare_database(settings), min_size=1, max_size=4)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, WorkerOptions(), stop))
    students, staff = demo_roster(SPEC)
    officer = Principal("matrix:setup", Role.bureau_officer, DISTRICT)
    app = create_app(settings, verifier)
    try:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            auth = {"Authorization": f"Bearer {mint(jwt_keys[0], officer)}"}
            for path, body in (("/imports/students", students), ("/imports/staff", staff)):
                r = await http.post(path, content=body.encode(), headers=auth)
                assert r.status_code == 200, r.text
            await eventually(
                lambda: pool.fetchval("SELECT count(*) FROM roster.students"),
                lambda n: n == 12,
                what="12 students in the roster read model",
            )
            await eventually(
                lambda: pool.fetchval("SELECT count(*) FROM roster.staff"),
                lambda n: n == 12,
                what="12 staff in the roster read model",
            )
            rows = await pool.fetch(
                "SELECT student_ref, district, school_id, class_id FROM roster.students"
                " ORDER BY class_id, student_ref"
            )
            homes = {r["student_ref"]: (r["district"], r["school_id"], r["class_id"]) for r in rows}
            a, b, c = (r["student_ref"] for r in rows if r["class_id"] == CLASS)
            d = next(r["student_ref"] for r in rows if r["class_id"] == OTHER_CLASS)
            yield World(
                app,
                http,
                pool,
                jwt_keys[0],
                rows_where(students, "class_id", CLASS),
                rows_where(staff, "school_id", SCHOOL),
                a,
                b,
                c,
                d,
                homes,
            )
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        await pool.close()


def request_for(column: str, w: World) -> tuple[str, str, dict[str, Any]]:
    csv_type = {"content-type": "text/csv"}
    personal = {"include_personal": "true"}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "imS": ("POST", "/imports/students", {"content": w.students_csv, "headers": csv_type}),
        "imT": ("POST", "/imports/staff", {"content": w.staff_csv, "headers": csv_type}),
        "sch": ("GET", "/schools", {}),
        "cls": ("GET", f"/schools/{SCHOOL}/classes", {}),
        "stf": ("GET", f"/schools/{SCHOOL}/staff", {}),
        "cst": ("GET", f"/classes/{CLASS}/students", {}),
        "cs+": ("GET", f"/classes/{CLASS}/students", {"params": personal}),
        "stu": ("GET", f"/students/{w.a}", {}),
        "st+": ("GET", f"/students/{w.a}", {"params": personal}),
        "his": ("GET", f"/students/{w.a}/history", {}),
        "log": ("GET", "/access-log", {}),
        "cat": ("POST", f"/students/{w.a}/categories", {"json": {"groups": ["migrant"]}}),
        "trn": ("POST", f"/students/{w.a}/transfer", {"json": {"class_id": CLASS}}),
        "trX": ("POST", f"/students/{w.d}/transfer", {"json": {"class_id": FAR_CLASS}}),
        "ers": ("POST", f"/subjects/{w.b}/erase", {"json": {"reason": "data_subject_request"}}),
        "lea": ("POST", f"/students/{w.c}/leave", {"json": {"reason": "moved_away"}}),
        "ntf": ("GET", "/notifications", {}),
        "nrt": ("POST", "/notifications/4242/retry", {}),
        "inb": ("GET", "/message-inbox", {}),
    }
    return requests[column]


def check_ok(e: Endpoint, caller: Caller, side: str, body: Any, w: World) -> str | None:
    """What is wrong with a 200's body (it must stay inside the caller's scope), or None."""
    where = where_of(LEVELS, caller, side)
    class_refs = {w.a, w.b, w.c}
    if e.column in ("imS", "imT"):
        expected_rows = (w.students_csv if e.column == "imS" else w.staff_csv).count("\n") - 1
        return None if body.get("rows") == expected_rows else f"rows ≠ {expected_rows}"
    if e.column in ("cat", "trn", "trX", "ers", "lea"):
        return None if isinstance(body.get("events"), list) else "no events list"
    if e.column == "sch":
        school_scope = (where[0], where[1], None, None)  # a class token sees its own school
        outside = [
            s["school_id"]
            for s in body
            if not contains(school_scope, s["district"], s["school_id"])
        ]
        if outside:
            return f"lists schools outside the caller's scope: {outside}"
        if side == "in" and SCHOOL not in {s["school_id"] for s in body}:
            return f"{SCHOOL} missing"
        return None
    if e.column == "stf":
        heads = {c for s in body for c in s["class_ids"] if "head_teacher" in s["roles"]}
        if any("personal" in s or "name" in s for s in body):
            return "names or personal data in the staff list"
        return None if heads == {CLASS, OTHER_CLASS} else f"head teachers' classes {heads}"
    if e.column == "cls":
        ids = sorted(c["class_id"] for c in body)
        return None if ids == [CLASS, OTHER_CLASS] else f"classes {ids}"
    if e.column in ("cst", "cs+"):
        refs = {s["student_ref"] for s in body}
        if refs != class_refs:
            return f"students {sorted(refs)} ≠ the class's {sorted(class_refs)}"
        if e.column == "cst" and any("personal" in s for s in body):
            return "personal data without include_personal"
        if e.column == "cs+" and not all((s.get("personal") or {}).get("name") for s in body):
            return "include_personal without names"
        return None
    if e.column in ("stu", "st+"):
        if body.get("student_ref") != w.a:
            return f"student {body.get('student_ref')}"
        if e.column == "stu" and "personal" in body:
            return "personal data without include_personal"
        if e.column == "st+" and not (body.get("personal") or {}).get("name"):
            return "include_personal without a name"
        return None
    if e.column == "his":
        types = [h["type"] for h in body]
        return None if types and "StudentEnrolled" in types[0] else f"history {types}"
    if e.column == "log":
        leaked = [x for x in body if not contains(where, *w.homes[x["record"]])]
        if leaked:
            homes = sorted({w.homes[x["record"]][1] for x in leaked})
            return (
                f"{len(leaked)} access-log entries outside the caller's scope (schools {homes}),"
                f" e.g. {leaked[0]}"
            )
        if side == "in" and not body:
            return "an empty access log, though restricted reads happened in scope"
        return None
    if e.column in ("ntf", "inb"):
        return None if body == [] else f"messages though the registry queued none: {body}"
    raise AssertionError(f"no body check for {e.column}")


def check_refusal_of(
    e: Endpoint, caller: Caller, side: str, code: str, r: httpx.Response
) -> str | None:
    rule = e.rule
    if e.plain is not None and (
        code == "S" or caller.cells[e.plain][0 if side == "in" else 1] == "R"
    ):
        rule = "roster.read"  # refused on the first rule, before the personal one is asked
    return check_refusal(rule, caller, code, r)


async def test_every_role_gets_the_answer_the_matrix_states_on_every_endpoint(
    world: World,
) -> None:
    w = world
    routes = served_routes(w.app)
    assert routes == {(e.method, e.route) for e in ENDPOINTS}, "an endpoint is not in the matrix"
    assert_every_role_and_route_once(CALLERS, ENDPOINTS)

    wrong: list[str] = []
    for e in ENDPOINTS:
        allowed_so_far = 0
        for caller, side, code in cells_of(CALLERS, e.column):
            method, path, kwargs = request_for(e.column, w)
            headers = {
                **kwargs.pop("headers", {}),
                "Authorization": f"Bearer {w.token(caller, side)}",
            }
            r = await w.http.request(method, path, headers=headers, **kwargs)
            want = {"Y": 200, "R": 403, "S": 403, "N": 404}[code]
            if e.column == "lea" and code == "Y":
                want = 200 if allowed_so_far == 0 else 404  # the student left on the first
                allowed_so_far += 1
            cell = f"{e.column} {e.method} {path} as {caller.label}/{side}:"
            if r.status_code != want:
                wrong.append(f"{cell} expected {want}, got {r.status_code} {r.text[:300]}")
                continue
            if want == 200:
                problem = check_ok(e, caller, side, r.json(), w)
            elif want == 403:
                problem = check_refusal_of(e, caller, side, code, r)
            else:
                problem = check_problem(r, want)
            # nrt names a notification that does not exist: its 404 is the missing answer
            if code == "N" and not problem and e.column != "nrt":
                request, token = request_for(e.column, w), w.token(caller, side)
                ids = (w.a, w.b, w.c, w.d)
                problem = await check_like_missing(w.http, r, request, token, ids, prefix="stu_")
            if problem:
                wrong.append(f"{cell} {want} but {problem}")

    # Every restricted read that was allowed is in the access log — and no refused one.
    readers = {
        f"matrix:{caller.label}:{side}"
        for caller in CALLERS
        for column in ("cs+", "st+")
        for side, code in zip(("in", "out"), caller.cells[column], strict=True)
        if code == "Y"
    }
    logged = {r["actor"] for r in await w.pool.fetch("SELECT DISTINCT actor FROM access_log")}
    if logged != readers:
        wrong.append(
            f"access log actors: missing {sorted(readers - logged)}, "
            f"unexpected {sorted(logged - readers)}"
        )

    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)


async def test_the_operations_endpoints_answer_without_a_token_and_name_no_student(
    world: World,
) -> None:
    w = world
    refs = set(w.homes)
    for path in sorted(PUBLIC):
        r = await w.http.get(path, headers={"Authorization": ""})
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
        assert not any(ref in r.text for ref in refs), f"{path} names a student"
    assert "tongxin_consumer_lag" in (await w.http.get("/metrics")).text


async def test_no_or_a_bad_token_is_a_401_problem_on_every_endpoint(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    w = world
    principal = Principal("matrix:bad-token", Role.principal, DISTRICT, SCHOOL)
    foreign_key, _ = dev_keypair(tmp_path_factory.mktemp("foreign-jwt"))
    unsigned = jwt.encode(claims_for(principal), "", algorithm="none")
    bad: dict[str, dict[str, str]] = {
        "no token": {},
        "garbage": {"Authorization": "Bearer this-is-not-a-jwt"},
        "expired": {"Authorization": f"Bearer {mint(w.private_key, principal, ttl=-300)}"},
        "another key": {"Authorization": f"Bearer {mint(foreign_key, principal)}"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
    }
    wrong: list[str] = []
    for e in ENDPOINTS:
        for name, auth in bad.items():
            method, path, kwargs = request_for(e.column, w)
            headers = {**kwargs.pop("headers", {}), **auth}
            r = await w.http.request(method, path, headers=headers, **kwargs)
            cell = f"{e.column} {method} {path} with {name}:"
            if r.status_code != 401:
                wrong.append(f"{cell} expected 401, got {r.status_code} {r.text[:300]}")
            elif problem := check_problem(r, 401):
                wrong.append(f"{cell} 401 but {problem}")
            elif not r.headers.get("www-authenticate", "").startswith("Bearer"):
                wrong.append(f"{cell} 401 without WWW-Authenticate: Bearer")
    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)
