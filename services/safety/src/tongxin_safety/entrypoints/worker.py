"""The safety service's background process: its outbox relay, the read model, its reactions
and its deadlines, on the kit's FastStream worker.
``faststream run --factory tongxin_safety.entrypoints.worker:create_worker`` runs it, as does
``tongxin-safety worker``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions
from tongxin_safety.bootstrap import SERVICE
from tongxin_safety.config import SafetySettings

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, SafetySettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: SafetySettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
