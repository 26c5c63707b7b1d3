"""The JSON query API: every dashboard and every list behind a figure, by key
(``tongxin_agencies.application.views``). The pages render the very same answers.

``GET /dashboards/{page}?school_id=…&as_of=…`` and ``GET /lists/{key}?…``: the provider checks
the caller's role and scope (403 naming the rule for a role that may never, 404 for anything
outside the caller's scope, as for a missing one); an unknown page or list is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.views import (
    DASHBOARDS,
    LISTS,
    Dashboard,
    DashboardProvider,
    ItemList,
    ListProvider,
    ViewContext,
)
from tongxin_agencies.entrypoints.deps import App, now, today
from tongxin_platform.edge import service_router
from tongxin_platform.fields import IDENT, AsOf
from tongxin_platform.http import Caller, not_found

router = service_router(tags=["views"])
PageKey = Annotated[str, Path(pattern=IDENT, description="A dashboard's key, e.g. `district`.")]
ListKey = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.\-]{1,64}$",
        description="A list's key, e.g. `school.followups_overdue`.",
    ),
]


def context(request: Request, app: App, who: Caller, as_of: AsOf) -> ViewContext:
    params = {k: v for k, v in request.query_params.items() if k != "as_of"}
    return ViewContext(app.pool, app.settings, who, params, today(app, as_of), now(app))


def dashboard_provider(page: str) -> DashboardProvider:
    """The provider of the dashboard ``page``; 404 naming ``page`` when there is none."""
    provider = DASHBOARDS.get(page)
    if provider is None:
        raise not_found("page", "dashboard")
    return provider


def list_provider(key: str) -> ListProvider:
    """The provider of the list ``key``; 404 naming ``key`` when there is none."""
    provider = LISTS.get(key)
    if provider is None:
        raise not_found("key", "list")
    return provider


@router.get("/dashboards/{page}", response_model=Dashboard)
async def get_dashboard(
    request: Request, app: App, who: Caller, page: PageKey, as_of: AsOf = None
) -> Dashboard:
    return await dashboard_provider(page)(context(request, app, who, as_of))


@router.get("/lists/{key}", response_model=ItemList)
async def get_list(
    request: Request, app: App, who: Caller, key: ListKey, as_of: AsOf = None
) -> ItemList:
    return await list_provider(key)(context(request, app, who, as_of))
