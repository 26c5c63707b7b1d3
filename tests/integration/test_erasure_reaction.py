"""Erasure reaches the visits service as a reaction (choreography): the registry's
``SubjectErased`` makes the visits service delete its own key for the student's text, and record
that it did with ``StudentTextShredded``, caused by the erasure and in its correlation."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion
from tests.support.kafka_reader import read_all
from tests.support.waiting import eventually
from tests.support.world import World, world
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in (record.headers or ())}


def of_type(records: list[ConsumerRecord], name: str, student_ref: str) -> list[ConsumerRecord]:
    return [
        r
        for r in records
        if headers_of(r).get("ce_type", "").endswith(f".{name}.v1")
        and json.loads(r.value or b"{}").get("student_ref") == student_ref
    ]


async def keys_of(visits_db: asyncpg.Pool, student_ref: str) -> int:
    n = await visits_db.fetchval(
        "SELECT count(*) FROM subject_keys WHERE subject = $1", student_ref
    )
    return int(n)


async def visit_with_notes(w: World) -> tuple[str, str, dict[str, str], str]:
    """A visit planned and completed with notes by the first pupil's head teacher: the pupil,
    the visit, the head teacher's headers and the notes."""
    pupil = w.school.pupils[0]
    teacher = w.school.head_teachers[pupil.class_id]
    me = w.school.as_staff(teacher)
    r = await w.visits.post(
        "/visits",
        json={"student_ref": pupil.ref, "planned_for": str(now_utc().date())},
        headers=me,
    )
    assert r.status_code == 200, r.text
    visit_id = str(r.json()["visit_id"])
    body = completion(w.school, teacher)
    r = await w.visits.post(f"/visits/{visit_id}/complete", json=body, headers=me)
    assert r.status_code == 200, r.text
    return pupil.ref, visit_id, me, str(body["notes"])


async def erase_and_wait_for_the_shredding(
    w: World, visits_db: asyncpg.Pool, student_ref: str, correlation: str
) -> None:
    r = await w.registry.post(
        f"/subjects/{student_ref}/erase",
        json={"reason": "data_subject_request"},
        headers={**w.school.operator(), "X-Correlation-Id": correlation},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"events": ["SubjectErased"]}
    await eventually(
        lambda: keys_of(visits_db, student_ref),
        lambda n: n == 0,
        timeout=60,
        what="the visits service's key for the erased student deleted",
    )


async def test_erasing_a_student_in_the_registry_shreds_their_text_in_visits_as_a_reaction(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    visits_db: asyncpg.Pool,
    kafka: str,
    unique: str,
) -> None:
    correlation = f"erasure-{unique}"
    async with world(registry_settings, visits_settings, verifier, bearer) as w:
        student, visit_id, me, notes = await visit_with_notes(w)
        assert await keys_of(visits_db, student) == 1, "the notes were sealed with a key"
        before = await w.visits.get(f"/visits/{visit_id}/record", headers=me)
        assert before.status_code == 200, before.text
        assert before.json()["notes"] == notes
        assert before.json()["erased"] is False

        await erase_and_wait_for_the_shredding(w, visits_db, student, correlation)

        after = await w.visits.get(f"/visits/{visit_id}/record", headers=me)
        assert after.status_code == 200, after.text
        record: dict[str, Any] = after.json()
        assert record["notes"] is None
        assert record["erased"] is True
        assert all(s["text"] is None for s in record["parent_suggestions"])
        assert notes not in after.text

    erased = of_type(await read_all(kafka, registry_settings.topic), "SubjectErased", student)
    assert len(erased) == 1, "the registry published one SubjectErased for the student"
    cause = headers_of(erased[0])
    assert cause["ce_correlationid"] == correlation, "the erasure kept the request's correlation"

    async def shredded() -> list[ConsumerRecord]:
        return of_type(await read_all(kafka, visits_settings.topic), "StudentTextShredded", student)

    found = await eventually(
        shredded, lambda rs: len(rs) >= 1, timeout=60, what="StudentTextShredded on visits.events"
    )
    assert len(found) == 1, "one StudentTextShredded for the student"
    effect = headers_of(found[0])
    assert effect["ce_causationid"] == cause["ce_id"]
    assert effect["ce_correlationid"] == cause["ce_correlationid"]
    assert json.loads(found[0].value)["erasure_event_id"] == cause["ce_id"]
    assert json.loads(found[0].value)["key_existed"] is True
