"""The family code over real HTTP, Kafka and PostgreSQL, as the attack that found it went: a
teacher guesses, re-sends, guesses again. The visit's attempt budget survives re-sends, a locked
visit stays locked (a co-visitor still confirms it), re-sends are limited per visit and per staff
member a day, and an anonymous caller gets one answer for every code that is not accepted."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion, plan_visit, world
from tests.support.visits import School, family_code
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration

BUDGET = 5


def other(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


async def completed_visit(
    http: httpx.AsyncClient, school: School, teacher: str, pupil_ref: str, *co: str
) -> str:
    visit_id = await plan_visit(http, school.as_staff(teacher), pupil_ref)
    r = await http.post(
        f"/visits/{visit_id}/complete",
        json=completion(school, teacher, *co),
        headers=school.as_staff(teacher),
    )
    assert r.status_code == 200, r.text
    return visit_id


def answer(r: httpx.Response) -> tuple[int, str | None, Any]:
    return r.status_code, r.headers.get("content-type"), r.json()


async def test_re_sending_neither_resets_the_budget_nor_lifts_the_lock_and_bad_codes_look_alike(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
    visits_db: asyncpg.Pool,
) -> None:
    settings = visits_settings.model_copy(
        update={
            "family_code_attempts": BUDGET,
            "family_code_sends_per_visit": 2,
            "family_code_resends_per_day": 2,
        }
    )
    async with world(registry_settings, settings, verifier, bearer) as (http, school):
        class_id, teacher = sorted(school.head_teachers.items())[0]
        a, b, c = [p.ref for p in school.pupils if p.class_id == class_id][:3]
        me = school.as_staff(teacher)

        async def confirm(visit_id: str, code: str) -> httpx.Response:
            return await http.post(f"/visits/{visit_id}/family-confirmation", json={"code": code})

        async def attempts(visit_id: str) -> int:
            n = await visits_db.fetchval(
                "SELECT attempts FROM family_codes WHERE visit_id = $1", visit_id
            )
            assert isinstance(n, int)
            return n

        visit = await completed_visit(http, school, teacher, a, school.principal)
        refused: list[tuple[int, str | None, Any]] = []  # every answer that must look alike

        # The attack: four wrong codes, a re-send, more guesses.
        assert (await http.post(f"/visits/{visit}/family-code", headers=me)).status_code == 200
        first = await family_code(http, school, visit)
        for n in range(1, BUDGET):
            refused.append(answer(await confirm(visit, other(first, n))))
        resent = await http.post(f"/visits/{visit}/family-code", headers=me)
        assert resent.status_code == 200, resent.text
        assert await attempts(visit) == BUDGET - 1, "a re-send keeps the visit's wrong tries"
        code = await family_code(http, school, visit)
        refused.append(answer(await confirm(visit, other(code))))  # the fifth: locked now
        assert await attempts(visit) == BUDGET
        refusal = refused[0]
        assert refusal[:2] == (422, "application/problem+json"), refusal
        assert refusal[2]["rule"] == "family_code"
        assert visit not in str(refusal[2]), "the visit is not echoed"
        assert all(r == refusal for r in refused), refused

        locked = await http.post(f"/visits/{visit}/family-code", headers=me)
        assert locked.status_code == 409, locked.text
        assert locked.headers["content-type"] == "application/problem+json"
        assert locked.json()["rule"] == "family_code.locked"
        # Twenty more guesses, the right code among them: none is even evaluated.
        for n in range(20):
            guess = code if n == 13 else other(code, 1000 + n)
            assert answer(await confirm(visit, guess)) == refusal
        assert await attempts(visit) == BUDGET, "no guess evaluated beyond the budget"
        rows = await visits_db.fetch("SELECT used_at FROM family_codes WHERE visit_id = $1", visit)
        assert rows[0]["used_at"] is None
        # Nothing unlocks the family's way; the co-visitor confirms.
        r = await http.post(f"/visits/{visit}/confirm", headers=school.as_staff(school.principal))
        assert r.status_code == 200, r.text

        # An unknown visit is refused exactly like a wrong code on a real one.
        assert answer(await confirm(uuid.uuid4().hex, code)) == refusal
        assert answer(await confirm("v_does_not_exist", "000000")) == refusal

        # An expired code, then a used one: the same refusal.
        second = await completed_visit(http, school, teacher, b)
        assert (await http.post(f"/visits/{second}/family-code", headers=me)).status_code == 200
        expired = await family_code(http, school, second)
        await visits_db.execute(
            "UPDATE family_codes SET expires_at = now() - interval '1 second' WHERE visit_id = $1",
            second,
        )
        assert answer(await confirm(second, expired)) == refusal
        assert await attempts(second) == 0, "an expired code is not evaluated"
        assert (await http.post(f"/visits/{second}/family-code", headers=me)).status_code == 200
        fresh = await family_code(http, school, second)
        # Two codes for this visit is the limit (permanent: no Retry-After).
        over = await http.post(f"/visits/{second}/family-code", headers=me)
        assert over.status_code == 429, over.text
        assert over.json()["rule"] == "family_code.sends_per_visit"
        assert "retry-after" not in over.headers
        ok = await confirm(second, fresh)
        assert ok.status_code == 200, ok.text
        assert ok.json()["events"] == ["VisitConfirmed"]
        assert answer(await confirm(second, fresh)) == refusal, "a code works once"

        # Two re-sends by this teacher today: a visit's first code still goes out, a third
        # re-send waits for tomorrow in China.
        third = await completed_visit(http, school, teacher, c)
        assert answer(await confirm(third, "123456")) == refusal, "no code sent for this visit"
        assert (await http.post(f"/visits/{third}/family-code", headers=me)).status_code == 200
        daily = await http.post(f"/visits/{third}/family-code", headers=me)
        assert daily.status_code == 429, daily.text
        assert daily.json()["rule"] == "family_code.resends_per_day"
        assert 0 < int(daily.headers["retry-after"]) <= 86401
        sends = await visits_db.fetch(
            "SELECT resend FROM family_code_sends WHERE issued_by = $1 ORDER BY id", teacher
        )
        assert [r["resend"] for r in sends] == [False, True, False, True, False]


async def test_concurrent_guesses_are_counted_one_by_one_and_never_pass_the_budget(
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
        visit = await completed_visit(http, school, teacher, pupil.ref)
        assert (await http.post(f"/visits/{visit}/family-code", headers=me)).status_code == 200
        code = await family_code(http, school, visit)
        path = f"/visits/{visit}/family-confirmation"
        # Thirty wrong guesses at once, then the right code among thirty more at once.
        wrong = await asyncio.gather(
            *(http.post(path, json={"code": other(code, n)}) for n in range(1, 31))
        )
        assert {r.status_code for r in wrong} == {422}
        late = await asyncio.gather(
            *(http.post(path, json={"code": code if n == 7 else other(code, n)}) for n in range(30))
        )
        assert {r.status_code for r in late} == {422}, "the visit was locked before the code came"
        attempts = await visits_db.fetchval(
            "SELECT attempts FROM family_codes WHERE visit_id = $1", visit
        )
        assert attempts == visits_settings.family_code_attempts
