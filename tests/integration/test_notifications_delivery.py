"""Notifications delivered for real: from rows in PostgreSQL to local WeCom and DingTalk robots
(a receiver on 127.0.0.1), once per robot; retried with backoff when a robot fails (errcode,
HTTP 500, no answer); failed for good after max_attempts — visible at GET /notifications, in
/metrics and in the log — and sent again on an operator's retry; never re-sent to a healthy
robot because another failed; alerts of a district without robots in the inbox (development)
or failed with a clear error (production); a guardian's notice in the inbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Bearer
from tests.support.kitservice import OVERDUE, Behaviour, Clock, kit_service, plan_visit
from tests.support.receiver import Receiver, receiving
from tests.support.servers import serving
from tests.support.services import database_of, settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_contracts import default_registry
from tongxin_platform.api import create_service_app
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.commands import Writer
from tongxin_platform.delivery import Delivery
from tongxin_platform.eventstore import EventStore
from tongxin_platform.notify import Notice, Routes
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.testing import Infra
from tongxin_platform.uow import PgTransactions
from tongxin_platform.webhooks import dingtalk_body, wecom_body

pytestmark = pytest.mark.integration

DISTRICT, SCHOOL = "330106", "330106001"
SECRET = "SEC9f8e7d6c5b4a39281706f5e4d3c2b1a0"
MAX_ATTEMPTS = 3
PROBLEM = "application/problem+json"


def alert(key: str = "visit.overdue:v1", district: str = DISTRICT) -> Notice:
    return OVERDUE.notice(
        key=key,
        channel="alert",
        district=district,
        school=SCHOOL,
        link="http://127.0.0.1:18100/visits/v1",
        values={"school": SCHOOL, "visit": "v1", "hours": 1},
    )


@dataclass
class Post:
    service: Service
    settings: ServiceSettings
    pool: asyncpg.Pool
    wecom: Receiver
    dingtalk: Receiver
    delivery: Delivery
    transactions: PgTransactions

    async def enqueue(self, notice: Notice, routes: Routes | None = None) -> int:
        transactions = self.transactions
        if routes is not None:
            transactions = PgTransactions(
                self.pool, transactions.store, transactions.registry, routes
            )
        async with transactions.begin() as uow:
            return await uow.notifications.enqueue(notice)

    async def rows(self) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT * FROM notifications ORDER BY id"
        )
        return rows

    async def deliver_until(
        self, done: Callable[[list[asyncpg.Record]], bool], what: str
    ) -> list[asyncpg.Record]:
        async def poll() -> list[asyncpg.Record]:
            await self.delivery.poll()
            return await self.rows()

        return await eventually(poll, done, timeout=60, what=what)

    async def settle(self, polls: int = 5) -> None:
        """More polls after the outcome: nothing may be sent again."""
        for _ in range(polls):
            await self.delivery.poll()


def settled(rows: list[asyncpg.Record]) -> bool:
    return bool(rows) and all(r["delivered_at"] or r["failed_at"] for r in rows)


@pytest.fixture
async def post(infra: Infra, kafka: str, topic: str, database_name: str) -> AsyncIterator[Post]:
    service = kit_service(Behaviour())
    async with receiving() as wecom, receiving() as dingtalk:
        hooks = {
            DISTRICT: [
                {"kind": "wecom", "url": wecom.url("/cgi-bin/webhook/send?key=K-wecom")},
                {
                    "kind": "dingtalk",
                    "url": dingtalk.url("/robot/send?access_token=T-ding"),
                    "secret": SECRET,
                },
            ]
        }
        settings = settings_for(
            service,
            infra,
            database_name=database_name,
            topics={"visits": topic},
            TONGXIN_ALERT_WEBHOOKS=json.dumps(hooks),
            notify_backoff_base=0.05,
            notify_backoff_cap=0.2,
            notify_max_attempts=MAX_ATTEMPTS,
            notify_timeout=0.5,
            notify_poll_interval=0.05,
            deadline_poll_interval=0.05,
            worker_heartbeat_interval=0.2,
        )
        async with database_of(service, settings) as pool, httpx.AsyncClient() as http:
            routes = settings.routes()
            transactions = PgTransactions(pool, EventStore(topic), default_registry(), routes)
            delivery = Delivery.of(pool, settings, routes, http)
            yield Post(service, settings, pool, wecom, dingtalk, delivery, transactions)


def check_dingtalk_signature(query: dict[str, str]) -> None:
    timestamp = query["timestamp"]
    mac = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert query["sign"] == base64.b64encode(mac).decode()  # the receiver sees it URL-decoded


async def test_a_notice_is_delivered_once_to_each_robot_of_its_district(post: Post) -> None:
    notice = alert()
    assert await post.enqueue(notice) == 2  # one row per robot

    rows = await post.deliver_until(settled, "delivered")
    await post.settle()

    assert [len(post.wecom.received), len(post.dingtalk.received)] == [1, 1]
    w, d = post.wecom.received[0], post.dingtalk.received[0]
    assert (w.path, w.query) == ("/cgi-bin/webhook/send", {"key": "K-wecom"})
    assert w.content_type.startswith("application/json")
    assert w.body == wecom_body(notice)
    assert d.path == "/robot/send"
    assert set(d.query) == {"access_token", "timestamp", "sign"}
    assert d.query["access_token"] == "T-ding"
    check_dingtalk_signature(d.query)
    assert d.body == dingtalk_body(notice)
    assert [(r["target_kind"], r["attempts"], r["last_error"]) for r in rows] == [
        ("wecom", 1, None),
        ("dingtalk", 1, None),
    ]
    assert all(r["delivered_at"] is not None for r in rows)
    # the robots' keys and secret are nowhere in the rows
    stored = json.dumps([dict(r) for r in rows], default=str)
    assert "K-wecom" not in stored
    assert "T-ding" not in stored
    assert SECRET not in stored


async def test_a_notice_enqueued_twice_with_the_same_key_is_sent_once(post: Post) -> None:
    assert await post.enqueue(alert()) == 2
    assert await post.enqueue(alert()) == 0  # a redelivered trigger: nothing new
    await post.deliver_until(settled, "delivered")
    await post.settle()
    assert [len(post.wecom.received), len(post.dingtalk.received)] == [1, 1]
    assert len(await post.rows()) == 2


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("errcode", "errcode 93000: invalid webhook url"),
        ("http500", "HTTP 500"),
        ("hang", "no answer within 0.5 s"),
    ],
)
async def test_a_robot_failing_twice_gets_it_on_the_third_attempt_and_the_other_only_once(
    post: Post, how: Any, error: str
) -> None:
    post.wecom.fail_first(2, how=how)
    post.wecom.hang_seconds = 1.0
    await post.enqueue(alert())

    rows = await post.deliver_until(settled, "delivered")
    await post.settle()

    wecom, dingtalk = rows
    assert wecom["delivered_at"] is not None
    assert wecom["attempts"] == 3
    assert error in wecom["last_error"]
    assert len(post.wecom.received) == 3
    assert len(post.wecom.delivered()) == 1
    assert dingtalk["attempts"] == 1
    assert len(post.dingtalk.received) == 1  # the healthy robot is not sent it again


async def test_a_delivery_killed_while_sending_sends_only_what_was_in_flight_again(
    post: Post,
) -> None:
    post.wecom.fail_first(1, how="hang")  # the first request gets no answer
    post.wecom.hang_seconds = 30
    post.delivery.timeout, post.delivery.lease = 30, 4.0
    await post.enqueue(alert())

    killed = asyncio.create_task(post.delivery.poll())
    await eventually(
        lambda: asyncio.sleep(0, (len(post.wecom.received), len(post.dingtalk.delivered()))),
        lambda n: n == (1, 1),
        timeout=30,
        what="the WeCom send in flight, DingTalk's done",
    )
    await eventually(post.rows, lambda rs: rs[1]["delivered_at"] is not None, what="recorded")
    assert not killed.done()  # the WeCom send still waits for its answer
    killed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await killed
    wecom, dingtalk = await post.rows()
    assert (wecom["attempts"], wecom["delivered_at"], wecom["failed_at"]) == (1, None, None)
    assert (dingtalk["attempts"], dingtalk["delivered_at"] is not None) == (1, True)

    # Nothing is claimed again before the lease ends; after it, only the row in flight.
    assert (await post.delivery.poll()).delivered == []
    post.delivery.timeout = 5
    rows = await post.deliver_until(settled, "sent again after the lease")
    await post.settle()
    assert [r["attempts"] for r in rows] == [2, 1]
    assert len(post.wecom.received) == 2
    assert len(post.wecom.delivered()) == 1
    assert len(post.dingtalk.received) == 1


async def test_a_robot_always_failing_ends_failed_visibly_and_an_operator_sends_it_again(
    post: Post, verifier: TokenVerifier, bearer: Bearer, caplog: pytest.LogCaptureFixture
) -> None:
    post.wecom.always_fail()
    await post.enqueue(alert())

    with caplog.at_level(logging.ERROR, logger="tongxin_platform.delivery"):
        rows = await post.deliver_until(settled, "failed for good")
    await post.settle()
    wecom, dingtalk = rows
    assert wecom["failed_at"] is not None
    assert wecom["delivered_at"] is None
    assert wecom["attempts"] == MAX_ATTEMPTS
    assert len(post.wecom.received) == MAX_ATTEMPTS
    assert dingtalk["delivered_at"] is not None
    assert len(post.dingtalk.received) == 1
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        f"notification {wecom['id']}" in m and "failed after 3 attempts" in m for m in logged
    )

    operator = bearer("operator", district=DISTRICT)
    app = create_service_app(post.service, post.settings, verifier)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        failed = (await http.get("/notifications?status=failed", headers=operator)).json()
        assert [(n["id"], n["status"], n["target_kind"]) for n in failed] == [
            (wecom["id"], "failed", "wecom")
        ]
        assert "93000" in failed[0]["last_error"]
        delivered = await http.get(
            "/notifications", params={"status": "delivered"}, headers=bearer("auditor", DISTRICT)
        )
        assert [n["id"] for n in delivered.json()] == [dingtalk["id"]]
        elsewhere = await http.get("/notifications", headers=bearer("operator", "330107"))
        assert elsewhere.json() == []

        refused = await http.get("/notifications", headers=bearer("head_teacher", DISTRICT))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["rule"] == "notifications.read"

        metrics = (await http.get("/metrics")).text
        samples = {
            (s.name, s.labels.get("kind")): s.value
            for family in text_string_to_metric_families(metrics)
            for s in family.samples
        }
        assert samples[("tongxin_notifications_failed", "visit.overdue")] == 1

        retry = f"/notifications/{wecom['id']}/retry"
        denied = await http.post(retry, headers=bearer("auditor", DISTRICT))
        assert denied.status_code == 403
        assert denied.json()["rule"] == "notifications.retry"
        hidden = await http.post(retry, headers=bearer("operator", "330107"))
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == PROBLEM
        post.wecom.fail_first(0)
        again = await http.post(retry, headers=operator)
        assert again.status_code == 200
        assert again.json()["status"] == "pending"

        rows = await post.deliver_until(
            lambda rs: all(r["delivered_at"] for r in rs), "delivered on retry"
        )
        assert len(post.wecom.delivered()) == 1
        assert len(post.dingtalk.received) == 1
        conflict = await http.post(retry, headers=operator)
        assert conflict.status_code == 409
        assert conflict.json()["rule"] == "notifications.retry.only_undelivered"


async def test_alerts_of_a_district_without_robots_go_to_the_inbox_in_development(
    post: Post, verifier: TokenVerifier, bearer: Bearer
) -> None:
    assert await post.enqueue(alert("k-dev", district="330199")) == 1
    rows = await post.deliver_until(settled, "delivered to the inbox")
    assert [(r["target_kind"], r["delivered_at"] is not None) for r in rows] == [("inbox", True)]
    assert post.wecom.received == []

    app = create_service_app(post.service, post.settings, verifier)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        inbox = await http.get("/message-inbox", headers=bearer("operator", "330199"))
        assert [(m["key"], m["channel"], m["district"]) for m in inbox.json()] == [
            ("k-dev", "alert", "330199")
        ]
        assert inbox.json()[0]["text"] == alert().text
        other = await http.get("/message-inbox", headers=bearer("operator", DISTRICT))
        assert other.json() == []
        refused = await http.get("/message-inbox", headers=bearer("auditor", "330199"))
        assert refused.status_code == 403


async def test_alerts_of_a_district_without_robots_fail_at_once_in_production_naming_why(
    post: Post, caplog: pytest.LogCaptureFixture
) -> None:
    production = Routes(post.settings.webhooks(), development=False)
    with caplog.at_level(logging.ERROR, logger="tongxin_platform.notify"):
        assert await post.enqueue(alert("k-prod", district="330199"), production) == 1
    await post.settle()
    (row,) = await post.rows()
    assert row["target_kind"] == "none"
    assert row["failed_at"] is not None
    assert row["last_error"] == "no webhook configured for district 330199"
    assert any(
        "no webhook configured for district 330199" in r.getMessage() for r in caplog.records
    )
    assert await post.pool.fetchval("SELECT count(*) FROM message_inbox") == 0


async def test_a_guardians_notice_lands_in_the_inbox_for_that_guardian(post: Post) -> None:
    notice = OVERDUE.notice(
        key="guardian:v1",
        channel="guardian",
        district=DISTRICT,
        school=SCHOOL,
        recipient="g-123",
        link="http://127.0.0.1:18100/visits/v1",
        values={"school": SCHOOL, "visit": "v1", "hours": 1},
    )
    assert await post.enqueue(notice) == 1
    await post.deliver_until(settled, "delivered to the inbox")
    inbox = await post.pool.fetch("SELECT recipient, channel, link FROM message_inbox")
    assert [tuple(r) for r in inbox] == [("g-123", "guardian", "http://127.0.0.1:18100/visits/v1")]
    assert post.wecom.received == []
    assert post.dingtalk.received == []


async def test_a_deadlines_alert_reaches_each_robot_once_through_the_running_worker(
    post: Post,
) -> None:
    clock = Clock(datetime.now(UTC))
    writer = Writer(post.transactions, default_registry(), clock=clock)
    await plan_visit(writer, "v1", due_in=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    async with worker_of(post.service, post.settings, clock=clock):
        await eventually(
            lambda: post.rows(),
            lambda rs: len(rs) == 2 and all(r["delivered_at"] for r in rs),
            timeout=30,
            what="the alert delivered by the worker",
        )
    assert [len(post.wecom.received), len(post.dingtalk.received)] == [1, 1]
    assert post.wecom.received[0].body["markdown"]["content"].count("v1") >= 1
