"""Safety's care-file reactions end to end on real Kafka and PostgreSQL, each trigger delivered
again (the same record produced to its topic a second time, as a relay that lost its
acknowledgement does):

- the registry categorises a child left-behind → one ``CareFileOpened``; the child moved to the
  district's other school → the file handed over once; another child categorised and then
  leaving → the file closed (``left_school``) once;
- a home visit over the visits API with a safety finding and a family-hardship finding (a
  hardship follow-up case) → one file and one concern for the visit, however often the visit's
  records arrive; the principal finds the concern open on the child's file over the safety API
  and assesses it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from tests.integration.test_visits_http import completion
from tests.support.kafka_reader import read_all
from tests.support.safety_school import (
    SafetyEnv,
    safety_env_fixture,  # noqa: F401 - the fixture safety_env, found here by pytest
)
from tests.support.waiting import caught_up, eventually
from tests.support.world import World, world
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_safety.config import SafetySettings
from tongxin_safety.reactions.care_files import CARE_FILES
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration

TWO_SCHOOLS = DemoSpec(schools=2, classes_per_school=1, students_per_class=4)


@dataclass
class Stack:
    w: World
    pool: asyncpg.Pool  # safety's database
    settings: SafetySettings
    kafka: str
    http: httpx.AsyncClient  # the safety API

    async def records(self, name: str, student_ref: str) -> list[ConsumerRecord]:
        """The safety topic's events ``name`` of the child."""
        return of_type(await read_all(self.kafka, self.settings.topic), name, student_ref)

    async def settled(self, topic: str) -> None:
        await eventually(
            lambda: caught_up(self.pool, CARE_FILES.group, topic, self.kafka),
            lambda done: done,
            timeout=60,
            what=f"{CARE_FILES.group} caught up with {topic}",
        )


def of_type(records: list[ConsumerRecord], name: str, student_ref: str) -> list[ConsumerRecord]:
    return [
        r
        for r in records
        if dict(r.headers or ()).get("ce_type", b"").decode().split(".")[-2] == name
        and json.loads(r.value or b"{}").get("student_ref") == student_ref
    ]


async def produce_again(bootstrap: str, record: ConsumerRecord) -> None:
    """The same record sent once more (what a relay that lost its acknowledgement does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            record.topic,
            record.value,
            key=record.key,
            partition=record.partition,
            headers=list(record.headers or ()),
        )
    finally:
        await producer.stop()


@pytest.fixture
async def stack(
    safety_env: SafetyEnv, visits_settings: VisitsSettings, visits_worker: None
) -> AsyncIterator[Stack]:
    """Registry and visits (their workers running) and safety reading their topics; the roster
    is the visits world's school (``tests.support.world``), not one of safety's own import."""
    env = safety_env
    async with (
        env.world(None, visits_topic=visits_settings.topic) as safety,
        world(env.registry_settings, visits_settings, env.verifier, env.bearer) as w,
    ):
        yield Stack(w, safety.pool, safety.settings, env.kafka, safety.http)


async def import_second_school(s: Stack, school_id: str) -> None:
    """The district's second school (the demo roster's rows of it), imported by the officer."""
    officer = s.w.school.officer()
    for kind, body in zip(("students", "staff"), demo_roster(TWO_SCHOOLS), strict=True):
        header, *rows = body.splitlines()
        own = [row for row in rows if f",{school_id}," in f",{row}"]
        assert own, kind
        r = await s.w.registry.post(
            f"/imports/{kind}", content="\n".join([header, *own, ""]).encode(), headers=officer
        )
        assert r.status_code == 200, r.text


def principal(s: Stack) -> dict[str, str]:
    school = s.w.school
    return school.as_staff(school.principal)


async def categorise(s: Stack, student_ref: str, groups: list[str]) -> None:
    r = await s.w.registry.post(
        f"/students/{student_ref}/categories", json={"groups": groups}, headers=principal(s)
    )
    assert r.status_code == 200, r.text


async def test_a_categorised_child_gets_one_file_handed_over_once_and_a_leaver_closed_once(
    stack: Stack, registry_settings: RegistrySettings, visits_settings: VisitsSettings
) -> None:
    s, kafka = stack, stack.kafka
    registry_topic = registry_settings.topic
    a, c = s.w.school.pupils[0].ref, s.w.school.pupils[1].ref
    there = f"{s.w.school.district}002"
    await import_second_school(s, there)
    await categorise(s, a, ["left_behind", "migrant"])
    [opened] = await eventually(
        lambda: s.records("CareFileOpened", a),
        lambda rs: len(rs) == 1,
        what="the file opened",
    )
    body = json.loads(opened.value)
    assert (body["source"], body["care_groups"]) == ("categorised", ["left_behind"])
    assert "migrant" not in opened.value.decode()  # only care groups travel in clear

    categorised = of_type(await read_all(kafka, registry_topic), "StudentCategorised", a)
    await produce_again(kafka, categorised[-1])
    await s.settled(registry_topic)
    assert len(await s.records("CareFileOpened", a)) == 1, "one file however delivered"

    r = await s.w.registry.post(
        f"/students/{a}/transfer",
        json={"class_id": f"{there}-01"},
        headers=s.w.school.officer(),
    )
    assert r.status_code == 200, r.text
    [handed] = await eventually(
        lambda: s.records("CareFileHandedOver", a),
        lambda rs: len(rs) == 1,
        what="the file handed over",
    )
    assert json.loads(handed.value)["to_school_id"] == there
    [moved] = of_type(await read_all(kafka, registry_topic), "StudentTransferred", a)
    await produce_again(kafka, moved)
    await s.settled(registry_topic)
    assert len(await s.records("CareFileHandedOver", a)) == 1

    await categorise(s, c, ["orphan_or_unsupported"])
    await eventually(
        lambda: s.records("CareFileOpened", c), lambda rs: len(rs) == 1, what="C's file"
    )
    r = await s.w.registry.post(
        f"/students/{c}/leave", json={"reason": "moved_away"}, headers=principal(s)
    )
    assert r.status_code == 200, r.text
    [closed] = await eventually(
        lambda: s.records("CareFileClosed", c), lambda rs: len(rs) == 1, what="C's file closed"
    )
    assert json.loads(closed.value)["reason"] == "left_school"
    [left] = of_type(await read_all(kafka, registry_topic), "StudentLeft", c)
    await produce_again(kafka, left)
    await s.settled(registry_topic)
    assert len(await s.records("CareFileClosed", c)) == 1


async def test_a_visits_safety_and_hardship_findings_make_one_file_and_one_concern_redelivered(
    stack: Stack, registry_settings: RegistrySettings, visits_settings: VisitsSettings
) -> None:
    s, kafka = stack, stack.kafka
    school = s.w.school
    pupil = school.pupils[2]
    ref = pupil.ref
    teacher = school.head_teachers[pupil.class_id]
    me = school.as_staff(teacher)
    r = await s.w.visits.post(
        "/visits",
        json={"student_ref": ref, "planned_for": str(now_utc().date())},
        headers=me,
    )
    assert r.status_code == 200, r.text
    visit_id = r.json()["visit_id"]
    findings: list[dict[str, Any]] = [
        {"category": "safety"},
        {"category": "family_hardship", "measure": "hardship_assistance"},
    ]
    r = await s.w.visits.post(
        f"/visits/{visit_id}/complete",
        json=completion(school, teacher, findings=findings),
        headers=me,
    )
    assert r.status_code == 200, r.text
    [concern] = await eventually(
        lambda: s.records("CareConcernRaised", ref),
        lambda rs: len(rs) == 1,
        what="the visit's concern",
    )
    body = json.loads(concern.value)
    assert (body["source"], body["visit_id"], body.get("detail")) == ("visit", visit_id, None)

    # Every record of the child on the visits topic produced again: nothing new.
    visits_topic = visits_settings.topic
    theirs = [
        rec
        for rec in await read_all(kafka, visits_topic)
        if json.loads(rec.value or b"{}").get("student_ref") == ref
    ]
    names = {dict(rec.headers)["ce_type"].decode().split(".")[-2] for rec in theirs}
    assert {"VisitCompleted", "FollowUpOpened"} <= names, names
    for rec in theirs:
        await produce_again(kafka, rec)
    await s.settled(visits_topic)
    assert len(await s.records("CareFileOpened", ref)) == 1, "one file for the child"
    assert len(await s.records("CareConcernRaised", ref)) == 1, "one concern per visit"

    # The school finds the concern on the child's file, and assesses it.
    async def the_file() -> dict[str, Any]:
        r = await s.http.get(f"/students/{ref}/care-file", headers=principal(s))
        return dict(r.json()) if r.status_code == 200 else {}

    file = await eventually(
        the_file, lambda f: len(f.get("concerns", [])) == 1, what="the file with its concern"
    )
    assert file["source"] in {"safety_concern", "hardship_followup"}  # whichever came first
    [found] = file["concerns"]
    assert (found["source"], found["visit_id"], found["status"]) == ("visit", visit_id, "open")
    r = await s.http.post(
        f"/students/{ref}/care-file/concerns/{found['concern_id']}/assessment",
        json={"outcome": "monitored"},
        headers=principal(s),
    )
    assert r.status_code == 200, r.text
