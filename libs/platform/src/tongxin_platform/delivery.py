"""The worker's delivery part: sends queued notifications through their adapters, retries with
exponential backoff, and records a failure for good after ``max_attempts`` — visible at
``GET /notifications?status=failed``, in ``tongxin_notifications_failed`` and as an ERROR log
line; never dropped silently.

Each poll claims due rows ``FOR UPDATE SKIP LOCKED`` and leases them (``attempts + 1``,
``next_attempt_at`` pushed past the send's timeout) in a short transaction, sends outside it,
then records each outcome as soon as it is known: two workers never send one row at once, and
a worker killed while sending leaves that row to be sent again after its lease (at least once:
a robot's message cannot be taken back, so never "at most once").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
import httpx

from tongxin_platform.notify import Notice, Routes, Target
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.webhooks import MAX_ERROR, InboxNotifier, Notifier, RobotNotifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """After the n-th failed attempt, wait ``min(cap, base · 2^(n-1))`` seconds; after
    ``max_attempts`` attempts the row is failed."""

    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, attempts - 1)))


@dataclass
class Delivered:
    """What one poll did (notification ids)."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


_CLAIM = """
UPDATE notifications n SET attempts = n.attempts + 1,
       next_attempt_at = now() + make_interval(secs => $2)
FROM (SELECT id FROM notifications
      WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
WHERE n.id = due.id
RETURNING n.*
"""


def notice_of(r: asyncpg.Record) -> tuple[Notice, Target]:
    notice = Notice(
        r["key"],
        r["channel"],
        r["district"],
        r["kind"],
        r["title"],
        r["text"],
        r["link"],
        r["school"],
        r["recipient"],
    )
    return notice, Target(r["target"], r["target_kind"])


class Delivery:
    """Sends due notifications through ``notifiers`` (by target kind) every ``interval``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        notifiers: Mapping[str, Notifier],
        *,
        backoff: Backoff,
        interval: float,
        timeout: float,
        limit: int = 50,
        lease: float | None = None,
    ) -> None:
        self.pool, self.notifiers = pool, dict(notifiers)
        self.backoff, self.interval, self.timeout, self.limit = backoff, interval, timeout, limit
        # a claimed row is left alone this long (a send takes at most ``timeout``): after it, a
        # row whose worker died while sending is claimed again
        self.lease = lease if lease is not None else timeout * 2 + 5
        self.polls = 0

    @classmethod
    def of(
        cls, pool: asyncpg.Pool, settings: ServiceSettings, routes: Routes, http: httpx.AsyncClient
    ) -> Delivery:
        """The delivery a worker runs: the robots of ``routes`` over ``http``, the inbox in
        ``pool``, backoff and bounds from ``settings``."""
        robots = RobotNotifier(routes, http)
        s = settings
        return cls(
            pool,
            {"wecom": robots, "dingtalk": robots, "inbox": InboxNotifier(pool)},
            backoff=Backoff(s.notify_backoff_base, s.notify_backoff_cap, s.notify_max_attempts),
            interval=s.notify_poll_interval,
            timeout=s.notify_timeout,
            limit=s.notify_batch_size,
        )

    async def poll(self) -> Delivered:
        rows = await self.pool.fetch(_CLAIM, self.limit, self.lease)
        result = Delivered()
        # each outcome is recorded as soon as it is known: a worker killed during a poll sends
        # again (after the lease) only what was still in flight
        await asyncio.gather(*(self._deliver(r, result) for r in rows))
        self.polls += 1
        return result

    async def _deliver(self, r: asyncpg.Record, result: Delivered) -> None:
        nid, attempts = r["id"], r["attempts"]
        error = await self._send(r)
        delay = self.backoff.delay(attempts)
        await self.pool.execute(
            """UPDATE notifications SET
                   delivered_at = CASE WHEN $2::text IS NULL THEN now() END,
                   failed_at = CASE WHEN $2::text IS NOT NULL AND attempts >= $3 THEN now() END,
                   last_error = coalesce($2::text, last_error),
                   next_attempt_at = CASE WHEN $2::text IS NULL THEN next_attempt_at
                       ELSE now() + make_interval(secs => $4) END
               WHERE id = $1""",
            nid,
            error,
            self.backoff.max_attempts,
            delay,
        )
        if error is None:
            result.delivered.append(nid)
        elif attempts >= self.backoff.max_attempts:
            result.failed.append(nid)
            log.error(
                "notification %d (%s to %s, district %s) failed after %d attempts: %s",
                nid,
                r["kind"],
                r["target"],
                r["district"],
                attempts,
                error,
            )
        else:
            result.retrying.append(nid)
            log.warning(
                "notification %d to %s: attempt %d failed, retried in %.1f s: %s",
                nid,
                r["target"],
                attempts,
                delay,
                error,
            )

    async def _send(self, r: asyncpg.Record) -> str | None:
        try:
            notice, target = notice_of(r)
            notifier = self.notifiers.get(target.kind)
            if notifier is None:
                return f"no adapter for {target.kind} targets"
            await asyncio.wait_for(notifier.send(notice, target), self.timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - recorded as the row's last error
            return f"{type(exc).__name__}: {exc}"[:MAX_ERROR] if str(exc) else type(exc).__name__
        return None

    async def run(self) -> None:
        """Poll forever (a failed poll — the database away — is logged and tried again); a full
        batch polls again at once."""
        while True:
            try:
                result = await self.poll()
                if len(result.delivered) >= self.limit:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next poll tries again
                log.warning("notification delivery poll failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.interval)
