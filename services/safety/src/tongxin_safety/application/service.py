"""The safety service's write side, as the entrypoints see it: each part's commands, sharing one
``Writer`` (load → decide → append, retried on a concurrent change)."""

from __future__ import annotations

import asyncpg

from tongxin_platform.commands import Writer
from tongxin_safety.application.files import CareFiles
from tongxin_safety.application.guard import GuardPosts, VicePrincipals
from tongxin_safety.application.incidents import Incidents
from tongxin_safety.application.inspections import Inspections
from tongxin_safety.config import SafetySettings


class SafetyService:
    def __init__(self, writer: Writer, pool: asyncpg.Pool, settings: SafetySettings) -> None:
        self.writer, self.pool, self.settings = writer, pool, settings
        self.incidents = Incidents(writer, settings)
        self.files = CareFiles(writer, pool, settings)
        self.inspections = Inspections(writer)
        self.guard = GuardPosts(writer, pool)
        self.vice_principals = VicePrincipals(writer, pool)
