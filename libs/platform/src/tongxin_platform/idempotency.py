"""HTTP commands: run once per ``Idempotency-Key``, answer problem+json, carry their causation.

The key is recorded in the command's own transaction, together with its events and its answer:

- concurrent requests with one key wait for the first and return its answer (the first holds the
  key's row; the others' inserts wait for its commit);
- a crash between the append and the answer loses nothing: the retry finds the first answer;
- the same key with a different request is a 422, so a client bug cannot pass silently;
- keys belong to one caller: two callers' keys never meet.

A refusal (4xx) rolls the command back and is then remembered on its own, so a retry gets the
same refusal; a 5xx is never remembered. Every command gets a correlation id (the request's
``X-Correlation-Id``, or a fresh one, echoed in the answer) that its events carry.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from tongxin_contracts import IntegrationEvent
from tongxin_platform.auth import Principal
from tongxin_platform.commands import caused_by
from tongxin_platform.domain import DomainError
from tongxin_platform.http import PROBLEM, ProblemError, domain_problem, problem_of
from tongxin_platform.uow import Transactions

MAX_KEY = 200
_CORRELATION = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")

Act = Callable[[], Awaitable[dict[str, Any]]]
Decide = Callable[[], Awaitable[Sequence[IntegrationEvent]]]
Tell = Callable[[Sequence[IntegrationEvent]], dict[str, Any]]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return fingerprinter(method, path, body).hexdigest()


def fingerprinter(method: str, path: str, body: bytes = b"") -> hashlib._Hash:
    """The request's fingerprint as a hash still open to the body's further chunks (a
    streamed body: ``command(..., digest=h.hexdigest())``)."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body)


def caller_scope(p: Principal) -> str:
    """Whose keys these are: the same subject in another role is another caller."""
    return f"{p.role.value}:{p.subject}"


def correlation_of(request: Request) -> str:
    given = request.headers.get("x-correlation-id", "")
    return given if _CORRELATION.match(given) else uuid.uuid4().hex


async def command(
    transactions: Transactions,
    request: Request,
    who: Principal,
    key: str | None,
    act: Act,
    *,
    body: bytes | None = None,
    metrics: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> JSONResponse:
    """Run ``act`` (which returns the answer's JSON body) as one command."""
    started = time.perf_counter()
    label = name or _route_name(request)
    outcome = "error"
    try:
        response = await _command(transactions, request, who, key, act, body, digest)
        outcome = _outcome(response)
        return response
    except ProblemError as exc:
        outcome = "refused" if exc.status < 500 else "error"
        raise
    finally:
        if metrics is not None:
            metrics.command_done(label, outcome, time.perf_counter() - started)


async def decided(
    transactions: Transactions,
    request: Request,
    who: Principal,
    key: str | None,
    decide: Decide,
    /,
    *,
    tell: Tell | None = None,
    **fields: Any,
) -> JSONResponse:
    """Run ``decide`` (which appends events and returns them) as one command, with the app's
    metrics; the answer names the events, then ``fields``, then what ``tell`` reads from the
    events: ``{"events": [name, ...], **fields, **tell(events)}``. The shape of almost every
    command route: the caller's scope checked before, the decision and its answer here."""

    async def act() -> dict[str, Any]:
        events = await decide()
        told = tell(events) if tell is not None else {}
        return {"events": [e.name for e in events], **fields, **told}

    metrics = getattr(request.app.state, "metrics", None)
    return await command(transactions, request, who, key, act, metrics=metrics)


async def _command(
    transactions: Transactions,
    request: Request,
    who: Principal,
    key: str | None,
    act: Act,
    body: bytes | None,
    digest: str | None = None,
) -> JSONResponse:
    command_id = uuid.uuid4().hex
    correlation = correlation_of(request)
    headers = {"X-Correlation-Id": correlation}
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise ProblemError(
            422, "Invalid idempotency key", f"Idempotency-Key: 1 to {MAX_KEY} characters"
        )
    fp = digest or fingerprint(
        request.method,
        request.url.path,
        body if body is not None else await request.body(),
    )
    scope = caller_scope(who)
    with caused_by(correlation, command_id):
        try:
            async with transactions.begin() as uow:
                stored = await uow.answers.claim(scope, key, fp) if key else None
                if stored is None:
                    answer = jsonable_encoder(await act())
                    if key:
                        await uow.answers.remember(scope, key, 200, answer)
        except DomainError as exc:
            refusal = domain_problem(exc)
        except ProblemError as exc:
            refusal = problem_of(exc)
        else:
            if stored is None:
                return JSONResponse(answer, status_code=200, headers=headers)
            if stored.fingerprint != fp:
                raise ProblemError(
                    422,
                    "Idempotency key reused",
                    "Idempotency-Key was already used for a different request",
                )
            return JSONResponse(
                stored.body,
                status_code=stored.status,
                headers={**headers, "Idempotent-Replayed": "true"},
                media_type=PROBLEM if stored.status >= 400 else None,
            )
    if key and refusal.status_code < 500:
        async with transactions.read() as uow:
            await uow.answers.remember_refusal(
                scope, key, fp, refusal.status_code, _json(refusal.body)
            )
    refusal.headers.update(headers)
    return refusal


def _json(content: Any) -> dict[str, Any]:
    value = json.loads(bytes(content)) if isinstance(content, bytes | memoryview) else content
    assert isinstance(value, dict)
    return value


def _outcome(response: JSONResponse) -> str:
    if response.headers.get("Idempotent-Replayed"):
        return "replayed"
    return "ok" if response.status_code < 400 else "refused"


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path
