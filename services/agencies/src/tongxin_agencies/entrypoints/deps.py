"""What every agencies route shares: the service from the app's state and the day a view is
computed for."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from tongxin_agencies.bootstrap import Agencies

CHINA = ZoneInfo("Asia/Shanghai")


async def agencies_of(request: Request) -> Agencies:  # async: no thread pool hop
    app: Agencies = request.app.state.service
    return app


App = Annotated[Agencies, Depends(agencies_of)]


def now(app: Agencies) -> datetime:
    return app.writer.clock()


def today(app: Agencies, as_of: date | None = None) -> date:
    """``as_of``, or today in China by the service's clock."""
    return as_of or now(app).astimezone(CHINA).date()
