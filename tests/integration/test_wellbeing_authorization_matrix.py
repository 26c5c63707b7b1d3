"""Who may do what, where, in the wellbeing service: every route × every role × in/out of
scope, over real HTTP, Kafka and PostgreSQL.

The expected answers are written out below as a matrix — an independent statement of the rules
of issue 10 ("Access") and of the fixed API of the wellbeing service, never recomputed from
``tongxin_wellbeing.application.policy``. One wellbeing service (with the registry feeding its
roster) serves the whole module, over a demo roster of 2 schools × 2 classes × 4 students; a
campaign, consents, a screening, two listings (three sign-offs each), a pending proposal, a
plan with a review and two crisis referrals to hospital H are made first, as the people who
would make them. Each cell is then checked for its status; 403s for a problem+json body naming
the rule; 404s for being exactly the answer for something that does not exist; 2xx for staying
inside the caller's scope (no student of elsewhere, no score, answer or reason in what a head
teacher or an aggregate reader sees). Every allowed read of a student's record is in the access
log, and no refused one. Every wrong cell is collected and reported at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support.matrix import (
    CLASS,
    DISTRICT,
    PLACES,
    SCHOOL,
    Caller,
    Endpoint,
    Where,
    assert_every_role_and_route_once,
    parse_matrix,
    staff_subject,
    token_of,
    where_of,
)
from tests.support.matrix_run import assert_no_wrong, other_district_entries, run_matrix
from tests.support.service_world import StackKit, stack_kit_fixture
from tests.support.wellbeing_school import (
    Seeded,
    Wellbeing,
    consent_of,
    seed_class,
    wellbeing_stack,
)
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc
from tongxin_wellbeing.domain.calendar import china_date, school_year_of

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=4)
TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)
MONTH = f"{TODAY:%Y-%m}"

HOSPITAL, OTHER_HOSPITAL = "hosp-330106-01", "hosp-330106-02"

# The token a caller of each level holds: (inside, outside), the places' (tests.support.matrix:
# students of class 330106001-01) and, for a hospital, hospital H (their referrals go to H) and
# another hospital of the same district (hospitals are told apart by their org, not by place).
LEVELS: dict[str, tuple[Where, Where | None]] = {
    **PLACES,
    "hospital": ((DISTRICT, None, None, HOSPITAL), (DISTRICT, None, None, OTHER_HOSPITAL)),
}


# Columns, in the order they run (reads first, then commands, each on its own record):
# A, B, C, E are the students of 330106001-01: A consented, screened, listed (plan reviewed),
# referred (R1); C listed (for the removal), referred (R2, acknowledged and resolved by the
# matrix); E proposed (the sign-offs of the matrix list E); B nothing (the matrix proposes B).

ENDPOINTS = (
    Endpoint("tmS", "GET", "/schools/{school_id}/team", "team.read"),
    Endpoint("tmD", "GET", "/districts/{district}/team-gaps", "team.read", aggregate=True),
    Endpoint("inR", "GET", "/districts/{district}/instruments", "instrument.read"),
    Endpoint(
        "cov",
        "GET",
        "/schools/{school_id}/campaigns/{school_year}/coverage",
        "coverage.read",
        aggregate=True,
    ),
    Endpoint(
        "cvD", "GET", "/districts/{district}/screening-coverage", "coverage.read", aggregate=True
    ),
    Endpoint("scR", "GET", "/students/{student_ref}/screenings", "record.read", logged=True),
    Endpoint("atS", "GET", "/schools/{school_id}/attention", "attention.read", logged=True),
    Endpoint("atC", "GET", "/classes/{class_id}/attention", "attention.read_class", logged=True),
    Endpoint(
        "acS", "GET", "/schools/{school_id}/attention/count", "attention.count", aggregate=True
    ),
    Endpoint(
        "acD", "GET", "/districts/{district}/attention/counts", "attention.count", aggregate=True
    ),
    Endpoint("pln", "GET", "/students/{student_ref}/plan", "record.read", logged=True),
    Endpoint("ovd", "GET", "/schools/{school_id}/plans/overdue", "plan.manage"),
    Endpoint("rfR", "GET", "/referrals/{referral_id}", "referral.read", logged=True),
    Endpoint("hsp", "GET", "/hospitals/{hospital_id}/referrals", "referral.read"),
    Endpoint(
        "sla", "GET", "/districts/{district}/referral-sla", "referral.sla_read", aggregate=True
    ),
    Endpoint("trS", "GET", "/schools/{school_id}/training", "training.read", aggregate=True),
    Endpoint("trD", "GET", "/districts/{district}/training", "training.read", aggregate=True),
    Endpoint("ntf", "GET", "/notifications", "notifications.read"),
    Endpoint("inb", "GET", "/message-inbox", "message_inbox.read"),
    Endpoint("log", "GET", "/access-log", "access_log.read"),
    Endpoint("inD", "POST", "/districts/{district}/instruments", "instrument.define"),
    # the school's campaign of the year is open already (one a year): refused after the role
    Endpoint("cmp", "POST", "/schools/{school_id}/campaigns", "campaign.manage", refusable=True),
    Endpoint(
        "off", "POST", "/schools/{school_id}/campaigns/{school_year}/offers", "campaign.manage"
    ),
    Endpoint("cns", "POST", "/students/{student_ref}/consents", "consent.record"),
    Endpoint("scr", "POST", "/students/{student_ref}/screenings", "screening.record"),
    Endpoint(
        "pro",
        "POST",
        "/students/{student_ref}/attention/proposals",
        "attention.propose",
        once=True,
    ),
    Endpoint(
        "sgn",
        "POST",
        "/students/{student_ref}/attention/proposals/{proposal_id}/sign-offs",
        "attention.sign_off",
    ),
    Endpoint(
        "rem", "POST", "/students/{student_ref}/attention/removal", "attention.remove", once=True
    ),
    # this month's review was recorded in the setup (one a month): refused after the role
    Endpoint("rev", "POST", "/students/{student_ref}/plan/reviews", "plan.manage", refusable=True),
    Endpoint("ref", "POST", "/students/{student_ref}/referrals", "referral.make", once=True),
    Endpoint(
        "ack",
        "POST",
        "/referrals/{referral_id}/acknowledgement",
        "referral.respond",
        once=True,
    ),
    Endpoint("res", "POST", "/referrals/{referral_id}/resolution", "referral.respond", once=True),
    Endpoint("trn", "POST", "/schools/{school_id}/trainings", "training.record"),
    Endpoint("ses", "POST", "/schools/{school_id}/class-sessions", "training.record"),
    Endpoint(
        "rty",
        "POST",
        "/notifications/{notification_id}/retry",
        "notifications.retry",
        refusable=True,  # a notification delivered already is not sent again (409)
    ),
)

# Each cell: first letter with the inside token, second with the outside one.
#   Y = 2xx   R = 403, the role may not (names the action and the role)
#   S = 403, outside the caller's scope (names the action and says "scope")
#   O = 403, a hospital's own queue only (names a rule)      - = no such token
#   N = 404, exactly the answer for a record that does not exist: a student (or a referral)
#       outside the caller's scope is not told apart from a missing one; the role is checked
#       first, so R wins over N.
# The rules stated (issue 10, "Access", and the layout of the API):
# - a student's wellbeing records (screenings, plan, referral) are for the school's wellbeing
#   team (health vice-principal, school doctor, psychology teacher) and the receiving hospital:
#   hospital H received A's referral, hospital H' did not (N);
# - the attention list is formed by the head teacher, the psychology teacher and the health
#   vice-principal; the team reads and manages it; removal is for the psychology teacher and
#   the health vice-principal; anyone teaching in the school may propose;
# - a head teacher sees their own class's listed students and next steps, not scores (atC);
# - the principal sees counts of the school's list; the district (bureau officer, auditor, city
#   analyst) aggregates, SLA compliance and training coverage; a school token is too narrow for
#   a whole district's aggregates (S), whereas the district's instruments are the school's too;
# - hospitals see aggregates of screening coverage, SLA figures and their own queue (O: the
#   queue is the hospital's own, not the school's);
# - police, civil affairs, women's federation, community workers, committees: nothing;
# - training is recorded by the principal, middle leaders, the psychology teacher and the
#   health vice-principal, and read by them, the team and the district;
# - operators and auditors see the kit's notifications of their district; only operators read
#   the development inbox (messages to families, like visits' family inbox) and resend;
#   auditors the access log of their district.
MATRIX = (
    """
caller                       level    tmS tmD inR cov cvD scR atS atC acS acD pln ovd
principal                    school   YS  SS  RR  YS  SS  RR  RR  RR  YS  SS  RR  RR
middle_leader                school   YS  SS  RR  YS  SS  RR  RR  RR  RR  RR  RR  RR
head_teacher                 class    RR  RR  RR  RR  RR  RR  RR  YS  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   YS  SS  YY  YS  SS  YN  YS  RR  RR  RR  YN  YS
health_vp                    school   YS  SS  YY  YS  SS  YN  YS  RR  RR  RR  YN  YS
school_doctor                school   YS  SS  YY  YS  SS  YN  YS  RR  RR  RR  YN  YS
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district YS  YS  YS  YS  YS  RR  RR  RR  YS  YS  RR  RR
hospital                     hospital RR  RR  RR  YY  YY  YN  RR  RR  RR  RR  YN  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district YS  YS  YS  YS  YS  RR  RR  RR  YS  YS  RR  RR
city_analyst                 district YS  YS  RR  YS  YS  RR  RR  RR  YS  YS  RR  RR
auditor@school               school   YS  SS  YY  YS  SS  RR  RR  RR  YS  SS  RR  RR
bureau_officer@city          city     Y-  Y-  Y-  Y-  Y-  R-  R-  R-  Y-  Y-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     Y-  Y-  Y-  Y-  Y-  R-  R-  R-  Y-  Y-  R-  R-
city_analyst@city            city     Y-  Y-  R-  Y-  Y-  R-  R-  R-  Y-  Y-  R-  R-
""",
    """
caller                       level    rfR hsp sla trS trD ntf inb log inD cmp off cns
principal                    school   RR  RR  RR  YS  SS  RR  RR  RR  RR  RR  RR  RR
middle_leader                school   RR  RR  RR  YS  SS  RR  RR  RR  RR  RR  RR  RR
head_teacher                 class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  YN
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   YN  OO  RR  YS  SS  RR  RR  RR  RR  YS  YS  YN
health_vp                    school   YN  OO  RR  YS  SS  RR  RR  RR  RR  YS  YS  YN
school_doctor                school   YN  OO  RR  YS  SS  RR  RR  RR  RR  YS  YS  YN
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  RR  YS  YS  YS  RR  RR  RR  YS  RR  RR  RR
hospital                     hospital YN  YO  YY  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  YY  YY  RR  RR  RR  RR  RR
auditor                      district RR  RR  YS  YS  YS  YY  RR  YY  RR  RR  RR  RR
city_analyst                 district RR  RR  YS  YS  YS  RR  RR  RR  RR  RR  RR  RR
auditor@school               school   RR  RR  SS  YS  SS  SS  RR  SS  RR  RR  RR  RR
bureau_officer@city          city     R-  R-  Y-  Y-  Y-  R-  R-  R-  Y-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  Y-  Y-  R-  R-  R-  R-  R-
auditor@city                 city     R-  R-  Y-  Y-  Y-  Y-  R-  Y-  R-  R-  R-  R-
city_analyst@city            city     R-  R-  Y-  Y-  Y-  R-  R-  R-  R-  R-  R-  R-
""",
    """
caller                       level    scr pro sgn rem rev ref ack res trn ses rty
principal                    school   RR  YN  RR  RR  RR  RR  RR  RR  YS  YS  RR
middle_leader                school   RR  YN  RR  RR  RR  RR  RR  RR  YS  YS  RR
head_teacher                 class    RR  YN  YN  RR  RR  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  YN  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   YN  YN  YN  YN  YN  YN  RR  RR  YS  YS  RR
health_vp                    school   RR  YN  YN  YN  YN  YN  RR  RR  YS  YS  RR
school_doctor                school   YN  YN  RR  RR  YN  YN  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
hospital                     hospital RR  RR  RR  RR  RR  RR  YN  YN  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  YN
auditor                      district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
city_analyst                 district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor@school               school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer@city          city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  Y-
auditor@city                 city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
city_analyst@city            city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
""",
)


CALLERS = parse_matrix(MATRIX, ENDPOINTS, LEVELS, "YRSON")


# --- one wellbeing service for the module -------------------------------------------------


@dataclass
class World:
    wb: Wellbeing
    private_key: bytes
    seeded: Seeded

    @property
    def http(self) -> httpx.AsyncClient:
        return self.wb.http

    def subject(self, caller: Caller, side: str) -> str:
        """School staff act as the roster's person of their role (sign-offs and screenings are
        checked against the roster); everyone else under a name of the matrix's own."""
        where = where_of(LEVELS, caller, side)
        return staff_subject(self.wb.roster, caller, where) or f"matrix:{caller.label}:{side}"

    def token(self, caller: Caller, side: str) -> str:
        where = where_of(LEVELS, caller, side)
        return token_of(self.private_key, self.subject(caller, side), caller, where)


@pytest.fixture(scope="module")
async def world(stack_kit: StackKit) -> AsyncIterator[World]:
    async with wellbeing_stack(stack_kit, SPEC) as wb:
        seeded = await seed_class(wb, stack_kit.private_key, CLASS, HOSPITAL)
        yield World(wb, stack_kit.private_key, seeded)


# --- the cells -----------------------------------------------------------------------------


def request_for(column: str, caller: Caller, w: World) -> tuple[str, str, dict[str, Any]]:
    review = {
        "month": MONTH,
        "emotional_state": "情绪平稳。",
        "interventions": "个别辅导。",
        "next_step": "继续观察。",
    }
    instrument = {
        "instrument_id": "district-matrix",
        "title": "区自编筛查量表",
        "items": 3,
        "max_answer": 2,
        "bands": [
            {"label": "low", "low": 0, "high": 3},
            {"label": "high", "low": 4, "high": 6, "flag": "elevated"},
        ],
        "self_harm_items": [3],
    }
    exam = {"exam_from": str(TODAY - timedelta(days=7)), "exam_to": str(TODAY)}
    sign_role = (
        caller.role.value
        if caller.role.value in ("head_teacher", "psych_teacher", "health_vp")
        else "psych_teacher"
    )
    training = {
        "school_year": YEAR,
        "topic": "parent_session",
        "held_on": str(TODAY),
        "staff_refs": [],
        "parent_count": 12,
    }
    lesson = {
        "school_year": YEAR,
        "class_id": CLASS,
        "kind": "group_counselling",
        "held_on": str(TODAY),
    }
    year = {"params": {"school_year": YEAR}}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "tmS": ("GET", f"/schools/{SCHOOL}/team", {}),
        "tmD": ("GET", f"/districts/{DISTRICT}/team-gaps", {}),
        "inR": ("GET", f"/districts/{DISTRICT}/instruments", {}),
        "cov": ("GET", f"/schools/{SCHOOL}/campaigns/{YEAR}/coverage", {}),
        "cvD": ("GET", f"/districts/{DISTRICT}/screening-coverage", year),
        "scR": ("GET", f"/students/{w.seeded.a}/screenings", {}),
        "atS": ("GET", f"/schools/{SCHOOL}/attention", {}),
        "atC": ("GET", f"/classes/{CLASS}/attention", {}),
        "acS": ("GET", f"/schools/{SCHOOL}/attention/count", {}),
        "acD": ("GET", f"/districts/{DISTRICT}/attention/counts", {}),
        "pln": ("GET", f"/students/{w.seeded.a}/plan", {}),
        "ovd": ("GET", f"/schools/{SCHOOL}/plans/overdue", {}),
        "rfR": ("GET", f"/referrals/{w.seeded.referral_1}", {}),
        "hsp": ("GET", f"/hospitals/{HOSPITAL}/referrals", {}),
        "sla": ("GET", f"/districts/{DISTRICT}/referral-sla", {}),
        "trS": ("GET", f"/schools/{SCHOOL}/training", year),
        "trD": ("GET", f"/districts/{DISTRICT}/training", year),
        "ntf": ("GET", "/notifications", {}),
        "inb": ("GET", "/message-inbox", {}),
        "log": ("GET", "/access-log", {}),
        "inD": ("POST", f"/districts/{DISTRICT}/instruments", {"json": instrument}),
        "cmp": (
            "POST",
            f"/schools/{SCHOOL}/campaigns",
            {"json": {"school_year": YEAR, "instruments": ["phq9"], **exam}},
        ),
        "off": ("POST", f"/schools/{SCHOOL}/campaigns/{YEAR}/offers", {}),
        "cns": (
            "POST",
            f"/students/{w.seeded.a}/consents",
            {"json": consent_of(w.wb.roster, w.seeded.a, YEAR)},
        ),
        "scr": (
            "POST",
            f"/students/{w.seeded.a}/screenings",
            {"json": {"school_year": YEAR, "instrument_id": "phq9", "answers": [0] * 9}},
        ),
        "pro": ("POST", f"/students/{w.seeded.b}/attention/proposals", {"json": {}}),
        "sgn": (
            "POST",
            f"/students/{w.seeded.e}/attention/proposals/{w.seeded.proposal_e}/sign-offs",
            {"json": {"role": sign_role}},
        ),
        "rem": (
            "POST",
            f"/students/{w.seeded.c}/attention/removal",
            {"json": {"reason": "improved"}},
        ),
        "rev": ("POST", f"/students/{w.seeded.a}/plan/reviews", {"json": review}),
        "ref": ("POST", f"/students/{w.seeded.a}/referrals", {"json": {"hospital_id": HOSPITAL}}),
        "ack": ("POST", f"/referrals/{w.seeded.referral_2}/acknowledgement", {}),
        "res": (
            "POST",
            f"/referrals/{w.seeded.referral_2}/resolution",
            {"json": {"outcome": "treated_as_outpatient"}},
        ),
        "trn": ("POST", f"/schools/{SCHOOL}/trainings", {"json": training}),
        "ses": ("POST", f"/schools/{SCHOOL}/class-sessions", {"json": lesson}),
        "rty": ("POST", f"/notifications/{w.seeded.notification}/retry", {}),
    }
    return requests[column]


# What a 2xx must never carry, for whom: a head teacher's class view and every aggregate.
SECRETS = re.compile(r'"(answers|total|score|band|reason|note|emotional_state|interventions)"')


def students_in(text: str, w: World) -> set[str]:
    return {ref for ref in w.wb.roster.students if ref in text}


def check_ok(e: Endpoint, caller: Caller, side: str, r: httpx.Response, w: World) -> str | None:
    """What is wrong with a 2xx's body (scope and privacy), or None."""
    text = r.text
    seen = students_in(text, w)
    if e.aggregate and seen:
        return f"an aggregate names students {sorted(seen)[:3]}"
    if e.column == "atC" and SECRETS.search(text):
        return f"a head teacher's class view carries {SECRETS.search(text)}: {text[:200]}"
    _, s, c, _ = where_of(LEVELS, caller, side)
    roster = w.wb.roster
    if caller.role is Role.hospital:
        referred = {w.seeded.a, w.seeded.c}
        if seen - referred:
            return f"a hospital sees students not referred to it: {sorted(seen - referred)}"
        return None
    if e.column in ("log", "ntf", "inb"):
        return other_district_entries(where_of(LEVELS, caller, side), r)
    outside = {
        ref
        for ref in seen
        if (s is not None and roster.classes[roster.students[ref]] != s)
        or (c is not None and roster.students[ref] != c)
    }
    if outside:
        return f"names students outside the caller's scope: {sorted(outside)}"
    return None


async def test_every_role_gets_the_answer_the_matrix_states_on_every_wellbeing_route(
    world: World,
) -> None:
    w = world
    assert_every_role_and_route_once(CALLERS, ENDPOINTS)
    outcome = await run_matrix(
        w.wb.app,
        w.http,
        w.wb.pool,
        ENDPOINTS,
        CALLERS,
        setup_failures=w.seeded.failures,
        setup_actors=w.seeded.actors,
        token=w.token,
        subject=w.subject,
        request_for=lambda column, caller: request_for(column, caller, w),
        check_ok=lambda e, caller, side, r: check_ok(e, caller, side, r, w),
        reads=lambda r: True,  # every allowed read of a record is logged, even of none found
        ids=(
            w.seeded.a,
            w.seeded.b,
            w.seeded.c,
            w.seeded.e,
            w.seeded.referral_1,
            w.seeded.referral_2,
        ),
        of_record="O",
    )
    assert_no_wrong(outcome)
