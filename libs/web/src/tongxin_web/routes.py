"""The JSON query API of a service's views: every dashboard and every list behind a figure, by
key (the service's ``Views``). The pages render the very same answers.

``GET /dashboards/{page}?school_id=…&as_of=…`` and ``GET /lists/{key}?…`` (served only when the
site has lists: a route that could only ever answer 404 is not served): the provider checks
the caller's role and scope (403 naming the rule for a role that may never, 404 for anything
outside the caller's scope, as for a missing one); an unknown page or list is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from tongxin_platform.auth import Principal
from tongxin_platform.edge import service_router
from tongxin_platform.fields import IDENT, AsOf
from tongxin_platform.http import Caller, not_found
from tongxin_web.site import App, PageService, Site, now, today
from tongxin_web.views import C, Dashboard, DashboardProvider, ItemList, ListProvider, Views

PageKey = Annotated[str, Path(pattern=IDENT, description="A dashboard's key, e.g. `district`.")]
ListKey = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.\-]{1,64}$",
        description="A list's key, e.g. `school.followups_overdue`.",
    ),
]


def context(site: Site[C], request: Request, app: PageService, who: Principal, as_of: AsOf) -> C:
    params = {k: v for k, v in request.query_params.items() if k != "as_of"}
    return site.context(app, who, params, today(app, as_of), now(app))


def dashboard_provider(views: Views[C], page: str) -> DashboardProvider[C]:
    """The provider of the dashboard ``page``; 404 naming ``page`` when there is none."""
    provider = views.dashboards.get(page)
    if provider is None:
        raise not_found("page", "dashboard")
    return provider


def list_provider(views: Views[C], key: str) -> ListProvider[C]:
    """The provider of the list ``key``; 404 naming ``key`` when there is none."""
    provider = views.lists.get(key)
    if provider is None:
        raise not_found("key", "list")
    return provider


def views_router(site: Site[Any]) -> APIRouter:
    """``GET /dashboards/{page}`` and ``GET /lists/{key}`` of ``site``'s views."""
    router = service_router(tags=["views"])

    @router.get("/dashboards/{page}", response_model=Dashboard)
    async def get_dashboard(
        request: Request, app: App, who: Caller, page: PageKey, as_of: AsOf = None
    ) -> Dashboard:
        return await dashboard_provider(site.views, page)(context(site, request, app, who, as_of))

    if not site.views.lists:
        return router  # no lists: no route that could only answer 404

    @router.get("/lists/{key}", response_model=ItemList)
    async def get_list(
        request: Request, app: App, who: Caller, key: ListKey, as_of: AsOf = None
    ) -> ItemList:
        return await list_provider(site.views, key)(context(site, request, app, who, as_of))

    return router
