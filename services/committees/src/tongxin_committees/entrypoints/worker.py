"""The committees service's background process: its outbox relay, the read model, its reactions
and its deadlines, on the kit's FastStream worker.
``faststream run --factory tongxin_committees.entrypoints.worker:create_worker`` runs it, as does
``tongxin-committees worker``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_committees.bootstrap import SERVICE
from tongxin_committees.config import CommitteesSettings
from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, CommitteesSettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: CommitteesSettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
