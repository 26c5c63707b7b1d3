"""Filing commands, on the filing's own stream (``filing-<district>-<kind>-<year>[-<school>]``):
a district's plan or December summary, a school's visit plan; a second filing of the same
stream is a revision. The roster's schools (the ``filings`` read model) say which district a
school belongs to."""

from __future__ import annotations

import asyncpg

from tongxin_city.domain.filings import FileFiling, decide_filing
from tongxin_contracts import IntegrationEvent
from tongxin_contracts.calendar import china_date
from tongxin_contracts.events.city import filing_id
from tongxin_platform.commands import Writer

S = "filings"  # the read model's schema


async def school_district(pool: asyncpg.Pool, school_id: str) -> str | None:
    """The district of a school the city has heard of (None: not one)."""
    district: str | None = await pool.fetchval(
        f"SELECT district FROM {S}.schools WHERE school_id = $1", school_id
    )
    return district


class Filings:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    async def file(self, cmd: FileFiling) -> list[IntegrationEvent]:
        district = (
            None if cmd.school_id is None else await school_district(self.pool, cmd.school_id)
        )
        return await self.writer.run(
            filing_id(cmd.district, cmd.kind, cmd.year, cmd.school_id),
            lambda history, now: decide_filing(cmd, history, district, china_date(now)),
        )
