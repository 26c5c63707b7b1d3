"""``Idempotency-Key`` over real HTTP on the visits API: the key is recorded in the command's own
transaction, so concurrent repeats plan one visit, a crash between the append and the answer
loses nothing, keys belong to their caller, and a key cannot be reused for another request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.conftest import Bearer
from tests.support.visits import School
from tests.support.world import world
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration

MARKER = "x-test-lose-the-answer"


@dataclass
class LostAnswers:
    """What the app answered to the requests whose answers never reached the client."""

    bodies: list[bytes] = field(default_factory=list)


class LoseTheFirstAnswer:
    """ASGI middleware: the first request carrying ``MARKER`` runs to its end in the app (its
    transaction commits), then its answer is dropped and the client gets a 502 instead — as if
    the process died between the commit and the answer."""

    def __init__(self, app: ASGIApp, lost: LostAnswers) -> None:
        self.app, self.lost = app, lost

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        marked = scope["type"] == "http" and any(
            name.decode().lower() == MARKER for name, _ in scope["headers"]
        )
        if not marked or self.lost.bodies:
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, swallow)
        self.lost.bodies.append(bytes(body))
        await send(
            {
                "type": "http.response.start",
                "status": 502,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"the answer was lost"})


@dataclass
class Services:
    """The registry and visits services of a test, their workers running."""

    registry: RegistrySettings
    visits: VisitsSettings
    verifier: TokenVerifier
    bearer: Bearer
    db: asyncpg.Pool  # the visits service's database

    @asynccontextmanager
    async def api(
        self, lost: LostAnswers | None = None
    ) -> AsyncIterator[tuple[httpx.AsyncClient, School]]:
        """The visits API over HTTP and a school on it (answers lost as ``lost`` says)."""

        def adapt(app: FastAPI) -> None:
            if lost is not None:
                app.add_middleware(LoseTheFirstAnswer, lost=lost)

        async with world(
            self.registry, self.visits, self.verifier, self.bearer, adapt_visits=adapt
        ) as w:
            yield w.visits, w.school


@pytest.fixture
def services(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    visits_db: asyncpg.Pool,
) -> Services:
    return Services(registry_settings, visits_settings, verifier, bearer, visits_db)


def body_for(student_ref: str) -> dict[str, str]:
    return {"student_ref": student_ref, "planned_for": str(now_utc().date())}


async def planned(visits_db: asyncpg.Pool) -> int:
    n = await visits_db.fetchval(
        "SELECT count(*) FROM events WHERE event_type LIKE '%VisitPlanned%'"
    )
    return int(n)


def head_teacher_of_first_pupil(school: School) -> tuple[str, dict[str, str]]:
    pupil = school.pupils[0]
    return pupil.ref, school.as_staff(school.head_teachers[pupil.class_id])


async def test_twenty_concurrent_repeats_of_one_keyed_command_plan_one_visit_and_agree(
    services: Services,
) -> None:
    async with services.api() as (http, school):
        student, me = head_teacher_of_first_pupil(school)
        assert await planned(services.db) == 0
        answers = await asyncio.gather(
            *(
                http.post(
                    "/visits",
                    json=body_for(student),
                    headers={**me, "Idempotency-Key": "plan-concurrently"},
                )
                for _ in range(20)
            )
        )
        assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
        visit_ids = {a.json()["visit_id"] for a in answers}
        assert len(visit_ids) == 1, f"one key, several visits: {visit_ids}"
        first = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
        assert len(first) == 1, "exactly one of the twenty ran the command"
        assert await planned(services.db) == 1


async def test_an_answer_lost_after_the_commit_is_given_to_the_retry_and_plans_nothing_more(
    services: Services,
) -> None:
    lost = LostAnswers()
    async with services.api(lost) as (http, school):
        student, me = head_teacher_of_first_pupil(school)
        headers = {**me, "Idempotency-Key": "plan-then-crash", MARKER: "1"}
        crashed = await http.post("/visits", json=body_for(student), headers=headers)
        assert crashed.status_code == 502, crashed.text
        assert len(lost.bodies) == 1, "the first request did not reach the app"
        assert await planned(services.db) == 1, "the lost answer's command did not commit"

        retry = await http.post("/visits", json=body_for(student), headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json() == json.loads(lost.bodies[0]), "the retry did not get the first answer"
        assert retry.json()["visit_id"]
        assert await planned(services.db) == 1


async def test_one_key_used_by_two_callers_plans_two_visits(
    services: Services,
) -> None:
    async with services.api() as (http, school):
        student, head_teacher = head_teacher_of_first_pupil(school)
        principal = school.as_staff(school.principal)
        answers = [
            await http.post(
                "/visits",
                json=body_for(student),
                headers={**caller, "Idempotency-Key": "our-favourite-key"},
            )
            for caller in (head_teacher, principal)
        ]
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, None]
        assert answers[0].json()["visit_id"] != answers[1].json()["visit_id"]
        assert await planned(services.db) == 2


async def test_one_key_reused_by_its_caller_for_another_request_is_a_problem(
    services: Services,
) -> None:
    async with services.api() as (http, school):
        student, me = head_teacher_of_first_pupil(school)
        other = next(p.ref for p in school.pupils if p.ref != student)
        headers = {**me, "Idempotency-Key": "reused"}
        first = await http.post("/visits", json=body_for(student), headers=headers)
        assert first.status_code == 200, first.text

        reused = await http.post("/visits", json=body_for(other), headers=headers)
        assert reused.status_code == 422, reused.text
        assert reused.headers["content-type"] == "application/problem+json"
        assert reused.json()["detail"].startswith("Idempotency-Key")
        assert await planned(services.db) == 1

        # The key still stands for its first request.
        again = await http.post("/visits", json=body_for(student), headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["visit_id"] == first.json()["visit_id"]
        assert await planned(services.db) == 1


async def test_a_key_longer_than_200_characters_is_a_problem_naming_it_and_plans_nothing(
    services: Services,
) -> None:
    async with services.api() as (http, school):
        student, me = head_teacher_of_first_pupil(school)
        for key in ("k" * 201, ""):
            r = await http.post(
                "/visits", json=body_for(student), headers={**me, "Idempotency-Key": key}
            )
            assert r.status_code == 422, (len(key), r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"].startswith("Idempotency-Key"), r.json()
        assert await planned(services.db) == 0
