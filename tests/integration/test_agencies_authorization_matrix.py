"""Who may see which view of the agencies service: every dashboard and every list × every role,
in and out of scope, over real HTTP, Kafka and PostgreSQL (the generated district of
``agencies_env``).

The expected answers are written out below as a matrix — an independent statement of the
layout's who-sees-what (DESIGN.md §1, the issue): a school's staff see their school (a head
teacher from their class), who is on the attention list only the wellbeing team, the bureau its
district's figures and schools, a hospital its own referral queue and the district's screening
coverage, the police, market regulation and the carers their own pages, committee members
(and the principal and the family-education coordinator) their committee — never recomputed
from ``tongxin_agencies.application.policy``.

Columns are families of views: every list of a family (``school.*``: every ``school.`` list but
the attention list) is called with the family's expected answers. Letters, (inside, outside):
Y 200; R 403 problem+json naming the rule (and the role); N 404 exactly like the answer for
something that does not exist; P 422 problem+json naming the parameter the caller must give
(an auditor names the carer whose page they audit); ``-`` no token on that side (a city token
has no outside).

A hospital belongs to the district of the referrals made to it: an auditor of another district
asking for hosp-330106-1's queue gets the 404 of a missing hospital, as for any record outside
the caller's scope.

Places: inside is district 330106, school 330106001, class 330106001-c1, hospital
hosp-330106-1, committee cmt-330106001, the community carer 1's pairing; outside is district
330108, school 330106002 (class 330106002-c1), hospital hosp-330106-2, a member of committee
cmt-330106002, community carer 2. Every request asks for the inside record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_pages import SAFETY_AND_COMMITTEE_LISTS
from tests.support.matrix import PROBLEM, check_problem
from tongxin_platform.auth import Role

pytestmark = pytest.mark.integration

DISTRICT, OTHER_DISTRICT = "330106", "330108"
SCHOOL, OTHER_SCHOOL = "330106001", "330106002"
CLASS, OTHER_CLASS = "330106001-c1", "330106002-c1"
HOSPITAL, OTHER_HOSPITAL = "hosp-330106-1", "hosp-330106-2"
COMMITTEE = "cmt-330106001"

# The views of each family (the fixed API of the layout).
FAMILIES: dict[str, list[str]] = {
    "school": ["/dashboards/school"],
    "school.*": [
        f"/lists/school.{k}"
        for k in (
            "students_not_visited",
            "followups_overdue",
            "classes",
            "screening",
            *SAFETY_AND_COMMITTEE_LISTS,
        )
    ],
    # school-wide lists: not a head teacher's (their token is their class's)
    "whole": ["/lists/school.reports", "/lists/school.referrals", "/lists/school.training"],
    # who visited: staff pseudonyms, never the bureau's
    "visitors": ["/lists/school.visitors"],
    "attention": ["/lists/school.attention_list"],
    "district": ["/dashboards/district"],
    "district.*": [
        f"/lists/district.{k}"
        for k in (
            "classes_coverage",
            "followups_overdue",
            "referrals",
            "reports",
            "schools",
            "screening",
            "training",
            *SAFETY_AND_COMMITTEE_LISTS,
        )
    ],
    "hospital": ["/dashboards/hospital", "/lists/health.referrals"],
    "screening": ["/dashboards/screening", "/lists/health.screening"],
    "police": [
        "/dashboards/police",
        "/lists/police.guard_shifts",
        "/lists/police.incidents",
        "/lists/police.hazards",
    ],
    "carers": ["/dashboards/carers", "/lists/carers.pairings"],
    "contacts": ["/lists/carers.contacts"],
    "market": ["/dashboards/market", "/lists/market.inspections", "/lists/market.hazards"],
    "committee": [
        "/dashboards/committee",
        "/lists/committee.seats",
        "/lists/committee.meetings",
        "/lists/committee.feedback",
    ],
}
# The rule a 403 of the family names (the attention list: the school's, or the wellbeing
# team's, whichever the caller lacks first).
RULES: dict[str, tuple[str, ...]] = {
    "school": ("school.read",),
    "school.*": ("school.read",),
    "whole": ("school.read",),
    "visitors": ("school.read", "school.visitors"),
    "attention": ("school.read", "school.attention"),
    "district": ("district.read",),
    "district.*": ("district.read",),
    "hospital": ("health.read",),
    "screening": ("health.screening",),
    "police": ("police.read",),
    "carers": ("carers.read",),
    "contacts": ("carers.read",),
    "market": ("market.read",),
    "committee": ("committee.read",),
}

MATRICES = (
    """
role                         level    school school.* whole visitors attention
principal                    school   YN     YN       YN    YN       RR
middle_leader                school   YN     YN       YN    YN       RR
head_teacher                 class    YN     YN       NN    NN       RR
subject_teacher              school   RR     RR       RR    RR       RR
psych_teacher                school   YN     YN       YN    YN       YN
health_vp                    school   YN     YN       YN    YN       YN
school_doctor                school   YN     YN       YN    YN       YN
legal_vp                     school   RR     RR       RR    RR       RR
fire_vp                      school   RR     RR       RR    RR       RR
family_education_coordinator school   YN     YN       YN    YN       RR
bureau_officer               district YN     YN       YN    RR       RR
hospital                     hospital RR     RR       RR    RR       RR
police                       district RR     RR       RR    RR       RR
civil_affairs                district RR     RR       RR    RR       RR
womens_federation            district RR     RR       RR    RR       RR
community_worker             carer    RR     RR       RR    RR       RR
market_regulation            district RR     RR       RR    RR       RR
guidance_committee           district RR     RR       RR    RR       RR
committee_member             member   RR     RR       RR    RR       RR
operator                     city     R-     R-       R-    R-       R-
auditor                      district YN     YN       YN    RR       RR
city_analyst                 city     R-     R-       R-    R-       R-
""",
    """
role                         level    district district.* hospital screening police
principal                    school   RR       RR         RR       RR        RR
middle_leader                school   RR       RR         RR       RR        RR
head_teacher                 class    RR       RR         RR       RR        RR
subject_teacher              school   RR       RR         RR       RR        RR
psych_teacher                school   RR       RR         RR       RR        RR
health_vp                    school   RR       RR         RR       RR        RR
school_doctor                school   RR       RR         RR       RR        RR
legal_vp                     school   RR       RR         RR       RR        RR
fire_vp                      school   RR       RR         RR       RR        RR
family_education_coordinator school   RR       RR         RR       RR        RR
bureau_officer               district YN       YN         RR       YN        RR
hospital                     hospital RR       RR         YN       YY        RR
police                       district RR       RR         RR       RR        YN
civil_affairs                district RR       RR         RR       RR        RR
womens_federation            district RR       RR         RR       RR        RR
community_worker             carer    RR       RR         RR       RR        RR
market_regulation            district RR       RR         RR       RR        RR
guidance_committee           district RR       RR         RR       RR        RR
committee_member             member   RR       RR         RR       RR        RR
operator                     city     R-       R-         R-       R-        R-
auditor                      district YN       YN         YN       YN        YN
city_analyst                 city     R-       R-         R-       R-        R-
""",
    """
role                         level    carers contacts market committee
principal                    school   YY     NN       RR     YN
middle_leader                school   RR     RR       RR     RR
head_teacher                 class    YY     NN       RR     RR
subject_teacher              school   RR     RR       RR     RR
psych_teacher                school   RR     RR       RR     RR
health_vp                    school   RR     RR       RR     RR
school_doctor                school   RR     RR       RR     RR
legal_vp                     school   RR     RR       RR     RR
fire_vp                      school   RR     RR       RR     RR
family_education_coordinator school   RR     RR       RR     YN
bureau_officer               district RR     RR       RR     RR
hospital                     hospital RR     RR       RR     RR
police                       district RR     RR       RR     RR
civil_affairs                district YY     NN       RR     RR
womens_federation            district YY     NN       RR     RR
community_worker             carer    YY     YN       RR     RR
market_regulation            district RR     RR       YN     RR
guidance_committee           district RR     RR       RR     RR
committee_member             member   RR     RR       RR     YN
operator                     city     R-     R-       R-     R-
auditor                      district PP     PP       YN     RR
city_analyst                 city     R-     R-       R-     R-
""",
)


@dataclass(frozen=True)
class Cell:
    role: Role
    level: str
    family: str
    side: str
    code: str


def parse() -> list[Cell]:
    tables = [[line.split() for line in m.strip().splitlines()] for m in MATRICES]
    assert len({tuple(tuple(r[:2]) for r in t) for t in tables}) == 1, "the tables' callers differ"
    header = [c for t in tables for c in t[0][2:]]
    assert header == list(FAMILIES), "matrix columns ≠ FAMILIES"
    lines = [
        [*parts[0][:2], *(c for row in parts for c in row[2:])]
        for parts in zip(*(t[1:] for t in tables), strict=True)
    ]
    cells = []
    for row in lines:
        assert len(row) == len(header) + 2, f"matrix row {row[0]}: {len(row) - 2} cells"
        role, level = Role(row[0]), row[1]
        for family, codes in zip(header, row[2:], strict=True):
            assert len(codes) == 2, (role, family, codes)
            assert set(codes) <= set("YRNP-"), (role, family, codes)
            for side, code in zip(("in", "out"), codes, strict=True):
                if code != "-":
                    cells.append(Cell(role, level, family, side, code))
    assert {c.role for c in cells} == set(Role), "a role is not in the matrix"
    return cells


def headers_of(env: AgenciesEnv, cell: Cell) -> dict[str, str]:
    """The caller's token: their place inside or outside (module docstring)."""
    world, inside = env.world, cell.side == "in"
    role = cell.role.value
    if cell.level == "class":
        school, klass = (SCHOOL, CLASS) if inside else (OTHER_SCHOOL, OTHER_CLASS)
        head = next(k.head_teacher_ref for k in world.classes if k.class_id == klass)
        return env.token(role, head, district=DISTRICT, school=school, class_id=klass)
    if cell.level == "school":
        school = SCHOOL if inside else OTHER_SCHOOL
        staff = world.staff_with(role, school)
        sub = staff[0].staff_ref if staff else f"test-{role}-{school}"
        return env.token(role, sub, district=DISTRICT, school=school)
    if cell.level == "hospital":
        org = HOSPITAL if inside else OTHER_HOSPITAL
        return env.token(role, f"oncall-{org}", district=DISTRICT, org=org)
    if cell.level == "carer":
        number = 1 if inside else 2
        return env.token(role, f"carer-{DISTRICT}-community-{number}", district=DISTRICT)
    if cell.level == "member":
        committee = COMMITTEE if inside else f"cmt-{OTHER_SCHOOL}"
        member = next(m for m in world.members if m.committee_id == committee and m.current)
        return env.token(role, member.guardian_ref, district=DISTRICT, school=member.school_id)
    if cell.level == "city":
        return env.token(role, f"test-{role}", district=None)
    district = DISTRICT if inside else OTHER_DISTRICT
    carer = next((c for c in world.carers if c.role == role and c.district == district), None)
    sub = carer.carer_ref if carer else f"{role}-{district}-1"
    return env.token(role, sub, district=district)


def params_of(env: AgenciesEnv, family: str) -> dict[str, str]:
    """The inside record each family's views are asked for."""
    if family in ("school", "school.*", "whole", "visitors", "attention"):
        return {"school_id": SCHOOL}
    if family == "hospital":
        return {"hospital_id": HOSPITAL}
    if family == "contacts":
        pairing = next(
            p for p in env.world.pairings if p.carer_ref == f"carer-{DISTRICT}-community-1"
        )
        return {"pairing_id": pairing.pairing_id}
    if family == "carers":
        return {}
    if family == "committee":
        return {"committee_id": COMMITTEE}
    return {"district": DISTRICT}


def missing(params: dict[str, str]) -> dict[str, str]:
    """The same request naming records that do not exist."""
    made = {}
    for k, v in params.items():
        made[k] = "999999" if k == "district" else f"zz{uuid.uuid4().hex[:12]}"
        assert v
    return made


async def check(env: AgenciesEnv, cell: Cell, path: str) -> str | None:
    headers = headers_of(env, cell)
    params = params_of(env, cell.family)
    r = await env.http.get(path, params=params, headers=headers)
    if cell.code == "Y":
        if r.status_code != 200:
            return f"{r.status_code}, expected 200: {r.text[:160]}"
        return None
    if cell.code == "R":
        if r.status_code != 403:
            return f"{r.status_code}, expected 403: {r.text[:160]}"
        if wrong := check_problem(r, 403):
            return wrong
        body = r.json()
        if body.get("rule") not in RULES[cell.family]:
            return f"names rule {body.get('rule')!r}, expected one of {RULES[cell.family]}"
        return None
    if cell.code == "P":
        if r.status_code != 422:
            return f"{r.status_code}, expected 422: {r.text[:160]}"
        if wrong := check_problem(r, 422):
            return wrong
        return None if r.json().get("field") else f"names no field: {r.json()}"
    # N: a 404, exactly as for records that do not exist
    if r.status_code != 404:
        return f"{r.status_code}, expected 404: {r.text[:160]}"
    if r.headers.get("content-type") != PROBLEM:
        return f"a 404 that is not a problem: {r.headers.get('content-type')}"
    if params:
        absent = await env.http.get(path, params=missing(params), headers=headers)
        if (absent.status_code, absent.json()) != (404, r.json()):
            return f"{r.json()} ≠ for a missing one {absent.status_code} {absent.json()}"
    return None


async def test_every_view_answers_every_role_in_and_out_of_scope_as_the_matrix_says(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    wrong: list[str] = []
    checked = 0
    for cell in parse():
        for path in FAMILIES[cell.family]:
            checked += 1
            try:
                problem = await check(env, cell, path)
            except (httpx.HTTPError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                wrong.append(
                    f"{cell.code} {path} as {cell.role}@{cell.level}/{cell.side}: {problem}"
                )
    print(f"{checked} cells checked")
    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)
