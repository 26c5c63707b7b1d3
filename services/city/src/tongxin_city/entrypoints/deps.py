"""What every city route shares: the service from the app's state and the day a figure is
computed for."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request

from tongxin_city.bootstrap import City
from tongxin_contracts.calendar import CHINA


async def city_of(request: Request) -> City:  # async: no thread pool hop
    app: City = request.app.state.service
    return app


App = Annotated[City, Depends(city_of)]


def now(app: City) -> datetime:
    return app.writer.clock()


def today(app: City, as_of: date | None = None) -> date:
    """``as_of``, or today in China by the service's clock."""
    return as_of or now(app).astimezone(CHINA).date()
