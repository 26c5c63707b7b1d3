"""The registry's background process: its outbox relay and the roster projection, on the kit's
FastStream worker. ``faststream run --factory tongxin_registry.entrypoints.worker:create_worker``
runs it, as does ``tongxin-registry worker`` (``--no-relay`` / ``--no-projection`` run one part:
the fault tests kill the projection process alone)."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions
from tongxin_registry.bootstrap import SERVICE
from tongxin_registry.config import RegistrySettings

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, RegistrySettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: RegistrySettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
