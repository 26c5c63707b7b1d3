"""The HTTP edge every service's routes pass through before a byte of their body is read.

FastAPI reads and parses a request's body before it resolves the route's dependencies, so a
``Caller`` dependency alone authenticates too late: an anonymous 48 MB body would be parsed
before its 401. ``EdgeRoute`` (the route class of ``service_router``) runs, for every route,
once the route matched and before FastAPI's handler:

1. the bearer token is verified when the route depends on ``Caller`` (401 problem+json); the
   principal is left in the request's scope, so ``Caller`` does not verify it again;
2. the route's declared action (``@guard(POLICY, Action.x)``) is checked at role level — what
   the caller alone decides, ``Policy.admits`` (403 naming the rule); checks that need the
   resource's scope stay in the route, after parsing;
3. the body's size: a ``Content-Length`` over the route's limit is a 413 problem+json at once,
   and a streamed (chunked) body is counted as it arrives and refused when it passes the limit.
   The limit is ``DEFAULT_MAX_BODY`` unless the route declares its own (``max_body=``).

``create_service_app`` refuses a router whose routes are not ``EdgeRoute``s, so every later
service inherits the order. The OpenAPI document declares the 401, 403 and 413 answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import fastapi_offline
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongxin_platform.http import (
    PRINCIPAL_SCOPE_KEY,
    BodyTooLargeError,
    ProblemError,
    authenticate,
    current_principal,
)
from tongxin_platform.policy import Policy

DEFAULT_MAX_BODY = 1024 * 1024  # JSON commands are a few kB; 1 MiB is generous
_GUARD_ATTR = "__tongxin_guard__"
_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"type": "object"}}}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Guard:
    """What a route declares to the edge: the action it performs, its body limit."""

    policy: Policy | None = None
    action: str | None = None
    max_body: int = DEFAULT_MAX_BODY


def guard(
    policy: Policy | None = None, action: str | None = None, *, max_body: int | None = None
) -> Callable[[F], F]:
    """Declare a route's action (checked at role level before its body is read) and/or its
    body limit. Put it below the route decorator::

        @router.post("/imports/students")
        @guard(POLICY, Action.roster_import, max_body=64 * 1024 * 1024)
        async def import_students(...): ...
    """
    if (policy is None) != (action is None):
        raise ValueError("guard: an action needs its policy, a policy its action")
    if policy is not None and action is not None:
        policy.roles(action)  # an undeclared action fails at import of the routes, not later

    def mark(endpoint: F) -> F:
        setattr(
            endpoint,
            _GUARD_ATTR,
            Guard(policy, str(action) if action else None, max_body or DEFAULT_MAX_BODY),
        )
        return endpoint

    return mark


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


class EdgeRoute(APIRoute):
    """An ``APIRoute`` that authenticates, authorizes at role level and limits the body
    before FastAPI reads it (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.guard: Guard = getattr(endpoint, _GUARD_ATTR, Guard())
        self.authenticated = _depends_on(self.dependant, current_principal)
        if self.guard.action is not None and not self.authenticated:
            raise TypeError(f"{path}: a route with an action must depend on Caller")
        declared: dict[int | str, dict[str, Any]] = {}
        if self.authenticated:
            declared[401] = {"description": "No valid bearer token (problem+json)"}
        if self.guard.action is not None or self.authenticated:
            declared[403] = {"description": "The caller may not do this here (problem+json)"}
        if (self.methods or set()) & {"POST", "PUT", "PATCH"}:
            declared[413] = {
                "description": f"Body over this route's limit of {self.guard.max_body} bytes"
                " (problem+json)"
            }
        for status, doc in declared.items():
            self.responses.setdefault(status, {**doc, "content": _PROBLEM_CONTENT})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.methods and scope["method"] not in self.methods):
            await super().handle(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.authenticated:
            app: FastAPI = scope["app"]
            who = authenticate(app.state.token_verifier, headers.get("authorization"))
            scope[PRINCIPAL_SCOPE_KEY] = who
            g = self.guard
            if g.policy is not None and g.action is not None:
                decision = g.policy.admits(who, g.action)
                if not decision.allowed:
                    raise ProblemError(403, "Forbidden", decision.reason, rule=g.action)
        limit = self.guard.max_body
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise BodyTooLargeError(limit)
        await super().handle(scope, _limited(receive, limit), send)


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError(limit)
        return message

    return counted


def service_router(**kwargs: Any) -> APIRouter:
    """A service's ``APIRouter``, its routes ``EdgeRoute``s."""
    return APIRouter(route_class=EdgeRoute, **kwargs)


def check_routes(routers: Any) -> None:
    """Refuse a router with a route that would read its body before the edge's checks."""
    for router in routers:
        for route in router.routes:
            if (included := getattr(route, "original_router", None)) is not None:
                check_routes([included])  # a router included in a service's router
            elif isinstance(route, APIRoute) and not isinstance(route, EdgeRoute):
                raise TypeError(
                    f"{route.path}: routes of a service come from service_router() "
                    "(tongxin_platform.edge), so the edge checks them before their body is read"
                )


# --- response headers ---------------------------------------------------------------------------

DOCS_ASSETS = "/docs-assets"


class SecurityHeaders:
    """Every answer: ``X-Content-Type-Options: nosniff``; and ``Cache-Control: no-store``
    unless the route set its own (answers may carry personal data; only the documentation's
    static assets are cacheable)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(DOCS_ASSETS + "/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "public, max-age=86400" if static else "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


# --- documentation served by the service itself (no CDN) ----------------------------------------

_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc``, their scripts and styles served from
    ``/docs-assets`` (the files the ``fastapi-offline`` package ships), so the documentation
    works offline and loads nothing from elsewhere. The app is built with ``docs_url=None``
    and ``redoc_url=None``."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth_redirect}",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth_redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


# --- the server -----------------------------------------------------------------------------------


def server_config(app: Any, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    """How the kit serves HTTP (APIs and workers' endpoints): no ``server: uvicorn`` header
    telling a prober what runs here."""
    kwargs.setdefault("log_level", "warning")
    return uvicorn.Config(app, host=host, port=port, server_header=False, **kwargs)
