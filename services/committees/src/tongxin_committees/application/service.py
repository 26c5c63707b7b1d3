"""The committees service's write side, as the entrypoints see it: each part's commands,
sharing one ``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import asyncpg

from tongxin_committees.application.committees import CommitteeCommands
from tongxin_committees.application.feedback import FeedbackDesk
from tongxin_committees.application.meetings import Meetings
from tongxin_committees.application.parent_school import ParentSchools
from tongxin_committees.config import CommitteesSettings
from tongxin_platform.commands import Writer


class CommitteesService:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, settings: CommitteesSettings) -> None:
        self.writer, self.pool, self.settings = writer, pool, settings
        self.meetings = Meetings(writer, pool)
        self.parent_schools = ParentSchools(writer, pool)
        self.committees = CommitteeCommands(writer, pool)
        self.feedback = FeedbackDesk(writer, settings)
