"""Screening over real HTTP on the real stack: the registry's roster imported through its API and
projected into wellbeing's read model over Kafka, the wellbeing API and worker on PostgreSQL.

A district adds its own instrument; a school opens its campaign with PHQ-9 and GAD-7, offers it
to every student (twice: nobody is offered twice), records consents and a refusal (a student of
14 or more for themself), and screens — refused without consent naming the rule, scored by the
service, a self-harm answer flagged high whatever the total. The screener's answer and the
team's record carry the total (labelled a screening); the read is in the access log; the
service's own table holds the answers sealed; the raw bytes of ``wellbeing.events`` carry no
answer and no total."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE as WELLBEING
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app

pytestmark = pytest.mark.integration

SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=5)
DISTRICT, SCHOOL = SPEC.district, f"{SPEC.district}001"
TODAY = china_date(datetime.now(UTC))
YEAR = school_year_of(TODAY)  # the current school year: screenings are recorded "today"
EXAM_FROM, EXAM_TO = date(int(YEAR[:4]), 10, 12), date(int(YEAR[:4]), 10, 23)
TEEN_BIRTH = date(int(YEAR[:4]) - 15, 3, 1)  # 14 or more: may consent for themself


@pytest.fixture
async def wellbeing_settings(
    infra: Infra, kafka: str, topic: str, unique: str, database_name: str
) -> WellbeingSettings:
    own, visits = f"test-{unique}-wellbeing.events", f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        WELLBEING,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={"wellbeing": own, "registry": topic, "visits": visits},  # never the real ones
    )
    assert isinstance(settings, WellbeingSettings)
    return settings


@pytest.fixture
async def wellbeing_db(wellbeing_settings: WellbeingSettings) -> AsyncIterator[asyncpg.Pool]:
    async with database_of(WELLBEING, wellbeing_settings) as pool:
        yield pool


@pytest.fixture
async def wellbeing_worker(
    wellbeing_settings: WellbeingSettings, wellbeing_db: asyncpg.Pool
) -> AsyncIterator[None]:
    async with worker_of(WELLBEING, wellbeing_settings):
        yield


@dataclass
class Pupil:
    ref: str
    class_id: str
    guardians: list[str]


@dataclass
class World:
    http: httpx.AsyncClient
    registry: httpx.AsyncClient
    bearer: Bearer
    pupils: list[Pupil]
    teen: Pupil  # 14 or more

    def staff(self, role: str, subject: str | None = None) -> dict[str, str]:
        return self.bearer(role, DISTRICT, SCHOOL, subject=subject or f"{SCHOOL}-{role}")

    @property
    def psych(self) -> dict[str, str]:
        return self.staff("psych_teacher")

    def officer(self) -> dict[str, str]:
        return self.bearer("bureau_officer", DISTRICT)


def roster_with_a_teen() -> tuple[str, str, str]:
    """The demo roster with the first student born 15 years before the school year."""
    students_csv, staff_csv = demo_roster(SPEC)
    rows = list(csv.DictReader(io.StringIO(students_csv)))
    rows[0]["birth_date"] = TEEN_BIRTH.isoformat()
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), staff_csv, rows[0]["student_id"]


async def set_up(registry: httpx.AsyncClient, http: httpx.AsyncClient, bearer: Bearer) -> World:
    principal = bearer("principal", DISTRICT, SCHOOL)
    students_csv, staff_csv, _ = roster_with_a_teen()
    r = await registry.post("/imports/students", content=students_csv.encode(), headers=principal)
    assert r.status_code == 200, r.text
    r = await registry.post("/imports/staff", content=staff_csv.encode(), headers=principal)
    assert r.status_code == 200, r.text
    pupils: list[Pupil] = []
    teen: Pupil | None = None
    for c in range(1, SPEC.classes_per_school + 1):
        class_id = f"{SCHOOL}-{c:02d}"

        async def roster(class_id: str = class_id) -> Any:
            return (await registry.get(f"/classes/{class_id}/students", headers=principal)).json()

        rows = await eventually(
            roster,
            lambda rows: isinstance(rows, list) and len(rows) == SPEC.students_per_class,
            what=f"class {class_id} in the registry's roster",
        )
        for p in rows:
            pupil = Pupil(p["student_ref"], class_id, [g["guardian_ref"] for g in p["guardians"]])
            pupils.append(pupil)
            if p["age_band"] == "14_to_17":
                teen = pupil
    assert teen is not None, "the roster's teen"
    world = World(http, registry, bearer, pupils, teen)

    async def team() -> int:
        r = await http.get(f"/schools/{SCHOOL}/team", headers=world.psych)
        return r.status_code

    await eventually(team, lambda s: s == 200, timeout=90, what="the school in wellbeing")
    return world


@pytest.fixture
async def world(
    registry_settings: RegistrySettings,
    wellbeing_settings: WellbeingSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    wellbeing_worker: None,
) -> AsyncIterator[World]:
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        serving(wellbeing_app(wellbeing_settings, verifier)) as wellbeing_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        httpx.AsyncClient(base_url=wellbeing_url, timeout=30) as http,
    ):
        yield await set_up(registry, http, bearer)


async def open_campaign(w: World) -> None:
    r = await w.http.post(
        f"/schools/{SCHOOL}/campaigns",
        json={
            "school_year": YEAR,
            "instruments": ["phq9", "gad7"],
            "exam_from": EXAM_FROM.isoformat(),
            "exam_to": EXAM_TO.isoformat(),
        },
        headers=w.psych,
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["ScreeningCampaignOpened"]


async def consent(
    w: World, pupil: Pupil, decision: str = "consented", guardian: int = 0
) -> httpx.Response:
    return await w.http.post(
        f"/students/{pupil.ref}/consents",
        json={
            "school_year": YEAR,
            "decision": decision,
            "given_by": "guardian",
            "guardian_ref": pupil.guardians[guardian],
        },
        headers=w.bearer("head_teacher", DISTRICT, SCHOOL, pupil.class_id),
    )


async def screen(
    w: World, pupil: Pupil, answers: list[int], instrument: str = "phq9", **extra: Any
) -> httpx.Response:
    return await w.http.post(
        f"/students/{pupil.ref}/screenings",
        json={"school_year": YEAR, "instrument_id": instrument, "answers": answers, **extra},
        headers=w.psych,
    )


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


async def coverage(w: World) -> dict[str, Any]:
    r = await w.http.get(f"/schools/{SCHOOL}/campaigns/{YEAR}/coverage", headers=w.psych)
    if r.status_code == 404 and r.json().get("field") == "school_year":
        return {}  # the campaign is not in the read model yet: ask again
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- instruments ----------------------------------------------------------------------------


async def test_a_district_adds_and_revises_its_own_instrument_which_its_schools_see(
    world: World,
) -> None:
    w = world
    definition = {
        "instrument_id": "district-mood",
        "title": "District mood check",
        "items": 4,
        "max_answer": 2,
        "bands": [
            {"label": "low", "low": 0, "high": 3},
            {"label": "some", "low": 4, "high": 5, "flag": "elevated"},
            {"label": "many", "low": 6, "high": 8, "flag": "high"},
        ],
        "self_harm_items": [4],
    }
    r = await w.http.post(
        f"/districts/{DISTRICT}/instruments", json=definition, headers=w.officer()
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "events": ["InstrumentDefined"],
        "instrument_id": "district-mood",
        "revision": 1,
    }
    revised = {
        **definition,
        "bands": [
            {"label": "low", "low": 0, "high": 4},
            {"label": "high", "low": 5, "high": 8, "flag": "high"},
        ],
    }
    r = await w.http.post(f"/districts/{DISTRICT}/instruments", json=revised, headers=w.officer())
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2

    # Refused definitions name the field and the rule.
    gap = {
        **definition,
        "bands": [{"label": "low", "low": 0, "high": 3}, {"label": "high", "low": 5, "high": 8}],
    }
    body = problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=gap, headers=w.officer()), 422
    )
    assert (body["field"], body["rule"]) == ("bands.1.low", "bands_contiguous")
    short = {**definition, "bands": [{"label": "low", "low": 0, "high": 7}]}
    body = problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=short, headers=w.officer()),
        422,
    )
    assert (body["field"], body["rule"]) == ("bands.0.high", "bands_cover_total")
    harm = {**definition, "self_harm_items": [5]}
    body = problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=harm, headers=w.officer()), 422
    )
    assert (body["field"], body["rule"]) == ("self_harm_items.0", "self_harm_item_in_range")
    taken = {**definition, "instrument_id": "phq9"}
    body = problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=taken, headers=w.officer()),
        422,
    )
    assert (body["field"], body["rule"]) == ("instrument_id", "builtin_instrument")
    # A school's staff does not define instruments; an officer of another district neither here.
    problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=definition, headers=w.psych),
        403,
    )
    other = w.bearer("bureau_officer", "330102")
    problem(
        await w.http.post(f"/districts/{DISTRICT}/instruments", json=definition, headers=other), 403
    )

    async def listed() -> dict[str, Any]:
        r = await w.http.get(f"/districts/{DISTRICT}/instruments", headers=w.psych)
        assert r.status_code == 200, r.text
        return {i["instrument_id"]: i for i in r.json()["instruments"]}

    found = await eventually(
        listed,
        lambda d: d.get("district-mood", {}).get("revision") == 2,
        what="the revision listed",
    )
    assert found["phq9"]["builtin"] is True
    assert found["phq9"]["self_harm_items"] == [9]
    assert [b["label"] for b in found["phq9"]["bands"]] == [
        "minimal",
        "mild",
        "moderate",
        "moderately_severe",
        "severe",
    ]
    assert found["gad7"]["items"] == 7
    assert found["district-mood"]["builtin"] is False
    assert [b["label"] for b in found["district-mood"]["bands"]] == ["low", "high"]

    # A campaign may use it; a screening with it is scored by its latest revision.
    r = await w.http.post(
        f"/schools/{SCHOOL}/campaigns",
        json={
            "school_year": YEAR,
            "instruments": ["district-mood"],
            "exam_from": EXAM_FROM.isoformat(),
            "exam_to": EXAM_TO.isoformat(),
        },
        headers=w.psych,
    )
    assert r.status_code == 200, r.text
    pupil = w.pupils[1]
    assert (await consent(w, pupil)).status_code == 200
    r = await screen(w, pupil, [2, 2, 1, 0], "district-mood")
    assert r.status_code == 200, r.text
    assert (r.json()["total"], r.json()["band"], r.json()["risk"]) == (5, "high", "high")


# --- the campaign ---------------------------------------------------------------------------


async def test_a_campaign_from_offers_and_consent_to_scored_screenings_and_coverage(
    world: World, wellbeing_db: asyncpg.Pool, wellbeing_settings: WellbeingSettings
) -> None:
    w = world
    total = len(w.pupils)
    teen = w.teen
    child, refuser, self_harm = [p for p in w.pupils if p != teen][:3]

    # No campaign yet: no screening, no offers (rules named).
    assert (await consent(w, child)).status_code == 200
    body = problem(await screen(w, child, [0] * 9), 422)
    assert (body["field"], body["rule"]) == ("school_year", "campaign_open")
    body = problem(
        await w.http.post(f"/schools/{SCHOOL}/campaigns/{YEAR}/offers", headers=w.psych), 404
    )
    assert body["rule"] == "campaign_open"

    # Bound to the physical examination; one a school year.
    bad = {
        "school_year": YEAR,
        "instruments": ["phq9"],
        "exam_from": EXAM_TO.isoformat(),
        "exam_to": EXAM_FROM.isoformat(),
    }
    body = problem(
        await w.http.post(f"/schools/{SCHOOL}/campaigns", json=bad, headers=w.psych), 422
    )
    assert (body["field"], body["rule"]) == ("exam_to", "exam_dates_in_order")
    await open_campaign(w)
    body = problem(
        await w.http.post(
            f"/schools/{SCHOOL}/campaigns",
            json={
                "school_year": YEAR,
                "instruments": ["phq9"],
                "exam_from": EXAM_FROM.isoformat(),
                "exam_to": EXAM_TO.isoformat(),
            },
            headers=w.psych,
        ),
        409,
    )
    assert body["rule"] == "one_campaign_per_school_year"

    # Offers: every enrolled student not yet offered (the consented child was), once.
    r = await w.http.post(f"/schools/{SCHOOL}/campaigns/{YEAR}/offers", headers=w.psych)
    assert r.status_code == 200, r.text
    assert r.json()["offered"] == total - 1
    assert set(r.json()["events"]) == {"ScreeningOffered"}
    r = await w.http.post(f"/schools/{SCHOOL}/campaigns/{YEAR}/offers", headers=w.psych)
    assert r.json() == {"events": [], "offered": 0}

    # Consent: under 14 without a guardian's consent is refused naming the rule.
    body = problem(await screen(w, self_harm, [0] * 9), 422)
    assert (body["field"], body["rule"]) == ("student_ref", "guardian_consent_under_14")
    body = problem(
        await w.http.post(
            f"/students/{self_harm.ref}/consents",
            json={"school_year": YEAR, "decision": "consented", "given_by": "student"},
            headers=w.psych,
        ),
        422,
    )
    assert (body["field"], body["rule"]) == ("given_by", "guardian_consent_under_14")
    body = problem(
        await w.http.post(
            f"/students/{self_harm.ref}/consents",
            json={
                "school_year": YEAR,
                "decision": "consented",
                "given_by": "guardian",
                "guardian_ref": teen.guardians[0],
            },
            headers=w.psych,
        ),
        422,
    )
    assert (body["field"], body["rule"]) == ("guardian_ref", "guardian_of_student")
    assert (await consent(w, self_harm)).status_code == 200
    # A refusal, the latest decision, refuses screening.
    assert (await consent(w, refuser)).status_code == 200
    r = await consent(w, refuser, "refused", guardian=len(refuser.guardians) - 1)
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["ConsentRecorded"]
    body = problem(await screen(w, refuser, [0] * 9), 422)
    assert (body["field"], body["rule"]) == ("student_ref", "consent_refused")
    # 14 or more: their own consent.
    r = await w.http.post(
        f"/students/{teen.ref}/consents",
        json={"school_year": YEAR, "decision": "consented", "given_by": "student"},
        headers=w.psych,
    )
    assert r.status_code == 200, r.text

    # Answers are checked: their count and each one's range.
    body = problem(await screen(w, child, [0] * 8), 422)
    assert (body["field"], body["rule"]) == ("answers", "answer_count")
    body = problem(await screen(w, child, [0, 0, 0, 4, 0, 0, 0, 0, 0]), 422)
    assert (body["field"], body["rule"]) == ("answers.3", "answer_range")
    body = problem(await screen(w, child, [0] * 9, "district-x"), 422)
    assert body["rule"] == "instrument_known"

    # Scored by the service; labelled a screening.
    r = await screen(w, child, [3, 3, 3, 3, 3, 0, 0, 0, 0], completed_on=TODAY.isoformat())
    assert r.status_code == 200, r.text
    scored = r.json()
    assert scored["events"] == ["ScreeningCompleted", "ScreeningFlagged"]
    assert (scored["total"], scored["band"], scored["risk"], scored["label"]) == (
        15,
        "moderately_severe",
        "elevated",
        "screening",
    )
    r = await screen(w, child, [1, 1, 1, 1, 1, 0, 0], "gad7")
    assert (r.json()["total"], r.json()["band"], r.json()["risk"]) == (5, "mild", None)
    assert r.json()["events"] == ["ScreeningCompleted"]
    # A self-harm answer: high whatever the total.
    r = await screen(w, self_harm, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert r.status_code == 200, r.text
    assert (r.json()["total"], r.json()["band"], r.json()["risk"]) == (1, "minimal", "high")
    assert r.json()["self_harm_item_positive"] is True
    r = await screen(w, teen, [0] * 9)
    assert r.status_code == 200, r.text

    # The team reads the record (answers, totals), each read in the access log.
    r = await w.http.get(f"/students/{child.ref}/screenings", headers=w.staff("health_vp"))
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["label"] == "screening"
    assert sorted((s["instrument_id"], s["total"], s["band"]) for s in record["screenings"]) == [
        ("gad7", 5, "mild"),
        ("phq9", 15, "moderately_severe"),
    ]
    assert {tuple(s["answers"]) for s in record["screenings"]} == {
        (3, 3, 3, 3, 3, 0, 0, 0, 0),
        (1, 1, 1, 1, 1, 0, 0),
    }
    log = await w.http.get(
        "/access-log", params={"record": child.ref}, headers=w.bearer("auditor", DISTRICT)
    )
    assert log.status_code == 200, log.text
    assert [(e["action"], e["actor"]) for e in log.json()] == [
        ("record.read", f"{SCHOOL}-health_vp")
    ]
    # Not the head teacher, nor the police; a hospital learns nothing of a student here.
    head = w.bearer("head_teacher", DISTRICT, SCHOOL, child.class_id)
    assert (
        problem(await w.http.get(f"/students/{child.ref}/screenings", headers=head), 403)["rule"]
        == "record.read"
    )
    problem(
        await w.http.get(f"/students/{child.ref}/screenings", headers=w.bearer("police", DISTRICT)),
        403,
    )
    hospital = w.bearer("hospital", DISTRICT)
    problem(await w.http.get(f"/students/{child.ref}/screenings", headers=hospital), 404)
    # Another school's psychology teacher: as if the student did not exist.
    elsewhere = w.bearer("psych_teacher", DISTRICT, f"{DISTRICT}002")
    problem(await w.http.get(f"/students/{child.ref}/screenings", headers=elsewhere), 404)
    attempt = {"school_year": YEAR, "instrument_id": "phq9", "answers": [0] * 9}
    r = await w.http.post(f"/students/{child.ref}/screenings", json=attempt, headers=elsewhere)
    problem(r, 404)

    # Stored in the service's own table, answers and total sealed.
    rows = await wellbeing_db.fetch(
        "SELECT * FROM screening_results WHERE student_ref = $1", child.ref
    )
    assert len(rows) == 2
    for row in rows:
        sealed = row["sealed"] if isinstance(row["sealed"], dict) else json.loads(row["sealed"])
        assert set(sealed) == {"subject", "key_id", "nonce", "ciphertext"}
        assert "answers" not in json.dumps(sealed)
        assert "total" not in json.dumps(sealed)

    # Coverage: counts only; full coverage is every enrolled student offered.
    figures = await eventually(
        lambda: coverage(w),
        lambda c: c.get("screened") == 3 and c.get("refused") == 1,
        what="the screenings counted",
    )
    # The record shows the year's offer and consent too (the read model has caught up).
    r = await w.http.get(f"/students/{child.ref}/screenings", headers=w.staff("health_vp"))
    years = [
        (y["school_year"], y["offered"], y["consent"], y["screenings"]) for y in r.json()["years"]
    ]
    assert years == [(YEAR, True, "consented", 2)]
    assert figures["enrolled"] == total
    assert figures["offered"] == total
    assert figures["consented"] == 3  # child, self_harm, teen (the refuser's latest is a refusal)
    assert figures["refused"] == 1
    assert figures["screened"] == 3  # distinct students: the child twice counts once
    assert figures["flagged"] == 2  # the child (elevated), the self-harm answer (high)
    assert (figures["not_offered"], figures["full_coverage"]) == (0, True)
    assert figures["campaign"]["instruments"] == ["phq9", "gad7"]
    r = await w.http.get(
        f"/districts/{DISTRICT}/screening-coverage",
        params={"school_year": YEAR},
        headers=w.officer(),
    )
    assert r.status_code == 200, r.text
    [school] = r.json()["schools"]
    assert (
        school["school_id"],
        school["enrolled"],
        school["screened"],
        school["full_coverage"],
    ) == (SCHOOL, total, 3, True)
    # A school's staff does not read the district's table.
    problem(await w.http.get(f"/districts/{DISTRICT}/screening-coverage", headers=w.psych), 403)

    # On the wire: no answer and no total — ScreeningCompleted without a score, ScreeningFlagged
    # with the instrument, the band and the risk flag only.
    records = await eventually(
        lambda: read_all(wellbeing_settings.kafka_bootstrap_servers, wellbeing_settings.topic),
        lambda rs: (
            sum(
                1 for x in rs if dict(x.headers)["ce_type"].decode().endswith("ScreeningFlagged.v1")
            )
            == 2
        ),
        what="the flags relayed",
    )
    raw = b"".join(bytes(x.value) for x in records)
    assert b"answers" not in raw
    assert b'"total"' not in raw
    assert b"score" not in raw
    flagged = [
        json.loads(bytes(x.value))
        for x in records
        if dict(x.headers)["ce_type"].decode().endswith("ScreeningFlagged.v1")
    ]
    assert sorted((f["instrument_id"], f["band"], f["risk"]) for f in flagged) == [
        ("phq9", "minimal", "high"),
        ("phq9", "moderately_severe", "elevated"),
    ]
    completed = [
        json.loads(bytes(x.value))
        for x in records
        if dict(x.headers)["ce_type"].decode().endswith("ScreeningCompleted.v1")
    ]
    assert len(completed) == 4
    assert all(
        set(c)
        == {
            "district",
            "school_id",
            "student_ref",
            "school_year",
            "screening_id",
            "instrument_id",
            "completed_on",
        }
        for c in completed
    )


async def test_a_screening_repeated_with_its_key_is_recorded_once_and_erasure_shreds_its_answers(
    world: World, wellbeing_db: asyncpg.Pool
) -> None:
    w = world
    pupil = next(p for p in w.pupils if p != w.teen)
    await open_campaign(w)
    assert (await consent(w, pupil)).status_code == 200
    key = {"Idempotency-Key": f"screen-{pupil.ref}"}
    body = {"school_year": YEAR, "instrument_id": "gad7", "answers": [2, 2, 2, 2, 2, 0, 0]}
    first = await w.http.post(f"/students/{pupil.ref}/screenings", json=body, headers=w.psych | key)
    again = await w.http.post(f"/students/{pupil.ref}/screenings", json=body, headers=w.psych | key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json()
    assert (first.json()["total"], first.json()["band"]) == (10, "moderate")
    count = "SELECT count(*) FROM screening_results WHERE student_ref = $1"
    assert await wellbeing_db.fetchval(count, pupil.ref) == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    # The remembered answer holds the total sealed, like the service's table.
    remembered = await wellbeing_db.fetchval(
        "SELECT body::text FROM idempotency_keys WHERE key LIKE '%' || $1", key["Idempotency-Key"]
    )
    assert remembered is not None
    assert '"total"' not in remembered
    assert '"sealed_result"' in remembered
    # The same key for another request is refused.
    other = {**body, "answers": [0] * 7}
    r = await w.http.post(f"/students/{pupil.ref}/screenings", json=other, headers=w.psych | key)
    assert problem(r, 422)["title"] == "Idempotency key reused"

    async def record() -> list[dict[str, Any]]:
        r = await w.http.get(f"/students/{pupil.ref}/screenings", headers=w.psych)
        assert r.status_code == 200, r.text
        screenings: list[dict[str, Any]] = r.json()["screenings"]
        return screenings

    [before] = await record()
    assert (before["answers"], before["total"]) == ([2, 2, 2, 2, 2, 0, 0], 10)

    # The registry erases the student: wellbeing deletes its key, the answers become noise.
    r = await w.registry.post(
        f"/subjects/{pupil.ref}/erase",
        json={"reason": "data_subject_request"},
        headers=w.bearer("operator", DISTRICT),
    )
    assert r.status_code == 200, r.text
    [after] = await eventually(
        record, lambda rs: rs[0]["answers"] is None, what="the answers shredded"
    )
    assert (after["total"], after["self_harm_item_positive"]) == (None, None)
    assert after["band"] == "moderate"  # what ScreeningFlagged said in clear anyway
    # The remembered answer is shredded with the student: a replay no longer tells the total.
    replayed = await w.http.post(
        f"/students/{pupil.ref}/screenings", json=body, headers=w.psych | key
    )
    assert replayed.status_code == 200, replayed.text
    assert (replayed.json()["total"], replayed.json()["band"]) == (None, "moderate")
    assert "sealed_result" not in replayed.json()
