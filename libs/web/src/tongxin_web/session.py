"""Sign-in for people: a session is an HttpOnly, SameSite=Strict cookie holding a bearer token.

- ``SessionAuth`` (ASGI middleware): a GET or HEAD request with the cookie and no
  ``Authorization`` header is authenticated as the cookie's token — the pages and their own
  fetches of ``/dashboards/...`` and ``/lists/...``; nothing else changes for API clients (their
  bearer tokens as before), and no other method is ever authenticated by the cookie, so that a
  cross-site form can change nothing.
- ``GET /sign-in``: a form taking a token from the configured issuer (verified like every
  bearer token, a bad one answered by the form again with the reason); in development also the
  demo users. ``POST /sign-in``, ``POST /sign-out``; ``GET /``: the caller's home page.
- ``GET /demo/{role}`` (development only; a 404 problem in production): signs in a real person
  of that role from the service's read models (its ``Site``'s demo picker) with a token minted
  by the development key, and opens their page.
"""

from __future__ import annotations

import os
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tongxin_platform.auth import AuthError, Principal, dev_keypair, max_ttl, mint
from tongxin_platform.edge import guard, service_router
from tongxin_platform.http import ProblemError, not_found
from tongxin_web.demo import DemoDataMissingError, DemoRole
from tongxin_web.render import problem_page, render
from tongxin_web.settings import PageSettings
from tongxin_web.site import App, Site

COOKIE = "tongxin_session"
SIGN_IN = "/sign-in"
MAX_FORM = 16 * 1024  # a token is about a kilobyte


class SessionAuth:
    """GET/HEAD with the session cookie and no ``Authorization``: authenticated as the cookie's
    token (the header is added to the request before any route sees it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            headers = Headers(scope=scope)
            if "authorization" not in headers and (token := cookie_token(headers)):
                scope = dict(scope)
                scope["headers"] = [
                    *scope["headers"],
                    (b"authorization", f"Bearer {token}".encode("latin-1")),
                ]
        await self.app(scope, receive, send)


def cookie_token(headers: Headers) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    token = morsel.value if morsel is not None else ""
    # A JWT is three base64url parts: anything else is no session (and never reaches a header).
    if not token or len(token) > 8192 or not all(c.isalnum() or c in "-_." for c in token):
        return None
    return token


def session_principal(request: Request) -> Principal | None:
    """Who this request is (its bearer token, the session's on a GET), or None."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return request.app.state.token_verifier.verify(token.strip())  # type: ignore[no-any-return]
    except AuthError:
        return None


def sign_in_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN}?{urlencode({'next': here})}", status_code=303)


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site (never another site's URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def signed_in(
    request: Request, settings: PageSettings, token: str, ttl: int, to: str
) -> RedirectResponse:
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(ttl, 1),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or settings.environment == "production",
    )
    return response


def same_origin(request: Request, settings: PageSettings) -> None:
    """A form posted from another site is refused (403) — sign-in included (login CSRF). This
    site is the request's ``Host`` (or a proxy's ``X-Forwarded-Host``) or the public URL."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    ours = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if settings.public_url:
        ours.add(urlsplit(settings.public_url).netloc)
    if urlsplit(origin).netloc not in ours - {None}:
        raise ProblemError(403, "Forbidden", "origin: another site's form", rule="same_origin")


def refused_form(request: Request, site: Site[Any], settings: PageSettings) -> Response | None:
    """The page refusing a form posted from another site (``same_origin``), else None."""
    try:
        same_origin(request, settings)
    except ProblemError as exc:
        return problem_page(request, exc, brand=site.brand)
    return None


def sign_in_page(
    request: Request,
    site: Site[Any],
    settings: PageSettings,
    status: int = 200,
    reason: str | None = None,
) -> Response:
    demo: tuple[DemoRole, ...] = site.demo_roles if settings.demo_enabled() else ()
    return render(
        "sign_in.html",
        status,
        demo=demo,
        reason=reason,
        next=local_path(request.query_params.get("next")) or "",
        who=session_principal(request),
        brand=site.brand,
    )


def signing_key() -> bytes:
    """The development signing key (``tongxin token``'s): ``TONGXIN_JWT_PRIVATE_KEY_FILE``,
    else ``.data/dev-jwt``'s."""
    if path := os.environ.get("TONGXIN_JWT_PRIVATE_KEY_FILE"):
        return Path(path).read_bytes()
    return dev_keypair()[0]


DemoKey = Annotated[str, PathParam(pattern=r"^[a-z_]{1,40}$", description="A demo role.")]


def session_router(site: Site[Any]) -> APIRouter:
    """Sign-in, sign-out, the home page and ``/demo/{role}`` of ``site``."""
    router = service_router(tags=["pages"], include_in_schema=False)

    @router.get("/sign-in")
    async def sign_in_form(request: Request, app: App) -> Response:
        return sign_in_page(request, site, app.settings)

    @router.post("/sign-in")
    @guard(max_body=MAX_FORM)
    async def sign_in(request: Request, app: App) -> Response:
        if refused := refused_form(request, site, app.settings):
            return refused
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        token = form.get("token", "").strip()
        if not token:
            return sign_in_page(
                request, site, app.settings, 422, "token: paste the token your issuer gave"
            )
        try:
            who: Principal = request.app.state.token_verifier.verify(token)
        except AuthError as exc:
            return sign_in_page(request, site, app.settings, 401, f"token: {exc}")
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        ttl = min(app.settings.session_ttl, int(expires - time.time()))
        to = local_path(form.get("next")) or site.home_of(who) or "/"
        return signed_in(request, app.settings, token, ttl, to)

    @router.post("/sign-out")
    @guard(max_body=MAX_FORM)
    async def sign_out(request: Request, app: App) -> Response:
        if refused := refused_form(request, site, app.settings):
            return refused
        response = RedirectResponse(SIGN_IN, status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get("/")
    async def home(request: Request, app: App) -> Response:
        who = session_principal(request)
        if who is None:
            return RedirectResponse(SIGN_IN, status_code=303)
        to = site.home_of(who)
        if to is None:
            return problem_page(
                request,
                ProblemError(
                    404,
                    "No page",
                    f"role {who.role.value}: no page is made for this role here",
                    rule="page.role",
                ),
                brand=site.brand,
            )
        return RedirectResponse(to, status_code=303)

    @router.get("/demo/{role}")
    async def demo(request: Request, app: App, role: DemoKey) -> Response:
        if not app.settings.demo_enabled():
            raise not_found("role", "demo user")  # production: there are no demo users
        if role not in {d.key for d in site.demo_roles}:
            raise not_found("role", "demo user")
        try:
            found = await site.demo_user(app.pool, role)
        except DemoDataMissingError as exc:
            return render(
                "demo_missing.html", 503, demo=exc.demo, who=None, detail=str(exc), brand=site.brand
            )
        ttl = min(app.settings.session_ttl, max_ttl(found.principal.role))
        token = mint(signing_key(), found.principal, ttl=ttl)
        return signed_in(request, app.settings, token, ttl, found.home)

    return router
