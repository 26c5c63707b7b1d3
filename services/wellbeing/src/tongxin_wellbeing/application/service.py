"""The wellbeing service's write side, as the entrypoints see it: each part's commands,
sharing one ``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import asyncpg

from tongxin_platform.commands import Writer
from tongxin_wellbeing.application.attention import AttentionCommands
from tongxin_wellbeing.application.plans import PlanCommands
from tongxin_wellbeing.application.referrals import Referrals
from tongxin_wellbeing.application.screening import ScreeningCommands
from tongxin_wellbeing.application.training import TrainingCommands
from tongxin_wellbeing.config import WellbeingSettings


class WellbeingService:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, settings: WellbeingSettings) -> None:
        self.writer, self.pool, self.settings = writer, pool, settings
        self.attention = AttentionCommands(writer, pool)
        self.plans = PlanCommands(writer)
        self.screening = ScreeningCommands(writer)
        self.referrals = Referrals(writer, settings)
        self.training = TrainingCommands(writer, pool)
