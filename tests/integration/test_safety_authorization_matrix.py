"""Who may do what, where, in the safety service: every route × every role × in/out of scope,
over real HTTP, Kafka and PostgreSQL.

The expected answers are written out below as a matrix — an independent statement of the rules
of issue 11 ("Access") and of the fixed API of the safety service, never recomputed from
``tongxin_safety.application.policy``. One safety service (with the registry feeding its
roster) serves the whole module, over a demo roster of 2 schools × 2 classes × 6 students; care
files with their four carers, a concern, a guard post with two shifts, a fire-safety contact,
the legal vice-principal, an incident whose report is mandatory and a referral to the guidance
committee are made first, as the people who would make them (``seed_safety_term``). Each cell is
then checked for its status; 403s for a problem+json body naming the rule; 404s for being
exactly the answer for something that does not exist; 2xx for staying inside the caller's scope
(no child of elsewhere, no child at all in an aggregate, market regulation seeing its shop
kinds only, a carer only the children paired to their organisation). Every allowed read of a
child's file, an incident or a guidance referral is in the access log, and no refused one.
Every wrong cell is collected and reported at once.
"""

from __future__ import annotations

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
    other_schools_seen,
    parse_matrix,
    staff_subject,
    token_of,
)
from tests.support.matrix import where_of as where_in
from tests.support.matrix_run import assert_no_wrong, other_district_entries, run_matrix
from tests.support.safety_school import (
    CARER_ROLES,
    ORGS,
    SafetySchool,
    Seeded,
    carer_ref_of,
    safety_stack,
    seed_safety_term,
)
from tests.support.service_world import StackKit, stack_kit_fixture
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc
from tongxin_safety.domain.calendar import china_date, school_year_of

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=6)
NOW = now_utc()
TODAY = china_date(NOW)
YEAR = school_year_of(TODAY)

SHOP_KINDS = {"food_shops", "stationery_shops"}

# The token a caller of each level holds: (inside, outside), the places' (tests.support.matrix:
# children of class 330106001-01, their files paired to the carers' "a" organisations) and, for
# a carer, another organisation of the same kind in the same district (carers are told apart by
# the organisation they serve in, not by place). A carer's org is their kind's (``where_of``).
LEVELS: dict[str, tuple[Where, Where | None]] = {
    **PLACES,
    "carer": ((DISTRICT, None, None, "in"), (DISTRICT, None, None, "out")),
}
KIND_OF = {role: kind for kind, role in CARER_ROLES.items()}


F = "/students/{student_ref}/care-file"

ENDPOINTS = (
    # one child, one file (files)
    Endpoint("fOp", "POST", F, "file.open", refusable=True),
    Endpoint("fRd", "GET", F, "file.read", logged=True),
    Endpoint("cPr", "POST", f"{F}/pairings", "carer.pair", refusable=True),
    Endpoint("cAc", "POST", f"{F}/pairings/{{pairing_id}}/acceptance", "carer.respond", once=True),
    Endpoint("cDc", "POST", f"{F}/pairings/{{pairing_id}}/decline", "carer.respond", once=True),
    Endpoint("cRl", "POST", f"{F}/pairings/{{pairing_id}}/release", "carer.pair", once=True),
    Endpoint("rsk", "POST", f"{F}/risk", "risk.set", refusable=True),
    Endpoint("cnt", "POST", f"{F}/contacts", "contact.log", refusable=True),
    Endpoint("ntc", "POST", f"{F}/notice", "notice.record", refusable=True),
    Endpoint("pct", "POST", f"{F}/parent-contacts", "notice.record", refusable=True),
    Endpoint("cRs", "POST", f"{F}/concerns", "concern.raise", refusable=True),
    Endpoint("cAs", "POST", f"{F}/concerns/{{concern_id}}/assessment", "concern.assess", once=True),
    Endpoint("cls", "POST", f"{F}/closure", "file.close", once=True),
    Endpoint("ldg", "GET", "/schools/{school_id}/care-ledger", "ledger.read"),
    Endpoint("cfg", "GET", "/districts/{district}/care-figures", "ledger.figures", aggregate=True),
    Endpoint("my", "GET", "/carers/me/files", "carer.files"),
    Endpoint("gRf", "POST", "/students/{student_ref}/guidance-referrals", "guidance.refer"),
    # guard posts and vice-principals (guard)
    Endpoint("gpC", "POST", "/schools/{school_id}/guard-posts", "guard.manage"),
    Endpoint("gpR", "GET", "/schools/{school_id}/guard-posts", "guard.read"),
    Endpoint("gsC", "POST", "/guard-posts/{post_id}/shifts", "guard.manage", refusable=True),
    Endpoint("gsD", "POST", "/guard-shifts/{shift_id}/completion", "guard.record", once=True),
    Endpoint("gsM", "POST", "/guard-shifts/{shift_id}/miss", "guard.record", once=True),
    Endpoint("gsR", "GET", "/schools/{school_id}/guard-shifts", "guard.read"),
    Endpoint("gfD", "GET", "/districts/{district}/guard-figures", "guard.figures", aggregate=True),
    Endpoint("vpA", "POST", "/schools/{school_id}/vice-principals", "vp.manage", refusable=True),
    Endpoint("law", "POST", "/schools/{school_id}/law-lessons", "lesson.record", refusable=True),
    Endpoint(
        "fcN", "POST", "/schools/{school_id}/fire-safety-contacts", "vp.manage", refusable=True
    ),
    Endpoint(
        "fcW",
        "POST",
        "/schools/{school_id}/fire-safety-contacts/{staff_ref}/withdrawal",
        "vp.manage",
        once=True,
    ),
    Endpoint("vpR", "GET", "/schools/{school_id}/vice-principals", "vp.read"),
    Endpoint(
        "vpF",
        "GET",
        "/districts/{district}/vice-principal-figures",
        "vp.figures",
        aggregate=True,
    ),
    # inspections and hazards (inspections); inK: a fire inspection, whoever records it
    Endpoint("inC", "POST", "/schools/{school_id}/inspections", "inspection.record"),
    Endpoint("inK", "POST", "/schools/{school_id}/inspections", "inspection.record"),
    Endpoint("inR", "GET", "/schools/{school_id}/inspections", "inspection.read"),
    Endpoint("hzS", "GET", "/schools/{school_id}/hazards", "inspection.read"),
    Endpoint("hzO", "GET", "/districts/{district}/hazards/overdue", "inspection.read"),
    Endpoint(
        "hzF", "GET", "/districts/{district}/hazard-figures", "hazard.figures", aggregate=True
    ),
    # incidents, the mandatory report, the guidance committee (incidents)
    Endpoint("icC", "POST", "/schools/{school_id}/incidents", "incident.report"),
    Endpoint("icR", "GET", "/incidents/{incident_id}", "incident.read", logged=True),
    Endpoint("icS", "GET", "/schools/{school_id}/incidents", "incident.read", logged=True),
    Endpoint("mrF", "POST", "/incidents/{incident_id}/mandatory-report", "report.file", once=True),
    Endpoint(
        "mrD",
        "GET",
        "/districts/{district}/mandatory-report-figures",
        "incident.figures",
        aggregate=True,
    ),
    Endpoint(
        "gDc", "POST", "/guidance-referrals/{referral_id}/decision", "guidance.decide", once=True
    ),
    Endpoint(
        "gRd", "GET", "/districts/{district}/guidance-referrals", "guidance.read", logged=True
    ),
    # the kit's
    Endpoint("ntf", "GET", "/notifications", "notifications.read"),
    Endpoint("inb", "GET", "/message-inbox", "message_inbox.read"),
    Endpoint("log", "GET", "/access-log", "access_log.read"),
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
#   F = 403 naming a rule of the record: a kind of inspection the caller's agency may not record
#       (or, outside, the scope: which of the two the route checks first is its own business);
#       a pairing that is not the caller's own to accept or decline
#   N = 404, exactly the answer for a record that does not exist: a child (or a guard post or
#       shift, an incident, a guidance referral, a notification) outside the caller's scope is
#       not told apart from a missing one; the role is checked first, so R wins over N
#   - = no such token
# The rules stated (issue 11, "Access", and the layout of the API):
# - a child's file is for the school's leaders and the child's head teacher (open, set the risk,
#   the parents' notice and contacts) and for the carers paired with the child: a teacher of
#   the child's class, and community, civil-affairs and women's-federation carers by their
#   organisation — a carer of organisation A gets 404 on a child paired only to organisation B;
#   carers respond to their own pairings only (a leader may be a school carer, but answers
#   nobody else's pairing: F), log contacts (a leader on a carer's behalf too) and raise
#   concerns; pairing, releasing, assessing a concern and closing are the leaders'; reads are
#   logged;
# - the ledger (rows per child, no names) is the school's leaders', the bureau's and the
#   auditor's; the district's figures (care, guard, vice-principals, hazards, mandatory
#   reports) and lists (overdue hazards, guidance referrals) answer a school's token with its
#   own school only; a carer's own list is for teachers and carers;
# - anyone of the school who learns of an incident records it and files the mandatory report
#   (MPL art. 11: the duty is everyone's), a head teacher of another class too;
# - the police manage and record guard posts and shifts, see incidents, reports, hazards and
#   guidance referrals, and refer minors to the guidance committee; never a care file;
# - market regulation records and reads its shop inspections (food, stationery): another kind
#   is a 403 naming the rule; the police record order-and-traffic inspections;
# - the legal vice-principal records law lessons; both vice-principals read the school's
#   vice-principals; the fire vice-principal reads inspections;
# - the guidance committee decides on referrals of its district and reads them;
# - the district (bureau officer, auditor) sees every school; the city analyst aggregates only;
# - wellbeing's people (psychology teacher, health vice-principal, school doctor), hospitals,
#   committee members, the family-education coordinator: nothing;
# - operators and auditors see the kit's notifications of their district; only operators read
#   the development inbox and resend; auditors the access log of their district.
MATRIX = (
    """
caller                       level    fOp fRd cPr cAc cDc cRl rsk cnt ntc pct cRs cAs
principal                    school   YN  YN  YN  FN  FN  YN  YN  YN  YN  YN  YN  YN
middle_leader                school   YN  YN  YN  FN  FN  YN  YN  YN  YN  YN  YN  YN
head_teacher                 class    YN  YN  RR  YN  YN  RR  YN  YN  YN  YN  YN  RR
subject_teacher              class    RR  YN  RR  YN  YN  RR  RR  YN  RR  RR  YN  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                carer    RR  YN  RR  YN  YN  RR  RR  YN  RR  RR  YN  RR
womens_federation            carer    RR  YN  RR  YN  YN  RR  RR  YN  RR  RR  YN  RR
community_worker             carer    RR  YN  RR  YN  YN  RR  RR  YN  RR  RR  YN  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
city_analyst                 district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor@school               school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer@city          city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
city_analyst@city            city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
""",
    """
caller                       level    cls ldg cfg my  gRf gpC gpR gsC gsD gsM gsR gfD
principal                    school   YN  YS  YY  RR  YN  YS  YS  YN  YN  YN  YS  YY
middle_leader                school   YN  YS  YY  RR  YN  YS  YS  YN  YN  YN  YS  YY
head_teacher                 class    RR  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  YS  YS  RR  YN  RR  YS  RR  RR  RR  YS  YS
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  YN  YS  YS  YN  YN  YN  YS  YS
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                carer    RR  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            carer    RR  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             carer    RR  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district RR  YS  YS  RR  RR  RR  YS  RR  RR  RR  YS  YS
city_analyst                 district RR  RR  YS  RR  RR  RR  RR  RR  RR  RR  RR  YS
auditor@school               school   RR  YS  YY  RR  RR  RR  YS  RR  RR  RR  YS  YY
bureau_officer@city          city     R-  Y-  Y-  R-  Y-  R-  Y-  R-  R-  R-  Y-  Y-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     R-  Y-  Y-  R-  R-  R-  Y-  R-  R-  R-  Y-  Y-
city_analyst@city            city     R-  R-  Y-  R-  R-  R-  R-  R-  R-  R-  R-  Y-
""",
    """
caller                       level    vpA law fcN fcW vpR vpF inC inK inR hzS hzO hzF
principal                    school   YS  YS  YS  YS  YS  YY  YS  YS  YS  YS  YY  YY
middle_leader                school   YS  YS  YS  YS  YS  YY  YS  YS  YS  YS  YY  YY
head_teacher                 class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  YS  RR  RR  YS  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  YS  RR  RR  RR  YS  YS  YY  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district YS  RR  YS  YS  YS  YS  YS  YS  YS  YS  YS  YS
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  YS  YS  YS  FF  YS  YS  YS  YS
market_regulation            district RR  RR  RR  RR  RR  RR  YS  FF  YS  YS  YS  YS
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district RR  RR  RR  RR  YS  YS  RR  RR  YS  YS  YS  YS
city_analyst                 district RR  RR  RR  RR  RR  YS  RR  RR  RR  RR  RR  YS
auditor@school               school   RR  RR  RR  RR  YS  YY  RR  RR  YS  YS  YY  YY
bureau_officer@city          city     Y-  R-  Y-  Y-  Y-  Y-  Y-  Y-  Y-  Y-  Y-  Y-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     R-  R-  R-  R-  Y-  Y-  R-  R-  Y-  Y-  Y-  Y-
city_analyst@city            city     R-  R-  R-  R-  R-  Y-  R-  R-  R-  R-  R-  Y-
""",
    """
caller                       level    icC icR icS mrF mrD gDc gRd ntf inb log rty
principal                    school   YS  YN  YS  YN  YY  RR  YY  RR  RR  RR  RR
middle_leader                school   YS  YN  YS  YN  YY  RR  YY  RR  RR  RR  RR
head_teacher                 class    YY  RR  RR  YY  RR  RR  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
bureau_officer               district RR  YN  YS  RR  YS  RR  YS  RR  RR  RR  RR
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  YN  YS  RR  YS  RR  YS  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  YN  YS  RR  RR  RR  RR
civil_affairs                carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             carer    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  YY  YY  RR  YN
auditor                      district RR  YN  YS  RR  YS  RR  RR  YY  RR  YY  RR
city_analyst                 district RR  RR  RR  RR  YS  RR  RR  RR  RR  RR  RR
auditor@school               school   RR  YN  YS  RR  YY  RR  RR  SS  RR  SS  RR
bureau_officer@city          city     R-  Y-  Y-  R-  Y-  R-  Y-  R-  R-  R-  R-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  Y-  Y-  R-  Y-
auditor@city                 city     R-  Y-  Y-  R-  Y-  R-  R-  Y-  R-  Y-  R-
city_analyst@city            city     R-  R-  R-  R-  Y-  R-  R-  R-  R-  R-  R-
""",
)


CALLERS = parse_matrix(MATRIX, ENDPOINTS, LEVELS, "YRSFN")


def test_the_matrix_states_every_role_and_every_route_once() -> None:
    assert_every_role_and_route_once(CALLERS, ENDPOINTS)
    carers = [c for c in CALLERS if c.level == "carer"]
    assert {c.role for c in carers} == set(CARER_ROLES.values())


# --- one safety service for the module ----------------------------------------------------


@dataclass
class World:
    s: SafetySchool
    seeded: Seeded

    @property
    def http(self) -> httpx.AsyncClient:
        return self.s.http

    def subject(self, caller: Caller, side: str) -> str:
        """School staff act as the roster's person of their role (a head teacher as the head of
        their class, also the school carer of the seeded files); carers as the carer of their
        kind on their side; everyone else under a name of the matrix's own."""
        if caller.level == "carer":
            return carer_ref_of(KIND_OF[caller.role], side)
        staff = staff_subject(self.s.roster, caller, where_of(caller, side))
        return staff or f"matrix-{caller.label.replace('@', '-at-')}-{side}"

    def token(self, caller: Caller, side: str) -> str:
        where = where_of(caller, side)
        return token_of(self.s.private_key, self.subject(caller, side), caller, where)


def where_of(caller: Caller, side: str) -> Where:
    where = where_in(LEVELS, caller, side)
    if caller.level == "carer":
        orgs = ORGS[KIND_OF[caller.role]]
        return (where[0], None, None, orgs[0] if side == "in" else orgs[1])
    return where


@pytest.fixture(scope="module")
async def world(stack_kit: StackKit) -> AsyncIterator[World]:
    async with safety_stack(stack_kit, SPEC) as s:
        yield World(s, await seed_safety_term(s, school_id=SCHOOL, class_id=CLASS))


# --- the cells -----------------------------------------------------------------------------


def request_for(column: str, caller: Caller, w: World) -> tuple[str, str, dict[str, Any]]:
    sd = w.seeded
    kind = KIND_OF.get(caller.role, "school")
    a = f"/students/{sd.a}/care-file"

    def pairing(student: str, of_kind: str) -> str:
        return sd.pairings.get(student, {}).get(of_kind, "no-pairing")

    inspector = {
        Role.police: ("order_and_traffic", "police"),
        Role.market_regulation: ("food_shops", "market_regulation"),
    }.get(caller.role, ("fire", "fire_rescue"))

    def inspection(kind_and_inspector: tuple[str, str]) -> dict[str, Any]:
        return {
            "kind": kind_and_inspector[0],
            "inspector": kind_and_inspector[1],
            "inspected_on": str(TODAY),
            "hazards": [
                {
                    "severity": "general",
                    "owner": "school",
                    "rectify_by": str(TODAY + timedelta(days=14)),
                    "detail": "楼梯扶手松动",
                }
            ],
            "rectified": [],
        }

    period = {"params": {"from": str(TODAY - timedelta(days=30)), "to": str(TODAY)}}
    year = {"params": {"school_year": YEAR}}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "fOp": ("POST", f"/students/{sd.b}/care-file", {"json": {"care_groups": ["left_behind"]}}),
        "fRd": ("GET", a, {}),
        "cPr": (
            "POST",
            f"{a}/pairings",
            {
                "json": {
                    "kind": "community",
                    "carer_ref": "carer-community-extra",
                    "org": ORGS["community"][0],
                }
            },
        ),
        "cAc": (
            "POST",
            f"/students/{sd.c}/care-file/pairings/{pairing(sd.c, kind)}/acceptance",
            {"json": {}},
        ),
        "cDc": (
            "POST",
            f"/students/{sd.d}/care-file/pairings/{pairing(sd.d, kind)}/decline",
            {"json": {"reason": "caseload_full"}},
        ),
        "cRl": (
            "POST",
            f"/students/{sd.e}/care-file/pairings/{pairing(sd.e, 'community')}/release",
            {"json": {}},
        ),
        "rsk": ("POST", f"{a}/risk", {"json": {"level": "high", "reason": "父母均外出务工"}}),
        "cnt": (
            "POST",
            f"{a}/contacts",
            {
                "json": {
                    "pairing_id": pairing(sd.a, kind),
                    "contact_on": str(TODAY),
                    "mode": "phone",
                }
            },
        ),
        "ntc": (
            "POST",
            f"{a}/notice",
            {
                "json": {
                    "relation": "grandparent",
                    "notice_on": str(TODAY),
                    "entrusted_name": "王奶奶",
                    "entrusted_contact": "13800000000",
                }
            },
        ),
        "pct": (
            "POST",
            f"{a}/parent-contacts",
            {"json": {"contact_on": str(TODAY), "mode": "video"}},
        ),
        "cRs": ("POST", f"{a}/concerns", {"json": {"detail": "放学后常独自在家"}}),
        "cAs": (
            "POST",
            f"{a}/concerns/{sd.concern}/assessment",
            {"json": {"outcome": "monitored"}},
        ),
        "cls": (
            "POST",
            f"/students/{sd.f}/care-file/closure",
            {"json": {"reason": "no_longer_in_need"}},
        ),
        "ldg": ("GET", f"/schools/{SCHOOL}/care-ledger", {}),
        "cfg": ("GET", f"/districts/{DISTRICT}/care-figures", {}),
        "my": ("GET", "/carers/me/files", {}),
        "gRf": (
            "POST",
            f"/students/{sd.a}/guidance-referrals",
            {"json": {"misbehaviour": "theft_or_vandalism"}},
        ),
        "gpC": (
            "POST",
            f"/schools/{SCHOOL}/guard-posts",
            {"json": {"place": "crossing", "established_on": str(TODAY)}},
        ),
        "gpR": ("GET", f"/schools/{SCHOOL}/guard-posts", {}),
        "gsC": (
            "POST",
            f"/guard-posts/{sd.post}/shifts",
            {
                "json": {
                    "on": str(TODAY + timedelta(days=1)),
                    "period": "noon",
                    "guards": [{"kind": "police", "ref": "police-officer-1"}],
                }
            },
        ),
        "gsD": (
            "POST",
            f"/guard-shifts/{(sd.shifts or ['no-shift'])[0]}/completion",
            {"json": {"guards_present": ["staff"]}},
        ),
        "gsM": (
            "POST",
            f"/guard-shifts/{[*sd.shifts, 'no-shift', 'no-shift'][1]}/miss",
            {"json": {"reason": "weather"}},
        ),
        "gsR": ("GET", f"/schools/{SCHOOL}/guard-shifts", period),
        "gfD": ("GET", f"/districts/{DISTRICT}/guard-figures", period),
        "vpA": (
            "POST",
            f"/schools/{SCHOOL}/vice-principals",
            {
                "json": {
                    "post": "fire",
                    "appointee_ref": "fire-officer-1",
                    "from_org": "fire_rescue",
                    "appointed_on": str(TODAY),
                }
            },
        ),
        "law": (
            "POST",
            f"/schools/{SCHOOL}/law-lessons",
            {"json": {"school_year": YEAR, "given_on": str(TODAY), "hours": 1}},
        ),
        "fcN": (
            "POST",
            f"/schools/{SCHOOL}/fire-safety-contacts",
            {"json": {"staff_ref": w.s.roster.one("health_vp", SCHOOL)}},
        ),
        "fcW": (
            "POST",
            f"/schools/{SCHOOL}/fire-safety-contacts/{sd.fire_contact}/withdrawal",
            {"json": {}},
        ),
        "vpR": ("GET", f"/schools/{SCHOOL}/vice-principals", year),
        "vpF": ("GET", f"/districts/{DISTRICT}/vice-principal-figures", year),
        "inC": ("POST", f"/schools/{SCHOOL}/inspections", {"json": inspection(inspector)}),
        "inK": (
            "POST",
            f"/schools/{SCHOOL}/inspections",
            {"json": inspection(("fire", "fire_rescue"))},
        ),
        "inR": ("GET", f"/schools/{SCHOOL}/inspections", {}),
        "hzS": ("GET", f"/schools/{SCHOOL}/hazards", {"params": {"status": "open"}}),
        "hzO": ("GET", f"/districts/{DISTRICT}/hazards/overdue", {}),
        "hzF": ("GET", f"/districts/{DISTRICT}/hazard-figures", {}),
        "icC": (
            "POST",
            f"/schools/{SCHOOL}/incidents",
            {
                "json": {
                    "category": "bullying",
                    "student_refs": [sd.a],
                    "occurred_at": NOW.isoformat(),
                }
            },
        ),
        "icR": ("GET", f"/incidents/{sd.incident}", {}),
        "icS": ("GET", f"/schools/{SCHOOL}/incidents", {}),
        "mrF": (
            "POST",
            f"/incidents/{sd.incident}/mandatory-report",
            {"json": {"departments": ["police", "civil_affairs", "education"]}},
        ),
        "mrD": ("GET", f"/districts/{DISTRICT}/mandatory-report-figures", period),
        "gDc": (
            "POST",
            f"/guidance-referrals/{sd.guidance}/decision",
            {
                "json": {
                    "decision": "school_guidance",
                    "members_present": [
                        "political_legal",
                        "education",
                        "justice",
                        "police",
                        "psychologist",
                    ],
                }
            },
        ),
        "gRd": ("GET", f"/districts/{DISTRICT}/guidance-referrals", {}),
        "ntf": ("GET", "/notifications", {}),
        "inb": ("GET", "/message-inbox", {}),
        "log": ("GET", "/access-log", {}),
        "rty": ("POST", f"/notifications/{sd.notification}/retry", {}),
    }
    return requests[column]


def kinds_in(body: Any) -> set[str]:
    """Every inspection kind a body names (``"kind"`` fields, at any depth)."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "kind" and isinstance(value, str):
                found.add(value)
            else:
                found |= kinds_in(value)
    elif isinstance(body, list):
        for value in body:
            found |= kinds_in(value)
    return found


def students_in(text: str, w: World) -> set[str]:
    return {ref for ref in w.s.roster.students if ref in text}


def check_ok(e: Endpoint, caller: Caller, side: str, r: httpx.Response, w: World) -> str | None:
    """What is wrong with a 2xx's body (scope and privacy), or None."""
    text = r.text
    seen = students_in(text, w)
    if e.aggregate and seen:
        return f"an aggregate names children {sorted(seen)[:3]}"
    if caller.role is Role.market_regulation and e.column in ("inR", "hzS", "hzO"):
        other = kinds_in(r.json()) & {"fire", "buildings", "order_and_traffic"}
        if other:
            return f"market regulation sees inspections of kinds {sorted(other)}"
    path = request_for(e.column, caller, w)[1]
    if wrong := other_schools_seen(path, where_of(caller, side), w.s.roster.schools, text):
        return wrong
    if caller.level == "carer":
        sd = w.seeded
        paired = {sd.a, sd.c, sd.d, sd.e} if side == "in" else set()
        if seen - paired:
            return (
                f"a carer sees children not paired to their organisation: {sorted(seen - paired)}"
            )
        if e.column == "my" and side == "in" and sd.a not in seen:
            return f"a carer's own list lacks the child they care for: {text[:300]}"
        return None
    if e.column in ("log", "ntf", "inb"):
        return other_district_entries(where_of(caller, side), r)
    _, s, c, _ = where_of(caller, side)
    roster = w.s.roster
    outside = {
        ref
        for ref in seen
        if (s is not None and roster.school_of(ref) != s)
        or (c is not None and roster.students[ref] != c)
    }
    if outside:
        return f"names children outside the caller's scope: {sorted(outside)}"
    return None


async def test_every_role_gets_the_answer_the_matrix_states_on_every_safety_route(
    world: World,
) -> None:
    w = world
    sd = w.seeded
    ids = [sd.a, sd.b, sd.c, sd.d, sd.e, sd.f, sd.concern, sd.incident, sd.guidance, sd.post]
    ids += sd.shifts
    ids += [p for kinds in sd.pairings.values() for p in kinds.values()]
    outcome = await run_matrix(
        w.s.app,
        w.http,
        w.s.pool,
        ENDPOINTS,
        CALLERS,
        setup_failures=sd.failures,
        setup_actors=sd.actors,
        token=w.token,
        subject=w.subject,
        request_for=lambda column, caller: request_for(column, caller, w),
        check_ok=lambda e, caller, side, r: check_ok(e, caller, side, r, w),
        # read a child's record (an empty list reads none)
        reads=lambda r: 200 <= r.status_code < 300 and bool(students_in(r.text, w)),
        ids=ids,
        of_record="F",
        a_read_of="a child's record",
    )
    assert_no_wrong(outcome)
