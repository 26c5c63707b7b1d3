"""The pages people look at: every dashboard and every list behind a figure, rendered on the
server from the very providers the JSON API answers with (``GET /pages/{key}`` ↔
``GET /dashboards/{key}``, ``GET /pages/lists/{key}`` ↔ ``GET /lists/{key}``), then kept live
by the page's script, which fetches the same JSON every ``<SERVICE>_LIVE_INTERVAL`` seconds.

Without a session a page sends the reader to sign in; a provider's refusal (403, 404, 422) is
a page with the problem's title and detail, its status kept. Every figure's JSON list link is
a link to the list's page. Static files (the script, the styles, ECharts) are served from the
package's ``web/static`` (tongxin_web's, shared by every service with pages); ECharts is
fetched into its ``vendor`` by ``bash infra/web/fetch.sh`` (never a CDN).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from datetime import UTC, date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response

from tongxin_platform.edge import service_router
from tongxin_platform.fields import FIRST, IDENT, LAST
from tongxin_platform.http import ProblemError, not_found
from tongxin_web.render import WEB, problem_page, render
from tongxin_web.routes import context, dashboard_provider, list_provider
from tongxin_web.session import session_principal, sign_in_redirect
from tongxin_web.site import App, PageService, Site, now, today
from tongxin_web.views import Dashboard, ItemList

STATIC = WEB / "static"
VENDOR = STATIC / "vendor"
PageKey = Annotated[str, Path(pattern=IDENT)]
# List keys are prefixed by their model: ``school.followups_overdue``.
ListKey = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


def as_of_of(request: Request) -> date | None:
    """The ``as_of`` query parameter (a 422 naming it when it is no day this century)."""
    given = request.query_params.get("as_of")
    if not given:
        return None
    try:
        day = date.fromisoformat(given)
    except ValueError:
        day = None
    if day is None or not FIRST <= day <= LAST:
        raise ProblemError(
            422, "Invalid request", f"as_of: not a day between {FIRST} and {LAST}", field="as_of"
        )
    return day


def source_of(request: Request, json_path: str) -> str:
    return json_path + (f"?{request.url.query}" if request.url.query else "")


V = TypeVar("V", Dashboard, ItemList)


async def view_page(
    request: Request,
    app: PageService,
    site: Site[Any],
    template: str,
    json_path: str,
    view: Callable[[Any], Awaitable[V]],
    fields: Callable[[V], dict[str, Any]],
) -> Response:
    """The page of one view: to sign in without a session; the provider's refusal as a page
    (its status kept); else ``template`` with the view's ``fields`` and what every page shows
    (the reader, the brand, its JSON source, the live interval and the instant)."""
    who = session_principal(request)
    if who is None:
        return sign_in_redirect(request)
    try:
        shown = fields(await view(context(site, request, app, who, as_of_of(request))))
    except ProblemError as exc:
        return problem_page(request, exc, who=who, brand=site.brand)
    return render(
        template,
        who=who,
        brand=site.brand,
        source=source_of(request, json_path),
        interval=app.settings.live_interval,
        now=now(app).astimezone(UTC),
        **shown,
    )


def pages_router(site: Site[Any]) -> APIRouter:
    """``GET /pages/{page}``, ``GET /pages/lists/{key}`` (when ``site`` has lists) of
    ``site``'s views and ``/static``."""
    router = service_router(tags=["pages"], include_in_schema=False)

    @router.get("/pages/{page}")
    async def dashboard_page(request: Request, app: App, page: PageKey) -> Response:
        async def board(ctx: Any) -> Dashboard:
            return await dashboard_provider(site.views, page)(ctx)

        return await view_page(
            request,
            app,
            site,
            "dashboard.html",
            f"/dashboards/{page}",
            board,
            lambda board: {
                "board": board.model_dump(mode="json"),
                "kind": "dashboard",
                "charts": any(p.charts for p in board.panels),
                "today": today(app),
            },
        )

    router.add_api_route("/static/{path:path}", static, methods=["GET"])
    if not site.views.lists:
        return router  # no lists: no list pages (as no ``/lists/{key}``)

    @router.get("/pages/lists/{key}")
    async def list_page(request: Request, app: App, key: ListKey) -> Response:
        async def items(ctx: Any) -> ItemList:
            return await list_provider(site.views, key)(ctx)

        return await view_page(
            request,
            app,
            site,
            "list.html",
            f"/lists/{key}",
            items,
            lambda items: {
                "items": items.model_dump(mode="json"),
                "kind": "list",
                "charts": False,
            },
        )

    return router


# Segments of letters, digits, ``_-.``, none starting with a dot (no ``..``, no hidden file).
StaticPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)*$")
]


async def static(path: StaticPath) -> Response:
    """The pages' scripts, styles and ECharts; cacheable (no personal data)."""
    root, vendor = STATIC, VENDOR  # read at each request: a test may move them
    file = (root / path).resolve()
    if not file.is_relative_to(root.resolve()) or not file.is_file():
        if file.is_relative_to(vendor.resolve()):
            raise ProblemError(
                503,
                "Asset not installed",
                f"static/{path}: not fetched yet; run `bash infra/web/fetch.sh` "
                "(it puts Apache ECharts in tongxin_web's web/static/vendor)",
                field="path",
                rule="web.vendor",
            )
        raise not_found("path", "file")
    media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media == "application/javascript":
        media += "; charset=utf-8"
    return FileResponse(file, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
