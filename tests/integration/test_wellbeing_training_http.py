"""Training and classes (seed 004) over real HTTP, Kafka and PostgreSQL: a school records its
crisis-identification and emotion-module training, a parent session and psychology classes;
its coverage and its district's (one row per school) count them against the roster; attendees
from another school, classes of another school, a training twice under one Idempotency-Key and
callers outside the school are refused or answered as the rules say."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.waiting import eventually
from tests.support.wellbeing_school import Wellbeing, wellbeing_settings, wellbeing_world
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_wellbeing.domain.calendar import china_date, school_year_of

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=2, classes_per_school=3, students_per_class=2)
PROBLEM = "application/problem+json"
TODAY = china_date(now_utc())
YEAR = school_year_of(TODAY)


@pytest.fixture
async def wb(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    topic: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> AsyncIterator[Wellbeing]:
    settings = await wellbeing_settings(infra, kafka, unique, database_name, topic)
    async with wellbeing_world(settings, registry_settings, verifier, bearer, SPEC) as world:
        yield world


def staff_token(wb: Wellbeing, bearer: Bearer, role: str, school_id: str) -> dict[str, str]:
    return bearer(role, wb.roster.district, school_id, subject=wb.roster.one(role, school_id))


async def coverage_when(
    wb: Wellbeing, me: dict[str, str], path: str, done: Any, what: str
) -> dict[str, Any]:
    async def read() -> Any:
        r = await wb.http.get(path, params={"school_year": YEAR}, headers=me)
        assert r.status_code == 200, r.text
        return r.json()

    found: dict[str, Any] = await eventually(read, done, what=what)
    return found


async def test_a_schools_training_and_classes_show_in_its_coverage_and_its_districts(
    wb: Wellbeing, bearer: Bearer
) -> None:
    roster = wb.roster
    school, other = roster.schools
    principal = staff_token(wb, bearer, "principal", school)
    psych = roster.one("psych_teacher", school)
    heads = sorted(roster.head_of(c) for c, s in roster.classes.items() if s == school)
    classes = sorted(c for c, s in roster.classes.items() if s == school)
    day = str(TODAY)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await wb.http.post(f"/schools/{school}{path}", json=body, headers=principal)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    crisis = {"school_year": YEAR, "topic": "crisis_identification", "held_on": day}
    made = await post("/trainings", {**crisis, "staff_refs": [heads[0], psych]})
    assert made["events"] == ["TrainingRecorded"]
    assert made["training_id"]
    module = {"school_year": YEAR, "topic": "classroom_emotion_module", "held_on": day}
    await post("/trainings", {**module, "staff_refs": heads[:2]})
    parents = {"school_year": YEAR, "topic": "parent_session", "held_on": day, "parent_count": 57}
    await post("/trainings", parents)
    lesson = {
        "school_year": YEAR,
        "class_id": classes[0],
        "kind": "psychology_class",
        "held_on": day,
    }
    made = await post("/class-sessions", lesson)
    assert made["events"] == ["ClassSessionHeld"]
    assert made["session_id"]
    await post("/class-sessions", {**lesson, "class_id": classes[1], "kind": "group_counselling"})

    got = await coverage_when(
        wb,
        principal,
        f"/schools/{school}/training",
        lambda c: c["classes_with_sessions"] == 2 and c["parents"] == 57,
        what="the school's coverage",
    )
    ci, em = got["crisis_identification"], got["classroom_emotion_module"]
    # head teachers (3) and the psychology teacher: 2 of 4 trained in crisis identification
    assert (ci["staff"], ci["trained"], ci["share"]) == (4, 2, 0.5)
    assert sorted(ci["not_trained"]) == heads[1:]
    # the demo's head teachers are its subject teachers: 2 of 3 took the emotion module
    assert (em["staff"], em["trained"], em["not_trained"]) == (3, 2, heads[2:])
    assert (got["parent_sessions"], got["parents"]) == (1, 57)
    assert (got["classes"], got["classes_with_psychology_class"]) == (3, 1)
    assert got["classes_with_group_counselling"] == 1
    assert got["classes_without_sessions"] == classes[2:]

    officer = bearer("bureau_officer", roster.district)
    district = await coverage_when(
        wb,
        officer,
        f"/districts/{roster.district}/training",
        lambda d: len(d["schools"]) == 2,
        what="the district's coverage",
    )
    rows = {row["school_id"]: row for row in district["schools"]}
    assert sorted(rows) == [school, other]
    assert rows[school] == got
    assert rows[other]["crisis_identification"]["trained"] == 0
    assert rows[other]["classes_without_sessions"] == sorted(
        c for c, s in roster.classes.items() if s == other
    )
    assert district["school_year"] == YEAR
    totals = district["totals"]
    assert (totals["schools"], totals["crisis_identification_trained"]) == (2, 2)
    assert totals["crisis_identification_staff"] == 8  # 3 head teachers and 1 psychologist each
    assert (totals["parents"], totals["classes"], totals["classes_with_sessions"]) == (57, 6, 2)
    # without a school year: the current one (China time)
    r = await wb.http.get(f"/schools/{school}/training", headers=principal)
    assert r.status_code == 200, r.text
    assert r.json() == got
    # another school year counts nothing of this one
    r = await wb.http.get(
        f"/schools/{school}/training", params={"school_year": "2020-2021"}, headers=principal
    )
    assert r.status_code == 200, r.text
    assert r.json()["parent_sessions"] == 0


def refused(r: httpx.Response, status: int, field: str, rule: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert field in body["detail"], body
    if rule is not None:
        assert body.get("rule") == rule, body


async def test_attendees_and_classes_of_another_school_are_refused_naming_the_rule(
    wb: Wellbeing, bearer: Bearer
) -> None:
    roster = wb.roster
    school, other = roster.schools
    principal = staff_token(wb, bearer, "principal", school)
    stranger = roster.one("psych_teacher", other)
    body = {
        "school_year": YEAR,
        "topic": "crisis_identification",
        "held_on": str(TODAY),
        "staff_refs": [roster.one("psych_teacher", school), stranger],
    }
    r = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=principal)
    refused(r, 422, "staff_refs.1", "attendee_on_school_staff")
    far_class = next(c for c, s in roster.classes.items() if s == other)
    lesson = {
        "school_year": YEAR,
        "class_id": far_class,
        "kind": "psychology_class",
        "held_on": str(TODAY),
    }
    r = await wb.http.post(f"/schools/{school}/class-sessions", json=lesson, headers=principal)
    refused(r, 422, "class_id", "class_of_school")
    r = await wb.http.post(
        f"/schools/{school}/trainings",
        json={**body, "staff_refs": [], "topic": "parent_session"},
        headers=principal,
    )
    refused(r, 422, "parent_count", "parent_session_counts_parents")
    r = await wb.http.post(
        f"/schools/{school}/trainings",
        json={**body, "staff_refs": body["staff_refs"][:1], "school_year": "2019-2020"},
        headers=principal,
    )
    refused(r, 422, "held_on", "held_within_school_year")


async def test_one_idempotency_key_records_a_training_once(wb: Wellbeing, bearer: Bearer) -> None:
    school = wb.roster.schools[0]
    principal = staff_token(wb, bearer, "principal", school)
    body = {
        "school_year": YEAR,
        "topic": "parent_session",
        "held_on": str(TODAY),
        "parent_count": 30,
    }
    headers = {**principal, "Idempotency-Key": "parents-evening-1"}
    first = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=headers)
    again = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    other = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=principal)
    assert other.status_code == 200, other.text
    assert other.json() != first.json()
    got = await coverage_when(
        wb,
        principal,
        f"/schools/{school}/training",
        lambda c: c["parent_sessions"] == 2,
        what="two parent sessions",
    )
    assert got["parents"] == 60


async def test_callers_outside_the_school_or_without_the_role_are_refused(
    wb: Wellbeing, bearer: Bearer
) -> None:
    roster = wb.roster
    school, other = roster.schools
    body = {
        "school_year": YEAR,
        "topic": "parent_session",
        "held_on": str(TODAY),
        "parent_count": 3,
    }
    neighbour = staff_token(wb, bearer, "principal", other)
    r = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=neighbour)
    refused(r, 403, "scope", "training.record")
    r = await wb.http.get(f"/schools/{school}/training", headers=neighbour)
    refused(r, 403, "scope", "training.read")
    teacher_class = next(c for c, s in roster.classes.items() if s == school)
    teacher = bearer(
        "head_teacher",
        roster.district,
        school,
        teacher_class,
        subject=roster.head_of(teacher_class),
    )
    r = await wb.http.post(f"/schools/{school}/trainings", json=body, headers=teacher)
    refused(r, 403, "head_teacher", "training.record")
    r = await wb.http.get(
        f"/districts/{roster.district}/training", headers=bearer("police", roster.district)
    )
    refused(r, 403, "police", "training.read")
    r = await wb.http.get(
        f"/districts/{roster.district}/training",
        headers=staff_token(wb, bearer, "principal", school),
    )
    refused(r, 403, "scope", "training.read")
    r = await wb.http.get(
        "/schools/330106999/training", headers=bearer("bureau_officer", roster.district)
    )
    refused(r, 404, "school_id")
