"""One API base for every service: ``create_service_app(service, settings)``.

It opens the service's runtime on startup and adds what every service answers the same way:
``/health`` (the process lives), ``/ready`` (database and broker reachable), ``/metrics``
(Prometheus text), ``/asyncapi`` (the document generated from the service's FastStream worker),
``/access-log`` (auditors), ``/notifications`` and ``/message-inbox`` (the messages to people
it queued: ``tongxin_platform.notify_api``), problem+json for every refusal, and bearer-token
authentication.
The service brings its routers, made with ``tongxin_platform.edge.service_router`` so that the
token, the route's declared action and the body's size are checked before a body is read; its
routes reach the runtime with ``RuntimeDep`` and its application object (``Service.build``) at
``app.state.service``. Every answer carries ``X-Content-Type-Options: nosniff`` and
``Cache-Control: no-store``; ``/docs`` and ``/redoc`` load their assets from the service itself;
``/metrics`` includes the event loop's longest recent stall (``tongxin_platform.looplag``).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, StringConstraints

from tongxin_platform import access, liveness
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.edge import (
    SecurityHeaders,
    check_routes,
    guard,
    install_docs,
    service_router,
)
from tongxin_platform.eventstore import now_utc
from tongxin_platform.http import Caller, install_auth, install_problem_handlers, problem, require
from tongxin_platform.looplag import LoopLag
from tongxin_platform.metrics import ServiceMetrics, Watermarks
from tongxin_platform.notify_api import add_notification_routes
from tongxin_platform.outages import RETRY_AFTER_SECONDS, install_outage_handlers
from tongxin_platform.policy import ACCESS_LOG_READ, PLATFORM_POLICY, Scope
from tongxin_platform.service import Runtime, Service, open_runtime
from tongxin_platform.settings import ServiceSettings
from tongxin_platform.worker import Worker

Text = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
READY_TIMEOUT = 3.0


def _instant(value: datetime) -> datetime:
    """An instant PostgreSQL and Python can both hold: naive means UTC; an offset that moves
    it outside years 1..9999 (``0001-01-01T00:00:00+14:00``) is refused."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("outside the instants this service can hold (years 1 to 9999)") from exc


Instant = Annotated[datetime, AfterValidator(_instant)]


async def runtime_of(request: Request) -> Runtime:  # async: no thread pool hop per request
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
Clock = Callable[[], datetime]  # the time commands are decided at (``now_utc`` unless injected)


def create_service_app(
    service: Service,
    settings: ServiceSettings,
    verifier: TokenVerifier | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    clock: Clock | None = None,
) -> FastAPI:
    """``clock``: the time the API's commands are decided at (its ``Writer``'s), injected as a
    worker's is (``Worker(..., clock=…)``) so that a test or a benchmark moves both together."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime(service, settings, clock=clock or now_utc)
        app.state.runtime = runtime
        app.state.service = service.build(runtime) if service.build else None
        app.state.watermarks = Watermarks(settings.kafka_bootstrap_servers)
        # What start-up built stays for the process's life: out of the collector's way, so a
        # full collection during a request does not scan it (a pause of the whole loop).
        gc.collect()
        gc.freeze()
        app.state.loop_lag.start()
        try:
            yield
        finally:
            await app.state.loop_lag.stop()
            await app.state.watermarks.close()
            await runtime.close()

    app = FastAPI(
        title=service.title,
        version=service.version,
        lifespan=lifespan,
        description=service.description,
        docs_url=None,  # served by install_docs, from the service itself
        redoc_url=None,
    )
    app.state.metrics = ServiceMetrics(service.name)
    app.state.loop_lag = LoopLag.from_env()
    app.state.metrics.registry.register(app.state.loop_lag)
    install_problem_handlers(app)
    install_outage_handlers(app)
    install_auth(app, verifier or TokenVerifier.from_env())
    app.add_middleware(SecurityHeaders)
    install_docs(app)
    routers = [*routers, base_router(service, settings)]
    check_routes(routers)
    for router in routers:
        app.include_router(router)
    return app


def base_router(service: Service, settings: ServiceSettings) -> APIRouter:
    router = service_router(tags=["operations"])
    cached: dict[str, Any] = {}

    @router.get("/health", summary="Liveness: the process answers (no token needed)")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        summary=(
            "Readiness: database and broker reachable (no token needed); the body also shows "
            "the worker's relay and consumer groups (last heartbeat, alive or stale, lag)"
        ),
        responses={503: {"description": "A dependency is unreachable (problem+json)"}},
    )
    async def ready(request: Request, runtime: RuntimeDep) -> Response:
        watermarks: Watermarks = request.app.state.watermarks

        async def bounded(check: Awaitable[Any]) -> Any:
            try:
                return await asyncio.wait_for(check, READY_TIMEOUT)
            except Exception:  # noqa: BLE001 - any failure means "not ready" / "unknown"
                return None

        answers = await asyncio.gather(
            bounded(runtime.pool.fetchval("SELECT 1", timeout=READY_TIMEOUT)),
            bounded(watermarks.reachable()),
        )
        db, kafka = answers[0] == 1, answers[1] is True
        checks = {
            "database": "ok" if db else "unreachable",
            "kafka": "ok" if kafka else "unreachable",
        }
        # The worker's liveness is reported, not required: a dead worker must not take the API
        # out of a load balancer (``tongxin status`` exits non-zero for it).
        workers = None
        if db:
            workers = await bounded(
                liveness.report(
                    runtime.pool,
                    watermarks if kafka else None,
                    service.worker_parts(),
                    stale_after=settings.worker_stale_after,
                    statement_timeout=READY_TIMEOUT,
                )
            )
        if db and kafka:
            return JSONResponse({"status": "ready", **checks, "workers": workers})
        down = ", ".join(k for k, v in checks.items() if v != "ok")
        response = problem(503, "Not ready", f"{down}: unreachable", checks=checks, workers=workers)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @router.get(
        "/metrics",
        summary="Prometheus metrics: commands, outbox backlog, consumer lag, dead letters",
        response_class=Response,
    )
    async def metrics(request: Request, runtime: RuntimeDep) -> Response:
        body = await request.app.state.metrics.render(runtime.pool, request.app.state.watermarks)
        return Response(body, media_type=PROMETHEUS_TEXT)

    @router.get(
        "/asyncapi",
        summary="AsyncAPI document of the service's messaging (from its FastStream worker)",
    )
    async def asyncapi() -> dict[str, Any]:
        if "doc" not in cached:
            cached["doc"] = asyncapi_document(Worker(service, settings))
        doc: dict[str, Any] = cached["doc"]
        return doc

    @router.get("/access-log", summary="Reads of restricted records (auditors)")
    @guard(PLATFORM_POLICY, ACCESS_LOG_READ)
    async def access_log(
        who: Caller,
        runtime: RuntimeDep,
        record: Annotated[Text | None, Query()] = None,
        actor: Annotated[Text | None, Query()] = None,
        since: Instant | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        require(
            PLATFORM_POLICY, who, ACCESS_LOG_READ, Scope(who.district, who.school, who.class_id)
        )
        return await access.query(
            runtime.pool,
            district=who.district,
            record=record,
            actor=actor,
            since=since,
            limit=limit,
        )

    add_notification_routes(router)
    return router


def asyncapi_document(worker: Worker) -> dict[str, Any]:
    """FastStream's document of the worker's broker, with each receiving operation's consumer
    group as its Kafka binding (a group's subscriber is titled with the group: its channels are
    ``<group>`` for one topic, ``<group>:<topic>`` for several)."""
    doc: dict[str, Any] = worker.specification().to_specification().to_jsonable()
    groups = {c.group for c in worker.consumers}
    for name, operation in doc.get("operations", {}).items():
        group = name.split(":", 1)[0]
        if operation.get("action") == "receive" and group in groups:
            operation["bindings"] = {
                "kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": "0.4.0"}
            }
    return doc
