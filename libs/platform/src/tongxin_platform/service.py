"""A service, declared once: the kit builds its API, its worker and its command from this.

    SERVICE = Service(
        name="visits", title="Tongxin visits", settings=VisitsSettings,
        migrations="tongxin_visits.migrations", projections=(board,), reactions=(shredding,),
        policy=POLICY, build=VisitsService.from_runtime,
    )

Its API is ``create_service_app(SERVICE, settings, routers=…)``, its worker
``Worker(SERVICE, settings)``, its command ``service_cli(SERVICE, create_app)``. Its
``deadlines`` (``tongxin_platform.deadlines.Deadline``) are fired by its worker's deadline part;
every worker also delivers the notifications its service queued (``tongxin_platform.notify``);
its ``loops`` (``tongxin_platform.loops.Loop``) are its worker's own periodic work.

``Runtime`` is what one process opens for it: the database (created and migrated on first
start), a pool, the event store on the service's topic, units of work and the command loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.catalog import events_of
from tongxin_platform.commands import Writer
from tongxin_platform.crypto import wrap_plain_keys
from tongxin_platform.db import DatabaseBounds, create_pool, ensure_database
from tongxin_platform.deadlines import DEADLINES, Deadline
from tongxin_platform.eventstore import EventStore, now_utc
from tongxin_platform.keyring import keyring_of
from tongxin_platform.liveness import RELAY
from tongxin_platform.loops import LOOP, Loop
from tongxin_platform.migrations import migrate
from tongxin_platform.notify import NOTIFICATIONS
from tongxin_platform.policy import Policy
from tongxin_platform.projection import Projection
from tongxin_platform.reaction import Reaction
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.uow import PgTransactions


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    settings: Callable[[], ServiceSettings]  # the settings class: read from the environment
    policy: Policy
    description: str = ""
    version: str = "0.1.0"
    migrations: str | None = None  # a package of numbered *.sql files
    projections: Sequence[Projection] = ()
    reactions: Sequence[Reaction] = ()
    deadlines: Sequence[Deadline] = ()
    # Its worker's own periodic work (started and stopped with the worker, each its own part).
    loops: Sequence[Loop] = ()
    # The service's application object, built once per API process (``app.state.service``).
    build: Callable[[Runtime], Any] | None = None

    def __post_init__(self) -> None:
        names = [loop.name for loop in self.loops]
        taken = {RELAY, DEADLINES, NOTIFICATIONS}
        clash = sorted({n for n in names if names.count(n) > 1 or n in taken})
        if clash:
            raise ValueError(
                f"{self.name}: loop names must be unique and not {sorted(taken)}: {clash}"
            )

    def projection(self, name: str | None = None) -> Projection:
        """The projection called ``name``, or the only one."""
        if name is None and len(self.projections) == 1:
            return self.projections[0]
        for p in self.projections:
            if p.name == name:
                return p
        names = ", ".join(p.name for p in self.projections) or "none"
        raise LookupError(f"{self.name} has no projection {name!r} (it has: {names})")

    def publishes(self) -> tuple[type[IntegrationEvent], ...]:
        """Its events; none for a service that only reads (the agencies' read models)."""
        try:
            return events_of(self.name)
        except LookupError:
            return ()

    def deadline(self, kind: str) -> Deadline:
        for d in self.deadlines:
            if d.kind == kind:
                return d
        raise LookupError(f"{self.name} has no deadline {kind!r}")

    def worker_parts(self) -> list[tuple[str, str]]:
        """What its worker runs, as ``(part, kind)``: the relay, each consumer group, the
        deadline part (when it declares deadlines), the notifications' delivery and its own
        loops (kind ``loop``)."""
        relay = [("relay", "relay")] if self.publishes() else []
        groups = sorted({p.group for p in self.projections} | {r.group for r in self.reactions})
        deadlines = [(DEADLINES, DEADLINES)] if self.deadlines else []
        return [
            *relay,
            *((g, "consumer") for g in groups),
            *deadlines,
            (NOTIFICATIONS, NOTIFICATIONS),
            *((loop.name, LOOP) for loop in self.loops),
        ]


@dataclass
class Runtime:
    service: Service
    settings: ServiceSettings
    database_url: str
    pool: asyncpg.Pool
    store: EventStore
    transactions: PgTransactions
    writer: Writer

    async def close(self) -> None:
        await self.pool.close()


async def prepare_database(service: Service, settings: ServiceSettings) -> str:
    """Create the service's database, bring its schema up to date and create the live read
    models' tables; return its URL."""
    settings.check_secrets()  # refuses published defaults and a missing keyring (production)
    bounds = DatabaseBounds.of(settings)
    url = await ensure_database(settings.database_url, settings.database_name, bounds)
    # Migrations may take longer than one request's statement: no statement bound here.
    conn = await asyncpg.connect(url, timeout=bounds.connect)
    try:
        packages = ["tongxin_platform.sql", *([service.migrations] if service.migrations else [])]
        await migrate(conn, *packages)
        await wrap_plain_keys(conn, keyring_of(settings))
        for projection in service.projections:
            await projection.ensure_tables(conn)  # rebuilt from offset 0 when its shape changed
    finally:
        await conn.close()
    return url


async def open_runtime(
    service: Service,
    settings: ServiceSettings,
    *,
    pool_size: int | None = None,
    clock: Callable[[], datetime] = now_utc,
) -> Runtime:
    url = await prepare_database(service, settings)
    pool = await create_pool(
        url, max_size=pool_size or settings.pool_size, bounds=DatabaseBounds.of(settings)
    )
    store = EventStore(settings.topic_of(service.name))
    transactions = PgTransactions(pool, store, default_registry(), settings.routes())
    writer = Writer(transactions, default_registry(), clock=clock)
    return Runtime(service, settings, url, pool, store, transactions, writer)
