"""Fuzz the committees service's OpenAPI with schemathesis against real uvicorn servers.

A district's roster (tests/support/committees_school.py) is imported through the registry and
reaches committees' read model; the committees, elections, feedback, a meeting and the parent
school the matrix uses are made first (``tests.support.committees_seed``), so that real
committee, item and guardian ids exist. Every operation of the served OpenAPI then gets
generated requests (valid and invalid, with made-up and real path ids, and with bodies naming
the school's real guardians, staff, classes, channels and days) under the tokens of the
principal, a head teacher, the family-education coordinator, a committee member (the chair of
committee A), a bureau officer, an operator, and without a token. Days are drawn near the ends
of the calendar too (year 1 and year 9999), since the service counts in China time.

The verdict is ``tests.support.fuzzing.assert_fuzzed_well``: no 5xx, no error that is not
problem+json, nothing dead-lettered, every operation past validation within the time budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.support.committees_school import (
    CommitteesSchool,
    committees_stack,
)
from tests.support.committees_seed import Seeded, seed
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
from tests.support.matrix import CLASS, SCHOOL
from tests.support.service_world import StackKit, stack_kit_fixture
from tongxin_committees.domain.calendar import china_date, school_year_of
from tongxin_committees.projections.read_model import COMMITTEES
from tongxin_contracts.events.committees import (
    AnswerDecision,
    AssessmentCriterion,
    Channel,
    FeedbackTopic,
    MeetingScope,
    RemovalReason,
    ResignReason,
    SeatRole,
    SessionKind,
    SessionMode,
    SessionTopic,
)
from tongxin_platform.auth import Role
from tongxin_platform.eventstore import now_utc

__all__ = ["stack_kit_fixture"]  # the fixture ``stack_kit``

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; hypothesis warns about it, not about this test
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

BUDGET = 45.0  # seconds of fuzzing, shared among operations and callers
TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)

DAYS = days(TODAY, ahead=800)
SCHOOL_YEARS = school_years(YEAR)
COUNT = st.one_of(st.integers(0, 60), st.integers(-2, 10**7))

EDGE_QUERY: dict[str, st.SearchStrategy[str]] = {
    "as_of": iso(DAYS),
    "school_year": SCHOOL_YEARS,
    "status": st.sampled_from(["open", "answered", "overdue", "x"]),
    "channel": st.one_of(values(Channel), st.just("x")),
}


def real_bodies(s: CommitteesSchool, sd: Seeded) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Bodies naming the school's guardians, staff, classes, channels and days, by path."""
    roster = s.roster
    classes = roster.class_ids(SCHOOL)
    guardians = sorted({g.ref for c in classes for g in roster.guardians_of_class(c)})
    names = [roster.guardian(g).name for g in guardians[:4]] + ["王某"]
    staff = sorted(m.ref for m in roster.staff if m.school_id == SCHOOL)
    others = sorted(m.ref for m in roster.staff if m.school_id != SCHOOL)
    committees = [sd.a, sd.b, sd.c, sd.district, "none"]
    day = st.one_of(st.just(str(TODAY)), iso(DAYS))
    year = st.one_of(st.just(YEAR), SCHOOL_YEARS)
    term = {"term_start": day, "term_end": day}
    seat = st.fixed_dictionaries(
        {"guardian_ref": st.sampled_from(guardians), "role": values(SeatRole)},
        optional={"standing": st.booleans()},
    )
    scope = {"school_id": st.just(SCHOOL)}
    meeting = st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("joint"),
                "held_on": day,
                "committee_ids": st.lists(st.sampled_from(committees), max_size=3),
                "parents_attending": COUNT,
                "staff_attending": COUNT,
                "resolutions": COUNT,
            },
            optional={"minutes": TEXT},
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("parent"),
                "held_on": day,
                "scope": values(MeetingScope),
                "families_invited": COUNT,
                "parents_attending": COUNT,
                "opinions_before": st.booleans(),
                "opinions_after": st.booleans(),
            },
            optional={
                "grade": st.integers(0, 13),
                "class_id": st.sampled_from([*classes, "x"]),
                "committee_ids": st.lists(st.sampled_from(committees), max_size=2),
            },
        ),
        st.fixed_dictionaries(
            {"kind": st.just("open_day"), "held_on": day, "parents_attending": COUNT},
            optional={"days": st.integers(0, 9), "opinions_collected": COUNT},
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("reception_day"),
                "held_on": day,
                "families_received": COUNT,
                "received_by": st.lists(st.sampled_from(staff + others[:1]), max_size=3),
            }
        ),
    )
    return {
        "/schools/{school_id}/committees": st.fixed_dictionaries(
            {
                "level": st.sampled_from(["class", "grade", "school", "district"]),
                "seats": COUNT,
                **term,
            },
            optional={"grade": st.integers(0, 13), "class_id": st.sampled_from([*classes, "x"])},
        ),
        "/districts/{district}/committees": st.fixed_dictionaries({"seats": COUNT, **term}),
        "/committees/{committee_id}/charter": st.fixed_dictionaries(
            {"articles": st.integers(-1, 300), "text": TEXT}
        ),
        "/committees/{committee_id}/candidates": st.fixed_dictionaries(
            {"guardian_ref": st.sampled_from(guardians), "name": st.sampled_from(names)},
            optional={"class_id": st.sampled_from([*classes, "x"]), **scope},
        ),
        "/committees/{committee_id}/election": st.fixed_dictionaries(
            {"elected_on": day, "members": st.lists(seat, max_size=6)},
            optional={"voters": COUNT},
        ),
        "/committees/{committee_id}/by-election": st.fixed_dictionaries(
            {"held_on": day, "members": st.lists(seat, max_size=3)},
            optional={"seats": COUNT},
        ),
        "/committees/{committee_id}/members/{guardian_ref}/resignation": (
            st.fixed_dictionaries({"reason": values(ResignReason)})
        ),
        "/committees/{committee_id}/members/{guardian_ref}/removal": st.fixed_dictionaries(
            {"reason": values(RemovalReason)}, optional={"note": TEXT}
        ),
        "/schools/{school_id}/feedback-handlers": st.fixed_dictionaries(
            {"channel": values(Channel), "handler_ref": st.sampled_from(staff + others[:1])}
        ),
        "/districts/{district}/feedback-handlers": st.fixed_dictionaries(
            {"channel": values(Channel), "handler_ref": st.sampled_from(["bureau-1", *staff[:1]])}
        ),
        "/schools/{school_id}/feedback": st.fixed_dictionaries(
            {"channel": values(Channel), "topic": values(FeedbackTopic), "text": TEXT},
            optional={"received_on": day, "committee_id": st.sampled_from(committees)},
        ),
        "/feedback/{item_id}/assignment": st.fixed_dictionaries(
            {"assignee_ref": st.sampled_from(staff + others[:1])}
        ),
        "/feedback/{item_id}/answer": st.fixed_dictionaries(
            {"decision": values(AnswerDecision), "answer": TEXT}
        ),
        "/schools/{school_id}/meetings": meeting,
        "/schools/{school_id}/parent-school": st.fixed_dictionaries(
            {
                "head_ref": st.sampled_from(staff + others[:1]),
                "management": st.lists(st.sampled_from(staff), max_size=4),
                "teachers": st.lists(st.sampled_from(staff), max_size=4),
                "has_venue": st.booleans(),
                "curriculum_units": COUNT,
            },
            optional={"curriculum": TEXT},
        ),
        "/schools/{school_id}/parent-school/sessions": st.fixed_dictionaries(
            {
                "kind": values(SessionKind),
                "mode": values(SessionMode),
                "held_on": day,
                "class_hours": st.one_of(st.floats(0, 10, allow_nan=False), st.integers(-1, 9)),
                "topic": values(SessionTopic),
                "attendance": COUNT,
            },
            optional={"title": TEXT},
        ),
        "/schools/{school_id}/parent-school/assessment": st.fixed_dictionaries(
            {
                "school_year": year,
                "standard": st.booleans(),
                "criteria_met": st.lists(values(AssessmentCriterion), max_size=8),
            }
        ),
        "/schools/{school_id}/family-education-coordinator": st.fixed_dictionaries(
            {
                "staff_ref": st.sampled_from(staff + others[:1]),
                "led_by": st.sampled_from(staff + others[:1]),
            }
        ),
    }


@pytest.fixture
async def world(stack_kit: StackKit) -> AsyncIterator[tuple[CommitteesSchool, Seeded]]:
    async with committees_stack(stack_kit, district_committees=frozenset({"*"})) as s:
        yield s, await seed(s)


async def test_fuzzing_every_committees_operation_never_gets_a_5xx_nor_an_error_not_a_problem(
    world: tuple[CommitteesSchool, Seeded],
) -> None:
    s, sd = world
    roster = s.roster
    callers = {
        "principal": Caller(s.principal(SCHOOL)),
        "head_teacher": Caller(s.head_teacher(CLASS)),
        "coordinator": Caller(s.coordinator(SCHOOL), share=0.5),
        "committee_member": Caller(s.member(sd.member_in, SCHOOL)),
        "bureau_officer": Caller(s.bureau(), share=0.5),
        "operator": Caller(s.token(Role.operator, "fuzz-operator"), share=0.3),
        # Without a token, all but a few operations stop at the 401: a token share.
        "nobody": Caller({}, share=0.1),
    }
    real = [sd.a, sd.b, sd.c, sd.district]
    ids: dict[str, list[str]] = {
        "school_id": [SCHOOL],
        "district": [roster.district],
        "committee_id": [c for c in real if not c.startswith("no-")],
        "guardian_ref": [sd.member_in, sd.resigns, sd.removed, sd.member_out],
        "item_id": [i for i in (sd.hotline, sd.bureau, sd.committee) if i != "no-item"],
        "notification_id": ["1"],
    }
    run = await fuzz_service(
        str(s.http.base_url).rstrip("/"),
        callers,
        ids,
        budget=BUDGET,
        harvests={"committee_id": "committee_id", "item_id": "item_id"},
        bodies=real_bodies(s, sd),
        edges=EDGE_QUERY,
    )
    await assert_fuzzed_well(
        run,
        pool=s.pool,
        group=COMMITTEES.group,
        topic=s.settings.topic,
        kafka=s.settings.kafka_bootstrap_servers,
        setup_failures=sd.failures,
        min_operations=3,
        budget=BUDGET,
    )
