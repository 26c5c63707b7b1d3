"""Prometheus metrics of a service's API process (``/metrics``).

Counted in the process: commands by outcome (``ok``, ``refused``, ``replayed``, ``error``) and
their latency. Read at scrape time from where the truth is, so that any API process of the
service reports the same: the outbox backlog, each consumer group's lag per partition (stored
offsets against the broker's end offsets), the events it applied and dead-lettered (counters
committed with its effects). A group's apply rate is ``rate(tongxin_consumer_applied_total[1m])``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
TIMEOUT = 3.0


class Watermarks:
    """End offsets from the broker, on one long-lived client (no consumer group)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._client: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaConsumer:
        async with self._lock:
            if self._client is None:
                client = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap,
                    enable_auto_commit=False,
                    request_timeout_ms=int(TIMEOUT * 1000),
                    connections_max_idle_ms=60_000,
                )
                try:
                    await asyncio.wait_for(client.start(), TIMEOUT)
                except BaseException:
                    await _quietly(client.stop())
                    raise
                self._client = client
            return self._client

    async def reachable(self) -> bool:
        try:
            client = await self._started()
            await asyncio.wait_for(client.topics(), TIMEOUT)
            return True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable now"
            log.debug("Kafka at %s unreachable: %s", self.bootstrap, exc)
            await self.close()
            return False

    async def ends(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if not partitions:
            return {}
        client = await self._started()
        found = await asyncio.wait_for(
            client.end_offsets([TopicPartition(t, p) for t, p in partitions]), TIMEOUT
        )
        return {(tp.topic, tp.partition): offset for tp, offset in found.items()}

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _quietly(client.stop())


async def _quietly(stop: Any) -> None:
    try:
        await asyncio.wait_for(stop, TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - closing a broken client is best effort
        log.debug("closing a Kafka client failed: %s", exc)


class _StoreCollector(Collector):
    """The figures read from the database and the broker, refreshed before each scrape."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.backlog: int | None = None
        self.groups: list[asyncpg.Record] = []
        self.ends: dict[tuple[str, int], int] = {}
        self.kafka_up = 0.0
        self.deadlines: list[asyncpg.Record] = []
        self.notifications: list[asyncpg.Record] = []

    async def refresh(self, pool: asyncpg.Pool, watermarks: Watermarks) -> None:
        self.backlog = await pool.fetchval("SELECT count(*) FROM outbox", timeout=TIMEOUT)
        # Deadlines past due and not fired, fired ones, and messages by state, by kind: from
        # the rows, so that every process of the service reports the same.
        self.deadlines = await pool.fetch(
            """SELECT kind, count(*) FILTER (WHERE fired_at IS NULL AND due_at <= now()) AS overdue,
                      count(fired_at) AS fired
               FROM deadlines GROUP BY kind ORDER BY kind""",
            timeout=TIMEOUT,
        )
        self.notifications = await pool.fetch(
            """SELECT kind, count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
                      count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL) AS pending,
                      count(delivered_at) AS delivered
               FROM notifications GROUP BY kind ORDER BY kind""",
            timeout=TIMEOUT,
        )
        self.groups = await pool.fetch(
            """SELECT group_id, topic, partition, next_offset, applied, dead_lettered
               FROM consumer_offsets WHERE group_id NOT LIKE '%.old.%'
               ORDER BY group_id, topic, partition""",
            timeout=TIMEOUT,
        )
        try:
            self.ends = await watermarks.ends(
                sorted({(r["topic"], r["partition"]) for r in self.groups})
            )
            self.kafka_up = 1.0
        except Exception as exc:  # noqa: BLE001 - lag is unknown while Kafka is away
            log.debug("end offsets unavailable: %s", exc)
            self.ends, self.kafka_up = {}, 0.0
            await watermarks.close()

    def collect(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "tongxin_outbox_backlog",
            "Events committed to the store and not yet published to Kafka",
            labels=["service"],
        )
        if self.backlog is not None:
            backlog.add_metric([self.service], self.backlog)
        yield backlog
        up = GaugeMetricFamily("tongxin_kafka_reachable", "1 when the broker answered this scrape")
        up.add_metric([], self.kafka_up)
        yield up
        labels = ["service", "group", "topic", "partition"]
        lag = GaugeMetricFamily(
            "tongxin_consumer_lag", "Records a consumer group has yet to apply", labels=labels
        )
        applied = CounterMetricFamily(
            "tongxin_consumer_applied",
            "Events a consumer group applied (committed with its effects)",
            labels=labels,
        )
        dead = CounterMetricFamily(
            "tongxin_dead_letters",
            "Records a consumer group sent to its dead-letter topic",
            labels=labels,
        )
        for r in self.groups:
            values = [self.service, r["group_id"], r["topic"], str(r["partition"])]
            end = self.ends.get((r["topic"], r["partition"]))
            if end is not None:
                lag.add_metric(values, max(0, end - r["next_offset"]))
            applied.add_metric(values, r["applied"])
            dead.add_metric(values, r["dead_lettered"])
        yield lag
        yield applied
        yield dead
        yield from self._deadlines_and_notifications()

    def _deadlines_and_notifications(self) -> Iterator[Metric]:
        labels = ["service", "kind"]
        overdue = GaugeMetricFamily(
            "tongxin_deadlines_overdue", "Deadlines past due and not fired yet", labels=labels
        )
        fired = CounterMetricFamily("tongxin_deadlines_fired", "Deadlines fired", labels=labels)
        for r in self.deadlines:
            overdue.add_metric([self.service, r["kind"]], r["overdue"])
            fired.add_metric([self.service, r["kind"]], r["fired"])
        yield overdue
        yield fired
        failed = GaugeMetricFamily(
            "tongxin_notifications_failed",
            "Messages to people that failed for good (GET /notifications?status=failed)",
            labels=labels,
        )
        pending = GaugeMetricFamily(
            "tongxin_notifications_pending", "Messages to people not delivered yet", labels=labels
        )
        delivered = CounterMetricFamily(
            "tongxin_notifications_delivered", "Messages to people delivered", labels=labels
        )
        for r in self.notifications:
            failed.add_metric([self.service, r["kind"]], r["failed"])
            pending.add_metric([self.service, r["kind"]], r["pending"])
            delivered.add_metric([self.service, r["kind"]], r["delivered"])
        yield failed
        yield pending
        yield delivered


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "tongxin_commands",
            "HTTP commands handled, by outcome (ok, refused, replayed, error)",
            ["service", "command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tongxin_command_seconds",
            "Time from a command's arrival to its answer",
            ["service", "command"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.store = _StoreCollector(service)
        self.registry.register(self.store)

    def command_done(self, command: str, outcome: str, seconds: float) -> None:
        self.commands.labels(self.service, command, outcome).inc()
        self.latency.labels(self.service, command).observe(seconds)

    async def render(self, pool: asyncpg.Pool, watermarks: Watermarks) -> bytes:
        await self.store.refresh(pool, watermarks)
        return generate_latest(self.registry)
