"""The wellbeing service's write side, as the entrypoints see it: each part's commands,
sharing one ``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import asyncpg

from tongxin_platform.commands import Writer
from tongxin_wellbeing.application.training import TrainingCommands
from tongxin_wellbeing.config import WellbeingSettings


class WellbeingService:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, settings: WellbeingSettings) -> None:
        self.writer, self.pool, self.settings = writer, pool, settings
        self.training = TrainingCommands(writer, pool)
