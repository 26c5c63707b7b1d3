"""Fuzz the wellbeing service's OpenAPI with schemathesis against real uvicorn servers.

A district's roster is imported through the registry and reaches wellbeing's read model; a
school year is then played at one class as the people who would play it (campaign, consents, a
screening, listings, a pending proposal, a plan review, crisis referrals), so that real school,
class, student, proposal, referral and hospital ids exist. Every operation of the served
OpenAPI then gets generated requests (valid and invalid, with made-up and real path ids, and
with bodies naming the school's real students, staff, classes and hospital) under the tokens of
the wellbeing team, a head teacher, the principal, the receiving hospital, a bureau officer, an
operator, and without a token. Days, months and school years are drawn near the ends of the
calendar too (year 1 and year 9999), since the service counts in China time.

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
    YEARS,
    Caller,
    assert_fuzzed_well,
    days,
    fuzz_service,
    iso,
    school_years,
)
from tests.support.service_world import StackKit, stack_kit_fixture
from tests.support.wellbeing_school import (
    Seeded,
    Wellbeing,
    seed_class,
    wellbeing_stack,
)
from tongxin_cli.demo import DemoSpec
from tongxin_contracts.events.wellbeing import (
    ClassSessionKind,
    ConsentDecision,
    ConsentGivenBy,
    ReferralOutcome,
    RemovalReason,
    SignOffRole,
    TrainingTopic,
)
from tongxin_platform.auth import Principal, Role, mint
from tongxin_platform.eventstore import now_utc
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.projections.read_model import WELLBEING

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; hypothesis warns about it, not about this test
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SPEC = DemoSpec(schools=2, classes_per_school=2, students_per_class=4)
SCHOOL, CLASS = "330106001", "330106001-01"
HOSPITAL = "hosp-330106-01"
BUDGET = 30.0  # seconds of fuzzing, shared among operations and callers
TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)

DAYS = days(TODAY, ahead=0)
SCHOOL_YEARS = school_years(YEAR)
MONTHS = st.one_of(
    st.just(f"{TODAY:%Y-%m}"),
    st.tuples(YEARS, st.integers(1, 12)).map(lambda ym: f"{ym[0]:04d}-{ym[1]:02d}"),
)
# Query parameters drawn near the ends of the calendar, where an operation has them.
EDGE_QUERY: dict[str, st.SearchStrategy[str]] = {"school_year": SCHOOL_YEARS}


# --- what the school really has ---------------------------------------------------------


def real_bodies(wb: Wellbeing, seeded: Seeded) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Bodies naming the school's staff, classes, instruments and hospital, by path."""
    roster = wb.roster
    staff = sorted(ref for ref, (school, _, _) in roster.staff.items() if school == SCHOOL)
    others = sorted(ref for ref, (school, _, _) in roster.staff.items() if school != SCHOOL)
    classes = sorted(roster.classes)
    guardians = sorted({g for refs in roster.guardians.values() for g in refs}) or ["none"]
    # this year and today more often than the calendar's ends, so that commands get through
    day = st.one_of(st.just(str(TODAY)), iso(DAYS))
    year = st.one_of(st.just(YEAR), SCHOOL_YEARS)
    answers = st.one_of(
        st.lists(st.integers(0, 3), min_size=9, max_size=9),
        st.lists(st.integers(0, 3), min_size=7, max_size=7),
        st.lists(st.integers(-1, 5), max_size=12),
    )
    band = st.fixed_dictionaries(
        {"label": st.sampled_from(["low", "mid", "high"]), "low": st.integers(0, 30)},
        optional={"high": st.integers(0, 40), "flag": st.sampled_from(["elevated", "high"])},
    )
    return {
        "/schools/{school_id}/trainings": st.fixed_dictionaries(
            {
                "school_year": year,
                "topic": st.sampled_from([t.value for t in TrainingTopic]),
                "held_on": day,
            },
            optional={
                "staff_refs": st.lists(st.sampled_from(staff + others[:2]), max_size=6),
                "parent_count": st.integers(0, 200),
            },
        ),
        "/schools/{school_id}/class-sessions": st.fixed_dictionaries(
            {
                "school_year": year,
                "class_id": st.sampled_from(classes),
                "kind": st.sampled_from([k.value for k in ClassSessionKind]),
                "held_on": day,
            }
        ),
        "/schools/{school_id}/campaigns": st.fixed_dictionaries(
            {
                "school_year": year,
                "instruments": st.lists(st.sampled_from(["phq9", "gad7", "nope"]), max_size=3),
                "exam_from": day,
                "exam_to": day,
            }
        ),
        "/students/{student_ref}/consents": st.fixed_dictionaries(
            {
                "school_year": year,
                "decision": st.sampled_from([d.value for d in ConsentDecision]),
                "given_by": st.sampled_from([g.value for g in ConsentGivenBy]),
            },
            optional={"guardian_ref": st.sampled_from(guardians)},
        ),
        "/students/{student_ref}/screenings": st.fixed_dictionaries(
            {
                "school_year": year,
                "instrument_id": st.sampled_from(["phq9", "gad7", "district-x"]),
                "answers": answers,
            },
            optional={"completed_on": day},
        ),
        "/students/{student_ref}/attention/proposals": st.fixed_dictionaries(
            {}, optional={"reason": TEXT}
        ),
        "/students/{student_ref}/attention/proposals/{proposal_id}/sign-offs": (
            st.fixed_dictionaries({"role": st.sampled_from([r.value for r in SignOffRole])})
        ),
        "/students/{student_ref}/attention/removal": st.fixed_dictionaries(
            {"reason": st.sampled_from([r.value for r in RemovalReason])}
        ),
        "/students/{student_ref}/plan/reviews": st.fixed_dictionaries(
            {
                "month": MONTHS,
                "emotional_state": TEXT,
                "interventions": TEXT,
                "next_step": TEXT,
            }
        ),
        "/students/{student_ref}/referrals": st.fixed_dictionaries(
            {"hospital_id": st.sampled_from([HOSPITAL, "hosp-330106-02"])},
            optional={"note": TEXT},
        ),
        "/referrals/{referral_id}/resolution": st.fixed_dictionaries(
            {"outcome": st.sampled_from([o.value for o in ReferralOutcome])}
        ),
        "/districts/{district}/instruments": st.fixed_dictionaries(
            {
                "instrument_id": st.sampled_from(["district-x", "phq9"]),
                "title": TEXT,
                "items": st.integers(0, 30),
                "max_answer": st.integers(0, 5),
                "bands": st.lists(band, max_size=4),
                "self_harm_items": st.lists(st.integers(0, 31), max_size=3),
            }
        ),
    }


# --- driving schemathesis ---------------------------------------------------------------


@pytest.fixture
async def world(stack_kit: StackKit) -> AsyncIterator[tuple[Wellbeing, Seeded]]:
    async with wellbeing_stack(stack_kit, SPEC) as wb:
        seeded = await seed_class(wb, stack_kit.private_key, CLASS, HOSPITAL)
        yield wb, seeded


async def test_fuzzing_every_wellbeing_operation_never_gets_a_5xx_nor_an_error_not_a_problem(
    world: tuple[Wellbeing, Seeded], jwt_keys: tuple[bytes, bytes]
) -> None:
    wb, seeded = world
    roster = wb.roster
    district = roster.district

    def token(
        role: Role,
        sub: str,
        school: str | None = None,
        cls: str | None = None,
        org: str | None = None,
    ) -> Caller:
        p = Principal(sub, role, district, school, cls, org=org)
        return Caller({"Authorization": f"Bearer {mint(jwt_keys[0], p, ttl=3600)}"})

    def staff(role: str) -> Caller:
        return token(Role(role), roster.one(role, SCHOOL), SCHOOL)

    callers = {
        "psych_teacher": staff("psych_teacher"),
        "health_vp": staff("health_vp"),
        "principal": staff("principal"),
        "head_teacher": token(Role.head_teacher, roster.head_of(CLASS), SCHOOL, CLASS),
        "hospital": token(Role.hospital, "fuzz-clinician", org=HOSPITAL),
        # District-wide tokens read aggregates only: a smaller share.
        "bureau_officer": Caller(token(Role.bureau_officer, "fuzz-officer").headers, share=0.5),
        "operator": Caller(token(Role.operator, "fuzz-operator").headers, share=0.3),
        # Without a token, all but a few operations stop at the 401: a token share.
        "nobody": Caller({}, share=0.1),
    }
    ids: dict[str, list[str]] = {
        "school_id": [SCHOOL],
        "district": [district],
        "class_id": [CLASS],
        "student_ref": [seeded.a, seeded.b, seeded.c, seeded.e],
        "proposal_id": [p for p in (seeded.proposal_e,) if p != "no-proposal"],
        "referral_id": [r for r in (seeded.referral_1, seeded.referral_2) if r != "no-referral"],
        "hospital_id": [HOSPITAL],
        "school_year": [YEAR, "2000-2001", "0001-0002", "9998-9999"],
        "notification_id": [seeded.notification],
    }
    run = await fuzz_service(
        str(wb.http.base_url).rstrip("/"),
        callers,
        ids,
        budget=BUDGET,
        harvests={"proposal_id": "proposal_id", "referral_id": "referral_id"},
        bodies=real_bodies(wb, seeded),
        edges=EDGE_QUERY,
    )
    # team (2) and training (4) at least; every other part adds its own operations
    await assert_fuzzed_well(
        run,
        pool=wb.pool,
        group=WELLBEING.group,
        topic=wb.settings.topic,
        kafka=wb.settings.kafka_bootstrap_servers,
        setup_failures=seeded.failures,
        min_operations=6,
        budget=BUDGET,
    )
