"""Proof (issue 10's "done when"): a screening campaign for one school of 500 students runs
through the real stack — registry and wellbeing over HTTP, real Kafka and PostgreSQL, the
wellbeing worker a real process — and a crisis referral left unacknowledged is escalated exactly
once after its deadline, although the worker is SIGKILLed before the deadline and restarted
after it (and killed and restarted again after the escalation). The district's webhook receiver
on 127.0.0.1 gets one message about it; no score and no answer is on the raw bytes of
``wellbeing.events``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.kafka_reader import payloads_of, read_all
from tests.support.processes import WorkerProcess, environment_of, running
from tests.support.receiver import receiving
from tests.support.servers import serving
from tests.support.services import settings_for
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import Principal, Role, TokenVerifier, mint
from tongxin_platform.eventstore import now_utc
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.calendar import CHINA
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

D, S = "330106", "330106001"
YEAR = "2026-2027"
HOSPITAL = "hosp-330106-01"
ACK_SECONDS = 25  # the referral's deadline in this test (an hour in production)
SPEC = DemoSpec(schools=1, classes_per_school=10, students_per_class=50, school_doctors=1)
SELF_HARM = [0, 1, 0, 0, 1, 0, 0, 0, 1]  # total 3 (minimal) but item 9 above 0
MODERATE = [2, 1, 1, 2, 1, 1, 1, 1, 0]  # total 10: moderate → elevated
LOW = [0, 1, 0, 0, 0, 1, 0, 0, 0]


async def test_a_campaign_of_500_students_escalates_an_unacknowledged_referral_exactly_once(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
    jwt_keys: tuple[bytes, bytes],
) -> None:
    own, visits = f"test-{unique}-wellbeing.events", f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={"wellbeing": own, "registry": registry_settings.topic, "visits": visits},
        referral_ack_seconds=ACK_SECONDS,
    )
    assert isinstance(settings, WellbeingSettings)
    officer = bearer("bureau_officer", D)
    students_csv, staff_csv = demo_roster(SPEC)

    def staff(role: str, sub: str, class_id: str | None = None) -> dict[str, str]:
        return bearer(role, D, S, class_id, subject=sub)

    hospital_token = mint(jwt_keys[0], Principal("clinician-1", Role.hospital, D, org=HOSPITAL))
    hospital = {"Authorization": f"Bearer {hospital_token}"}

    async with (
        receiving() as receiver,
        serving(registry_app(registry_settings, verifier)) as registry_url,
        httpx.AsyncClient(base_url=registry_url, timeout=60) as registry,
        serving(wellbeing_app(settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
        running(
            WorkerProcess(SERVICE, environment_of(SERVICE, settings, **receiver.as_robot_of(D)))
        ) as worker,
    ):
        for kind, body in (("students", students_csv), ("staff", staff_csv)):
            r = await registry.post(f"/imports/{kind}", content=body.encode(), headers=officer)
            assert r.status_code == 200, r.text

        # --- the team and the campaign, offered to every enrolled student ---------------------
        async def team() -> dict[str, Any]:
            r = await http.get(f"/schools/{S}/team", headers=bearer("health_vp", D, S))
            return dict(r.json()) if r.status_code == 200 else {}

        members = (
            await eventually(
                team,
                lambda t: "members" in t and not t["gaps"],
                timeout=90,
                what="the school's team in wellbeing",
            )
        )["members"]
        psych_ref, vp_ref = members["psych_teacher"][0], members["health_vp"][0]
        psych = staff("psych_teacher", psych_ref)
        vp = staff("health_vp", vp_ref)
        exam = {"exam_from": "2026-10-12", "exam_to": "2026-10-23"}
        r = await http.post(
            f"/schools/{S}/campaigns",
            json={"school_year": YEAR, "instruments": ["phq9", "gad7"], **exam},
            headers=psych,
        )
        assert r.status_code in (200, 201), r.text

        async def coverage() -> dict[str, Any]:
            path = f"/schools/{S}/campaigns/{YEAR}/coverage"
            r = await http.get(path, headers=bearer("principal", D, S))
            return dict(r.json()) if r.status_code == 200 else {}

        await eventually(coverage, lambda c: c.get("enrolled") == 500, timeout=90, what="roster")
        r = await http.post(f"/schools/{S}/campaigns/{YEAR}/offers", headers=psych)
        assert r.status_code in (200, 201), r.text

        # --- consent and refusals, then screenings -------------------------------------------
        classes = (
            await registry.get(f"/schools/{S}/classes", headers=bearer("principal", D, S))
        ).json()
        heads = {c["class_id"]: c["head_teacher_ref"] for c in classes}
        kids: list[tuple[str, str]] = []
        guardian: dict[str, str] = {}
        for c in classes:
            rows = await registry.get(
                f"/classes/{c['class_id']}/students", headers=bearer("principal", D, S)
            )
            kids += [(k["student_ref"], c["class_id"]) for k in rows.json()]
            guardian |= {k["student_ref"]: k["guardians"][0]["guardian_ref"] for k in rows.json()}
        assert len(kids) == 500
        refused, silent = kids[:20], kids[20:30]
        consenting = kids[30:]
        for ref, _ in refused:
            body = {"school_year": YEAR, "decision": "refused", "given_by": "guardian"}
            body["guardian_ref"] = guardian[ref]
            r = await http.post(f"/students/{ref}/consents", json=body, headers=psych)
            assert r.status_code in (200, 201), r.text
        for ref, _ in consenting:
            body = {"school_year": YEAR, "decision": "consented", "given_by": "guardian"}
            body["guardian_ref"] = guardian[ref]
            r = await http.post(f"/students/{ref}/consents", json=body, headers=psych)
            assert r.status_code in (200, 201), r.text

        # Screening without consent, or against a refusal, is refused naming the rule.
        for ref, _ in (refused[0], silent[0]):
            body = {"school_year": YEAR, "instrument_id": "phq9", "answers": LOW}
            r = await http.post(f"/students/{ref}/screenings", json=body, headers=psych)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json().get("rule"), r.json()

        self_harm, moderate = consenting[0], consenting[1:16]
        risks: Counter[str] = Counter()
        for n, (ref, _) in enumerate(consenting):
            answers = SELF_HARM if n == 0 else MODERATE if n <= 15 else LOW
            body = {"school_year": YEAR, "instrument_id": "phq9", "answers": answers}
            r = await http.post(f"/students/{ref}/screenings", json=body, headers=psych)
            assert r.status_code in (200, 201), r.text
            risks[str(r.json().get("risk"))] += 1
            assert r.json().get("label") == "screening"
        assert risks == {"high": 1, "elevated": 15, "None": 454}

        cov = await eventually(
            coverage, lambda c: c.get("screened") == 470, timeout=60, what="coverage"
        )
        assert (cov["offered"], cov["consented"], cov["refused"]) == (500, 470, 20)
        assert cov["full_coverage"] is True

        # --- the self-harm answer proposes the student; three people list them ---------------
        ref, class_id = self_harm

        async def school_view() -> dict[str, Any]:
            r = await http.get(f"/schools/{S}/attention", headers=psych)
            return dict(r.json()) if r.status_code == 200 else {}

        view = await eventually(
            school_view,
            lambda v: any(p["student_ref"] == ref for p in v.get("proposals", [])),
            timeout=60,
            what="the proposal from the self-harm flag",
        )
        proposal = next(p for p in view["proposals"] if p["student_ref"] == ref)
        path = f"/students/{ref}/attention/proposals/{proposal['proposal_id']}/sign-offs"
        head = staff("head_teacher", heads[class_id], class_id)
        for who, role in ((head, "head_teacher"), (psych, "psych_teacher"), (vp, "health_vp")):
            r = await http.post(path, json={"role": role}, headers=who)
            assert r.status_code in (200, 201), r.text
        await eventually(
            school_view,
            lambda v: any(s["student_ref"] == ref for s in v.get("listed", [])),
            timeout=60,
            what="the listing",
        )
        # Its plan, once opened, is overdue when a month ends without a review.
        later = now_utc().astimezone(CHINA).date().replace(day=1) + timedelta(days=62)
        r = await http.get(f"/schools/{S}/plans/overdue?as_of={later}", headers=psych)
        assert r.status_code == 200, r.text
        assert ref in json.dumps(r.json())

        # --- two referrals: one acknowledged in time, one left to escalate ------------------
        made = []
        for who in (ref, moderate[0][0]):
            r = await http.post(
                f"/students/{who}/referrals", json={"hospital_id": HOSPITAL}, headers=psych
            )
            assert r.status_code in (200, 201), r.text
            made.append(r.json()["referral_id"])
        in_time, left = made
        r = await http.post(f"/referrals/{in_time}/acknowledgement", headers=hospital)
        assert r.status_code in (200, 201), r.text

        # The worker dies before the deadline and comes back after it.
        await worker.kill()
        await asyncio.sleep(ACK_SECONDS + 5)
        records = await read_all(kafka, own)
        assert payloads_of(records, "wellbeing", "ReferralEscalated") == [], (
            "escalated while the worker was dead"
        )
        await worker.start()

        async def escalations() -> list[dict[str, Any]]:
            return payloads_of(await read_all(kafka, own), "wellbeing", "ReferralEscalated")

        await eventually(escalations, lambda e: len(e) >= 1, timeout=60, what="the escalation")
        # Killed and restarted once more: nothing fires again.
        await asyncio.sleep(3)
        await worker.kill()
        await worker.start()

        async def messages() -> int:
            return receiver.about(left)

        await eventually(
            messages,
            lambda n: n >= 1,
            timeout=60,
            what="the escalation's webhook message",
        )
        await asyncio.sleep(8)  # several deadline polls and delivery rounds
        escalated = await escalations()
        assert [e["referral_id"] for e in escalated] == [left]
        assert sorted(escalated[0]["escalated_to"]) == ["district_education", "district_health"]
        assert receiver.about(left) == 1
        assert receiver.about(in_time) == 0
        assert worker.kills == 2

        # --- what went over the wire and to the robots ---------------------------------------
        raw = b"\n".join(r.value for r in await read_all(kafka, own))
        for forbidden in (b'"answers"', b'"total"', b'"score"', b'"items"'):
            assert forbidden not in raw, forbidden
        for message in receiver.delivered():
            text = json.dumps(message.body, ensure_ascii=False)
            assert not any(k in text for k, _ in kids), text  # what happened and a link only
