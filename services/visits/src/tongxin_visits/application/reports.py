"""A district's visit rules, and the monthly statistics (统计表): computed from the school's own
events in the store (not from a projection that may lag), submitted to the district."""

from __future__ import annotations

from datetime import datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.visits import MonthlyFigures, report_stream, rules_stream
from tongxin_platform.commands import Writer
from tongxin_visits.application.tags import school_tag
from tongxin_visits.domain.deciders import decide_report, decide_rules
from tongxin_visits.domain.evolve import fold
from tongxin_visits.domain.figures import monthly_figures
from tongxin_visits.domain.model import (
    ReportState,
    SetVisitRules,
    SubmitMonthlyReport,
    VisitRules,
)


class ReportCommands:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    async def rules(self, district: str) -> VisitRules:
        current: VisitRules | None = fold(await self.writer.history(rules_stream(district)), None)
        return current or VisitRules()

    async def set_rules(self, district: str, rules: VisitRules, by: str) -> list[IntegrationEvent]:
        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            return decide_rules(SetVisitRules(district, rules, by), fold(history, None))

        return await self.writer.run(rules_stream(district), decide)

    async def figures(self, school_id: str, month: str, special: set[str]) -> MonthlyFigures:
        """The month's figures now; ``special``: the school's students in a special group."""
        async with self.writer.transactions.read() as uow:
            events = await uow.events.tagged(school_tag(school_id))
        return monthly_figures(events, month, special)

    async def submit(
        self, district: str, school_id: str, month: str, by: str, special: set[str]
    ) -> list[IntegrationEvent]:
        rules = await self.rules(district)
        figures = await self.figures(school_id, month, special)
        cmd = SubmitMonthlyReport(district, school_id, month, figures, by)
        return await self.writer.run(
            report_stream(school_id, month),
            lambda history, now: decide_report(cmd, fold(history, ReportState()), rules, now),
        )
