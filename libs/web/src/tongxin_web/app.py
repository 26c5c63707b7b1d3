"""A service's pages in one call: its routers (the JSON views, the sign-in session, the pages
and their static files) and the session middleware its app adds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from tongxin_web.pages import pages_router
from tongxin_web.routes import views_router
from tongxin_web.session import SessionAuth, session_router
from tongxin_web.site import Site


def page_routers(site: Site[Any]) -> tuple[APIRouter, ...]:
    """The JSON views, the sign-in and the pages of ``site``."""
    return (views_router(site), session_router(site), pages_router(site))


def add_session(app: FastAPI) -> FastAPI:
    """The pages' session: a GET with the cookie and no Authorization header is its token's."""
    app.add_middleware(SessionAuth)
    return app
