"""The visits service over real HTTP, Kafka and PostgreSQL: a visit's life, its confirmation,
the ledger, refusals as problem+json, scope checks and idempotency keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.visits import School, family_code, set_up_school
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_contracts import Sealed
from tongxin_contracts.calendar import CHINA
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.crypto import KeyStore, SubjectErasedError
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=6)


@asynccontextmanager
async def world(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> AsyncIterator[tuple[httpx.AsyncClient, School]]:
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits_app(visits_settings, verifier)) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=30) as visits,
    ):
        yield visits, await set_up_school(registry, visits, bearer, SPEC)


async def plan_visit(http: httpx.AsyncClient, me: dict[str, str], student_ref: str) -> str:
    r = await http.post(
        "/visits",
        json={"student_ref": student_ref, "planned_for": str(now_utc().date())},
        headers=me,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["visit_id"])


def completion(school: School, recorder: str, *others: str, **extra: Any) -> dict[str, Any]:
    def role(ref: str) -> str:
        roles = school.roles[ref]
        return "head_teacher" if "head_teacher" in roles else roles[0]

    body: dict[str, Any] = {
        "visitors": [{"staff_ref": r, "role": role(r)} for r in (recorder, *others)],
        "mode": "in_home",
        "started_at": (now_utc() - timedelta(hours=3)).astimezone(CHINA).isoformat(),
        "duration_minutes": 50,
        "goals_covered": ["student_performance", "family_situation", "parent_opinions"],
        "findings": [
            {"category": "mental_health", "measure": "mental_health_counselling"},
            {"category": "physical_health"},
        ],
        "parent_suggestions": [{"topic": "safety", "text": "放学路口希望有老师值守"}],
        "notes": "孩子近来睡眠不好，家长愿意配合学校。",
        "integrity_attested": True,
    }
    return {**body, **extra}


async def test_a_visit_is_planned_completed_confirmed_and_reaches_kafka_and_the_board(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    visits_db: asyncpg.Pool,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        class_id, teacher = sorted(school.head_teachers.items())[0]
        pupil = next(p for p in school.pupils if p.class_id == class_id)
        me = school.as_staff(teacher)
        r = await http.post(
            "/visits",
            json={"student_ref": pupil.ref, "planned_for": str(now_utc().date())},
            headers={**me, "Idempotency-Key": "plan-1"},
        )
        assert r.status_code == 200, r.text
        visit_id = r.json()["visit_id"]
        again = await http.post(
            "/visits",
            json={"student_ref": pupil.ref, "planned_for": str(now_utc().date())},
            headers={**me, "Idempotency-Key": "plan-1"},
        )
        assert again.json()["visit_id"] == visit_id, "same key, same answer, no second visit"

        r = await http.post(
            f"/visits/{visit_id}/schedule",
            json={"appointment_at": now_utc().isoformat(), "mode": "in_home"},
            headers=me,
        )
        assert r.status_code == 200, r.text

        # Without the integrity attestation, nothing is recorded.
        refused = await http.post(
            f"/visits/{visit_id}/complete",
            json=completion(school, teacher, integrity_attested=False),
            headers=me,
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"].startswith("integrity_attested:")
        # A visitor who is not on the school's staff is a 422 naming the field.
        stranger = completion(school, teacher)
        stranger["visitors"].append({"staff_ref": "stf_nobody", "role": "principal"})
        r = await http.post(f"/visits/{visit_id}/complete", json=stranger, headers=me)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("visitors.1.staff_ref:")

        r = await http.post(
            f"/visits/{visit_id}/complete",
            json=completion(school, teacher, school.principal),
            headers=me,
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["VisitCompleted", "FollowUpOpened"]
        (case_id,) = r.json()["case_ids"]

        # The recorder cannot vouch for their own visit; the co-visitor can.
        own = await http.post(f"/visits/{visit_id}/confirm", headers=me)
        assert own.status_code == 403
        r = await http.post(
            f"/visits/{visit_id}/confirm", headers=school.as_staff(school.principal)
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["VisitConfirmed"]

        # The ledger: an action, then closure; the board shows both.
        r = await http.post(
            f"/followups/{case_id}/actions",
            json={"taken_on": str(now_utc().date()), "description": "心理老师一对一谈话"},
            headers=me,
        )
        assert r.status_code == 200, r.text

        async def board_visit() -> dict[str, Any]:
            got = await http.get(f"/visits/{visit_id}", headers=me)
            return got.json() if got.status_code == 200 else {}

        seen = await eventually(
            board_visit, lambda v: v.get("confirmed") is True, what="the confirmed visit"
        )
        assert seen["status"] == "completed"
        assert seen["confirmed_by"] == "co_visitor"
        ledger = await eventually(
            lambda: _json(http.get(f"/schools/{school.school_id}/followups", headers=me)),
            lambda rows: len(rows) == 1 and rows[0]["actions"] == 1,
            what="the case with its action on the ledger",
        )
        assert ledger[0]["measure"] == "mental_health_counselling"
        assert ledger[0]["overdue"] is False

        # The notes and suggestions open for the head teacher, and the read is logged; a
        # subject teacher may not read them.
        record = await http.get(f"/visits/{visit_id}/record", headers=me)
        assert record.status_code == 200, record.text
        assert record.json()["notes"] == "孩子近来睡眠不好，家长愿意配合学校。"
        assert [s["text"] for s in record.json()["parent_suggestions"]] == [
            "放学路口希望有老师值守"
        ]
        assert record.json()["erased"] is False
        actions = await http.get(f"/followups/{case_id}/actions", headers=me)
        assert [a["description"] for a in actions.json()] == ["心理老师一对一谈话"]
        subject_teacher = bearer(
            "subject_teacher", school.district, school.school_id, subject=teacher
        )
        refused = await http.get(f"/visits/{visit_id}/record", headers=subject_teacher)
        assert refused.status_code == 403
        # The school's feedback channel reads the parent's suggestion, never whose family it was.
        (suggestion,) = record.json()["parent_suggestions"]
        committee = bearer("committee_member", school.district, school.school_id)
        path = f"/visits/{visit_id}/suggestions/{suggestion['suggestion_id']}"
        shared = await http.get(path, headers=committee)
        assert shared.status_code == 200, shared.text
        assert shared.json()["text"] == "放学路口希望有老师值守"
        assert pupil.ref not in shared.text
        assert (await http.get(f"/visits/{visit_id}/record", headers=committee)).status_code == 403
        police = bearer("police", school.district)
        assert (await http.get(path, headers=police)).status_code == 403
        log = await http.get(
            "/access-log", params={"record": visit_id}, headers=bearer("auditor", school.district)
        )
        assert log.status_code == 200, log.text
        assert [(e["actor"], e["action"]) for e in log.json()] == [(teacher, "visit.read_notes")]

        records = await read_all(visits_settings.kafka_bootstrap_servers, visits_settings.topic)
        types = [dict(r.headers)["ce_type"].decode() for r in records]
        assert types.count("cn.tongxin.visits.VisitCompleted.v2") == 1
        assert "cn.tongxin.visits.VisitConfirmed.v1" in types
        raw = b"".join(r.value for r in records)
        assert "睡眠".encode() not in raw, "free text travels sealed"
        assert "路口".encode() not in raw


async def test_the_family_confirms_with_its_one_time_code_once(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        class_id, teacher = sorted(school.head_teachers.items())[1]
        pupil = next(p for p in school.pupils if p.class_id == class_id)
        me = school.as_staff(teacher)
        visit_id = await plan_visit(http, me, pupil.ref)
        early = await http.post(f"/visits/{visit_id}/family-code", headers=me)
        assert early.status_code == 422, "no code before the visit is recorded"
        r = await http.post(
            f"/visits/{visit_id}/complete", json=completion(school, teacher), headers=me
        )
        assert r.status_code == 200, r.text
        sent = await http.post(f"/visits/{visit_id}/family-code", headers=me)
        assert sent.status_code == 200, sent.text
        assert sent.json()["sent_to_guardians"] == pupil.guardians
        assert "code" not in sent.json(), "the teacher never holds the family's code"

        code = await family_code(http, school, visit_id)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = await http.post(f"/visits/{visit_id}/family-confirmation", json={"code": wrong})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert "attempts_left" not in refused.json(), "an anonymous caller learns nothing more"
        r = await http.post(f"/visits/{visit_id}/family-confirmation", json={"code": code})
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["VisitConfirmed"]
        reused = await http.post(f"/visits/{visit_id}/family-confirmation", json={"code": code})
        assert (reused.status_code, reused.json()) == (422, refused.json()), "a code works once"


async def test_scope_refusals_are_problems_naming_the_rule(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        (c1, t1), (c2, _) = sorted(school.head_teachers.items())
        other_pupil = next(p for p in school.pupils if p.class_id == c2)
        body = {"student_ref": other_pupil.ref, "planned_for": str(now_utc().date())}
        r = await http.post("/visits", json=body, headers=school.as_staff(t1))
        assert r.status_code == 403
        assert r.json()["rule"] == "visit.record"
        r = await http.post("/visits", json=body)
        assert r.status_code == 401
        # A district officer sees aggregates, not a school's visits, and records nothing.
        r = await http.get(f"/schools/{school.school_id}/visits", headers=school.officer())
        assert r.status_code == 403
        r = await http.get(f"/districts/{school.district}/coverage", headers=school.officer())
        assert r.status_code == 200
        assert "students" not in r.json()[0]["school_id"]
        assert all("student_ref" not in str(row) for row in r.json())
        # A head teacher cannot submit the school's report; a token from another district
        # cannot read it.
        month = now_utc().astimezone(CHINA).strftime("%Y-%m")
        r = await http.post(
            f"/schools/{school.school_id}/reports/{month}/submit", headers=school.as_staff(t1)
        )
        assert r.status_code == 403
        r = await http.get(
            f"/schools/{school.school_id}/reports/{month}",
            headers=bearer("bureau_officer", "110101"),
        )
        assert r.status_code == 403
        r = await http.get(f"/classes/{c1}/nothing", headers=school.as_staff(t1))
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


async def _json(response: Any) -> Any:
    return (await response).json()


async def test_erasing_a_student_in_the_registry_shreds_their_visit_notes_here_too(
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
        httpx.AsyncClient(base_url=visits_url, timeout=30) as http,
    ):
        school = await set_up_school(registry, http, bearer, SPEC)
        class_id, teacher = sorted(school.head_teachers.items())[0]
        victim, other = [p for p in school.pupils if p.class_id == class_id][:2]
        me = school.as_staff(teacher)
        visit_ids = []
        for pupil in (victim, other):
            visit_id = await plan_visit(http, me, pupil.ref)
            r = await http.post(
                f"/visits/{visit_id}/complete", json=completion(school, teacher), headers=me
            )
            assert r.status_code == 200, r.text
            visit_ids.append(visit_id)
        victim_visit = visit_ids[0]

        async def keys() -> set[str]:
            rows = await visits_db.fetch("SELECT subject FROM subject_keys")
            return {r["subject"] for r in rows}

        assert {victim.ref, other.ref} <= await keys()
        r = await registry.post(
            f"/subjects/{victim.ref}/erase",
            json={"reason": "data_subject_request"},
            headers=school.operator(),
        )
        assert r.status_code == 200, r.text
        left = await eventually(
            keys, lambda k: victim.ref not in k, what="the victim's key shredded in visits"
        )
        assert other.ref in left, "only the erased student's key goes"
        sealed = await visits_db.fetchval(
            "SELECT payload FROM events WHERE event_type = $1 AND convert_from(payload, 'UTF8')"
            " LIKE '%' || $2 || '%'",
            "cn.tongxin.visits.VisitCompleted.v2",
            victim.ref,
        )
        notes = Sealed.model_validate(json.loads(bytes(sealed))["notes"])
        with pytest.raises(SubjectErasedError):
            await KeyStore().open(visits_db, notes)
        shut = await http.get(f"/visits/{victim_visit}/record", headers=me)
        assert shut.status_code == 200, shut.text
        assert shut.json()["erased"] is True
        assert shut.json()["notes"] is None
        assert all(s["text"] is None for s in shut.json()["parent_suggestions"])


async def test_overdue_cases_show_up_and_district_rules_change_the_coverage(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        class_id, teacher = sorted(school.head_teachers.items())[0]
        pupil = next(p for p in school.pupils if p.class_id == class_id)
        me = school.as_staff(teacher)
        visit_id = await plan_visit(http, me, pupil.ref)
        body = completion(school, teacher, findings=[], parent_suggestions=[])
        assert (await http.post(f"/visits/{visit_id}/complete", json=body, headers=me)).is_success
        yesterday = (now_utc().astimezone(CHINA) - timedelta(days=1)).date()
        r = await http.post(
            f"/visits/{visit_id}/followups",
            json={
                "measure": "learning_support",
                "category": "learning_difficulty",
                "due_date": str(yesterday),
            },
            headers=me,
        )
        assert r.status_code == 200, r.text
        overdue = await eventually(
            lambda: _json(
                http.get(
                    f"/schools/{school.school_id}/followups",
                    params={"status": "overdue"},
                    headers=me,
                )
            ),
            lambda rows: len(rows) == 1,
            what="the overdue case on the ledger",
        )
        assert overdue[0]["case_id"] == r.json()["case_id"]
        assert overdue[0]["overdue"] is True

        # The visit is unconfirmed: it counts for nobody. A district that asks principals for no
        # visits at all sees its principal done at once.
        principal = school.as_staff(school.principal)

        async def principal_row() -> dict[str, Any]:
            cov = await http.get(f"/schools/{school.school_id}/coverage", headers=principal)
            return next(s for s in cov.json()["staff"] if s["role"] == "principal")

        assert (await principal_row())["requirement"] == {"done": 0, "required": 5, "status": "due"}
        refused = await http.put(
            f"/districts/{school.district}/rules",
            json={"principal_students_per_year": 0},
            headers=principal,
        )
        assert refused.status_code == 403
        r = await http.put(
            f"/districts/{school.district}/rules",
            json={"principal_students_per_year": 0},
            headers=school.officer(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["VisitRulesSet"]
        row = await eventually(
            principal_row, lambda s: s["requirement"]["required"] == 0, what="the new rule"
        )
        assert row["requirement"]["status"] == "done"
        rules = await http.get(f"/districts/{school.district}/rules", headers=school.officer())
        assert rules.json()["principal_students_per_year"] == 0
        assert rules.json()["middle_leader_students_per_year"] == 10
