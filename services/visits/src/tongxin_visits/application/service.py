"""The visits service's write side, as the entrypoints see it: visits, the ledger, reports and
rules, sharing one ``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg

from tongxin_contracts import default_registry
from tongxin_platform.commands import Writer
from tongxin_platform.eventstore import EventStore
from tongxin_visits.application.ledger import LedgerCommands
from tongxin_visits.application.reports import ReportCommands
from tongxin_visits.application.visits import Sealer, VisitCommands


class VisitsService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        self.writer = Writer(pool, store, default_registry(), clock=clock, new_id=new_id)
        sealer = Sealer()
        self.visits = VisitCommands(self.writer, sealer)
        self.ledger = LedgerCommands(self.writer, sealer)
        self.reports = ReportCommands(self.writer)
