"""What every city route shares: the service from the app's state and the day a figure is
computed for (``now``/``today``: the pages' own, by the service's clock)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tongxin_city.bootstrap import City
from tongxin_web.site import now, today

__all__ = ["App", "city_of", "now", "today"]


async def city_of(request: Request) -> City:  # async: no thread pool hop
    app: City = request.app.state.service
    return app


App = Annotated[City, Depends(city_of)]
