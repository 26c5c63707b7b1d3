"""What a subscriber of ``registry.events`` and ``visits.events`` can read in the raw bytes of
the topics, after a realistic flow (a roster import, a categorisation, a completed visit with
findings, a case opened by hand): no birth date, no special group but the care groups safety
acts on, no finding category; the coarse facts subscribers need are there
(docs/privacy-on-the-wire.md)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion, plan_visit
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.visits import set_up_school
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=6)
# Categories that say something about a child; "safety" and "other" are also a suggestion's
# topics, and a safety finding is referred to safety by name (in clear, by design).
SENSITIVE_CATEGORIES = (
    "mental_health",
    "physical_health",
    "learning_difficulty",
    "family_hardship",
    "family_education",
)
SEALED_GROUPS = (
    "psychological_or_behavioural",
    "learning_difficulty",
    "disabled",
    "low_income",
    "migrant",
    "single_parent_or_reconstituted",
)


def _payloads(records: list[Any], ce_type: str) -> list[bytes]:
    return [bytes(r.value) for r in records if dict(r.headers)["ce_type"].decode() == ce_type]


async def test_the_topics_carry_no_birth_date_special_group_or_finding_category_in_clear(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    students_csv, _ = demo_roster(SPEC)
    births = {row["birth_date"] for row in csv.DictReader(io.StringIO(students_csv))}
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(visits_app(visits_settings, verifier)) as visits_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=visits_url, timeout=30) as http,
    ):
        school = await set_up_school(registry, http, bearer, SPEC)
        class_id, teacher = sorted(school.head_teachers.items())[0]
        pupil = next(p for p in school.pupils if p.class_id == class_id and not p.special)
        principal = bearer("principal", school.district, school.school_id)
        r = await registry.post(
            f"/students/{pupil.ref}/categories",
            json={"groups": ["psychological_or_behavioural", "left_behind", "learning_difficulty"]},
            headers=principal,
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["StudentCategorised"]
        # The registry still knows the groups (sealed on the wire, opened for its readers).
        record = await eventually(
            lambda: _json(registry.get(f"/students/{pupil.ref}", headers=principal)),
            lambda d: d.get("in_special_group") is True,
            what="the categorisation in the roster",
        )
        assert record["groups"] == [
            "learning_difficulty",
            "left_behind",
            "psychological_or_behavioural",
        ]
        assert record["age_band"] in ("under_14", "14_to_17")
        assert "birth_date" not in record

        me = school.as_staff(teacher)
        visit_id = await plan_visit(http, me, pupil.ref)
        body = completion(
            school,
            teacher,
            findings=[
                {"category": "mental_health", "measure": "mental_health_counselling"},
                {"category": "physical_health"},
                {"category": "learning_difficulty"},
            ],
        )
        r = await http.post(f"/visits/{visit_id}/complete", json=body, headers=me)
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/visits/{visit_id}/followups",
            json={"measure": "hardship_assistance", "category": "family_hardship"},
            headers=me,
        )
        assert r.status_code == 200, r.text
        # Whoever may read the visit's record reads its findings, opened.
        r = await http.get(f"/visits/{visit_id}/record", headers=me)
        assert r.status_code == 200, r.text
        assert [f["category"] for f in r.json()["findings"]] == [
            "mental_health",
            "physical_health",
            "learning_difficulty",
        ]

        # Visits still counts the student as special from what it receives: coverage asks for
        # an in-home visit this semester.
        async def special() -> bool:
            cov = (
                await http.get(f"/schools/{school.school_id}/coverage", headers=principal)
            ).json()
            row = next(s for s in cov["students"] if s["student_ref"] == pupil.ref)
            return bool(row["special"]) and row["special_in_home_semester"] is not None

        await eventually(special, lambda s: s, what="the categorised student special on the board")

        registry_records = await read_all(
            registry_settings.kafka_bootstrap_servers, registry_settings.topic
        )
        visits_records = await read_all(
            visits_settings.kafka_bootstrap_servers, visits_settings.topic
        )

    registry_raw = b"".join(bytes(r.value) for r in registry_records)
    visits_raw = b"".join(bytes(r.value) for r in visits_records)
    # No birth date, in any form the CSV gave it, nor the field itself.
    assert births
    assert [b for b in births if b.encode() in registry_raw] == []
    assert b"birth_date" not in registry_raw
    # No special group but the care groups safety must act on.
    assert [g for g in SEALED_GROUPS if g.encode() in registry_raw] == []
    [categorised] = [
        p
        for p in _payloads(registry_records, "cn.tongxin.registry.StudentCategorised.v2")
        if pupil.ref.encode() in p
    ]
    assert b'"in_special_group":true' in categorised
    assert b'"care_groups":["left_behind"]' in categorised
    enrolments = _payloads(registry_records, "cn.tongxin.registry.StudentEnrolled.v2")
    assert len(enrolments) == SPEC.classes_per_school * SPEC.students_per_class
    assert all(b'"age_band":"' in e and b'"age_band_on":"' in e for e in enrolments)
    # No finding category; whom a finding concerns outside the school, and the case's measure.
    assert [c for c in SENSITIVE_CATEGORIES if f'"{c}"'.encode() in visits_raw] == []
    [completed] = _payloads(visits_records, "cn.tongxin.visits.VisitCompleted.v2")
    assert b'"referrals":["wellbeing"]' in completed
    opened = _payloads(visits_records, "cn.tongxin.visits.FollowUpOpened.v2")
    assert {
        m for m in (b"mental_health_counselling", b"hardship_assistance") if m in b"".join(opened)
    } == {
        b"mental_health_counselling",
        b"hardship_assistance",
    }


async def _json(response: Any) -> Any:
    return (await response).json()
