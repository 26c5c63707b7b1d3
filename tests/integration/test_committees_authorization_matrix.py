"""Who may do what, where, in the committees service: every route × every role × in/out of
scope, over real HTTP, Kafka and PostgreSQL.

The expected answers are written out below as a matrix — an independent statement of issue 12's
"Access" (a committee member sees their own committee, its meetings and the feedback addressed
to it, never a student; principals and family-education coordinators manage their school; the
district sees every school's figures) and of the fixed API of the committees service, never
recomputed from ``tongxin_committees.application.policy``. One committees service (with the
registry feeding its roster, ``tests/support/committees_school.py``) serves the whole module;
what the cells touch is made first, by the people who would make it (``seed``): committee A
(the school committee of school 330106001, every class seated, the "inside" member its chair),
committee B (the class committee of class 330106001-02, the "outside" member its chair),
committee C (the class committee of class 330106001-01, nominated, not elected), the district
committee, feedback on three channels (one addressed to committee A), a joint meeting with A,
the parent school and its coordinator.

Each cell is then checked for its status; 403s for a problem+json body naming the rule; 404s
for being exactly the answer for something that does not exist (a member of committee B asking
about committee A gets that); 2xx for staying inside the caller's scope: no ``student_ref``
anywhere in any answer, no committee member ever sees another committee's id, a school's token
sees no other school. Every allowed read of a feedback item is in the access log, and no refused
one. Every wrong cell is collected and reported at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.committees_school import (
    CommitteesSchool,
    committees_stack,
)
from tests.support.committees_seed import TERM, Seeded, coordinator, parent_school, seed
from tests.support.kafka_reader import read_all
from tests.support.matrix import (
    CLASS,
    DISTRICT,
    KIT_ENDPOINTS,
    PLACES,
    SCHOOL,
    Caller,
    Endpoint,
    Where,
    assert_every_role_and_route_once,
    kit_requests,
    other_schools_seen,
    parse_matrix,
    token_of,
)
from tests.support.matrix import where_of as where_in
from tests.support.matrix_run import assert_no_wrong, other_district_entries, run_matrix
from tests.support.service_world import StackKit, stack_kit_fixture
from tongxin_committees.domain.calendar import china_date, school_year_of
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = pytest.mark.integration

TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)

# The token a caller of each level holds: (inside, outside), the places' (tests.support.matrix)
# and, for a committee member, the same school either side: inside the chair of committee A,
# outside a member of committee B only (members are told apart by their seats, not by place).
LEVELS: dict[str, tuple[Where, Where | None]] = {
    **PLACES,
    "member": ((DISTRICT, SCHOOL, None, None), (DISTRICT, SCHOOL, None, None)),
}

ENDPOINTS = (
    # committees, charters, elections
    Endpoint("cFs", "POST", "/schools/{school_id}/committees", "committee.form", refusable=True),
    Endpoint("cFd", "POST", "/districts/{district}/committees", "committee.form", refusable=True),
    Endpoint("cLs", "GET", "/schools/{school_id}/committees", "committee.read"),
    Endpoint("cLd", "GET", "/districts/{district}/committees", "committee.read"),
    Endpoint("cRd", "GET", "/committees/{committee_id}", "committee.read"),
    Endpoint("chA", "POST", "/committees/{committee_id}/charter", "charter.adopt", refusable=True),
    Endpoint(
        "cNm", "POST", "/committees/{committee_id}/candidates", "candidate.nominate", refusable=True
    ),
    Endpoint("elR", "POST", "/committees/{committee_id}/election", "election.record", once=True),
    Endpoint("byE", "POST", "/committees/{committee_id}/by-election", "election.record", once=True),
    Endpoint("rep", "GET", "/schools/{school_id}/representation", "committee.read"),
    Endpoint("mine", "GET", "/committees/mine", "committee.mine"),
    Endpoint(
        "cFg",
        "GET",
        "/districts/{district}/committee-figures",
        "committee.figures",
        aggregate=True,
    ),
    # parents' voice
    Endpoint(
        "fhS", "POST", "/schools/{school_id}/feedback-handlers", "feedback.handler", refusable=True
    ),
    Endpoint(
        "fhD", "POST", "/districts/{district}/feedback-handlers", "feedback.handler", refusable=True
    ),
    Endpoint("fhR", "GET", "/schools/{school_id}/feedback-handlers", "feedback.read"),
    Endpoint("fbR", "POST", "/schools/{school_id}/feedback", "feedback.receive", refusable=True),
    Endpoint("fAs", "POST", "/feedback/{item_id}/assignment", "feedback.assign", refusable=True),
    Endpoint("fAn", "POST", "/feedback/{item_id}/answer", "feedback.answer", once=True),
    Endpoint("fGt", "GET", "/feedback/{item_id}", "feedback.read", logged=True),
    Endpoint("fLs", "GET", "/schools/{school_id}/feedback", "feedback.read"),
    Endpoint("fCm", "GET", "/committees/{committee_id}/feedback", "feedback.read"),
    Endpoint(
        "fFg", "GET", "/districts/{district}/feedback-figures", "feedback.figures", aggregate=True
    ),
    # meetings and the parent school
    Endpoint("mtR", "POST", "/schools/{school_id}/meetings", "meeting.record", refusable=True),
    Endpoint("mtL", "GET", "/schools/{school_id}/meetings", "meeting.read"),
    Endpoint("mtC", "GET", "/committees/{committee_id}/meetings", "meeting.read"),
    Endpoint(
        "mtF", "GET", "/districts/{district}/meeting-figures", "meeting.figures", aggregate=True
    ),
    Endpoint(
        "psM", "POST", "/schools/{school_id}/parent-school", "parent_school.manage", refusable=True
    ),
    Endpoint("psR", "GET", "/schools/{school_id}/parent-school", "parent_school.read"),
    Endpoint(
        "psS",
        "POST",
        "/schools/{school_id}/parent-school/sessions",
        "session.record",
        refusable=True,
    ),
    Endpoint(
        "psA",
        "POST",
        "/schools/{school_id}/parent-school/assessment",
        "parent_school.assess",
        refusable=True,
    ),
    Endpoint(
        "coA",
        "POST",
        "/schools/{school_id}/family-education-coordinator",
        "coordinator.appoint",
        refusable=True,
    ),
    Endpoint(
        "coW",
        "POST",
        "/schools/{school_id}/family-education-coordinator/withdrawal",
        "coordinator.appoint",
        once=True,
    ),
    Endpoint(
        "psF",
        "GET",
        "/districts/{district}/parent-school-figures",
        "parent_school.figures",
        aggregate=True,
    ),
    # the kit's
    *KIT_ENDPOINTS,
    # seats given up last: the members' other cells meet committee A as it was set up
    Endpoint(
        "mRm",
        "POST",
        "/committees/{committee_id}/members/{guardian_ref}/removal",
        "member.remove",
        once=True,
    ),
    Endpoint(
        "mRs",
        "POST",
        "/committees/{committee_id}/members/{guardian_ref}/resignation",
        "member.resign",
        once=True,
    ),
)

# Each cell: first letter with the inside token, second with the outside one.
#   Y = 2xx   R = 403, the role may not (names the action and the role)
#   S = 403, outside the caller's scope (names the action and says "scope")
#   F = 403 naming a rule, whichever (the role's place or a rule of the record: a head teacher
#       on the school committee's election, a member on the school's lists, a bureau officer on
#       a school's own committee work, a teacher on an item not assigned to them)
#   N = 404, exactly the answer for a record that does not exist: a committee (its feedback,
#       its meetings, its members' seats) or an item outside the caller's scope is not told
#       apart from a missing one — a member of committee B gets it on committee A; the role is
#       checked first, so R wins over N
#   - = no such token
# The rules stated (issue 12, "Access", and the layout of the API):
# - the school's managers (principal, middle leader, family-education coordinator) form the
#   school's committees, adopt charters, nominate, record elections, by-elections and removals,
#   name channel handlers, receive, assign and answer feedback, record meetings, run the parent
#   school and its sessions; only the principal appoints or withdraws the coordinator;
# - a head teacher does their class's committee work (charter, nominations, election of the
#   class committee; a parent meeting of the class), receives feedback and answers what is
#   assigned to them, and reads the school's feedback, meetings and parent school; a committee
#   is theirs by its class (the policy's "a head teacher records their class's committee
#   work"): the school committee is outside a class token — not found, and its representation
#   a 403 of scope;
# - a committee member (role committee_member, sub = guardian_ref) sees the committees they sit
#   on (``/committees/mine``, and the school's and district's lists show them only those), their
#   committee, its feedback and meetings and, as a member of the school committee, the school's
#   representation; passes feedback on through their committee and resigns their own seat; may
#   know who handles each channel (专人管理: the handlers name no parent and no item); never
#   another committee (no answer names one) nor the school's other feedback;
# - the district committee is the district's: a school's managers may see it (no child, no
#   other school in it) but not form it (a 403 naming a rule); the district's desk is the
#   bureau's (a school's token is outside its scope);
# - a feedback item's text is for the school's managers, its handler and assignee, the bureau
#   and the auditors — not every head teacher; a subject teacher only answers and reads what is
#   assigned to them, and sees no list of the school's items;
# - the district (bureau officer) runs the bureau's mailbox and the district committee, assesses
#   parent schools, reads every school and every figure; the auditor reads; the city analyst
#   sees the figures only; a school's token sees its own school in the district's figures;
# - wellbeing's and safety's people, hospitals, the police, agencies: nothing;
# - operators and auditors: the kit's notifications of their district; only operators read the
#   development inbox and resend (no notification exists here: 404); auditors the access log.
MATRIX = (
    """
caller                       level    cFs cFd cLs cLd cRd chA cNm elR byE rep mine cFg
principal                    school   YS  FF  YS  YY  YN  YN  YN  YN  YN  YS  RR   YY
middle_leader                school   YS  FF  YS  YY  YN  YN  YN  YN  YN  YS  RR   YY
head_teacher                 class    RR  RR  YY  FF  NN  YN  YN  YN  NN  SS  RR   RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
family_education_coordinator school   YS  FF  YS  YY  YN  YN  YN  YN  YN  YS  RR   YY
bureau_officer               district FF  YS  YS  YS  YN  FN  FN  FN  FN  YS  RR   YS
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
committee_member             member   RR  RR  YY  YY  YN  RR  RR  RR  RR  YF  YY   RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   RR
auditor                      district RR  RR  YS  YS  YN  RR  RR  RR  RR  YS  RR   YS
city_analyst                 district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR   YS
auditor@school               school   RR  RR  YS  YY  YN  RR  RR  RR  RR  YS  RR   YY
bureau_officer@city          city     F-  Y-  Y-  Y-  Y-  F-  F-  F-  F-  Y-  R-   Y-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-   R-
auditor@city                 city     R-  R-  Y-  Y-  Y-  R-  R-  R-  R-  Y-  R-   Y-
city_analyst@city            city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-   Y-
""",
    """
caller                       level    fhS fhD fhR fbR fAs fAn fGt fLs fCm fFg
principal                    school   YS  SS  YS  YS  YN  YN  YN  YS  YN  YY
middle_leader                school   YS  SS  YS  YS  YN  YN  YN  YS  YN  YY
head_teacher                 class    RR  RR  YY  YY  RR  YF  FF  YY  YY  RR
subject_teacher              class    RR  RR  YY  RR  RR  FF  FF  FF  FF  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   YS  SS  YS  YS  YN  YN  YN  YS  YN  YY
bureau_officer               district FF  YS  YS  YS  YN  YN  YN  YS  YN  YS
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             member   RR  RR  YY  YN  RR  RR  YN  FF  YN  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district RR  RR  YS  RR  RR  RR  YN  YS  YN  YS
city_analyst                 district RR  RR  RR  RR  RR  RR  RR  RR  RR  YS
auditor@school               school   RR  RR  YS  RR  RR  RR  YN  YS  YN  YY
bureau_officer@city          city     F-  Y-  Y-  Y-  Y-  Y-  Y-  Y-  Y-  Y-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     R-  R-  Y-  R-  R-  R-  Y-  Y-  Y-  Y-
city_analyst@city            city     R-  R-  R-  R-  R-  R-  R-  R-  R-  Y-
""",
    """
caller                       level    mtR mtL mtC mtF psM psR psS psA coA coW psF
principal                    school   YS  YS  YN  YY  YS  YS  YS  RR  YS  YS  YY
middle_leader                school   YS  YS  YN  YY  YS  YS  YS  RR  RR  RR  YY
head_teacher                 class    YF  YY  NN  RR  RR  YY  RR  RR  RR  RR  RR
subject_teacher              class    RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
family_education_coordinator school   YS  YS  YN  YY  YS  YS  YS  RR  RR  RR  YY
bureau_officer               district RR  YS  YN  YS  RR  YS  RR  YS  RR  RR  YS
hospital                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
committee_member             member   RR  FF  YN  RR  RR  FF  RR  RR  RR  RR  RR
operator                     district RR  RR  RR  RR  RR  RR  RR  RR  RR  RR  RR
auditor                      district RR  YS  YN  YS  RR  YS  RR  RR  RR  RR  YS
city_analyst                 district RR  RR  RR  YS  RR  RR  RR  RR  RR  RR  YS
auditor@school               school   RR  YS  YN  YY  RR  YS  RR  RR  RR  RR  YY
bureau_officer@city          city     R-  Y-  Y-  Y-  R-  Y-  R-  Y-  R-  R-  Y-
operator@city                city     R-  R-  R-  R-  R-  R-  R-  R-  R-  R-  R-
auditor@city                 city     R-  Y-  Y-  Y-  R-  Y-  R-  R-  R-  R-  Y-
city_analyst@city            city     R-  R-  R-  Y-  R-  R-  R-  R-  R-  R-  Y-
""",
    """
caller                       level    ntf inb log rty mRm mRs
principal                    school   RR  RR  RR  RR  YN  YN
middle_leader                school   RR  RR  RR  RR  YN  YN
head_teacher                 class    RR  RR  RR  RR  RR  NN
subject_teacher              class    RR  RR  RR  RR  RR  RR
psych_teacher                school   RR  RR  RR  RR  RR  RR
health_vp                    school   RR  RR  RR  RR  RR  RR
school_doctor                school   RR  RR  RR  RR  RR  RR
legal_vp                     school   RR  RR  RR  RR  RR  RR
fire_vp                      school   RR  RR  RR  RR  RR  RR
family_education_coordinator school   RR  RR  RR  RR  YN  YN
bureau_officer               district RR  RR  RR  RR  FN  FN
hospital                     district RR  RR  RR  RR  RR  RR
police                       district RR  RR  RR  RR  RR  RR
market_regulation            district RR  RR  RR  RR  RR  RR
guidance_committee           district RR  RR  RR  RR  RR  RR
civil_affairs                district RR  RR  RR  RR  RR  RR
womens_federation            district RR  RR  RR  RR  RR  RR
community_worker             district RR  RR  RR  RR  RR  RR
committee_member             member   RR  RR  RR  RR  RR  YN
operator                     district YY  YY  RR  NN  RR  RR
auditor                      district YY  RR  YY  RR  RR  RR
city_analyst                 district RR  RR  RR  RR  RR  RR
auditor@school               school   SS  RR  SS  RR  RR  RR
bureau_officer@city          city     R-  R-  R-  R-  F-  F-
operator@city                city     Y-  Y-  R-  N-  R-  R-
auditor@city                 city     Y-  R-  Y-  R-  R-  R-
city_analyst@city            city     R-  R-  R-  R-  R-  R-
""",
)


CALLERS = parse_matrix(MATRIX, ENDPOINTS, LEVELS, "YRSFN")


def test_the_matrix_states_every_role_and_every_route_once() -> None:
    assert_every_role_and_route_once(CALLERS, ENDPOINTS)
    assert [c.role for c in CALLERS if c.level == "member"] == [Role.committee_member]


# --- one committees service for the module, and what the cells touch -----------------------------


@dataclass
class World:
    s: CommitteesSchool
    seeded: Seeded

    @property
    def http(self) -> httpx.AsyncClient:
        return self.s.http

    def subject(self, caller: Caller, side: str) -> str:
        """School staff act as the roster's person of their role (a class token as the head
        teacher of its class; a subject teacher under a name of the matrix's own: no item is
        theirs); a committee member as the chair of A inside, of B outside; everyone else
        under a name of the matrix's own."""
        roster = self.s.roster
        where = where_of(caller, side)
        if caller.level == "member":
            return self.seeded.member_in if side == "in" else self.seeded.member_out
        try:
            if caller.level == "class" and caller.role is Role.head_teacher:
                return roster.head_of(where[2] or "").ref
            if caller.level == "school" and "@" not in caller.label:
                return roster.one(caller.role.value, where[1] or "").ref
        except StopIteration:
            pass
        return f"matrix-{caller.label.replace('@', '-at-')}-{side}"

    def token(self, caller: Caller, side: str) -> str:
        where = where_of(caller, side)
        return token_of(self.s.private_key, self.subject(caller, side), caller, where)


def where_of(caller: Caller, side: str) -> Where:
    return where_in(LEVELS, caller, side)


@pytest.fixture(scope="module")
async def world(stack_kit: StackKit) -> AsyncIterator[World]:
    async with committees_stack(stack_kit, district_committees=frozenset({DISTRICT})) as s:
        yield World(s, await seed(s))


# --- the cells -------------------------------------------------------------------------------


def request_for(column: str, caller: Caller, w: World) -> tuple[str, str, dict[str, Any]]:
    sd, roster = w.seeded, w.s.roster
    member = caller.role is Role.committee_member
    district_desk = caller.role is Role.bureau_officer
    year = {"params": {"school_year": YEAR}}
    item = {"topic": "food", "text": "午餐偏咸", "received_on": str(TODAY)}
    if member:
        received = {**item, "channel": "committee", "committee_id": sd.a}
    elif district_desk:
        received = {**item, "channel": "bureau_mailbox"}
    else:
        received = {**item, "channel": "hotline"}
    desk_item = sd.bureau if district_desk else sd.hotline
    resigning = sd.member_in if member else sd.resigns
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "cFs": (
            "POST",
            f"/schools/{SCHOOL}/committees",
            {"json": {"level": "grade", "grade": 2, "seats": 3, **TERM}},
        ),
        "cFd": ("POST", f"/districts/{DISTRICT}/committees", {"json": {"seats": 7, **TERM}}),
        "cLs": ("GET", f"/schools/{SCHOOL}/committees", {}),
        "cLd": ("GET", f"/districts/{DISTRICT}/committees", {}),
        "cRd": ("GET", f"/committees/{sd.a}", {}),
        "chA": (
            "POST",
            f"/committees/{sd.c}/charter",
            {"json": {"articles": 12, "text": "本班家委会章程"}},
        ),
        "cNm": (
            "POST",
            f"/committees/{sd.c}/candidates",
            {
                "json": {
                    "guardian_ref": sd.c_new,
                    "name": roster.guardian(sd.c_new).name if sd.c_new else "无",
                    "class_id": CLASS,
                }
            },
        ),
        "elR": (
            "POST",
            f"/committees/{sd.c}/election",
            {
                "json": {
                    "elected_on": str(TODAY),
                    "members": [{"guardian_ref": sd.c_nominee, "role": "chair"}],
                }
            },
        ),
        "byE": (
            "POST",
            f"/committees/{sd.a}/by-election",
            {
                "json": {
                    "held_on": str(TODAY),
                    "members": [{"guardian_ref": sd.by_election, "role": "member"}],
                }
            },
        ),
        "rep": ("GET", f"/schools/{SCHOOL}/representation", {}),
        "mine": ("GET", "/committees/mine", {}),
        "cFg": ("GET", f"/districts/{DISTRICT}/committee-figures", {}),
        "fhS": (
            "POST",
            f"/schools/{SCHOOL}/feedback-handlers",
            {
                "json": {
                    "channel": "hotline",
                    "handler_ref": roster.one("middle_leader", SCHOOL).ref,
                }
            },
        ),
        "fhD": (
            "POST",
            f"/districts/{DISTRICT}/feedback-handlers",
            {"json": {"channel": "bureau_mailbox", "handler_ref": "bureau-desk-1"}},
        ),
        "fhR": ("GET", f"/schools/{SCHOOL}/feedback-handlers", {}),
        "fbR": ("POST", f"/schools/{SCHOOL}/feedback", {"json": received}),
        "fAs": (
            "POST",
            f"/feedback/{desk_item}/assignment",
            {"json": {"assignee_ref": roster.head_of(CLASS).ref}},
        ),
        "fAn": (
            "POST",
            f"/feedback/{desk_item}/answer",
            {"json": {"decision": "adopted", "answer": "已调整作业量"}},
        ),
        "fGt": ("GET", f"/feedback/{sd.committee}", {}),
        "fLs": ("GET", f"/schools/{SCHOOL}/feedback", {}),
        "fCm": ("GET", f"/committees/{sd.a}/feedback", {}),
        "fFg": ("GET", f"/districts/{DISTRICT}/feedback-figures", {}),
        "mtR": (
            "POST",
            f"/schools/{SCHOOL}/meetings",
            {
                "json": {
                    "kind": "parent",
                    "held_on": str(TODAY),
                    "scope": "class",
                    "class_id": CLASS,
                    "families_invited": 3,
                    "parents_attending": 3,
                    "opinions_before": True,
                    "opinions_after": True,
                }
            },
        ),
        "mtL": ("GET", f"/schools/{SCHOOL}/meetings", year),
        "mtC": ("GET", f"/committees/{sd.a}/meetings", {}),
        "mtF": ("GET", f"/districts/{DISTRICT}/meeting-figures", year),
        "psM": ("POST", f"/schools/{SCHOOL}/parent-school", {"json": parent_school(w.s)}),
        "psR": ("GET", f"/schools/{SCHOOL}/parent-school", year),
        "psS": (
            "POST",
            f"/schools/{SCHOOL}/parent-school/sessions",
            {
                "json": {
                    "kind": "lecture",
                    "mode": "in_person",
                    "held_on": str(TODAY),
                    "class_hours": 2,
                    "topic": "mental_health",
                    "attendance": 40,
                }
            },
        ),
        "psA": (
            "POST",
            f"/schools/{SCHOOL}/parent-school/assessment",
            {"json": {"school_year": YEAR, "standard": True, "criteria_met": ["venue"]}},
        ),
        "coA": (
            "POST",
            f"/schools/{SCHOOL}/family-education-coordinator",
            {"json": coordinator(w.s)},
        ),
        "coW": ("POST", f"/schools/{SCHOOL}/family-education-coordinator/withdrawal", {"json": {}}),
        "psF": ("GET", f"/districts/{DISTRICT}/parent-school-figures", year),
        **kit_requests("999999999"),
        "mRm": (
            "POST",
            f"/committees/{sd.a}/members/{sd.removed}/removal",
            {"json": {"reason": "repeated_absence"}},
        ),
        "mRs": (
            "POST",
            f"/committees/{sd.a}/members/{resigning}/resignation",
            {"json": {"reason": "personal"}},
        ),
    }
    return requests[column]


def check_ok(e: Endpoint, caller: Caller, side: str, r: httpx.Response, w: World) -> str | None:
    """What is wrong with a 2xx's body (scope and privacy), or None."""
    text, sd = r.text, w.seeded
    pupils = [p.ref for p in w.s.roster.pupils if p.ref in text]
    if pupils or "student_ref" in text:
        return f"an answer names a student: {pupils[:3] or 'student_ref'}"
    # a guardian's name is opened for one committee's view only (its managers and members)
    names = [n for n in w.s.roster.names() if n in text]
    if names and e.column != "cRd":
        return f"an answer names people {names[:3]}: {text[:200]}"
    if caller.role is Role.committee_member:
        # a member never learns of a committee they do not sit on
        others = {sd.b, sd.c, sd.district} if side == "in" else {sd.a, sd.c, sd.district}
        if seen := {x for x in others if x in text}:
            return f"a member of one committee sees another {sorted(seen)}: {text[:200]}"
        if e.column == "mine":
            own = sd.a if side == "in" else sd.b
            if own not in text:
                return f"a member's own committees lack their committee {own}: {text[:200]}"
    path = request_for(e.column, caller, w)[1]
    if wrong := other_schools_seen(path, where_of(caller, side), w.s.roster.schools, text):
        return wrong
    if e.column in ("log", "ntf", "inb"):
        return other_district_entries(where_of(caller, side), r)
    return None


async def test_every_role_gets_the_answer_the_matrix_states_on_every_committees_route(
    world: World,
) -> None:
    w = world
    sd = w.seeded
    ids = [sd.a, sd.b, sd.c, sd.district, sd.hotline, sd.bureau, sd.committee]
    ids += [sd.member_in, sd.member_out, sd.resigns, sd.removed]
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
        # read a feedback item's text
        reads=lambda r: 200 <= r.status_code < 300 and sd.committee in r.text,
        ids=[x for x in ids if x],
        of_record="F",
        a_read_of="a feedback item",
    )
    wrong = outcome.wrong

    # and on the wire, every name stays sealed
    records = await read_all(w.s.settings.kafka_bootstrap_servers, w.s.settings.topic)
    clear = {n for r in records for n in w.s.roster.names() if n.encode() in r.value}
    if clear:
        wrong.append(f"names in clear on committees' topic: {sorted(clear)[:5]}")
    if not records:
        wrong.append("nothing on committees' topic")
    assert_no_wrong(outcome)
