"""Wellbeing's reactions end to end on real Kafka and PostgreSQL, each trigger delivered again:

- a home visit completed over the visits API with a mental-health finding (its
  ``VisitCompleted`` refers the student to wellbeing, its ``FollowUpOpened`` is a
  mental-health counselling case) → one ``AttentionListProposed``, however many visits say so
  and when the visit's record is produced to the visits topic a second time;
- the registry's transfer of a listed student to another school of the district → the plan
  handed over once (the record produced again changes nothing), the listing at the receiving
  school; the student leaving → removed and the plan closed by the service."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion
from tests.integration.test_wellbeing_attention_http import (
    Stack,
    of_type,
    produce_again,
    settled,
    stack,
)
from tests.support.kafka_reader import read_all
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings
from tongxin_wellbeing.reactions.proposals import PROPOSALS
from tongxin_wellbeing.reactions.transfers import TRANSFERS

pytestmark = pytest.mark.integration

TWO_SCHOOLS = DemoSpec(schools=2, classes_per_school=1, students_per_class=3)


async def visit(s: Stack, student_ref: str) -> None:
    """A visit of the student's family by their head teacher, completed with the default
    findings: mental health (counselling case opened) and physical health."""
    school = s.w.school
    teacher = school.head_teachers[school.pupils[0].class_id]
    me = school.as_staff(teacher)
    r = await s.w.visits.post(
        "/visits",
        json={"student_ref": student_ref, "planned_for": str(now_utc().date())},
        headers=me,
    )
    assert r.status_code == 200, r.text
    r = await s.w.visits.post(
        f"/visits/{r.json()['visit_id']}/complete", json=completion(school, teacher), headers=me
    )
    assert r.status_code == 200, r.text


async def pending(s: Stack) -> list[dict[str, Any]]:
    r = await s.http.get(f"/schools/{s.school_id}/attention", headers=s.token("psych_teacher"))
    assert r.status_code == 200, r.text
    return list(r.json()["proposals"])


async def test_visits_with_a_mental_health_finding_propose_the_student_once_even_redelivered(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with stack(
        infra,
        kafka,
        unique,
        database_name,
        registry_settings,
        visits_settings,
        verifier,
        bearer,
    ) as s:
        ref = s.w.school.pupils[0].ref
        await visit(s, ref)
        [proposal] = await eventually(
            lambda: pending(s), lambda ps: len(ps) == 1, what="the proposal from the visit"
        )
        assert proposal["student_ref"] == ref
        assert proposal["source"] in {"visit", "followup"}  # both say so; the first one counts

        # A second visit saying the same, and the first visit's record produced again.
        await visit(s, ref)

        async def completed() -> list[ConsumerRecord]:
            return of_type(await read_all(kafka, visits_settings.topic), "VisitCompleted", ref)

        both = await eventually(completed, lambda rs: len(rs) == 2, what="both visits relayed")
        await produce_again(kafka, both[0])
        await settled(s, PROPOSALS.group, visits_settings.topic, kafka)

        proposed = of_type(await read_all(kafka, s.settings.topic), "AttentionListProposed", ref)
        assert len(proposed) == 1, "one proposal however many visits and deliveries"
        assert set(json.loads(proposed[0].value)) >= {"proposal_id", "source"}
        assert json.loads(proposed[0].value).get("reason") is None
        assert await pending(s) == [proposal]


async def import_second_school(s: Stack, school_id: str) -> None:
    """The district's second school (the demo roster's rows of it), imported by the officer;
    known to wellbeing once its class is."""
    officer = s.w.school.officer()
    for kind, body in zip(("students", "staff"), demo_roster(TWO_SCHOOLS), strict=True):
        header, *rows = body.splitlines()
        own = [row for row in rows if f",{school_id}," in f",{row}"]
        assert own, kind
        r = await s.w.registry.post(
            f"/imports/{kind}", content="\n".join([header, *own, ""]).encode(), headers=officer
        )
        assert r.status_code == 200, r.text

    async def known() -> int:
        n = await s.pool.fetchval(
            "SELECT count(*) FROM wellbeing.classes WHERE school_id = $1", school_id
        )
        return int(n or 0)

    await eventually(known, lambda n: n == 1, timeout=60, what="the second school in wellbeing")


async def list_student(s: Stack, student_ref: str) -> None:
    r = await s.http.post(
        f"/students/{student_ref}/attention/proposals", json={}, headers=s.token("head_teacher")
    )
    assert r.status_code == 200, r.text
    proposal = r.json()["proposal_id"]
    for role in ("head_teacher", "health_vp", "psych_teacher"):
        r = await s.http.post(
            f"/students/{student_ref}/attention/proposals/{proposal}/sign-offs",
            json={"role": role},
            headers=s.token(role),
        )
        assert r.status_code == 200, r.text
    assert r.json()["listed"] is True


async def test_a_listed_student_transferred_in_the_district_takes_the_plan_along_once_then_leaves(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with stack(
        infra,
        kafka,
        unique,
        database_name,
        registry_settings,
        visits_settings,
        verifier,
        bearer,
    ) as s:
        ref, district = s.w.school.pupils[0].ref, s.w.school.district
        there = f"{district}002"
        await import_second_school(s, there)
        await list_student(s, ref)

        async def plan() -> dict[str, Any]:
            row = await s.pool.fetchrow(
                "SELECT school_id, status, closed_reason FROM wellbeing.plans"
                " WHERE student_ref = $1",
                ref,
            )
            return dict(row) if row else {}

        await eventually(plan, lambda p: p.get("status") == "open", what="the plan")
        officer = s.w.school.officer()
        r = await s.w.registry.post(
            f"/students/{ref}/transfer", json={"class_id": f"{there}-01"}, headers=officer
        )
        assert r.status_code == 200, r.text
        await eventually(plan, lambda p: p.get("school_id") == there, what="the handover")

        moved = of_type(await read_all(kafka, registry_settings.topic), "StudentTransferred", ref)
        assert len(moved) == 1
        await produce_again(kafka, moved[0])
        await settled(s, TRANSFERS.group, registry_settings.topic, kafka)
        handed = of_type(await read_all(kafka, s.settings.topic), "CarePlanHandedOver", ref)
        assert len(handed) == 1, "one handover however often the transfer is delivered"
        assert json.loads(handed[0].value)["to_school_id"] == there

        # The receiving school's team has the listing and the plan; the old one no longer.
        psych_there = bearer("psych_teacher", district, there, subject=f"{there}-psych")
        r = await s.http.get(f"/schools/{there}/attention", headers=psych_there)
        assert [x["student_ref"] for x in r.json()["listed"]] == [ref], r.text
        r = await s.http.get(f"/schools/{s.school_id}/attention", headers=s.token("psych_teacher"))
        assert r.json()["listed"] == [], r.text

        # Leaving: removed and the plan closed, decided by the service.
        principal_there = bearer("principal", district, there)
        r = await s.w.registry.post(
            f"/students/{ref}/leave", json={"reason": "moved_away"}, headers=principal_there
        )
        assert r.status_code == 200, r.text
        await eventually(plan, lambda p: p.get("status") == "closed", what="the plan closed")
        assert (await plan())["closed_reason"] == "left_school"
        row = await s.pool.fetchrow(
            "SELECT status, removal_reason, decided_by FROM wellbeing.attention"
            " WHERE student_ref = $1",
            ref,
        )
        assert dict(row) == {
            "status": "removed",
            "removal_reason": "left_school",
            "decided_by": "wellbeing-service",
        }
