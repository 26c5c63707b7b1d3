"""What a service with pages gives the shared routes (``routes``, ``pages``, ``session``): its
views, how a provider's context is made, its demo users, the page each role starts on and the
name its pages carry. The service object (``request.app.state.service``) needs only settings
with the pages' (``PageSettings``), a database pool and a writer (for its clock).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Request

from tongxin_platform.auth import Principal
from tongxin_platform.commands import Writer
from tongxin_web.demo import DemoPicker, DemoRole
from tongxin_web.settings import PageSettings
from tongxin_web.views import C, Label, Views

CHINA = ZoneInfo("Asia/Shanghai")


class PageService(Protocol):
    """The service object its routes use (``request.app.state.service``)."""

    @property
    def settings(self) -> PageSettings: ...

    @property
    def pool(self) -> asyncpg.Pool: ...

    @property
    def writer(self) -> Writer: ...


async def service_of(request: Request) -> PageService:  # async: no thread pool hop
    app: PageService = request.app.state.service
    return app


App = Annotated[PageService, Depends(service_of)]


def now(app: PageService) -> datetime:
    return app.writer.clock()


def today(app: PageService, as_of: date | None = None) -> date:
    """``as_of``, or today in China by the service's clock."""
    return as_of or now(app).astimezone(CHINA).date()


# How a provider's context is made: the service, the caller, the query's parameters (without
# ``as_of``), the day and the instant.
ContextFactory = Callable[[PageService, Principal, Mapping[str, str], date, datetime], C]

P = TypeVar("P", bound=PageSettings)


def context_of(
    make: Callable[[asyncpg.Pool, P, Principal, Mapping[str, str], date, datetime], C],
    settings_type: type[P],
) -> ContextFactory[C]:
    """The context factory of a service whose settings are ``settings_type``: ``make`` (its
    ``ViewContext`` class) given the service's pool and settings, the caller, the parameters,
    the day and the instant."""

    def context(
        app: PageService, who: Principal, params: Mapping[str, str], today: date, now: datetime
    ) -> C:
        settings = app.settings
        if not isinstance(settings, settings_type):
            raise TypeError(f"{type(settings).__name__} is not {settings_type.__name__}")
        return make(app.pool, settings, who, params, today, now)

    return context


@dataclass(frozen=True)
class Site(Generic[C]):
    """One service's pages."""

    views: Views[C]
    context: ContextFactory[C]
    demo_roles: tuple[DemoRole, ...]
    demo_user: DemoPicker
    home_of: Callable[[Principal], str | None]  # None: no page for the role
    brand: Label  # the name in the pages' header
