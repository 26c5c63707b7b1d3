"""The machinery of the HTTP authorization matrices: one literal table per service, this reads it.

Each matrix test states who may do what, where, as literal tables (a row per caller, a column
per endpoint, a two-letter cell: the answer with the caller's token inside the records the
matrix touches, then with the neighbour's token outside). What does not depend on the service
lives here: joining the tables side by side into callers, the tokens of each level, the checks
of one cell (a problem+json body, a 403 naming its rule and why, a 404 that is exactly the
answer for a record that does not exist); the run over every cell is tests/support/matrix_run.py.
The tables, the endpoints, the requests and what a 2xx may show stay in each test: they are the
independent expectations.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from fastapi import FastAPI

from tongxin_platform.auth import Principal, Role, mint

PROBLEM = "application/problem+json"
# Probes, scrapes and the messaging document: no token, and nothing about anyone in them.
PUBLIC = {"/health", "/ready", "/metrics", "/asyncapi"}

DISTRICT, OTHER_DISTRICT = "330106", "330108"
SCHOOL, OTHER_SCHOOL = "330106001", "330106002"
CLASS, OTHER_CLASS = "330106001-01", "330106001-02"

Where = tuple[str | None, str | None, str | None, str | None]  # district, school, class, org
Request = tuple[str, str, dict[str, Any]]  # method, path, the keywords of httpx's request

# The token a caller of each place-bound level holds: (inside, outside). "Inside" contains every
# record the matrices touch (class 330106001-01 and its school and district); "outside" is the
# neighbour at the same level: another class, school or district. A service whose callers are
# told apart by their organisation (hospitals, carers) adds its own level to these.
PLACES: dict[str, tuple[Where, Where | None]] = {
    "class": ((DISTRICT, SCHOOL, CLASS, None), (DISTRICT, SCHOOL, OTHER_CLASS, None)),
    "school": ((DISTRICT, SCHOOL, None, None), (DISTRICT, OTHER_SCHOOL, None, None)),
    "district": ((DISTRICT, None, None, None), (OTHER_DISTRICT, None, None, None)),
    "city": ((None, None, None, None), None),  # a city token contains everything: no outside
}


@dataclass(frozen=True)
class Endpoint:
    column: str
    method: str
    route: str  # the OpenAPI path template
    rule: str  # the action a 403 must name
    # for an include_personal read: the column of the same plain read (the registry's matrix
    # names it fifth, positionally; the flags below are named)
    plain: str | None = None
    logged: bool = False  # a read of a person's record: in the access log
    once: bool = False  # a command that changes its record once: the later allowed cells are
    #                     authorised, then refused by a rule (a problem naming it) or repeat
    aggregate: bool = False  # counts only: no student_ref may appear in a 2xx
    refusable: bool = False  # every allowed cell may be refused by a rule (a problem naming it)


@dataclass(frozen=True)
class Caller:
    label: str  # the role, or role@level for a role held at another level than its usual one
    role: Role
    level: str
    cells: dict[str, str]  # column → two-letter code


# The kit's routes every service serves, as a matrix's last four columns.
KIT_ENDPOINTS = (
    Endpoint("ntf", "GET", "/notifications", "notifications.read"),
    Endpoint("inb", "GET", "/message-inbox", "message_inbox.read"),
    Endpoint("log", "GET", "/access-log", "access_log.read"),
    Endpoint("rty", "POST", "/notifications/{notification_id}/retry", "notifications.retry"),
)


def kit_requests(notification: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """The requests of ``KIT_ENDPOINTS``' columns (a retry of ``notification``)."""
    return {
        "ntf": ("GET", "/notifications", {}),
        "inb": ("GET", "/message-inbox", {}),
        "log": ("GET", "/access-log", {}),
        "rty": ("POST", f"/notifications/{notification}/retry", {}),
    }


def parse_matrix(
    tables: Sequence[str], endpoints: Sequence[Endpoint], levels: Collection[str], letters: str
) -> list[Caller]:
    """The tables side by side: one row per caller (the same callers, at the same levels, in
    the same order in every table), the columns of every table in order, which must be the
    endpoints' columns; every cell two of ``letters``."""
    parsed = [[line.split() for line in text.strip().splitlines()] for text in tables]
    who = {tuple(tuple(row[:2]) for row in rows[1:]) for rows in parsed}
    assert len(who) == 1, "the matrices' callers differ"
    columns = [c for rows in parsed for c in rows[0][2:]]
    assert columns == [e.column for e in endpoints], "matrix columns ≠ ENDPOINTS"
    callers = []
    for parts in zip(*(rows[1:] for rows in parsed), strict=True):
        for row, rows in zip(parts, parsed, strict=True):
            assert len(row) == len(rows[0]), f"matrix row {row[0]}: {len(row) - 2} cells"
        label, level = parts[0][:2]
        codes = [c for row in parts for c in row[2:]]
        assert level in levels, f"matrix row {label}: unknown level {level}"
        allowed = set(letters + "-")
        assert all(len(c) == 2 and set(c) <= allowed for c in codes), f"{label}: {codes}"
        callers.append(
            Caller(label, Role(label.split("@")[0]), level, dict(zip(columns, codes, strict=True)))
        )
    return callers


def assert_every_role_and_route_once(
    callers: Sequence[Caller], endpoints: Sequence[Endpoint]
) -> None:
    assert {c.role for c in callers} == set(Role), "a role is not in the matrix"
    assert len({e.column for e in endpoints}) == len(endpoints), "a column stands twice"


def where_of(levels: dict[str, tuple[Where, Where | None]], caller: Caller, side: str) -> Where:
    inside, outside = levels[caller.level]
    where = inside if side == "in" else outside
    assert where is not None, f"{caller.label} has no token {side}side"
    return where


def token_of(private_key: bytes, subject: str, caller: Caller, where: Where) -> str:
    d, s, c, org = where
    return mint(private_key, Principal(subject, caller.role, d, s, c, org=org), ttl=3600)


class StaffRoster(Protocol):  # the rosters of tests/support/{wellbeing,safety}_school.py
    def one(self, role: str, school_id: str) -> str: ...
    def head_of(self, class_id: str) -> str: ...


def staff_subject(roster: StaffRoster, caller: Caller, where: Where) -> str | None:
    """The roster's person a school caller acts as (sign-offs, screenings and carers are
    checked against the roster): a class token as its class's head teacher, a school token as
    the school's person of its role; None when the roster has nobody (or ``role@school``)."""
    try:
        if caller.level == "class":
            return roster.head_of(where[2] or "")
        if caller.level == "school" and "@" not in caller.label:
            return roster.one(caller.role.value, where[1] or "")
    except StopIteration:
        pass
    return None


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every route that needs a token."""
    return {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if path not in PUBLIC
    }


def route_gaps(app: FastAPI, endpoints: Sequence[Endpoint]) -> list[str]:
    routes = served_routes(app)
    stated = {(e.method, e.route) for e in endpoints}
    wrong = []
    if routes - stated:
        wrong.append(f"routes served but not in the matrix: {sorted(routes - stated)}")
    if stated - routes:
        wrong.append(f"routes of the matrix not served: {sorted(stated - routes)}")
    return wrong


def other_schools_seen(path: str, where: Where, schools: Collection[str], text: str) -> str | None:
    """What is wrong with a school token's answer on a district's route: other schools in it."""
    school = where[1]
    if not path.startswith("/districts/") or school is None:
        return None
    others = {x for x in schools if x != school and x in text}
    return f"a school's token sees other schools {sorted(others)}: {text[:200]}" if others else None


def cells_of(callers: Sequence[Caller], column: str) -> list[tuple[Caller, str, str]]:
    """(caller, side, letter) of a column's cells that have a token, refusals first: they must
    change nothing, so the allowed commands after them meet the records as they were set up."""
    cells = [
        (caller, side, code)
        for caller in callers
        for side, code in zip(("in", "out"), caller.cells[column], strict=True)
        if code != "-"
    ]
    cells.sort(key=lambda cell: cell[2] == "Y")
    return cells


def check_problem(r: httpx.Response, status: int) -> str | None:
    if r.headers.get("content-type") != PROBLEM:
        return f"content-type {r.headers.get('content-type')!r}, not {PROBLEM}"
    body = r.json()
    if body.get("status") != status or not body.get("title") or not body.get("detail"):
        return f"not a problem body: {body}"
    return None


def check_refusal(
    rule: str, caller: Caller, code: str, r: httpx.Response, *, of_record: str = ""
) -> str | None:
    """What is wrong with a 403 (``code`` R: names ``rule`` and the role; S: ``rule`` and the
    scope; a letter of ``of_record``: a rule of the record, whichever), or None."""
    if wrong := check_problem(r, 403):
        return wrong
    body = r.json()
    if code in of_record:
        return None if body.get("rule") else f"no rule named: {body}"
    if body.get("rule") != rule or rule not in body["detail"]:
        return f"names rule {body.get('rule')!r} ({body['detail']!r}), expected {rule!r}"
    if code == "R" and caller.role.value not in body["detail"]:
        return f"a role refusal that does not name the role: {body['detail']!r}"
    if code == "S" and "scope" not in body["detail"]:
        return f"a scope refusal that does not say so: {body['detail']!r}"
    return None


def refused_by_the_rules(r: httpx.Response) -> bool:
    """A domain refusal of an authorised caller: 404/409/422 problem+json naming its rule (a
    request-validation 422 names none; a "like missing" 404 names none)."""
    if r.status_code not in (404, 409, 422) or r.headers.get("content-type") != PROBLEM:
        return False
    return bool(r.json().get("rule"))


async def check_like_missing(
    http: httpx.AsyncClient,
    r: httpx.Response,
    request: Request,
    token: str,
    ids: Collection[str],
    *,
    prefix: str = "zz",
) -> str | None:
    """What differs between ``r`` and the answer to the same request (same token) naming, for
    each of ``ids`` in its path, one that does not exist (``prefix`` and random hex), or None."""
    method, path, kwargs = request
    kwargs = dict(kwargs)
    real = [x for x in ids if x in path]
    missing_path = path
    for x in real:
        missing_path = missing_path.replace(x, f"{prefix}{uuid.uuid4().hex[:16]}")
    headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
    missing = await http.request(method, missing_path, headers=headers, **kwargs)
    seen = (r.status_code, r.headers.get("content-type"), r.json())
    same = (missing.status_code, missing.headers.get("content-type"), missing.json())
    if seen != same:
        return f"{seen} ≠ for a missing one {same}"
    if any(x in r.text for x in real):
        return f"echoes the id: {r.text}"
    return None
