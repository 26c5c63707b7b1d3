"""The attention list (关注名单) and the plans (一生一策) over real HTTP, on real Kafka and
PostgreSQL: the registry publishes the roster, the wellbeing worker builds its read model and
runs its reactions, the visits worker shows the targeted home visit it asks for.

A proposal, three sign-offs by the three roles (refusals naming their rule), the plan opened and
reviewed once a month, overdue months, the head teacher's view (listed and the next step, never
a reason or a review's other contents; logged), the team's view, counts, removal — and the
targeted visit on the visits board without a reason, once even when the listing is delivered
again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from tests.conftest import Bearer
from tests.support.kafka_reader import read_all
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import caught_up, eventually
from tests.support.world import SMALL, World, world
from tongxin_cli.demo import DemoSpec
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.calendar import china_date, month_of
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app
from tongxin_wellbeing.reactions.targeted_visits import TARGETED_VISITS

pytestmark = pytest.mark.integration

REASON = "班主任观察到情绪持续低落，拒绝交流"
STATE = "情绪较上月平稳，睡眠改善"
NEXT_STEP = "每周一次个别谈心，家长每两周反馈"


@dataclass
class Stack:
    w: World
    http: httpx.AsyncClient  # wellbeing
    pool: asyncpg.Pool  # wellbeing's database
    settings: WellbeingSettings

    @property
    def school_id(self) -> str:
        return self.w.school.school_id

    def staff(self, role: str) -> str:
        return next(ref for ref, roles in self.w.school.roles.items() if role in roles)

    def token(self, role: str) -> dict[str, str]:
        """The token of the school's (first) staff member holding ``role``."""
        s = self.w.school
        if role == "head_teacher":
            return s.as_staff(s.head_teachers[s.pupils[0].class_id])
        return s.bearer(role, s.district, s.school_id, subject=self.staff(role))


@asynccontextmanager
async def stack(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    spec: DemoSpec = SMALL,
) -> AsyncIterator[Stack]:
    """Registry, visits and wellbeing on the test's topics; wellbeing's own topic is the one the
    visits board reads (``visits_settings.wellbeing_topic``). The registry and visits workers
    are the caller's fixtures."""
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={
            "wellbeing": visits_settings.wellbeing_topic,
            "registry": registry_settings.topic,
            "visits": visits_settings.topic,
        },
    )
    assert isinstance(settings, WellbeingSettings)
    async with (
        database_of(SERVICE, settings) as pool,
        worker_of(SERVICE, settings),
        serving(wellbeing_app(settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
        world(registry_settings, visits_settings, verifier, bearer, spec=spec) as w,
    ):
        total = len(w.school.pupils)

        async def known() -> int:
            n = await pool.fetchval(
                "SELECT count(*) FROM wellbeing.students WHERE school_id = $1", w.school.school_id
            )
            return int(n or 0)

        await eventually(known, lambda n: n == total, timeout=90, what="wellbeing's roster")
        yield Stack(w, http, pool, settings)


def of_type(records: list[ConsumerRecord], name: str, student_ref: str) -> list[ConsumerRecord]:
    return [
        r
        for r in records
        if dict(r.headers or ()).get("ce_type", b"").decode().endswith(f".{name}.v1")
        or dict(r.headers or ()).get("ce_type", b"").decode().endswith(f".{name}.v2")
        if json.loads(r.value or b"{}").get("student_ref") == student_ref
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


async def settled(s: Stack, group: str, topic: str, bootstrap: str) -> None:
    await eventually(
        lambda: caught_up(s.pool, group, topic, bootstrap),
        lambda done: done,
        timeout=60,
        what=f"{group} caught up with {topic}",
    )


def first_of(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s."""
    years, month = divmod(day.month - 1 + months, 12)
    return date(day.year + years, month + 1, 1)


def problem(r: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    if rule is not None:
        assert body.get("rule") == rule, body
    return body


async def test_three_sign_offs_list_a_student_whose_plan_is_reviewed_monthly_and_shown_to_the_head_teacher(  # noqa: E501
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
        pupil = s.w.school.pupils[0]
        ref, class_id = pupil.ref, pupil.class_id
        head, psych, vp = s.token("head_teacher"), s.token("psych_teacher"), s.token("health_vp")
        base = f"/students/{ref}/attention/proposals"

        # The head teacher proposes, with their words sealed; a second proposal is refused.
        r = await s.http.post(
            base, json={"reason": REASON}, headers={**head, "Idempotency-Key": "p1"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"] == ["AttentionListProposed"]
        proposal = r.json()["proposal_id"]
        again = await s.http.post(
            base, json={"reason": REASON}, headers={**head, "Idempotency-Key": "p1"}
        )
        assert again.json() == r.json(), "the same Idempotency-Key answers the same"
        problem(await s.http.post(base, json={}, headers=head), 409, "one_open_proposal")

        sign = f"{base}/{proposal}/sign-offs"
        # Refusals name their rule: signing in a role not one's token's; a role the roster does
        # not give the signer; the same role twice.
        problem(
            await s.http.post(sign, json={"role": "psych_teacher"}, headers=head),
            403,
            "sign_as_own_role",
        )
        stranger = s.w.school.bearer(
            "health_vp", s.w.school.district, s.school_id, subject="nobody"
        )
        problem(
            await s.http.post(sign, json={"role": "health_vp"}, headers=stranger), 403, "role_held"
        )
        r = await s.http.post(sign, json={"role": "head_teacher"}, headers=head)
        assert r.json() == {"events": ["AttentionListSignedOff"], "listed": False}, r.text
        problem(
            await s.http.post(sign, json={"role": "head_teacher"}, headers=head),
            409,
            "one_sign_off_per_role",
        )
        problem(
            await s.http.post(f"{base}/nope/sign-offs", json={"role": "health_vp"}, headers=vp), 404
        )
        # A head teacher's token for the class, held by someone the roster does not make its
        # head teacher: the roster decides, not the token.
        impostor = s.w.school.bearer(
            "head_teacher",
            s.w.school.district,
            s.school_id,
            class_id,
            subject=s.staff("middle_leader"),
        )
        problem(
            await s.http.post(sign, json={"role": "head_teacher"}, headers=impostor),
            403,
            "role_held",
        )

        # The team sees the pending proposal with its sign-off, no reason.
        async def team_view() -> dict[str, Any]:
            r = await s.http.get(f"/schools/{s.school_id}/attention", headers=psych)
            assert r.status_code == 200, r.text
            return dict(r.json())

        # The proposal and its sign-off are separate events: wait for both in the read model.
        view = await eventually(
            team_view,
            lambda v: bool(v["proposals"]) and bool(v["proposals"][0]["sign_offs"]),
            what="the proposal with its sign-off",
        )
        assert view["proposals"][0]["sign_offs"] == {"head_teacher": s.staff("head_teacher")}
        assert view["proposals"][0]["missing_roles"] == ["psych_teacher", "health_vp"]
        assert REASON not in str(view)

        r = await s.http.post(sign, json={"role": "health_vp"}, headers=vp)
        assert r.json()["listed"] is False, r.text
        r = await s.http.post(sign, json={"role": "psych_teacher"}, headers=psych)
        assert r.status_code == 200, r.text
        assert r.json()["events"] == [
            "AttentionListSignedOff",
            "StudentAddedToAttentionList",
            "CarePlanOpened",
        ]
        assert r.json()["listed"] is True

        # The monthly review, sealed; a second review of the month is refused.
        today = china_date(now_utc())
        month = month_of(today)
        review = {
            "month": month,
            "emotional_state": STATE,
            "interventions": "沙盘游戏辅导；家校沟通",
            "next_step": NEXT_STEP,
        }
        r = await s.http.post(f"/students/{ref}/plan/reviews", json=review, headers=psych)
        assert r.json() == {"events": ["CarePlanReviewed"], "month": month}, r.text
        problem(
            await s.http.post(f"/students/{ref}/plan/reviews", json=review, headers=vp),
            409,
            "one_review_per_month",
        )
        problem(await s.http.post(f"/students/{ref}/plan/reviews", json=review, headers=head), 403)

        # The head teacher: the student is listed, with the plan's next step — nothing else.
        async def class_view() -> dict[str, Any]:
            r = await s.http.get(f"/classes/{class_id}/attention", headers=head)
            assert r.status_code == 200, r.text
            return dict(r.json())

        seen = await eventually(
            class_view,
            lambda v: bool(v["listed"]) and v["listed"][0]["next_step"] is not None,
            what="the listing and the review in the class view",
        )
        assert seen["listed"] == [
            {
                "student_ref": ref,
                "listed": True,
                "plan_open": True,
                "next_step": NEXT_STEP,
                "next_step_from_month": month,
            }
        ]
        for secret in (REASON, STATE, "沙盘游戏辅导", "score", "band", "answers"):
            assert secret not in str(seen)
        # … and the read is in the access log, with the student.
        auditor = s.w.school.bearer("auditor", s.w.school.district)
        log = await s.http.get("/access-log", params={"record": ref}, headers=auditor)
        assert log.status_code == 200, log.text
        actions = {row["action"] for row in log.json()}
        assert {"attention.read_class", "attention.read"} <= actions, log.json()

        # Not the head teacher's: the team's view, the plan, another class.
        problem(await s.http.get(f"/schools/{s.school_id}/attention", headers=head), 403)
        problem(await s.http.get(f"/students/{ref}/plan", headers=head), 403)
        problem(await s.http.get("/classes/nope/attention", headers=head), 404)
        problem(await s.http.get(f"/classes/{class_id}/attention", headers=psych), 403)

        # The team's view and the plan: the months; overdue ones on a later day.
        view = await eventually(team_view, lambda v: bool(v["listed"]), what="the listing")
        [listed] = view["listed"]
        assert listed["plan"]["months_reviewed"] == [month]
        assert listed["plan"]["owner_ref"] == s.staff("psych_teacher")
        later, following = first_of(today, 2), month_of(first_of(today, 1))
        r = await s.http.get(
            f"/schools/{s.school_id}/plans/overdue", params={"as_of": str(later)}, headers=vp
        )
        assert r.json()["plans"][0]["overdue_months"] == [following], r.text
        r = await s.http.get(f"/schools/{s.school_id}/plans/overdue", headers=vp)
        assert r.json()["plans"] == [], "nothing is overdue in the plan's first month"
        r = await s.http.get(f"/students/{ref}/plan", headers=psych)
        assert r.status_code == 200, r.text
        assert r.json()["reviews"][0]["review"]["emotional_state"] == STATE
        log = await s.http.get(
            "/access-log",
            params={"record": ref, "actor": s.staff("psych_teacher")},
            headers=auditor,
        )
        assert "record.read" in {row["action"] for row in log.json()}, log.text
        # A hospital sees the referrals made to it, never a school's plan.
        hospital = s.w.school.bearer("hospital", s.w.school.district)
        problem(await s.http.get(f"/students/{ref}/plan", headers=hospital), 404)

        # Counts: numbers only.
        principal = s.w.school.bearer("principal", s.w.school.district, s.school_id)
        r = await s.http.get(f"/schools/{s.school_id}/attention/count", headers=principal)
        assert r.json() == {"school_id": s.school_id, "listed": 1, "proposed": 0, "open_plans": 1}
        r = await s.http.get(
            f"/districts/{s.w.school.district}/attention/counts", headers=s.w.school.officer()
        )
        assert r.json()["listed"] == 1, r.text
        assert ref not in r.text

        # The targeted home visit reaches the head teacher on the visits board, without a reason.
        async def requests() -> list[dict[str, Any]]:
            r = await s.w.visits.get(f"/classes/{class_id}/visit-requests", headers=head)
            assert r.status_code == 200, r.text
            return list(r.json()["requests"])

        [asked] = await eventually(requests, lambda rs: len(rs) == 1, what="the visit request")
        assert asked["student_ref"] == ref
        assert set(asked) == {"request_id", "student_ref", "school_year", "requested_on"}
        # The listing delivered to the reaction again asks for nothing more.
        added = of_type(await read_all(kafka, s.settings.topic), "StudentAddedToAttentionList", ref)
        await produce_again(kafka, added[0])
        await settled(s, TARGETED_VISITS.group, s.settings.topic, kafka)
        requested = of_type(await read_all(kafka, s.settings.topic), "TargetedVisitRequested", ref)
        assert len(requested) == 1
        assert set(json.loads(requested[0].value)) & {"reason", "risk", "band", "source"} == set()
        assert len(await requests()) == 1

        # Removal records the reason and who decided, and closes the plan.
        r = await s.http.post(
            f"/students/{ref}/attention/removal", json={"reason": "improved"}, headers=vp
        )
        assert r.json() == {"events": ["StudentRemovedFromAttentionList", "CarePlanClosed"]}
        problem(
            await s.http.post(
                f"/students/{ref}/attention/removal", json={"reason": "improved"}, headers=vp
            ),
            404,
            "listed_to_remove",
        )
        await eventually(class_view, lambda v: v["listed"] == [], what="the removal")
        row = await s.pool.fetchrow(
            "SELECT status, removal_reason, decided_by FROM wellbeing.attention"
            " WHERE student_ref = $1",
            ref,
        )
        assert dict(row) == {
            "status": "removed",
            "removal_reason": "improved",
            "decided_by": s.staff("health_vp"),
        }
