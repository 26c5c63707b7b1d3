"""Is the worker alive? Heartbeats of its relay, each consumer group and its polling parts
(deadlines, notifications), in the service's
database (``worker_liveness``), and what ``/ready`` reports of them with each group's lag.

The worker (``Heartbeat``) upserts one row per running part every
``<SERVICE>_WORKER_HEARTBEAT_INTERVAL`` seconds, off the hot path; a part whose last beat is
older than ``<SERVICE>_WORKER_STALE_AFTER`` is stale (its process died, hangs, or lost the
database). The API's HTTP readiness does not depend on it: a dead worker does not take the API
out of a load balancer; ``tongxin status`` says it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tongxin_platform.metrics import Watermarks

log = logging.getLogger(__name__)

RELAY = "relay"

_UPSERT = """
INSERT INTO worker_liveness (part, kind, beat_at, started_at, pid, host)
SELECT part, kind, now(), $3, $4, $5 FROM unnest($1::text[], $2::text[]) AS p(part, kind)
ON CONFLICT (part) DO UPDATE
   SET kind = EXCLUDED.kind, beat_at = EXCLUDED.beat_at, started_at = EXCLUDED.started_at,
       pid = EXCLUDED.pid, host = EXCLUDED.host
"""


class Heartbeat:
    """Every ``interval`` seconds, record a beat of each part ``alive()`` names
    (``(part, kind)`` pairs). A failed beat is logged and retried on the next tick."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        alive: Callable[[], Sequence[tuple[str, str]]],
        interval: float,
    ) -> None:
        self.pool, self.alive, self.interval = pool, alive, interval
        self.started = datetime.now(UTC)
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        parts = list(self.alive())
        if not parts:
            return
        async with self.pool.acquire(timeout=self.interval) as conn:
            await conn.execute(
                _UPSERT,
                [p for p, _ in parts],
                [k for _, k in parts],
                self.started,
                os.getpid(),
                socket.gethostname(),
                timeout=self.interval,
            )
        self.beats += 1

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                log.warning("worker heartbeat failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def report(
    pool: asyncpg.Pool,
    watermarks: Watermarks | None,
    expected: Sequence[tuple[str, str]],
    *,
    stale_after: float,
    statement_timeout: float,
) -> dict[str, Any]:
    """``{"relay": {...}, "consumers": {group: {...}}, "loops": {part: {...}}, "alive": bool}``:
    each expected part's last beat, its age and whether it is alive, and each consumer group's
    lag (None while the broker — ``watermarks`` None — or the group's offsets are unknown);
    ``loops`` are the worker's polling parts (deadlines, notifications); ``notifications``
    counts the messages to people failed for good and still pending."""
    rows = await pool.fetch(
        "SELECT part, kind, beat_at, now() - beat_at AS age, pid, host FROM worker_liveness",
        timeout=statement_timeout,
    )
    offsets = await pool.fetch(
        "SELECT group_id, topic, partition, next_offset FROM consumer_offsets"
        " WHERE group_id NOT LIKE '%.old.%'",
        timeout=statement_timeout,
    )
    messages = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
                  count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL) AS pending
           FROM notifications""",
        timeout=statement_timeout,
    )
    lag = await _lag(watermarks, offsets)
    beats = {r["part"]: r for r in rows}
    kinds = {r["part"]: r["kind"] for r in rows}
    kinds.update(expected)
    entries = {part: _entry(beats.get(part), stale_after) for part in sorted(kinds)}
    consumers, loops = {}, {}
    for part, entry in entries.items():
        if kinds[part] == "consumer":
            consumers[part] = {**entry, "lag": lag.get(part)}
        elif kinds[part] != RELAY:
            loops[part] = entry
    return {
        "alive": all(entries[part]["alive"] for part, _ in expected),
        "stale_after_seconds": stale_after,
        "relay": entries.get(RELAY),
        "consumers": consumers,
        "loops": loops,
        "notifications": {"failed": messages["failed"], "pending": messages["pending"]},
    }


def _entry(row: asyncpg.Record | None, stale_after: float) -> dict[str, Any]:
    if row is None:
        return {"last_beat": None, "age_seconds": None, "alive": False}
    age = max(0.0, row["age"].total_seconds())
    return {
        "last_beat": row["beat_at"].isoformat(),
        "age_seconds": round(age, 1),
        "alive": age <= stale_after,
        "pid": row["pid"],
        "host": row["host"],
    }


async def _lag(
    watermarks: Watermarks | None, offsets: Sequence[asyncpg.Record]
) -> dict[str, int | None]:
    groups: dict[str, int | None] = {r["group_id"]: None for r in offsets}
    if watermarks is None:  # the broker is away: lag unknown
        return groups
    try:
        ends = await watermarks.ends(sorted({(r["topic"], r["partition"]) for r in offsets}))
    except Exception as exc:  # noqa: BLE001 - lag is unknown while Kafka is away
        log.debug("end offsets unavailable: %s", exc)
        await watermarks.close()
        return groups
    for r in offsets:
        end = ends.get((r["topic"], r["partition"]))
        if end is None:
            continue
        groups[r["group_id"]] = (groups[r["group_id"]] or 0) + max(0, end - r["next_offset"])
    return groups
