"""A service's background process, built from its declaration: the outbox relay, its
projections and its reactions, every consumer group a FastStream subscriber on one broker; its
deadline part (``tongxin_platform.deadlines``, when it declares deadlines) and the delivery of
its notifications (``tongxin_platform.delivery``), two polling loops; and the service's own
``loops`` (``tongxin_platform.loops``), each a task from start to stop. The clock the deadline
part and its writer use is injected (``Worker(..., clock=…)``), so tests move time.

``Worker(service, settings, options).app()`` is the FastStream application (ASGI: ``/metrics``,
``/health`` and ``/asyncapi`` on the worker's port), for ``faststream run --factory`` and for
``tongxin-<service> worker``; ``run(stop)`` runs the same steps inside a test's event loop.
Group ids and schemas can be overridden (a rebuild, a test), and each part switched off.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx
from faststream.asgi import AsgiFastStream, make_ping_asgi
from faststream.kafka import KafkaBroker, Topic
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, make_asgi_app

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_platform.commands import Writer
from tongxin_platform.db import DatabaseBounds, create_pool
from tongxin_platform.deadlines import DEADLINES, DeadlineRunner, Fired
from tongxin_platform.delivery import Delivery
from tongxin_platform.eventstore import EventStore, now_utc
from tongxin_platform.exactly_once import Consumer, Ledger, PgLedgers
from tongxin_platform.kafka import ensure_mirror_copies
from tongxin_platform.liveness import RELAY, Heartbeat
from tongxin_platform.loops import LOOP, LoopContext, LoopMetrics, run_loop
from tongxin_platform.messaging import (
    documented,
    ensure_dead_letter_topics,
    make_broker,
    subscribe,
)
from tongxin_platform.notify import NOTIFICATIONS, Routes
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.projection import Projection
from tongxin_platform.reaction import Reaction
from tongxin_platform.service import Service, prepare_database
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.uow import PgTransactions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    relay: bool = True
    projection: bool = True  # the projections
    reactions: bool = True
    deadlines: bool = True  # the deadline part (when the service declares deadlines)
    notifications: bool = True  # the delivery of queued notifications
    loops: bool = True  # the service's own loops (``Service.loops``)
    groups: Mapping[str, str] = field(default_factory=dict)  # part name → consumer group
    schemas: Mapping[str, str] = field(default_factory=dict)  # projection name → schema
    # A rebuild's groups do not continue each event's trace (see ``Consumer``).
    trace_events: bool = True
    # A worker process tunes the garbage collector (``tune_gc``); one in a test's loop does not.
    tune_gc: bool = False


@dataclass
class _State:
    pool: Any = None
    transactions: PgTransactions | None = None
    writer: Writer | None = None
    relay: OutboxRelay | None = None
    relay_task: asyncio.Task[None] | None = None
    heartbeat: Heartbeat | None = None
    deadlines: DeadlineRunner | None = None
    delivery: Delivery | None = None
    http: httpx.AsyncClient | None = None
    loops: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # part → its task
    own: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # service's loop → task


class Worker:
    def __init__(
        self,
        service: Service,
        settings: ServiceSettings,
        options: WorkerOptions | None = None,
        *,
        metrics: CollectorRegistry | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.service, self.settings, self.clock = service, settings, clock
        self.options = options or WorkerOptions()
        self.metrics = metrics if metrics is not None else CollectorRegistry()
        self.broker: KafkaBroker = make_broker(
            settings.kafka_bootstrap_servers, service=service.name, metrics=self.metrics
        )
        self.state = _State()
        self.ledgers = PgLedgers(None, settings.ledger_stream_ids())  # the pool: in ``startup``
        self.consumers: list[Consumer] = []
        self.projections: list[tuple[Projection, str, Consumer]] = []
        self._declare_publisher()
        if self.options.projection:
            for p in service.projections:
                self._add_projection(p)
        if self.options.reactions:
            for r in service.reactions:
                self._add_reaction(r)
        self._loop_metrics = LoopMetrics(self.metrics) if service.loops else None
        self._relay_active = Gauge(
            "tongxin_relay_active",
            "1 while this worker's relay holds the lock",
            registry=self.metrics,
        )
        self._relay_published = Gauge(
            "tongxin_relay_published",
            "Events this relay published since start",
            registry=self.metrics,
        )
        self._fired = Counter(
            "tongxin_deadline_polls_fired",
            "Deadlines this worker fired since start, by kind",
            ["kind"],
            registry=self.metrics,
        )
        self._deadline_errors = Counter(
            "tongxin_deadline_handler_errors",
            "Deadline handlers that raised in this worker (the row is retried), by kind",
            ["kind"],
            registry=self.metrics,
        )

    # --- declaration -----------------------------------------------------------------------

    def _declare_publisher(self) -> None:
        """The service's own topic, written by the outbox relay, and the topics its loops write
        (shown in the AsyncAPI)."""
        for loop in self.service.loops:
            for out in loop.publishes:
                topic = out.topic(self.settings)
                self.broker.publisher(
                    Topic(topic, declare=False),
                    title=f"{topic}:Publisher",
                    description=f"{out.description} (the worker's loop {loop.name}).",
                    schema=out.schema,
                )
        events = self.service.publishes()
        if not events:
            return
        topic = self.settings.topic_of(self.service.name)
        self.broker.publisher(
            Topic(topic, declare=False),
            title=f"{topic}:Publisher",
            description=(
                f"Events of the {self.service.name} service, published by its outbox relay in "
                "store order per aggregate (key: the aggregate id); CloudEvents binary mode."
            ),
            schema=documented(events),
        )

    def _types(
        self, sources: Sequence[str], handled: Mapping[str, type[IntegrationEvent]]
    ) -> dict[str, list[type[IntegrationEvent]]]:
        return {
            topic: [t for t in handled.values() if t.service == s]
            for s in sources
            for topic in self.settings.topics_of(s)
        }

    def _consumer(
        self, name: str, group: str, sources: Sequence[str], apply: Any, handles: Any
    ) -> Consumer:
        group = self.options.groups.get(name, group)
        consumer = Consumer(
            group=group,
            topics=[topic for s in sources for topic in self.settings.topics_of(s)],
            apply=apply,
            registry=default_registry(),
            ledgers=self.ledgers,
            handles=handles,
            max_batch=self.settings.projection_batch_size,
            span_per_event=self.options.trace_events,
        )
        self.consumers.append(consumer)
        return consumer

    def _add_projection(self, p: Projection) -> None:
        schema = self.options.schemas.get(p.name, p.schema)
        p.configure(self.settings)
        consumer = self._consumer(p.name, p.group, p.sources, p.apply_to(schema), p.handles)
        self.projections.append((p, schema, consumer))
        subscribe(
            self.broker,
            consumer,
            types_by_topic=self._types(p.sources, p.event_types),
            description=p.description or f"Projection {p.name} into schema {schema}.",
        )

    def _add_reaction(self, r: Reaction) -> None:
        async def apply(tx: Ledger, messages: Sequence[Any]) -> None:
            transactions, writer = self.state.transactions, self.state.writer
            assert transactions is not None, "the worker has not started"
            assert writer is not None, "the worker has not started"
            inner = r.apply(transactions, lambda t: transactions.on(t.conn), writer, self.settings)
            await inner(tx, messages)

        consumer = self._consumer(r.name, r.group, r.sources, apply, r.handles)
        subscribe(
            self.broker,
            consumer,
            types_by_topic=self._types(r.sources, r.event_types),
            description=r.description or f"Reaction {r.name}.",
        )

    # --- lifecycle ---------------------------------------------------------------------------

    async def startup(self) -> None:
        if self.options.tune_gc:
            tune_gc()
        url = await prepare_database(self.service, self.settings)
        pool = await create_pool(
            url, min_size=1, max_size=6, bounds=DatabaseBounds.of(self.settings).for_batches()
        )
        self.state.pool = self.ledgers.pool = pool
        store = EventStore(self.settings.topic_of(self.service.name))
        routes = self.settings.routes()
        self.state.transactions = PgTransactions(pool, store, default_registry(), routes)
        self.state.writer = Writer(self.state.transactions, default_registry(), clock=self.clock)
        self._prepare_loops(pool, routes)
        async with pool.acquire() as conn:
            for p, schema, consumer in self.projections:
                await p.create_tables(conn, schema)
                if await p.reset_unless_owned(conn, schema, consumer.group):
                    log.info(
                        "%s: no stored offsets for %s: rebuilding from offset 0",
                        p.name,
                        consumer.group,
                    )
        await ensure_mirror_copies(
            self.settings.kafka_bootstrap_servers,
            [t for c in self.consumers for t in c.topics],
            self.settings.mirrors,
            replication_factor=self.settings.topic_replication_factor,
        )
        await ensure_dead_letter_topics(
            self.settings.kafka_bootstrap_servers,
            self.consumers,
            self.settings.topic_replication_factor,
        )
        if self.options.relay:
            self.state.relay = OutboxRelay(
                service=self.service.name,
                database_url=url,
                bootstrap=self.settings.kafka_bootstrap_servers,
                connect_timeout=self.settings.database_connect_timeout,
            )

    def _prepare_loops(self, pool: asyncpg.Pool, routes: Routes) -> None:
        s, state = self.settings, self.state
        assert state.transactions is not None
        assert state.writer is not None
        if self.options.deadlines and self.service.deadlines:
            state.deadlines = DeadlineRunner(
                self.service.deadlines,
                state.transactions,
                state.writer,
                clock=self.clock,
                interval=s.deadline_poll_interval,
                limit=s.deadline_batch_size,
                on_poll=self._count_fired,
            )
        if self.options.notifications:
            state.http = httpx.AsyncClient(timeout=s.notify_timeout, follow_redirects=False)
            state.delivery = Delivery.of(pool, s, routes, state.http)

    def _count_fired(self, fired: Fired) -> None:
        for kind, _ in fired.fired:
            self._fired.labels(kind).inc()
        for kind, _ in fired.failed:
            self._deadline_errors.labels(kind).inc()

    async def after_startup(self) -> None:
        if self.state.relay is not None:
            self.state.relay_task = asyncio.create_task(self.state.relay.run(), name="relay")
        if self.state.deadlines is not None:
            self.state.loops[DEADLINES] = asyncio.create_task(
                self.state.deadlines.run(), name=DEADLINES
            )
        if self.state.delivery is not None:
            self.state.loops[NOTIFICATIONS] = asyncio.create_task(
                self.state.delivery.run(), name=NOTIFICATIONS
            )
        self._start_own_loops()
        self.state.heartbeat = Heartbeat(
            self.state.pool, self.running_parts, self.settings.worker_heartbeat_interval
        )
        self.state.heartbeat.start()

    def _start_own_loops(self) -> None:
        if not self.options.loops or self._loop_metrics is None:
            return
        for loop in self.service.loops:
            context = LoopContext(
                loop.name, self.settings, self.state.pool, self.metrics, self.clock
            )
            self.state.own[loop.name] = asyncio.create_task(
                run_loop(loop, context, self._loop_metrics), name=f"loop:{loop.name}"
            )

    def running_parts(self) -> list[tuple[str, str]]:
        """The relay, the consumer groups and the polling parts whose loops run now, as
        ``(part, kind)``."""
        parts: list[tuple[str, str]] = []
        task = self.state.relay_task
        if task is not None and not task.done():
            parts.append((RELAY, "relay"))
        for sub in self.broker.subscribers:
            group = getattr(sub, "group_id", None)
            if group and sub.running and any(not t.done() for t in getattr(sub, "tasks", ())):
                parts.append((group, "consumer"))
        parts += [(part, part) for part, t in self.state.loops.items() if not t.done()]
        parts += [(part, LOOP) for part, t in self.state.own.items() if not t.done()]
        return parts

    async def shutdown(self) -> None:
        if self.state.heartbeat is not None:
            await self.state.heartbeat.stop()
            self.state.heartbeat = None
        if self.state.relay is not None:
            self.state.relay.stop()
        if self.state.relay_task is not None:
            await asyncio.gather(self.state.relay_task, return_exceptions=True)
        loops, self.state.loops = list(self.state.loops.values()), {}
        loops += self.state.own.values()
        self.state.own = {}
        for t in loops:
            t.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        if self.state.http is not None:
            await self.state.http.aclose()
            self.state.http = None

    async def after_shutdown(self) -> None:
        if self.state.pool is not None:
            await self.state.pool.close()
            self.state.pool = None

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; a relay that fails stops the worker and re-raises."""
        await self.startup()
        try:
            await self.broker.start()
            try:
                await self.after_startup()
                waiter = asyncio.create_task(stop.wait())
                watched = [waiter, *([self.state.relay_task] if self.state.relay_task else [])]
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                for t in done:
                    if t is not waiter and (exc := t.exception()) is not None:
                        raise exc
            finally:
                await self.shutdown()
                await self.broker.stop()
        finally:
            await self.after_shutdown()

    # --- FastStream application -------------------------------------------------------------

    def specification(self) -> AsyncAPI:
        return AsyncAPI(
            self.broker,
            title=f"{self.service.title} (worker)",
            version=self.service.version,
            description=(
                f"What the {self.service.name} service publishes, and which of its consumer "
                "groups consume which topics (with their dead-letter topics)."
            ),
        )

    def app(self) -> AsgiFastStream:
        """The worker as a FastStream application, with ``/metrics``, ``/health`` and
        ``/asyncapi`` (the document generated from its broker)."""
        self._relay_active.set_function(
            lambda: float(bool(self.state.relay and self.state.relay.stats.active))
        )
        self._relay_published.set_function(
            lambda: float(self.state.relay.stats.published if self.state.relay else 0)
        )
        return _WorkerApp(
            self.broker,
            address=(self.settings.http_host, self.settings.worker_http_port),
            asgi_routes=[
                ("/metrics", make_asgi_app(self.metrics)),
                ("/health", make_ping_asgi(self.broker, timeout=5.0)),
            ],
            on_startup=[self.startup],
            after_startup=[self.after_startup],
            on_shutdown=[self.shutdown],
            after_shutdown=[self.after_shutdown],
            specification=self.specification(),
            asyncapi_path="/asyncapi",
        )


class _WorkerApp(AsgiFastStream):
    """Served, under ``faststream run --factory``, on the worker's own host and port from its
    settings (``<SERVICE>_WORKER_HTTP_PORT``) unless the command line says ``--host``/``--port``;
    port 0 lets the system choose one."""

    def __init__(self, *brokers: Any, address: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(*brokers, **kwargs)
        self._address = address

    async def run(
        self, log_level: int = logging.INFO, run_extra_options: dict[str, Any] | None = None
    ) -> None:
        host, port = self._address
        await super().run(log_level, {"host": host, "port": port, **(run_extra_options or {})})


def tune_gc() -> None:
    """For a long-running consumer process: what was built at start (modules, settings, the
    broker) is moved out of the collector's way, and the young generation is collected less
    often. Nearly everything a batch allocates is freed by reference counting anyway; scanning
    hundreds of thousands of long-lived objects on every full collection took a third of a
    replay's time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def serve(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` with logging, where SIGINT and SIGTERM set ``stop``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(_main())


async def run_worker(
    service: Service,
    settings: ServiceSettings,
    options: WorkerOptions | None = None,
    stop: asyncio.Event | None = None,
    *,
    clock: Callable[[], datetime] = now_utc,
) -> None:
    """A worker in the running loop until ``stop`` (tests; the CLI serves ``Worker.app``)."""
    await Worker(service, settings, options, clock=clock).run(stop or asyncio.Event())
