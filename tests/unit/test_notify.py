"""Notifications: the documented message shapes of the WeCom and DingTalk robots, DingTalk's
signature (computed here independently), answers that count as failures, templates that take
references and never free text, where a notice goes, the backoff, and the settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse

import httpx
import pytest

from tongxin_cli.status_cmd import _rows
from tongxin_contracts import default_registry
from tongxin_platform.delivery import Backoff
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions
from tongxin_platform.notify import (
    INBOX,
    NO_TARGET,
    Notice,
    NoticeError,
    NoticeTemplate,
    Routes,
    Target,
    Webhook,
)
from tongxin_platform.webhooks import (
    DeliveryError,
    RobotNotifier,
    dingtalk_body,
    dingtalk_sign,
    dingtalk_url,
    wecom_body,
)
from tongxin_visits.config import VisitsSettings

ESCALATED = NoticeTemplate(
    "referral.escalated",
    title="危机转介超时未确认",
    text="学校 {school} 的转介 {referral} 未在 {hours} 小时内确认，已上报。",
)
LINK = "https://wellbeing.example.cn/referrals/r-1"


def alert(key: str = "escalated:r-1", district: str = "330106") -> Notice:
    return ESCALATED.notice(
        key=key,
        channel="alert",
        district=district,
        school="330106001",
        link=LINK,
        values={"school": "330106001", "referral": "r-1", "hours": 1},
    )


# --- message shapes ----------------------------------------------------------------------------


def test_a_wecom_robot_gets_the_documented_markdown_message_with_what_happened_and_a_link() -> None:
    body = wecom_body(alert())
    assert set(body) == {"msgtype", "markdown"}
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert "危机转介超时未确认" in content
    assert "学校 330106001 的转介 r-1 未在 1 小时内确认，已上报。" in content
    assert f"]({LINK})" in content
    assert len(content.encode()) <= 4096  # WeCom's limit for markdown content


def test_a_dingtalk_robot_gets_the_documented_markdown_message_with_a_title() -> None:
    body = dingtalk_body(alert())
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    assert body["markdown"]["title"] == "危机转介超时未确认"
    assert f"]({LINK})" in body["markdown"]["text"]


def test_the_dingtalk_signature_is_hmac_sha256_of_timestamp_and_secret_base64_then_urlencoded() -> (
    None
):
    secret, timestamp = "SEC0123456789abcdef0123456789abcdef", 1_764_300_000_000
    # DingTalk's 加签, computed here step by step: HMAC-SHA256 keyed by the secret over
    # "<timestamp>\n<secret>", Base64, then URL-encoded.
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(f"{timestamp}\n{secret}".encode())
    expected = urllib.parse.quote(base64.b64encode(mac.digest()), safe="")
    assert dingtalk_sign(secret, timestamp) == expected
    url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=T", secret, timestamp)
    assert url == (
        f"https://oapi.dingtalk.com/robot/send?access_token=T&timestamp={timestamp}&sign={expected}"
    )
    # the receiving side decodes the parameter back to the Base64 of the digest
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert base64.b64decode(query["sign"][0]) == mac.digest()


def test_an_unsigned_dingtalk_robot_gets_its_url_as_configured() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=T"
    assert dingtalk_url(url, None, 1) == url


# --- answers ---------------------------------------------------------------------------------


def _notifier(answer: httpx.Response, seen: list[httpx.Request]) -> RobotNotifier:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    hook = Webhook(kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    routes = Routes({"330106": [hook]}, development=False)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return RobotNotifier(routes, client)


async def test_a_robot_answering_errcode_0_has_the_message() -> None:
    seen: list[httpx.Request] = []
    notifier = _notifier(httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}), seen)
    target = Routes(notifier.routes.webhooks).targets(alert())[0]
    await notifier.send(alert(), target)
    assert [str(r.url) for r in seen] == ["https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"]
    assert json.loads(seen[0].content) == wecom_body(alert())


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid webhook url"}), "93000"),
        (httpx.Response(500, text="boom"), "HTTP 500"),
        (httpx.Response(200, text="<html>"), "not JSON"),
    ],
    ids=["errcode", "http500", "not-json"],
)
async def test_a_robot_answering_anything_but_errcode_0_is_a_failed_delivery(
    answer: httpx.Response, error: str
) -> None:
    notifier = _notifier(answer, [])
    target = Routes(notifier.routes.webhooks).targets(alert())[0]
    with pytest.raises(DeliveryError, match=error):
        await notifier.send(alert(), target)


async def test_a_robot_no_longer_configured_is_a_failed_delivery_naming_it() -> None:
    notifier = _notifier(httpx.Response(200, json={"errcode": 0}), [])
    with pytest.raises(DeliveryError, match="no longer configured for district 330106"):
        await notifier.send(alert(), Target("wecom:000000000000", "wecom"))


async def test_a_failed_delivery_names_the_robot_never_its_key() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    hook = Webhook(kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K-1")
    routes = Routes({"330106": [hook]})
    client = httpx.AsyncClient(transport=httpx.MockTransport(unreachable))
    with pytest.raises(DeliveryError) as refused:
        await RobotNotifier(routes, client).send(alert(), routes.targets(alert())[0])
    assert str(refused.value) == f"ConnectError: cannot reach {hook.target}"
    assert "K-1" not in str(refused.value)


def test_a_robots_url_is_an_absolute_http_url() -> None:
    with pytest.raises(ValueError, match="absolute http"):
        Webhook(kind="wecom", url="qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")


# --- templates: references, never free text -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["张小明", "Zhang Xiaoming", "PHQ-9 score 23", "", "a" * 81, "line\nbreak"],
    ids=["chinese-name", "name-with-space", "text-with-spaces", "empty", "too-long", "newline"],
)
def test_a_template_refuses_a_value_that_is_not_a_reference(value: str) -> None:
    with pytest.raises(NoticeError, match="not free text"):
        ESCALATED.render({"school": "330106001", "referral": value, "hours": 1})


def test_a_template_wants_exactly_its_placeholders() -> None:
    with pytest.raises(NoticeError, match=r"\['hours'\] missing, \['name'\] not in template"):
        ESCALATED.render({"school": "s", "referral": "r", "name": "x"})


def test_a_notice_needs_an_absolute_link_and_a_recipient_only_for_a_guardian() -> None:
    with pytest.raises(NoticeError, match="link"):
        Notice("k", "alert", "330106", "x.y", "t", "text", "/relative")
    with pytest.raises(NoticeError, match="link"):
        Notice("k", "alert", "330106", "x.y", "t", "text", LINK + "x" * 500)
    with pytest.raises(NoticeError, match="recipient"):
        Notice("k", "guardian", "330106", "x.y", "t", "text", LINK)
    with pytest.raises(NoticeError, match="recipient"):
        Notice("k", "alert", "330106", "x.y", "t", "text", LINK, recipient="g-1")
    guardian = Notice("k", "guardian", "330106", "x.y", "t", "text", LINK, recipient="g-1")
    assert guardian.recipient == "g-1"


# --- where a notice goes -----------------------------------------------------------------------


def test_an_alert_goes_to_every_robot_of_its_district_each_named_without_its_key() -> None:
    wecom = Webhook(kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    ding = Webhook(kind="dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=T")
    routes = Routes({"330106": [wecom, ding]}, development=False)
    targets = routes.targets(alert())
    assert [t.kind for t in targets] == ["wecom", "dingtalk"]
    assert [
        re.fullmatch(r"(wecom|dingtalk):[0-9a-f]{12}", t.name) is not None for t in targets
    ] == [
        True,
        True,
    ]
    assert routes.webhook("330106", targets[1].name) == ding


def test_an_alert_of_a_district_without_robots_goes_to_the_inbox_in_development_only() -> None:
    assert Routes({}, development=True).targets(alert()) == [INBOX]
    assert Routes({}, development=False).targets(alert()) == [NO_TARGET]


def test_a_guardians_notice_goes_to_the_inbox_whatever_the_robots() -> None:
    hook = Webhook(kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    notice = Notice("k", "guardian", "330106", "x.y", "t", "text", LINK, recipient="g-1")
    assert Routes({"330106": [hook]}, development=False).targets(notice) == [INBOX]


def test_the_robots_are_read_from_tongxin_alert_webhooks_and_a_malformed_value_names_it() -> None:
    raw = json.dumps(
        {
            "330106": [
                {"kind": "wecom", "url": "http://127.0.0.1:18101/send?key=K"},
                {"kind": "dingtalk", "url": "http://127.0.0.1:18102/send", "secret": "SECx"},
            ]
        }
    )
    settings = VisitsSettings(TONGXIN_ALERT_WEBHOOKS=raw, TONGXIN_ENV="production")
    hooks = settings.webhooks()["330106"]
    assert [h.kind for h in hooks] == ["wecom", "dingtalk"]
    assert hooks[1].secret is not None
    assert hooks[1].secret.get_secret_value() == "SECx"
    assert "SECx" not in repr(settings.routes())
    assert settings.routes().development is False
    with pytest.raises(ValueError, match="TONGXIN_ALERT_WEBHOOKS"):
        VisitsSettings(TONGXIN_ALERT_WEBHOOKS='{"330106": [{"kind": "sms"}]}').webhooks()


def test_a_link_is_made_from_the_services_public_url() -> None:
    assert VisitsSettings().public_link("/visits/v1") == "http://127.0.0.1:8003/visits/v1"
    public = VisitsSettings(public_url="https://visits.example.cn/")
    assert public.public_link("visits/v1") == "https://visits.example.cn/visits/v1"


# --- backoff and the in-memory port --------------------------------------------------------------


def test_the_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    backoff = Backoff(base=2.0, cap=300.0, max_attempts=8)
    assert [backoff.delay(n) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]


async def test_a_notice_enqueued_twice_with_the_same_key_is_queued_once() -> None:
    db = MemoryDatabase(default_registry())
    transactions = MemoryTransactions(db)
    async with transactions.begin() as uow:
        assert await uow.notifications.enqueue(alert()) == 1
    async with transactions.begin() as uow:
        assert await uow.notifications.enqueue(alert()) == 0
    assert list(db.state.notices) == ["escalated:r-1"]


def test_tongxin_status_lists_the_polling_parts_and_the_failed_messages() -> None:
    beat = {"last_beat": "2026-11-28T09:00:00+00:00", "age_seconds": 1.0, "alive": True}
    body = {
        "status": "ready",
        "database": "ok",
        "kafka": "ok",
        "workers": {
            "alive": False,
            "relay": beat,
            "consumers": {},
            "loops": {"deadlines": {**beat, "alive": False}, "notifications": beat},
            "notifications": {"failed": 2, "pending": 1},
        },
    }
    rows, ok = _rows("wellbeing", "ready", body)
    assert ok is False  # a stale deadline part is not well
    by_part = {r[1]: r for r in rows}
    assert by_part["deadlines"][2] == "STALE"
    assert by_part["notifications"][2] == "alive"
    assert by_part["messages"][2:4] == ["FAILED", "2 failed, 1 pending (GET /notifications)"]
