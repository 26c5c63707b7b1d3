"""The visits service's write side, as the entrypoints see it: visits, the ledger, reports and
rules, sharing one ``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import asyncpg

from tongxin_platform.commands import Writer
from tongxin_visits.application.ledger import LedgerCommands
from tongxin_visits.application.reports import ReportCommands
from tongxin_visits.application.visits import Sealer, VisitCommands


class VisitsService:
    def __init__(self, writer: Writer, pool: asyncpg.Pool | None = None) -> None:
        self.writer = writer
        sealer = Sealer()
        self.visits = VisitCommands(writer, sealer, pool)
        self.ledger = LedgerCommands(writer, sealer)
        self.reports = ReportCommands(writer)
