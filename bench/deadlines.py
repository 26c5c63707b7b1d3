"""The service kit's deadlines and notifications (issue 10), against bare peers in the same run.

    uv run python -m bench.deadlines [--quick] [--json bench/results/deadlines.json]

Also run by ``bench.run`` (alone: ``python -m bench.run --only deadlines``).

On a fresh database ``bench_<stamp>_deadlines`` (the platform's migrations):

1. **Deadlines fired per second.** ``n`` due rows of ``deadlines`` (due a minute ago), each the
   deadline of a crisis referral whose stream holds its ``CrisisReferred`` (seeded, not timed).
   Three ways to fire them, interleaved in rounds (each on fresh rows):

   - *kit*: the worker's deadline part (``DeadlineRunner.poll``, default batch of 100, polled
     again at once while batches are full, as ``run`` does) with an escalation handler as a
     service would write it: the ``Writer`` loads the referral's stream and appends
     ``ReferralEscalated`` (hash chain and outbox row), and one notice is enqueued for the
     district's WeCom robot, all in the row's savepoint of the poll's transaction;
   - *kit, no-op handler* (informative): the same part with a handler that does nothing — the
     mechanism's own cost (claim, payload decode, a savepoint and an ``UPDATE`` per row);
   - *bare* (the peer): an asyncpg loop on one connection doing the minimum over the same table:
     in one transaction claim a batch of 100 ``FOR UPDATE SKIP LOCKED``, one ``UPDATE`` setting
     ``fired_at`` for the batch, commit; no handler. It fires ten times as many rows (``n`` of
     them would take ~40 ms: too short a window to time).

2. **Due → fired delay** at the default poll interval (``deadline_poll_interval`` = 1 s): ``m``
   escalation deadlines due one after the other over a few seconds, fired by
   ``DeadlineRunner.run`` on the real clock; a deadline's delay runs from its ``due_at`` to the
   end of the poll that committed it (``on_poll``). With a 1 s poll, expect p50 ≈ 0.5 s and
   p99 ≈ 1 s plus the poll's own time.

3. **Messages delivered per second.** ``k`` notices queued for one WeCom robot (a minimal
   FastAPI receiver served by uvicorn on a free 127.0.0.1 port in a process of its own,
   answering ``{"errcode": 0}`` and counting what it received), delivered by the worker's
   delivery part (``Delivery.of`` with the default settings: batches of 50 claimed and leased,
   sent concurrently through one ``httpx.AsyncClient``, each outcome recorded; polled again at
   once while batches are full) against the peer: one ``httpx.AsyncClient`` posting the same
   bodies (``wecom_body``) one after the other and checking the ``errcode``; and, informative,
   the same client posting them 50 at a time (``gather``): the delivery part's HTTP pattern
   without its rows. Order: bare, kit, bare in batches, bare; the ratio is against the mean of
   the two sequential bares.

Every loop is bounded by a count and a time limit; nothing asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rich.console import Console

from bench.common import CpuMeter, Names, Row, clock, cpu_pressure, median, postgres_backends
from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.wellbeing import Bureau, CrisisReferred, ReferralEscalated
from tongxin_platform.commands import Writer, new_events
from tongxin_platform.db import create_pool, ensure_database
from tongxin_platform.deadlines import Deadline, DeadlineRunner, Due, Fired, Firing
from tongxin_platform.delivery import Delivery
from tongxin_platform.edge import server_config
from tongxin_platform.eventstore import NEW_STREAM, EventStore, now_utc
from tongxin_platform.migrations import migrate
from tongxin_platform.notify import Notice, NoticeTemplate, Routes, Webhook
from tongxin_platform.settings import ServiceSettings, service_database_url
from tongxin_platform.testing import local_database_url
from tongxin_platform.uow import PgTransactions
from tongxin_platform.webhooks import wecom_body

log = logging.getLogger("bench.deadlines")
console = Console(width=None if sys.stdout.isatty() else 170)
ROOT = Path(__file__).resolve().parents[1]

DISTRICT, SCHOOL = "330106", "330106001"
ESCALATE, NOOP = "bench.referral.ack", "bench.noop"
DEFAULTS = ServiceSettings.model_fields
POLL_INTERVAL: float = DEFAULTS["deadline_poll_interval"].default
BATCH: int = DEFAULTS["deadline_batch_size"].default
BARE_FACTOR = 10  # the bare peer fires this many times more rows (a window long enough to time)
ESCALATED = NoticeTemplate(
    "referral.escalated",
    title="危机转介超时未确认",
    text="学校 {school} 的转介 {referral} 未在 {hours} 小时内确认，已上报区教育局和卫健局。",
)


@dataclasses.dataclass(frozen=True)
class DeadlineSizes:
    fire: int  # due rows per variant and round
    rounds: int  # interleaved rounds of kit / no-op / bare
    delay: int  # deadlines of the delay measure
    delay_spread: float  # … due one after the other over this many seconds
    deliveries: int  # notices delivered by the kit and posted by the peer
    limit: float  # time limit of each timed loop, seconds


FULL = DeadlineSizes(fire=2000, rounds=2, delay=100, delay_spread=10.0, deliveries=1000, limit=60)
QUICK = DeadlineSizes(fire=300, rounds=1, delay=20, delay_spread=3.0, deliveries=200, limit=30)


def database_name(names: Names) -> str:
    return f"bench_{names.stamp}_deadlines"


# --- the escalation a service would write -------------------------------------------------


def referred(key: str, now: datetime) -> CrisisReferred:
    return CrisisReferred(
        district=DISTRICT,
        school_id=SCHOOL,
        referral_id=key,
        student_ref=f"stu_{key}",
        hospital_id="hosp_1",
        referred_by="staff_1",
        referred_at=now - timedelta(hours=2),
        acknowledge_by=now - timedelta(hours=1),
    )


def notice_for(key: str) -> Notice:
    return ESCALATED.notice(
        key=f"referral.escalated:{key}",
        channel="alert",
        district=DISTRICT,
        school=SCHOOL,
        link=f"http://127.0.0.1/referrals/{key}",
        values={"school": SCHOOL, "referral": key, "hours": 1},
    )


async def escalate(due: Due, ctx: Firing) -> None:
    """Append ``ReferralEscalated`` to the referral's stream and alert the district."""

    def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
        found = next((e for e in history if isinstance(e, CrisisReferred)), None)
        if found is None or any(isinstance(e, ReferralEscalated) for e in history):
            return []
        return [
            ReferralEscalated(
                district=found.district,
                school_id=found.school_id,
                referral_id=found.referral_id,
                hospital_id=found.hospital_id,
                acknowledge_by=found.acknowledge_by,
                escalated_at=now,
                escalated_to=list(Bureau),
            )
        ]

    await ctx.writer.run(referred(due.key, ctx.now).aggregate_id(), decide)
    await ctx.uow.notifications.enqueue(notice_for(due.key))


async def do_nothing(due: Due, ctx: Firing) -> None:
    return None


KIT = (Deadline(ESCALATE, escalate, description="bench: a referral not acknowledged"),)
KIT_NOOP = (Deadline(NOOP, do_nothing, description="bench: the mechanism alone"),)


# --- set-up ---------------------------------------------------------------------------------


async def seed(
    pool: asyncpg.Pool,
    transactions: PgTransactions,
    kind: str,
    keys: Sequence[str],
    due_at: Sequence[datetime],
) -> None:
    """Deadline rows (and, for the escalation, each referral's ``CrisisReferred``)."""
    now = now_utc()
    if kind == ESCALATE:
        async with transactions.begin() as uow:
            batches = []
            for k in keys:
                event = referred(k, now)
                batches.append((event.aggregate_id(), NEW_STREAM, new_events([event], now)))
            await uow.events.append_many(batches)
    await pool.execute(
        """INSERT INTO deadlines (kind, key, due_at, payload)
           SELECT $1, k, d, '{"hours": 1}'::jsonb FROM unnest($2::text[], $3::timestamptz[]) AS
           t(k, d)""",
        kind,
        list(keys),
        list(due_at),
    )
    await pool.execute("ANALYZE deadlines")


# --- 1. deadlines fired per second ----------------------------------------------------------


async def timed(
    work: Awaitable[int], database: str, receiver: int | None = None
) -> dict[str, float]:
    """Count what ``work`` returns over its wall time, with the CPU shares of the bench process,
    the database's backends and the robot receiver's process."""
    groups = {"server": postgres_backends(database)}
    if receiver is not None:
        groups["receiver"] = lambda: [receiver]
    meter = CpuMeter(groups)
    meter.start()
    t0 = clock()
    done = await work
    seconds = clock() - t0
    return {"fired": done, "seconds": seconds, "rate": done / seconds, **meter.stop()}


async def kit_fire(runner: DeadlineRunner, n: int, limit: float) -> int:
    """What ``DeadlineRunner.run`` does while batches are full: poll again at once."""
    fired, stop = 0, clock() + limit
    while fired < n and clock() < stop:
        result = await runner.poll()
        if result.failed:
            raise RuntimeError(f"handlers failed: {result.failed[:3]}")
        if not result.fired:
            break
        fired += len(result.fired)
    return fired


BARE_CLAIM = """SELECT key FROM deadlines
                WHERE fired_at IS NULL AND due_at <= $1 AND kind = ANY($2::text[])
                ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED"""
BARE_MARK = "UPDATE deadlines SET fired_at = $3 WHERE kind = $1 AND key = ANY($2::text[])"


async def bare_fire(conn: asyncpg.Connection, kind: str, n: int, limit: float) -> int:
    fired, stop = 0, clock() + limit
    while fired < n and clock() < stop:
        now = now_utc()
        async with conn.transaction():
            keys = [r["key"] for r in await conn.fetch(BARE_CLAIM, now, [kind], BATCH)]
            if keys:
                await conn.execute(BARE_MARK, kind, keys, now)
        if not keys:
            break
        fired += len(keys)
    return fired


async def measure_firing(
    pool: asyncpg.Pool,
    transactions: PgTransactions,
    writer: Writer,
    database: str,
    sizes: DeadlineSizes,
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {"kit": [], "kit_noop": [], "bare": []}
    order = ["bare", "kit", "kit_noop"]
    for r in range(sizes.rounds):
        rotated = order[r % len(order) :] + order[: r % len(order)]
        for variant in rotated:
            kind = ESCALATE if variant == "kit" else NOOP if variant == "kit_noop" else "bench.bare"
            # the bare loop gets more rows: at ~50,000/s, 2,000 would be a 40 ms window
            n = sizes.fire * (BARE_FACTOR if variant == "bare" else 1)
            keys = [f"{variant}-r{r}-{i:06d}" for i in range(n)]
            past = now_utc() - timedelta(minutes=1)
            await seed(pool, transactions, kind, keys, [past] * len(keys))
            if variant == "bare":
                async with pool.acquire() as conn:
                    res = await timed(bare_fire(conn, kind, n, sizes.limit), database)
            else:
                runner = DeadlineRunner(
                    KIT if variant == "kit" else KIT_NOOP,
                    transactions,
                    writer,
                    clock=now_utc,
                    interval=POLL_INTERVAL,
                    limit=BATCH,
                )
                res = await timed(kit_fire(runner, sizes.fire, sizes.limit), database)
            runs[variant].append(res)
            console.log(
                f"deadlines round {r + 1}/{sizes.rounds}: {variant:8s} {res['fired']:,.0f} in "
                f"{res['seconds']:.2f} s = {res['rate']:,.0f}/s (CPU: client "
                f"{res['client_cpu_share']:.0%}, server {res['server_cpu_share']:.0%})"
            )
    escalated = await pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = $1", ReferralEscalated.ce_type()
    )
    queued = await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = $1", ESCALATED.kind
    )
    unfired = await pool.fetchval("SELECT count(*) FROM deadlines WHERE fired_at IS NULL")
    return {
        "rounds": runs,
        "rate": {v: median([x["rate"] for x in xs]) for v, xs in runs.items()},
        "kit_vs_bare": median(
            [k["rate"] / b["rate"] for k, b in zip(runs["kit"], runs["bare"], strict=True)]
        ),
        "noop_vs_bare": median(
            [k["rate"] / b["rate"] for k, b in zip(runs["kit_noop"], runs["bare"], strict=True)]
        ),
        "escalated_events": escalated,
        "notices_queued": queued,
        "left_unfired": unfired,
        "n": sizes.fire,
        "bare_n": sizes.fire * BARE_FACTOR,
        "batch": BATCH,
    }


# --- 2. due → fired delay at the default poll interval ---------------------------------------


def pct(xs: Sequence[float], p: float) -> float:
    if not xs:
        return float("nan")
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def measure_delay(
    pool: asyncpg.Pool, transactions: PgTransactions, writer: Writer, sizes: DeadlineSizes
) -> dict[str, Any]:
    start = now_utc() + timedelta(seconds=1.5)
    step = sizes.delay_spread / max(1, sizes.delay - 1)
    keys = [f"delay-{i:05d}" for i in range(sizes.delay)]
    due = {k: start + timedelta(seconds=i * step) for i, k in enumerate(keys)}
    await seed(pool, transactions, ESCALATE, keys, [due[k] for k in keys])
    seen: dict[str, datetime] = {}
    all_fired = asyncio.Event()

    def on_poll(fired: Fired) -> None:
        at = now_utc()
        for _, key in fired.fired:
            seen.setdefault(key, at)
        if len(seen) >= len(keys):
            all_fired.set()

    runner = DeadlineRunner(
        KIT,
        transactions,
        writer,
        clock=now_utc,
        interval=POLL_INTERVAL,
        limit=BATCH,
        on_poll=on_poll,
    )
    task = asyncio.create_task(runner.run(), name="bench-deadlines")
    waiting = asyncio.create_task(all_fired.wait())
    try:
        await asyncio.wait(
            {task, waiting},
            timeout=1.5 + sizes.delay_spread + sizes.limit,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        waiting.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    delays = [(seen[k] - due[k]).total_seconds() for k in keys if k in seen]
    return {
        "deadlines": sizes.delay,
        "fired": len(delays),
        "spread_seconds": sizes.delay_spread,
        "poll_interval": POLL_INTERVAL,
        "polls": runner.polls,
        "p50": pct(delays, 50),
        "p99": pct(delays, 99),
        "max": max(delays, default=float("nan")),
        "min": min(delays, default=float("nan")),
        "mean": statistics.fmean(delays) if delays else float("nan"),
    }


# --- 3. messages delivered per second -------------------------------------------------------


@dataclasses.dataclass
class Robot:
    base: str
    pid: int

    async def received(self, client: httpx.AsyncClient) -> int:
        count: int = (await client.get(f"{self.base}/_received")).json()["received"]
        return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def robot_app() -> FastAPI:
    """A WeCom robot stand-in: reads the JSON body, counts it, answers ``errcode`` 0."""
    app = FastAPI()
    received = [0]

    @app.get("/_received")
    async def count() -> dict[str, int]:
        return {"received": received[0]}

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> JSONResponse:
        await request.json()
        received[0] += 1
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    return app


def robot_main(argv: list[str]) -> int:
    """``python -m bench.deadlines _robot PORT``: the robot in a process of its own."""
    server = uvicorn.Server(server_config(robot_app(), "127.0.0.1", int(argv[0])))
    server.run()
    return 0


@contextlib.asynccontextmanager
async def robot_receiver() -> AsyncIterator[Robot]:
    """The robot on a free 127.0.0.1 port, in its own process (a robot is another machine: it
    does not share the bench process's loop); stopped at the end."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.deadlines", "_robot", str(port), cwd=ROOT
    )
    robot = Robot(f"http://127.0.0.1:{port}", proc.pid)
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(300):
                if proc.returncode is not None:
                    raise RuntimeError(f"the robot receiver exited with {proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    await robot.received(client)
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the robot receiver did not answer within 15 s")
        yield robot
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def kit_deliver(delivery: Delivery, n: int, limit: float) -> int:
    """What ``Delivery.run`` does while batches are full: poll again at once."""
    delivered, stop = 0, clock() + limit
    while delivered < n and clock() < stop:
        result = await delivery.poll()
        if result.retrying or result.failed:
            raise RuntimeError(f"deliveries failed: {len(result.retrying) + len(result.failed)}")
        if not result.delivered:
            break
        delivered += len(result.delivered)
    return delivered


async def bare_post(
    client: httpx.AsyncClient, url: str, bodies: Sequence[dict[str, Any]], limit: float
) -> int:
    sent, stop = 0, clock() + limit
    for body in bodies:
        if clock() >= stop:
            break
        response = await client.post(url, json=body)
        if response.status_code != 200 or response.json().get("errcode") != 0:
            raise RuntimeError(f"the receiver answered {response.status_code}")
        sent += 1
    return sent


async def bare_post_batches(
    client: httpx.AsyncClient,
    url: str,
    bodies: Sequence[dict[str, Any]],
    batch: int,
    limit: float,
) -> int:
    """The delivery part's HTTP pattern without its database: ``batch`` posts at once."""
    sent, stop = 0, clock() + limit

    async def one(body: dict[str, Any]) -> None:
        response = await client.post(url, json=body)
        if response.status_code != 200 or response.json().get("errcode") != 0:
            raise RuntimeError(f"the receiver answered {response.status_code}")

    for i in range(0, len(bodies), batch):
        if clock() >= stop:
            break
        chunk = bodies[i : i + batch]
        await asyncio.gather(*(one(b) for b in chunk))
        sent += len(chunk)
    return sent


async def measure_delivery(
    server_url: str, kafka: str, database: str, pool: asyncpg.Pool, sizes: DeadlineSizes
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "kit": [], "bare_batches": []}
    # the escalations' notices (measures 1 and 2) went to a robot that is not there: not these
    await pool.execute("DELETE FROM notifications")
    async with robot_receiver() as robot:
        url = f"{robot.base}/cgi-bin/webhook/send?key=BENCH"
        routes = Routes({DISTRICT: [Webhook(kind="wecom", url=url)]}, development=True)
        settings = ServiceSettings(
            KAFKA_BOOTSTRAP_SERVERS=kafka, DATABASE_URL=server_url, database_name=database
        )
        notices = [notice_for(f"delivery-{i:05d}") for i in range(sizes.deliveries)]
        transactions = PgTransactions(pool, EventStore("unused"), default_registry(), routes)
        async with transactions.begin() as uow:
            for notice in notices:
                await uow.notifications.enqueue(notice)
        bodies = [wecom_body(n) for n in notices]
        async with httpx.AsyncClient(
            timeout=settings.notify_timeout, follow_redirects=False
        ) as http:
            delivery = Delivery.of(pool, settings, routes, http)
            for variant in ("bare", "kit", "bare_batches", "bare"):
                before = await robot.received(http)
                work = (
                    bare_post(http, url, bodies, sizes.limit)
                    if variant == "bare"
                    else bare_post_batches(
                        http, url, bodies, settings.notify_batch_size, sizes.limit
                    )
                    if variant == "bare_batches"
                    else kit_deliver(delivery, sizes.deliveries, sizes.limit)
                )
                res = await timed(work, database, robot.pid)
                res["received"] = await robot.received(http) - before
                runs[variant].append(res)
                console.log(
                    f"delivery: {variant:12s} {res['fired']:,.0f} messages in "
                    f"{res['seconds']:.2f} s = {res['rate']:,.0f}/s (CPU: client "
                    f"{res['client_cpu_share']:.0%}, server {res['server_cpu_share']:.0%}, "
                    f"receiver {res['receiver_cpu_share']:.0%}); received {res['received']:,.0f}"
                )
    bare = statistics.fmean([x["rate"] for x in runs["bare"]])
    kit = runs["kit"][0]["rate"]
    batches = runs["bare_batches"][0]["rate"]
    delivered = await pool.fetchval("SELECT count(delivered_at) FROM notifications")
    return {
        "rounds": runs,
        "rate": {"kit": kit, "bare": bare, "bare_batches": batches},
        "kit_vs_bare": kit / bare,
        "batches_vs_bare": batches / bare,
        "n": sizes.deliveries,
        "batch": settings.notify_batch_size,
        "rows_delivered": delivered,
    }


# --- the phase ------------------------------------------------------------------------------


async def drop_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(service_database_url(server_url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


async def measure(
    server_url: str, kafka: str, names: Names, quick: bool, *, keep: bool = False
) -> dict[str, Any]:
    """All three measures on a database of their own (dropped at the end unless ``keep``)."""
    sizes = QUICK if quick else FULL
    database = database_name(names)
    url = await ensure_database(server_url, database)
    t0 = clock()
    try:
        setup = await asyncpg.connect(url)
        try:
            await migrate(setup, "tongxin_platform.sql")
        finally:
            await setup.close()
        pool = await create_pool(url, min_size=2, max_size=4)
        try:
            hook = Webhook(kind="wecom", url="http://127.0.0.1:9/cgi-bin/webhook/send?key=X")
            routes = Routes({DISTRICT: [hook]}, development=True)
            transactions = PgTransactions(
                pool,
                EventStore(f"{names.topic_prefix}deadlines.events"),
                default_registry(),
                routes,
            )
            writer = Writer(transactions, default_registry(), clock=now_utc)
            firing = await measure_firing(pool, transactions, writer, database, sizes)
            delay = await measure_delay(pool, transactions, writer, sizes)
            console.log(
                f"due → fired at a {POLL_INTERVAL:g} s poll: {delay['fired']}/"
                f"{delay['deadlines']} fired, p50 {delay['p50'] * 1000:,.0f} ms, p99 "
                f"{delay['p99'] * 1000:,.0f} ms, max {delay['max'] * 1000:,.0f} ms"
            )
            delivery = await measure_delivery(server_url, kafka, database, pool, sizes)
        finally:
            await pool.close()
    finally:
        if not keep:
            await drop_database(server_url, database)
    return {
        "sizes": dataclasses.asdict(sizes),
        "database": database,
        "seconds": clock() - t0,
        "firing": firing,
        "delay": delay,
        "delivery": delivery,
    }


def rows(res: dict[str, Any]) -> list[Row]:
    f, d, m = res["firing"], res["delay"], res["delivery"]
    per_round = ", ".join(
        f"{k['rate']:,.0f} vs {b['rate']:,.0f}"
        for k, b in zip(f["rounds"]["kit"], f["rounds"]["bare"], strict=True)
    )
    return [
        Row(
            "deadlines_fired",
            f"Deadlines fired (DeadlineRunner, batches of {f['batch']}; handler: Writer appends "
            f"ReferralEscalated + one notice enqueued; {f['n']:,} due rows)",
            f["rate"]["kit"],
            "deadlines/s",
            f["rate"]["bare"],
            f"bare asyncpg ({f['bare_n']:,} rows): claim FOR UPDATE SKIP LOCKED, UPDATE "
            "fired_at, commit",
            f["kit_vs_bare"],
            "%",
            "",
            None,
            f"median of {len(f['rounds']['kit'])} rounds ({per_round}); "
            f"{f['escalated_events']:,} escalations, {f['notices_queued']:,} notices, "
            f"{f['left_unfired']} left unfired",
        ),
        Row(
            "deadlines_fired_noop",
            "Deadlines fired, no-op handler (the mechanism: savepoint + mark per row)",
            f["rate"]["kit_noop"],
            "deadlines/s",
            f["rate"]["bare"],
            "bare asyncpg, as above",
            f["noop_vs_bare"],
            "%",
            "",
            None,
            "informative",
        ),
        Row(
            "deadlines_delay",
            f"Deadline due → fired, p99 (poll every {d['poll_interval']:g} s; {d['deadlines']} "
            f"due over {d['spread_seconds']:g} s)",
            d["p99"] * 1000,
            "ms",
            None,
            "",
            None,
            "",
            "",
            None,
            f"p50 {d['p50'] * 1000:,.0f} ms, max {d['max'] * 1000:,.0f} ms; "
            f"{d['fired']}/{d['deadlines']} fired in {d['polls']} polls",
        ),
        Row(
            "notifications_delivered",
            f"Messages delivered to a WeCom robot on 127.0.0.1 (Delivery, batches of "
            f"{m['batch']}; {m['n']:,} messages)",
            m["rate"]["kit"],
            "messages/s",
            m["rate"]["bare"],
            "bare httpx, one client, same bodies, one after the other",
            m["kit_vs_bare"],
            "%",
            "",
            None,
            f"bare before/after: {m['rounds']['bare'][0]['rate']:,.0f}/s, "
            f"{m['rounds']['bare'][1]['rate']:,.0f}/s; {m['rows_delivered']:,} rows delivered",
        ),
        Row(
            "notifications_bare_batches",
            f"Posting the same bodies {m['batch']} at a time (gather), bare httpx, no database",
            m["rate"]["bare_batches"],
            "messages/s",
            m["rate"]["bare"],
            "bare httpx, one after the other",
            m["batches_vs_bare"],
            "%",
            "",
            None,
            "informative: the delivery part's HTTP pattern without its rows",
        ),
    ]


async def run(args: argparse.Namespace) -> int:
    from bench.run import ensure_infra, print_table  # the report's table (run imports us)

    os.environ.setdefault("TONGXIN_ENV", "development")
    server_url = os.environ.get("DATABASE_URL") or local_database_url()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    await ensure_infra(server_url, kafka)
    names = Names.fresh()
    load0, pressure0 = os.getloadavg(), cpu_pressure()
    res = await measure(server_url, kafka, names, args.quick, keep=args.keep)
    title = (
        f"Deadlines and notifications — {names.stamp} ({'quick' if args.quick else 'full'}, "
        f"{res['seconds']:.0f} s, load {load0[0]:.1f} → {os.getloadavg()[0]:.1f}, CPU pressure "
        f"avg60 {pressure0.get('avg60', 0):.0f} → {cpu_pressure().get('avg60', 0):.0f} %)"
    )
    print_table(rows(res), title)
    out = {
        "run": {"stamp": names.stamp, "quick": args.quick, "started_unix": time.time()},
        "rows": [dataclasses.asdict(r) for r in rows(res)],
        "details": res,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str, ensure_ascii=False))
    console.log(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_robot"]:
        return robot_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench.deadlines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "bench/results/deadlines.json",
        help="where to write the figures (default bench/results/deadlines.json)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
