"""The adapters of the notification port (``Notifier``): the WeCom (企业微信) and DingTalk group
robots' webhooks, and the development inbox.

- WeCom: ``POST <url>`` (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``) with
  ``{"msgtype": "markdown", "markdown": {"content": …}}``; delivered when the answer is HTTP 200
  with ``{"errcode": 0}``.
- DingTalk: ``POST <url>`` (``https://oapi.dingtalk.com/robot/send?access_token=TOKEN``) with
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``, signed when the robot has a
  secret (加签: ``&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret,
  "<ms>\\n<secret>")))>``); delivered on ``{"errcode": 0}``.
- Inbox: a row in ``message_inbox`` (``GET /message-inbox``), the guardian channel's stand-in
  for an SMS gateway and where a district's alerts go in development when it has no robot.

Each ``send`` raises ``DeliveryError`` (its message becomes ``last_error``) on any failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote_plus

import asyncpg
import httpx

from tongxin_platform.notify import Notice, Routes, Target, Webhook

MAX_ERROR = 500


class DeliveryError(Exception):
    """A message was not delivered; the message says why (kept as ``last_error``)."""


class Notifier(Protocol):
    async def send(self, notice: Notice, target: Target) -> None:
        """Deliver ``notice`` to ``target``, or raise (``DeliveryError``, or any error)."""


def markdown(notice: Notice) -> str:
    """The message as shown in a group: what happened and the link, nothing else."""
    return f"### {notice.title}\n\n{notice.text}\n\n[查看记录 / Open the record]({notice.link})"


def wecom_body(notice: Notice) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": markdown(notice)}}


def dingtalk_body(notice: Notice) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": notice.title, "text": markdown(notice)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: urlencode(base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")))."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def _errcode(response: httpx.Response) -> None:
    """A robot's answer: HTTP 200 and ``{"errcode": 0}``, else ``DeliveryError``."""
    if response.status_code != 200:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise DeliveryError(f"not JSON: {response.text[:200]}") from exc
    if not isinstance(body, dict) or body.get("errcode") != 0:
        errcode = body.get("errcode") if isinstance(body, dict) else None
        errmsg = body.get("errmsg") if isinstance(body, dict) else body
        raise DeliveryError(f"errcode {errcode}: {errmsg}")


class RobotNotifier:
    """Posts to the district's WeCom and DingTalk robots (found by target name in ``routes``),
    with a bounded timeout."""

    def __init__(
        self,
        routes: Routes,
        client: httpx.AsyncClient,
        *,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.routes, self.client, self.clock_ms = routes, client, clock_ms

    async def send(self, notice: Notice, target: Target) -> None:
        hook = self.routes.webhook(notice.district, target.name)
        if hook is None:
            raise DeliveryError(
                f"robot {target.name} is no longer configured for district {notice.district}"
            )
        await self.post(hook, notice)

    async def post(self, hook: Webhook, notice: Notice) -> None:
        secret = hook.secret.get_secret_value() if hook.secret else None
        if hook.kind == "wecom":
            url, body = hook.url, wecom_body(notice)
        else:
            url, body = dingtalk_url(hook.url, secret, self.clock_ms()), dingtalk_body(notice)
        try:
            response = await self.client.post(url, json=body)
            _errcode(response)
        except (httpx.HTTPError, DeliveryError) as exc:
            # what is kept and logged names the robot, never its key, token or secret
            why = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            for hidden in (url, hook.url, secret):
                if hidden:
                    why = why.replace(hidden, hook.target)
            raise DeliveryError(why[:MAX_ERROR]) from exc


class InboxNotifier:
    """Writes the message to ``message_inbox`` (once per notice key)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def send(self, notice: Notice, target: Target) -> None:
        await self.pool.execute(
            """INSERT INTO message_inbox (key, channel, district, school, recipient,
                   kind, title, text, link)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (key) DO NOTHING""",
            notice.key,
            notice.channel,
            notice.district,
            notice.school,
            notice.recipient,
            notice.kind,
            notice.title,
            notice.text,
            notice.link,
        )
