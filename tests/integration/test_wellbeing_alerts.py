"""Alerts where staff already are, over real Kafka and PostgreSQL and two local group robots on
127.0.0.1 (WeCom and a signed DingTalk): a high-risk screening flag reaches each robot of the
district once, addressed to the psychology teacher and the health vice-principal, with the
school and a link only; the same trigger delivered again sends nothing new; an elevated flag is
no alert."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.conftest import Bearer
from tests.support.receiver import Received, Receiver, receiving
from tests.support.referrals import PUBLIC_URL, Stack, referral_stack
from tests.support.waiting import eventually
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import RiskFlag, ScreeningFlagged, screening_stream
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_wellbeing.bootstrap import bootstrap
from tongxin_wellbeing.reactions.alerts import ALERTS

pytestmark = pytest.mark.integration

YEAR = "2026-2027"


@pytest.fixture
async def stack(
    infra: Infra,
    kafka: str,
    topic: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
    jwt_keys: tuple[bytes, bytes],
) -> AsyncIterator[tuple[Stack, Receiver]]:
    async with receiving() as robot:
        hooks = {
            "330106": [
                {"kind": "wecom", "url": robot.url("/cgi-bin/webhook/send?key=K1")},
                {
                    "kind": "dingtalk",
                    "url": robot.url("/robot/send?access_token=T1"),
                    "secret": "SEC-test-secret",
                },
            ]
        }
        async with referral_stack(
            infra,
            kafka,
            topic,
            unique,
            database_name,
            registry_settings,
            verifier,
            bearer,
            jwt_keys,
            webhooks=hooks,
        ) as s:
            yield s, robot


async def flag(s: Stack, student_ref: str, screening_id: str, risk: RiskFlag, band: str) -> None:
    """What the screening part appends for a flagged screening (its own command, elsewhere)."""
    e = ScreeningFlagged(
        district=s.district,
        school_id=s.school_id,
        student_ref=student_ref,
        school_year=YEAR,
        screening_id=screening_id,
        instrument_id="phq9",
        band=band,
        risk=risk,
    )
    app = await bootstrap(s.settings)
    try:

        def decide(_: list[IntegrationEvent], __: object) -> list[IntegrationEvent]:
            return [e]

        await app.service.writer.run(screening_stream(student_ref, YEAR), decide)
    finally:
        await app.close()


async def test_a_high_risk_flag_reaches_each_robot_once_even_when_delivered_again(
    stack: tuple[Stack, Receiver],
) -> None:
    s, robot = stack
    student = s.students[0][0]
    await flag(s, student, "scr-high", RiskFlag.high, "moderately_severe")
    await flag(s, s.students[1][0], "scr-elevated", RiskFlag.elevated, "moderate")

    delivered = await eventually(
        lambda: _delivered(robot), lambda d: len(d) >= 2, timeout=60, what="both robots"
    )
    by_path = {r.path: r for r in delivered}
    assert set(by_path) == {"/cgi-bin/webhook/send", "/robot/send"}
    wecom = by_path["/cgi-bin/webhook/send"].body["markdown"]["content"]
    ding = by_path["/robot/send"]
    assert {"timestamp", "sign", "access_token"} <= set(ding.query), "DingTalk 加签"
    for text in (wecom, ding.body["markdown"]["text"]):
        assert "心理教师" in text
        assert "健康副校长" in text
        assert s.school_id in text
        assert f"{PUBLIC_URL}/schools/{s.school_id}/attention" in text
        for secret in (student, "moderately_severe", "phq9", *s.names):
            assert secret not in text

    # The same trigger again, as Kafka would redeliver it: nothing new is queued or sent.
    await s.redeliver("ScreeningFlagged", "scr-high")
    await s.caught_up(ALERTS.group)
    await s.delivery_polls_after(5)
    assert len(robot.delivered()) == 2, "one message per robot, whatever was redelivered"
    rows = await s.pool.fetch("SELECT key, target, delivered_at FROM notifications")
    assert len(rows) == 2
    assert all(r["delivered_at"] is not None for r in rows)
    assert {r["key"] for r in rows} == {"screening.high_risk:scr-high"}, "elevated: no alert"
    assert json.dumps([r.body for r in robot.received], ensure_ascii=False).count("心理教师") == 2


async def _delivered(robot: Receiver) -> list[Received]:
    return list(robot.delivered())
