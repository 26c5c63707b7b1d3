"""Fuzz the safety service's OpenAPI with schemathesis against real uvicorn servers.

A district's roster is imported through the registry and reaches safety's read model; a term of
safety work is then played at one class as the people who would play it (``seed_safety_term``:
care files with their carers, a concern, a guard post and shifts, a fire-safety contact, the
legal vice-principal, an incident, a guidance referral), so that real school, student, pairing,
concern, post, shift, incident and referral ids exist. Every operation of the served OpenAPI
then gets generated requests (valid and invalid, with made-up and real path ids, and with bodies
naming the school's real staff, carers, kinds and days) under the tokens of the principal, a
head teacher, a community carer, the police, market regulation, a bureau officer, the guidance
committee, an operator, and without a token. Days are drawn near the ends of the calendar too
(year 1 and year 9999), since the service counts in China time.

The verdict is ``tests.support.fuzzing.assert_fuzzed_well``: no 5xx, no error that is not
problem+json, nothing dead-lettered, every operation past validation within the time budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.support.fuzzing import (
    TEXT,
    Caller,
    assert_fuzzed_well,
    days,
    fuzz_service,
    iso,
    school_years,
    values,
)
from tests.support.safety_school import (
    KINDS,
    ORGS,
    SafetySchool,
    Seeded,
    carer_ref_of,
    safety_stack,
    seed_safety_term,
)
from tests.support.service_world import StackKit, stack_kit_fixture
from tongxin_cli.demo import DemoSpec
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    AppointeeOrg,
    CarerKind,
    CommitteeMember,
    ConcernOutcome,
    ContactMode,
    DeclineReason,
    Department,
    EntrustedRelation,
    FileClosedReason,
    GuardKind,
    GuidanceDecision,
    HazardOwner,
    HazardSeverity,
    IncidentCategory,
    InspectionKind,
    Inspector,
    Misbehaviour,
    MissedReason,
    PostPlace,
    RiskLevel,
    ShiftPeriod,
    VicePost,
)
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc
from tongxin_safety.domain.calendar import china_date, school_year_of
from tongxin_safety.projections.read_model import SAFETY

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; hypothesis warns about it, not about this test
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=6)
SCHOOL, CLASS = "330106001", "330106001-01"
BUDGET = 40.0  # seconds of fuzzing, shared among operations and callers
TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)

DAYS = days(TODAY, ahead=60)
SCHOOL_YEARS = school_years(YEAR)

# Query parameters drawn near the ends of the calendar, where an operation has them.
EDGE_QUERY: dict[str, st.SearchStrategy[str]] = {
    "as_of": iso(DAYS),
    "from": iso(DAYS),
    "to": iso(DAYS),
    "school_year": SCHOOL_YEARS,
}


# --- what the school really has ---------------------------------------------------------


def real_bodies(s: SafetySchool, seeded: Seeded) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Bodies naming the school's staff, carers, students and kinds, by path."""
    roster = s.roster
    staff = sorted(ref for ref, (school, _, _) in roster.staff.items() if school == SCHOOL)
    others = sorted(ref for ref, (school, _, _) in roster.staff.items() if school != SCHOOL)
    students = [seeded.a, seeded.b, seeded.c, seeded.d, seeded.e, seeded.f]
    pairings = [p for kinds in seeded.pairings.values() for p in kinds.values()] or ["none"]
    carers = [carer_ref_of(k) for k in KINDS if k != "school"] + staff[:2]
    orgs = [org for pair in ORGS.values() for org in pair] + [SCHOOL]
    # today more often than the calendar's ends, so that commands get through
    day = st.one_of(st.just(str(TODAY)), iso(DAYS))
    year = st.one_of(st.just(YEAR), SCHOOL_YEARS)
    moment = st.one_of(
        st.just(now_utc().isoformat()),
        st.datetimes(timezones=st.just(now_utc().tzinfo)).map(lambda d: d.isoformat()),
    )
    hazard = st.fixed_dictionaries(
        {"severity": values(HazardSeverity), "owner": values(HazardOwner), "rectify_by": day},
        optional={"detail": TEXT},
    )
    guard = st.fixed_dictionaries(
        {"kind": values(GuardKind), "ref": st.sampled_from([*staff[:2], "police-1", "gdn-1"])}
    )
    return {
        "/students/{student_ref}/care-file": st.fixed_dictionaries(
            {}, optional={"care_groups": st.lists(values(CareGroup), max_size=3)}
        ),
        "/students/{student_ref}/care-file/pairings": st.fixed_dictionaries(
            {
                "kind": values(CarerKind),
                "carer_ref": st.sampled_from(carers + others[:1]),
                "org": st.sampled_from(orgs),
            }
        ),
        "/students/{student_ref}/care-file/pairings/{pairing_id}/decline": (
            st.fixed_dictionaries({"reason": values(DeclineReason)})
        ),
        "/students/{student_ref}/care-file/risk": st.fixed_dictionaries(
            {"level": values(RiskLevel)}, optional={"reason": TEXT}
        ),
        "/students/{student_ref}/care-file/contacts": st.fixed_dictionaries(
            {
                "pairing_id": st.sampled_from(pairings),
                "contact_on": day,
                "mode": values(ContactMode),
            },
            optional={"note": TEXT},
        ),
        "/students/{student_ref}/care-file/notice": st.fixed_dictionaries(
            {
                "relation": values(EntrustedRelation),
                "notice_on": day,
                "entrusted_name": TEXT,
                "entrusted_contact": TEXT,
            }
        ),
        "/students/{student_ref}/care-file/parent-contacts": st.fixed_dictionaries(
            {"contact_on": day, "mode": values(ContactMode)}
        ),
        "/students/{student_ref}/care-file/concerns": st.fixed_dictionaries(
            {}, optional={"detail": TEXT}
        ),
        "/students/{student_ref}/care-file/concerns/{concern_id}/assessment": (
            st.fixed_dictionaries({"outcome": values(ConcernOutcome)}, optional={"note": TEXT})
        ),
        "/students/{student_ref}/care-file/closure": st.fixed_dictionaries(
            {"reason": values(FileClosedReason)}
        ),
        "/students/{student_ref}/guidance-referrals": st.fixed_dictionaries(
            {"misbehaviour": values(Misbehaviour)},
            optional={"incident_id": st.just(seeded.incident)},
        ),
        "/schools/{school_id}/guard-posts": st.fixed_dictionaries(
            {"place": values(PostPlace), "established_on": day},
            optional={"police_station": st.sampled_from(["ps-330106-01", "x"])},
        ),
        "/guard-posts/{post_id}/shifts": st.fixed_dictionaries(
            {"on": day, "period": values(ShiftPeriod), "guards": st.lists(guard, max_size=4)}
        ),
        "/guard-shifts/{shift_id}/completion": st.fixed_dictionaries(
            {"guards_present": st.lists(values(GuardKind), max_size=3)}
        ),
        "/guard-shifts/{shift_id}/miss": st.fixed_dictionaries({"reason": values(MissedReason)}),
        "/schools/{school_id}/vice-principals": st.fixed_dictionaries(
            {
                "post": values(VicePost),
                "appointee_ref": st.sampled_from(["vp-1", "vp-2", *staff[:1]]),
                "from_org": values(AppointeeOrg),
                "appointed_on": day,
            },
            optional={"term_until": day},
        ),
        "/schools/{school_id}/law-lessons": st.fixed_dictionaries(
            {
                "school_year": year,
                "given_on": day,
                "hours": st.one_of(st.floats(0, 10, allow_nan=False), st.integers(-1, 9)),
            }
        ),
        "/schools/{school_id}/fire-safety-contacts": st.fixed_dictionaries(
            {"staff_ref": st.sampled_from(staff + others[:2])}
        ),
        "/schools/{school_id}/inspections": st.fixed_dictionaries(
            {
                "kind": values(InspectionKind),
                "inspected_on": day,
                "hazards": st.lists(hazard, max_size=3),
                "rectified": st.lists(st.sampled_from(["none", "h-1"]), max_size=2),
            },
            optional={"inspector": values(Inspector)},
        ),
        "/schools/{school_id}/incidents": st.fixed_dictionaries(
            {
                "category": values(IncidentCategory),
                "student_refs": st.lists(st.sampled_from(students), max_size=3),
                "occurred_at": moment,
            },
            optional={"account": TEXT},
        ),
        "/incidents/{incident_id}/mandatory-report": st.fixed_dictionaries(
            {"departments": st.lists(values(Department), max_size=5)}
        ),
        "/guidance-referrals/{referral_id}/decision": st.fixed_dictionaries(
            {
                "decision": values(GuidanceDecision),
                "members_present": st.lists(values(CommitteeMember), max_size=5),
            }
        ),
    }


# --- driving schemathesis ---------------------------------------------------------------


@pytest.fixture
async def world(stack_kit: StackKit) -> AsyncIterator[tuple[SafetySchool, Seeded]]:
    async with safety_stack(stack_kit, SPEC) as s:
        yield s, await seed_safety_term(s, school_id=SCHOOL, class_id=CLASS)


async def test_fuzzing_every_safety_operation_never_gets_a_5xx_nor_an_error_not_a_problem(
    world: tuple[SafetySchool, Seeded],
) -> None:
    s, seeded = world
    roster = s.roster

    def caller(headers: dict[str, str], share: float = 1.0) -> Caller:
        return Caller(headers, share=share)

    callers = {
        "principal": caller(s.staff("principal", SCHOOL)),
        "head_teacher": caller(s.head_teacher(CLASS)),
        "community_worker": caller(
            s.carer(Role.community_worker, carer_ref_of("community"), ORGS["community"][0])
        ),
        "police": caller(s.token(Role.police, "fuzz-police")),
        "market_regulation": caller(s.token(Role.market_regulation, "fuzz-market"), 0.5),
        "guidance_committee": caller(s.token(Role.guidance_committee, "fuzz-committee"), 0.5),
        # District-wide readers of aggregates and the kit's: a smaller share.
        "bureau_officer": caller(s.token(Role.bureau_officer, "fuzz-officer"), 0.5),
        "operator": caller(s.token(Role.operator, "fuzz-operator"), 0.3),
        # Without a token, all but a few operations stop at the 401: a token share.
        "nobody": caller({}, 0.1),
    }
    ids: dict[str, list[str]] = {
        "school_id": [SCHOOL],
        "district": [roster.district],
        "student_ref": [seeded.a, seeded.b, seeded.c, seeded.d, seeded.e, seeded.f],
        "pairing_id": [p for kinds in seeded.pairings.values() for p in kinds.values()],
        "concern_id": [c for c in (seeded.concern,) if c != "no-concern"],
        "post_id": [p for p in (seeded.post,) if p != "no-post"],
        "shift_id": [x for x in seeded.shifts if x != "no-shift"],
        "staff_ref": [seeded.fire_contact, roster.one("health_vp", SCHOOL)],
        "incident_id": [i for i in (seeded.incident,) if i != "no-incident"],
        "referral_id": [r for r in (seeded.guidance,) if r != "no-referral"],
        "notification_id": [seeded.notification],
    }
    run = await fuzz_service(
        str(s.http.base_url).rstrip("/"),
        callers,
        ids,
        budget=BUDGET,
        harvests={
            "pairing_id": "pairing_id",
            "concern_id": "concern_id",
            "post_id": "post_id",
            "shift_id": "shift_id",
            "incident_id": "incident_id",
            "referral_id": "referral_id",
        },
        bodies=real_bodies(s, seeded),
        edges=EDGE_QUERY,
    )
    # the kit's notifications and inbox at least; every part adds its own operations
    await assert_fuzzed_well(
        run,
        pool=s.pool,
        group=SAFETY.group,
        topic=s.settings.topic,
        kafka=s.settings.kafka_bootstrap_servers,
        setup_failures=seeded.failures,
        min_operations=3,
        budget=BUDGET,
    )
