"""The agencies service's background process: every agency's read model (one consumer group
each), on the kit's FastStream worker; it relays nothing, for the service publishes nothing.
``faststream run --factory tongxin_agencies.entrypoints.worker:create_worker`` runs it, as does
``tongxin-agencies worker``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_agencies.bootstrap import SERVICE
from tongxin_agencies.config import AgenciesSettings
from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, AgenciesSettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: AgenciesSettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
