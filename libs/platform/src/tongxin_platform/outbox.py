"""The outbox relay: publishes committed events to Kafka in position order, never losing one.

- Only one relay per service is active: it holds a PostgreSQL advisory lock on a dedicated
  connection; a second relay waits as a standby and takes over when the first one's session ends.
- Each poll reads the oldest unpublished rows. A transaction that took a lower position but
  committed late is simply found by a later poll: nothing is skipped, no table lock is needed.
- The records of one command in a batch are a ``publish`` producer span in that command's trace
  (their ``traceparent``): the hop from the outbox to Kafka, between the store's ``append events``
  and the consumers' ``process <type>`` spans.
- Rows are deleted only after the broker acknowledged them (``acks=all``, idempotent producer),
  and only the prefix before the first failure: everything after a failed send is sent again,
  after it, so per-aggregate order survives failures (consumers drop the duplicates by version).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from tongxin_contracts import Envelope, envelope_to_headers
from tongxin_platform.kafka import reliable_producer
from tongxin_platform.telemetry import context_from_traceparent

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

_FETCH = """
SELECT o.topic, e.position, e.event_id, e.stream_id, e.version, e.event_type, e.district,
       e.recorded_at, e.payload, e.traceparent, e.correlation_id, e.causation_id
FROM outbox o JOIN events e ON e.position = o.position
ORDER BY o.position
LIMIT $1
"""


@dataclass
class RelayStats:
    published: int = 0
    failures: int = 0
    active: bool = False


def relay_lock_key(service: str) -> int:
    return zlib.crc32(f"tongxin-relay:{service}".encode())


def record_headers(service: str, r: asyncpg.Record) -> list[tuple[str, bytes]]:
    env = Envelope(
        id=str(r["event_id"]),
        source=f"/tongxin/{service}",
        type=r["event_type"],
        time=r["recorded_at"],
        subject=r["stream_id"],
        district=r["district"],
        stream_id=r["stream_id"],
        stream_version=r["version"],
        position=r["position"],
        dataschema=f"urn:tongxin:schema:{'.'.join(r['event_type'].split('.')[2:4])}",
        traceparent=r["traceparent"],
        correlation_id=r["correlation_id"],
        causation_id=r["causation_id"],
    )
    return envelope_to_headers(env)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        database_url: str,
        bootstrap: str,
        batch_size: int = 2000,
        idle_sleep: float = 0.1,
        busy_sleep: float = 0.004,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        connect_timeout: float = 10.0,
        command_timeout: float | None = 60.0,
    ) -> None:
        self.service = service
        # Bounded: a paused or unreachable server fails the relay's connection (it reconnects)
        # instead of hanging it.
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        # Polls back off from ``busy_sleep`` (just published) to ``idle_sleep`` (nothing for a
        # while): an event waits a few ms under load, and an idle relay costs ~10 queries/s.
        self.idle_sleep = idle_sleep
        self.busy_sleep = busy_sleep
        self._producer_factory = producer_factory or (lambda: reliable_producer(bootstrap))
        self.stats = RelayStats()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Run until ``stop()``: wait for the lock, then publish; reconnect after failures."""
        while not self._stop.is_set():
            try:
                await self._run_once()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox relay lost its database connection: %s; retrying", exc)
                self.stats.active = False
                await self._sleep(1.0)

    async def _run_once(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.database_url, timeout=self.connect_timeout, command_timeout=self.command_timeout
        )
        try:
            while not await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", relay_lock_key(self.service)
            ):
                if await self._sleep(0.5):
                    return
            self.stats.active = True
            log.info("outbox relay of %s is active", self.service)
            await self._publish_loop(conn)
        finally:
            self.stats.active = False
            try:
                await conn.close(timeout=self.connect_timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    async def _publish_loop(self, conn: asyncpg.Connection) -> None:
        producer: AIOKafkaProducer | None = None
        wait = self.busy_sleep
        try:
            while not self._stop.is_set():
                if producer is None:
                    producer = await self._start_producer()
                    if producer is None:
                        return
                rows = await conn.fetch(_FETCH, self.batch_size)
                if not rows:
                    await self._sleep(wait)
                    wait = min(wait * 2, self.idle_sleep)
                    continue
                wait = self.busy_sleep
                sent = await self._send(producer, rows)
                if sent:
                    await conn.execute(
                        "DELETE FROM outbox WHERE position = ANY($1::bigint[])",
                        [r["position"] for r in rows[:sent]],
                    )
                    self.stats.published += sent
                if sent < len(rows):
                    # A fresh producer (new producer id) for the retry: the failed one may hold
                    # batches in an unknown state.
                    self.stats.failures += 1
                    await _stop_quietly(producer)
                    producer = None
                    await self._sleep(0.5)
                elif len(rows) < self.batch_size:
                    await self._sleep(self.busy_sleep)
        finally:
            if producer is not None:
                await _stop_quietly(producer)

    async def _start_producer(self) -> AIOKafkaProducer | None:
        while not self._stop.is_set():
            producer = self._producer_factory()
            try:
                await producer.start()
                return producer
            except Exception as exc:  # noqa: BLE001 - any failure to connect means "wait and retry"
                log.warning("outbox relay cannot reach Kafka: %s", exc)
                await _stop_quietly(producer)
                await self._sleep(1.0)
        return None

    async def _send(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> int:
        """Send ``rows``; return how many, from the first, the broker acknowledged."""
        spans = self._spans(rows)
        sent = 0
        try:
            sent = await self._send_rows(producer, rows)
        finally:
            for span, last in spans:
                if last >= sent:
                    span.set_status(trace.StatusCode.ERROR, "not acknowledged")
                span.end()
        return sent

    def _spans(self, rows: list[asyncpg.Record]) -> list[tuple[trace.Span, int]]:
        """One ``publish`` span per command (``traceparent``) in this batch, in that command's
        trace, with the index of its last row: a bulk import's thousands of records are one
        span per batch, not one each (a span costs tens of microseconds)."""
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            if r["traceparent"]:
                groups.setdefault(r["traceparent"], []).append(i)
        spans = []
        for traceparent, indexes in groups.items():
            types = sorted({rows[i]["event_type"] for i in indexes})
            name = f"publish {types[0]}" if len(types) == 1 else f"publish {len(indexes)} events"
            span = _tracer.start_span(
                name,
                context=context_from_traceparent(traceparent),
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": rows[indexes[0]]["topic"],
                    "messaging.batch.message_count": len(indexes),
                    "tongxin.event_types": types,
                    "tongxin.outbox.first_position": rows[indexes[0]]["position"],
                },
            )
            spans.append((span, indexes[-1]))
        return spans

    async def _send_rows(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> int:
        futures = []
        try:
            for r in rows:
                futures.append(
                    await producer.send(
                        r["topic"],
                        value=bytes(r["payload"]),
                        key=r["stream_id"].encode(),
                        headers=record_headers(self.service, r),
                    )
                )
        except Exception as exc:  # noqa: BLE001 - the rows not queued are simply sent again
            log.warning("outbox relay could not queue a record: %s", exc)
        results = await asyncio.gather(*futures, return_exceptions=True)
        for i, result in enumerate(results):
            if isinstance(result, BaseException):
                log.warning(
                    "outbox relay: send of position %s failed: %s", rows[i]["position"], result
                )
                return i
        return len(results)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; return whether the relay was stopped."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=5)
    except Exception as exc:  # noqa: BLE001 - a broken producer is discarded either way
        log.debug("producer stop failed: %s", exc)
