"""Fuzz the visits service's OpenAPI with schemathesis against real uvicorn servers.

A school's roster is imported through the registry and reaches the visits board; a head
teacher then plans visits, schedules one, records one (with the principal as co-visitor,
opening a follow-up case) and sends the family a code, so that real visit, case, school and
district ids exist. Every operation of the served OpenAPI then gets generated requests (valid
and invalid, with made-up and real path ids, and with bodies naming the school's real students
and staff) under the head teacher's, the principal's and a bureau officer's tokens, and without
a token. The visits and cases the service hands out while fuzzing join the ids to fuzz with.

The service does calendar arithmetic (school years, semesters, report months), so besides what
schemathesis makes up, days, times, school years and months are drawn near the ends of the
calendar too (year 1 and year 9999, in zones east and west of China).

No answer may be a 5xx, and every 4xx must be problem+json; and every command the service
accepted must reach the board: its projection dead-letters nothing. The fuzzing is bounded in
time: a budget shared among operations and callers. The test also counts, per operation, the
answers that got past request validation (a 2xx, or a refusal from the handler itself), so it
cannot pass without having reached the handlers.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import strategies as st

from tests.conftest import Bearer
from tests.support.fuzzing import (
    Caller,
    Fuzz,
    call,
    drive,
    operations,
    real_ids,
    with_body,
    with_ids,
    with_query,
)
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.visits import School, set_up_school
from tests.support.waiting import caught_up, eventually
from tongxin_cli.demo import DemoSpec
from tongxin_contracts import dlq_topic
from tongxin_contracts.calendar import CHINA
from tongxin_contracts.events.visits import (
    FindingCategory,
    Measure,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
)
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app
from tongxin_visits.projections import board

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; hypothesis warns about it, not about this test
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=3)
BUDGET = 18.0  # seconds of fuzzing, shared among operations and callers


def zones(*hours: int) -> st.SearchStrategy[timezone]:
    return st.sampled_from([timezone(timedelta(hours=h)) for h in hours])


DAYS = st.one_of(
    st.dates(), st.dates(max_value=date(1, 1, 31)), st.dates(min_value=date(9999, 12, 1))
)
# Times anywhere in any zone, and times on the calendar's first and last days in zones where
# China time or UTC falls off it (the service takes dates in China time).
TIMES = st.one_of(
    st.datetimes(timezones=zones(-12, -5, 0, 8, 9, 14)),
    st.datetimes(max_value=datetime.fromisoformat("0001-01-01T23:59"), timezones=zones(9, 14)),
    st.datetimes(min_value=datetime.fromisoformat("9999-12-31T00:00"), timezones=zones(-12, -5)),
)
YEARS = st.one_of(st.integers(0, 9999), st.sampled_from([0, 1, 9998, 9999]))
# Query parameters drawn near the ends of the calendar, where an operation has them.
EDGE_QUERY: dict[str, st.SearchStrategy[str]] = {
    "as_of": DAYS.map(date.isoformat),
    "school_year": st.one_of(
        YEARS.filter(lambda y: y < 9999).map(lambda y: f"{y:04d}-{y + 1:04d}"),
        st.tuples(YEARS, YEARS).map(lambda ys: f"{ys[0]:04d}-{ys[1]:04d}"),
    ),
}


# --- what the school really has ---------------------------------------------------------


def as_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return values.map(lambda v: v.isoformat())


def real_bodies(school: School, me: Caller) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Bodies naming the school's students and staff (the caller first among the visitors), by
    the path they are sent to."""
    staff = sorted(school.roles)
    pairs = [(ref, role) for ref, roles in sorted(school.roles.items()) for role in roles]
    recorder = [{"staff_ref": me.staff_ref, "role": me.role}] if me.staff_ref else []
    when = as_text(TIMES)
    day = as_text(DAYS)
    finding = st.fixed_dictionaries(
        {"category": st.sampled_from([c.value for c in FindingCategory])},
        optional={
            "measure": st.sampled_from([m.value for m in Measure]),
            "owner_ref": st.sampled_from(staff),
        },
    )
    suggestion = st.fixed_dictionaries(
        {
            "topic": st.sampled_from([t.value for t in SuggestionTopic]),
            "text": st.text(min_size=1, max_size=50).filter(lambda s: "\x00" not in s),
        }
    )
    others = st.lists(st.sampled_from(pairs), min_size=0 if recorder else 1, max_size=2)
    completion = st.fixed_dictionaries(
        {
            "visitors": others.map(
                lambda vs: [*recorder, *({"staff_ref": r, "role": role} for r, role in vs)]
            ),
            "mode": st.sampled_from([m.value for m in VisitMode]),
            "started_at": when,
            "duration_minutes": st.integers(1, 600),
            "goals_covered": st.lists(
                st.sampled_from([g.value for g in VisitGoal]), min_size=1, max_size=6
            ),
            "findings": st.lists(finding, max_size=3),
            "parent_suggestions": st.lists(suggestion, max_size=2),
            "integrity_attested": st.just(True),
        }
    )
    return {
        "/visits": st.fixed_dictionaries(
            {"student_ref": st.sampled_from([p.ref for p in school.pupils]), "planned_for": day}
        ),
        "/visits/{visit_id}/schedule": st.fixed_dictionaries(
            {"appointment_at": when, "mode": st.sampled_from([m.value for m in VisitMode])}
        ),
        "/visits/{visit_id}/complete": completion,
        "/visits/{visit_id}/followups": st.fixed_dictionaries(
            {
                "measure": st.sampled_from([m.value for m in Measure]),
                "category": st.sampled_from([c.value for c in FindingCategory]),
            },
            optional={"owner_ref": st.sampled_from(staff), "due_date": day},
        ),
        "/followups/{case_id}/actions": st.fixed_dictionaries(
            {"taken_on": day, "description": st.just("家访后电话回访")}
        ),
        "/followups/{case_id}/close": st.fixed_dictionaries(
            {"outcome": st.just("resolved"), "closed_on": day}
        ),
    }


async def seed_visits(http: httpx.AsyncClient, school: School) -> dict[str, list[str]]:
    """Visits in each state, a follow-up case and a family code; the ids to fuzz with."""
    class_id, teacher = sorted(school.head_teachers.items())[0]
    me = school.as_staff(teacher)
    pupils = [p for p in school.pupils if p.class_id == class_id]
    today = str(now_utc().astimezone(CHINA).date())
    visit_ids = []
    for pupil in pupils + pupils:
        r = await http.post(
            "/visits", json={"student_ref": pupil.ref, "planned_for": today}, headers=me
        )
        assert r.status_code == 200, r.text
        visit_ids.append(r.json()["visit_id"])
    scheduled, done = visit_ids[:2]
    r = await http.post(
        f"/visits/{scheduled}/schedule",
        json={"appointment_at": now_utc().isoformat(), "mode": "online"},
        headers=me,
    )
    assert r.status_code == 200, r.text
    completion = {
        "visitors": [
            {"staff_ref": teacher, "role": "head_teacher"},
            {"staff_ref": school.principal, "role": "principal"},
        ],
        "mode": "in_home",
        "started_at": (now_utc() - timedelta(hours=2)).astimezone(CHINA).isoformat(),
        "duration_minutes": 45,
        "goals_covered": ["student_performance", "family_situation"],
        "findings": [{"category": "learning_difficulty", "measure": "learning_support"}],
        "parent_suggestions": [{"topic": "teaching", "text": "希望多布置阅读"}],
        "notes": "家长配合。",
        "integrity_attested": True,
    }
    r = await http.post(f"/visits/{done}/complete", json=completion, headers=me)
    assert r.status_code == 200, r.text
    case_ids: list[str] = r.json()["case_ids"]
    r = await http.get(f"/visits/{done}/record", headers=me)
    assert r.status_code == 200, r.text
    suggestion_ids = [s["suggestion_id"] for s in r.json()["parent_suggestions"]]
    r = await http.post(f"/visits/{done}/family-code", headers=me)
    assert r.status_code == 200, r.text
    this_month = now_utc().astimezone(CHINA).strftime("%Y-%m")
    return {
        "visit_id": visit_ids,
        "case_id": case_ids,
        "suggestion_id": suggestion_ids,
        "school_id": [school.school_id],
        "class_id": sorted(school.head_teachers),
        "district": [school.district],
        "month": sorted({this_month, "2026-02", "2025-12", "0000-01", "0001-01", "9999-12"}),
        "notification_id": ["1"],  # the kit's route: none queued here, a 404 from the handler
    }


# --- driving schemathesis ---------------------------------------------------------------


def strategies_for(op: Any, fuzz: Fuzz, school: School, me: Caller) -> st.SearchStrategy[Any]:
    """Generated requests, and requests with the ids, bodies and calendar edges we have."""
    ids = fuzz.ids
    generated = [op.as_strategy(mode) for mode in schemathesis.GenerationMode]
    ours = []
    if "{" in op.path:  # real visits, cases, schools…, so handlers get past the 404
        ours.append(real_ids(ids, op.path).flatmap(partial(with_ids, fuzz, op)))
    bodies = real_bodies(school, me)
    if op.path in bodies:  # …and real students and staff in the body
        ours.append(st.tuples(real_ids(ids, op.path), bodies[op.path]).map(partial(with_body, op)))
    edges = {p.name: EDGE_QUERY[p.name] for p in op.query if p.name in EDGE_QUERY}
    if edges:  # …and the ends of the calendar in the query
        ours.append(
            st.tuples(real_ids(ids, op.path), st.fixed_dictionaries({}, optional=edges)).map(
                partial(with_query, op)
            )
        )
    # Half the draws are schemathesis' own; half, where there are any, are ours.
    return st.one_of(st.one_of(*generated), *([st.one_of(*ours)] if ours else []))


def fuzz_operations(fuzz: Fuzz, ops: list[Any], school: School) -> None:
    """Every operation under every caller (in the schema's order: plans come first)."""
    for op in ops:
        for who, me in fuzz.callers.items():
            drive(fuzz, me.share, strategies_for(op, fuzz, school, me), partial(call, fuzz, who))


async def dead_letters(
    settings: VisitsSettings, pool: asyncpg.Pool, accepted: list[str]
) -> list[str]:
    """Once the outbox is relayed and the board has read its topic: what it dead-lettered,
    with the accepted commands that name the event's stream (``visit-<id>``: the visit)."""
    kafka = settings.kafka_bootstrap_servers
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM outbox"),
        lambda n: n == 0,
        what="the visits outbox relayed",
    )
    await eventually(
        lambda: caught_up(pool, board.GROUP, settings.topic, kafka),
        lambda done: done,
        what="the board caught up with the visits topic",
    )
    out = []
    for record in await read_all(kafka, dlq_topic(settings.topic, board.GROUP)):
        h = dict(record.headers)
        stream = (record.key or b"").decode()
        out.append(
            f"{h.get('ce_type', b'?').decode()} on {stream}: "
            f"{h.get('dlq_error', b'?').decode()[:300]}"
        )
        own_id = stream.split("-", 1)[-1]
        out += [f"    after {command}" for command in accepted if own_id in command]
    return out


async def test_fuzzing_every_visits_operation_never_gets_a_5xx_nor_an_error_that_is_not_a_problem(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    visits_db: asyncpg.Pool,
) -> None:
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits_app(visits_settings, verifier)) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=30) as visits,
    ):
        school = await set_up_school(registry, visits, bearer, SPEC)
        ids = await seed_visits(visits, school)
        teacher = sorted(school.head_teachers.items())[0][1]
        callers = {
            "head_teacher": Caller(school.as_staff(teacher), teacher, "head_teacher"),
            "principal": Caller(school.as_staff(school.principal), school.principal, "principal"),
            # An officer's token is district-wide and reads aggregates only: a smaller share.
            "bureau_officer": Caller(school.officer(), share=0.5),
            # Without a token, all but two operations stop at the 401: a token share.
            "nobody": Caller({}, share=0.1),
        }
        ops, broken = await asyncio.to_thread(operations, visits_url)
        shares = len(ops) * sum(c.share for c in callers.values())
        fuzz = Fuzz(
            visits_url,
            callers,
            ids,
            shares,
            budget=BUDGET,
            harvests={"visit_id": "visit_id", "case_id": "case_id", "case_ids": "case_id"},
        )
        fuzz.failures += broken
        started = time.monotonic()
        await asyncio.to_thread(fuzz_operations, fuzz, ops, school)
        took = time.monotonic() - started
    dead = await dead_letters(visits_settings, visits_db, fuzz.accepted)

    bad = [f"{len(fuzz.failures)} bad answers:", *fuzz.failures[:40]] if fuzz.failures else []
    if dead:
        bad += ["accepted commands the board could not project (dead-lettered):", *dead[:40]]
    assert not bad, "\n".join(bad)
    labels = sorted(op.label for op in ops)
    assert len(labels) >= 24, f"the schema lists only {labels}"
    assert took < BUDGET + 15, f"fuzzing took {took:.1f}s"
    unexercised = [(op, who) for op in labels for who in callers if not fuzz.calls[(op, who)]]
    assert not unexercised, f"never called: {unexercised}"
    never_past = [op for op in labels if not fuzz.past_validation[op]]
    assert not never_past, f"never past validation: {never_past}; {sorted(fuzz.statuses.items())}"
