"""The visits service's background process: its outbox relay, the board projection and the
shredding reaction, on the kit's FastStream worker.
``faststream run --factory tongxin_visits.entrypoints.worker:create_worker`` runs it, as does
``tongxin-visits worker``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions
from tongxin_visits.bootstrap import SERVICE
from tongxin_visits.config import VisitsSettings

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, VisitsSettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: VisitsSettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
