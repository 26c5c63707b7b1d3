"""The city's background process: its relay (the filings), its read models (one consumer group
each, reading every district's topics and their mirrored copies), on the kit's FastStream worker.
``faststream run --factory tongxin_city.entrypoints.worker:create_worker`` runs it, as does
``tongxin-city worker``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from tongxin_city.bootstrap import SERVICE
from tongxin_city.config import CitySettings
from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.worker import Worker, WorkerOptions

__all__ = ["WorkerOptions", "create_worker", "run_worker"]


def create_worker() -> AsgiFastStream:
    """The worker as a FastStream app, settings from the environment."""
    configure_tracing(SERVICE.name)
    return Worker(SERVICE, CitySettings(), WorkerOptions(tune_gc=True)).app()


async def run_worker(
    settings: CitySettings, options: WorkerOptions, stop: asyncio.Event | None = None
) -> None:
    await Worker(SERVICE, settings, options).run(stop or asyncio.Event())
