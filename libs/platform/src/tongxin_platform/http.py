"""HTTP edge shared by services: problem+json errors (RFC 9457) and who the caller is.

A domain's refusal (``tongxin_platform.domain.DomainError``) becomes a problem naming its
``field`` and ``rule``; a policy's refusal a 403 naming the action. Server spans come from
FastAPI's own OpenTelemetry support (it extracts an incoming ``traceparent``), so the span
current when a command appends events is part of the caller's trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tongxin_platform.auth import AuthError, Principal, TokenVerifier
from tongxin_platform.domain import DomainError, NotAllowedError, NotFoundError
from tongxin_platform.eventstore import ConcurrencyError
from tongxin_platform.policy import Policy, Scope

PROBLEM = "application/problem+json"


class BodyTooLargeError(StarletteHTTPException):
    """The body grew past the route's limit while it was being received (413). An HTTP
    exception, so that FastAPI's body parsing lets it through unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: at most {limit} bytes for this route")
        self.limit = limit


class ProblemError(Exception):
    """A refusal the client can act on; becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra
        self.headers = headers or {}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:tongxin:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def problem_of(exc: ProblemError) -> JSONResponse:
    response = problem(exc.status, exc.title, exc.detail, **exc.extra)
    response.headers.update(exc.headers)
    return response


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_of(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = errors[0]["field"] if errors else "request"
        return problem(
            422,
            "Invalid request",
            f"{first}: {errors[0]['message']}" if errors else "invalid request",
            errors=errors,
        )

    async def on_conflict(_: Request, exc: Exception) -> Response:
        return problem(409, "Concurrent change", str(exc))

    async def on_domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc, BodyTooLargeError):
            return problem(413, "Content too large", exc.detail, field="body", limit=exc.limit)
        return problem(exc.status_code, "HTTP error", str(exc.detail))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ConcurrencyError, on_conflict)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)


def install_auth(app: FastAPI, verifier: TokenVerifier) -> None:
    app.state.token_verifier = verifier


# Declares the bearer scheme in the OpenAPI document (the docs' "Authorize" button); the
# checks themselves are ours, so that every refusal is a problem+json 401.
_BEARER = HTTPBearer(auto_error=False, description="JWT with a role and a scope (tongxin token)")


PRINCIPAL_SCOPE_KEY = "tongxin.principal"


def authenticate(verifier: TokenVerifier, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer`` header, or a 401 problem."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "Unauthorized",
            "Authorization: a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
            rule="token.required",
        )
    try:
        return verifier.verify(token)
    except AuthError as exc:
        raise ProblemError(
            401,
            "Unauthorized",
            f"Authorization: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            rule=exc.rule,
        ) from exc


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Principal:
    """The caller of this request (a FastAPI dependency), or a 401 problem. The kit's routes
    (``tongxin_platform.edge.EdgeRoute``) verify the token before the body is read and leave
    the principal in the request's scope."""
    known = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(known, Principal):
        return known
    verifier: TokenVerifier = request.app.state.token_verifier
    given = f"Bearer {credentials.credentials}" if credentials is not None else None
    return authenticate(verifier, given)


Caller = Annotated[Principal, Depends(current_principal)]


def require(policy: Policy, p: Principal, action: str, where: Scope) -> None:
    """Raise a 403 problem naming the rule unless ``p`` may do ``action`` at ``where``."""
    decision = policy.authorize(p, action, where)
    if not decision.allowed:
        raise ProblemError(403, "Forbidden", decision.reason, rule=str(action))


T = TypeVar("T")


def not_found(field: str, what: str) -> ProblemError:
    """The one answer for a missing record and for one outside the caller's scope: the same
    status and body (the id is not echoed), so that nobody learns what exists elsewhere."""
    return ProblemError(404, "Not found", f"{field}: no such {what}", field=field)


async def locate(
    policy: Policy,
    p: Principal,
    action: str,
    find: Callable[[], Awaitable[T]],
    scope_of: Callable[[T], Scope],
    missing: ProblemError,
) -> T:
    """The record ``find`` returns (it raises ``missing`` itself when there is none), for a
    caller who may do ``action`` where it lives. A role that may not do ``action`` anywhere is a
    403 naming the rule, before any lookup; a record outside the caller's scope is answered
    exactly like a missing one (``missing``: 404, the same body)."""
    require(policy, p, action, Scope(p.district, p.school, p.class_id))
    found = await find()
    if not policy.authorize(p, action, scope_of(found)).allowed:
        raise missing
    return found


_TITLES = {403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Refused"}


def domain_problem(exc: DomainError) -> JSONResponse:
    """``field: message`` (``caller:`` when a person is refused without a field)."""
    where = exc.field or ("caller" if isinstance(exc, NotAllowedError) else "")
    detail = f"{where}: {exc}" if where else str(exc)
    extra: dict[str, Any] = dict(getattr(exc, "extra", {}))
    if exc.field or not isinstance(exc, NotFoundError | NotAllowedError):
        extra["field"] = exc.field
    if exc.rule:
        extra["rule"] = exc.rule
    return problem(exc.status, _TITLES.get(exc.status, "Refused"), detail, **extra)
