"""Messages to people (staff group robots of a district, guardians) go through a port.

The company's rules: tests use a local receiver on 127.0.0.1; no student's name, score or note
ever goes into such a message — only what happened and a link; delivery retries with backoff;
a failed delivery is visible, never lost silently.

A service declares fixed templates; their values are references, codes and numbers only, so a
free-form field (a name, a note) does not fit::

    ESCALATED = NoticeTemplate(
        "referral.escalated", title="危机转介超时未确认",
        text="学校 {school} 的转介 {referral} 未在 {hours} 小时内确认，已上报区教育局和卫健局。",
    )
    notice = ESCALATED.notice(
        key=f"escalated:{referral}", channel="alert", district=d, school=s,
        link=settings.public_link(f"/referrals/{referral}"), school=s, referral=referral, hours=1,
    )

and enqueues it in any unit of work (command, reaction, deadline handler)::

    await uow.notifications.enqueue(notice)  # idempotent on notice.key

The enqueue writes one ``notifications`` row per target (``Routes``): each webhook configured
for the district (``TONGXIN_ALERT_WEBHOOKS``), or the development inbox. The worker's delivery
part (``tongxin_platform.delivery``) sends them through a ``Notifier`` adapter
(``tongxin_platform.webhooks``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

import asyncpg
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

log = logging.getLogger(__name__)

Channel = Literal["alert", "guardian"]
TargetKind = Literal["wecom", "dingtalk", "inbox", "none"]
NOTIFICATIONS = "notifications"  # the worker part's name and kind (liveness)

# A template's value: a reference, a code, a number — no spaces, no free text, no name.
_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$")
_KEY = re.compile(r"^[^\x00-\x1f]{1,200}$")
MAX_TITLE, MAX_TEXT, MAX_LINK = 100, 1000, 500  # WeCom takes 4096 bytes of markdown


class NoticeError(ValueError):
    """A notice that must not be sent as built (a free-form value, a missing link…)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to people: what happened, and a link to the record. Build it with a
    ``NoticeTemplate`` (its text is fixed by the service; values are references only)."""

    key: str  # dedupe: the same key enqueued again sends nothing new
    channel: Channel  # alert: the district's staff group robots; guardian: one family
    district: str
    kind: str  # e.g. "referral.escalated"
    title: str
    text: str
    link: str  # absolute http(s) URL of the record
    school: str | None = None
    recipient: str | None = None  # the guardian_ref (channel guardian); None for alerts

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise NoticeError("notice.key: 1 to 200 characters, no control characters")
        if self.channel not in ("alert", "guardian"):
            raise NoticeError(f"notice.channel: alert or guardian, not {self.channel!r}")
        if (self.channel == "guardian") != (self.recipient is not None):
            raise NoticeError("notice.recipient: a guardian_ref for guardian, none for alert")
        for name, value in (("district", self.district), ("kind", self.kind)):
            if not _VALUE.match(value):
                raise NoticeError(f"notice.{name}: a code, not {value!r}")
        for name, ref in (("school", self.school), ("recipient", self.recipient)):
            if ref is not None and not _VALUE.match(ref):
                raise NoticeError(f"notice.{name}: a reference, not free text")
        if not 0 < len(self.title) <= MAX_TITLE or not 0 < len(self.text) <= MAX_TEXT:
            raise NoticeError(f"notice.title/text: 1..{MAX_TITLE} / 1..{MAX_TEXT} characters")
        parts = urlsplit(self.link)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(self.link) > MAX_LINK:
            raise NoticeError(f"notice.link: an absolute http(s) URL of the record (≤ {MAX_LINK})")


class NoticeTemplate:
    """A fixed message of a service: ``{placeholders}`` filled with references, codes and
    numbers only (``[A-Za-z0-9._:/-]``, at most 80 characters, or an int), never free text."""

    def __init__(self, kind: str, *, title: str, text: str) -> None:
        self.kind, self.title, self.text = kind, title, text
        self.fields = frozenset(
            name
            for t in (title, text)
            for _, name, _, _ in string.Formatter().parse(t)
            if name is not None
        )
        if any(not f.isidentifier() for f in self.fields):
            raise ValueError(f"{kind}: placeholders are plain names: {sorted(self.fields)}")

    def render(self, values: Mapping[str, str | int]) -> tuple[str, str]:
        missing, extra = self.fields - set(values), set(values) - self.fields
        if missing or extra:
            raise NoticeError(
                f"{self.kind}: values {sorted(missing)} missing, {sorted(extra)} not in template"
            )
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise NoticeError(f"{self.kind}: {name} is a reference or a number")
            if isinstance(value, str) and not _VALUE.match(value):
                raise NoticeError(f"{self.kind}: {name} is a reference or a code, not free text")
        return self.title.format(**values), self.text.format(**values)

    def notice(
        self,
        *,
        key: str,
        channel: Channel,
        district: str,
        link: str,
        school: str | None = None,
        recipient: str | None = None,
        values: Mapping[str, str | int] | None = None,
    ) -> Notice:
        title, text = self.render(values or {})
        return Notice(key, channel, district, self.kind, title, text, link, school, recipient)


# --- where a notice goes ---------------------------------------------------------------------


class Webhook(BaseModel):
    """One group robot of a district (``TONGXIN_ALERT_WEBHOOKS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["wecom", "dingtalk"]
    url: str  # the robot's whole URL with its key/access_token (overridable: tests use 127.0.0.1)
    secret: SecretStr | None = None  # DingTalk 加签 secret

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("a robot's url is an absolute http(s) URL")
        return url

    @property
    def target(self) -> str:
        """A stable name of this robot that carries neither its key nor its secret."""
        return f"{self.kind}:{hashlib.sha256(self.url.encode()).hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # notifications.target
    kind: TargetKind


INBOX = Target("inbox", "inbox")
NO_TARGET = Target("none", "none")


@dataclass(frozen=True)
class Routes:
    """Where each notice goes: an alert to every robot of its district (the development inbox
    when it has none in development; in production it is recorded failed, "no webhook
    configured for district X"); a guardian notice to the inbox (the stand-in for an SMS
    gateway)."""

    webhooks: Mapping[str, Sequence[Webhook]]
    development: bool = True

    def targets(self, notice: Notice) -> list[Target]:
        if notice.channel == "guardian":
            return [INBOX]
        hooks = self.webhooks.get(notice.district, ())
        if hooks:
            return [Target(h.target, h.kind) for h in hooks]
        return [INBOX] if self.development else [NO_TARGET]

    def webhook(self, district: str, target: str) -> Webhook | None:
        return next((h for h in self.webhooks.get(district, ()) if h.target == target), None)


DEVELOPMENT_ROUTES = Routes({}, development=True)


class Notifications(Protocol):
    """The ``notifications`` port of a unit of work (PostgreSQL, or the in-memory fake)."""

    async def enqueue(self, notice: Notice) -> int:
        """Queue ``notice`` for each of its targets, with the unit of work; the number of rows
        written (0: this key was enqueued before)."""
        ...


class PgNotifications:
    def __init__(self, conn: asyncpg.Connection, routes: Routes) -> None:
        self.conn, self.routes = conn, routes

    async def enqueue(self, notice: Notice) -> int:
        targets = self.routes.targets(notice)
        names = [t.name for t in targets]
        kinds = [t.kind for t in targets]
        rows = await self.conn.fetch(
            """INSERT INTO notifications (key, target, target_kind, channel, district, school,
                   kind, title, text, link, recipient, next_attempt_at, failed_at, last_error)
               SELECT $1, t.name, t.kind, $2, $3, $4, $5, $6, $7, $8, $9, now(),
                      CASE WHEN t.kind = 'none' THEN now() END,
                      CASE WHEN t.kind = 'none' THEN $10 END
               FROM unnest($11::text[], $12::text[]) AS t(name, kind)
               ON CONFLICT (key, target) DO NOTHING RETURNING id, target_kind""",
            notice.key,
            notice.channel,
            notice.district,
            notice.school,
            notice.kind,
            notice.title,
            notice.text,
            notice.link,
            notice.recipient,
            f"no webhook configured for district {notice.district}",
            names,
            kinds,
        )
        for r in rows:
            if r["target_kind"] == "none":
                log.error(
                    "notification %s (%s) failed: no webhook configured for district %s",
                    r["id"],
                    notice.kind,
                    notice.district,
                )
        return len(rows)
