"""A service's worker as a real process of its own, so that a proof test can SIGKILL it and
start it again: its settings become the environment the process reads (``<SERVICE>_*``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from tests.support.servers import free_port
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings


def environment_of(service: Service, settings: ServiceSettings, **extra: str) -> dict[str, str]:
    """The variables that make a fresh process read ``settings``: the platform's, then each
    ``<SERVICE>_<FIELD>`` the test set (topics, database, limits), then ``extra``."""
    prefix = f"{service.name.upper()}_"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url,
        f"{prefix}WORKER_HTTP_PORT": str(free_port()),
    }
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if name.lower() in {"kafka_bootstrap_servers", "database_url"} or value is None:
            continue
        if isinstance(value, str | int | float | bool):
            env[f"{prefix}{name.upper()}"] = str(value)
    return env | extra


class WorkerProcess:
    """``python -m <the service's cli> worker`` with the test's settings."""

    def __init__(self, service: Service, env: Mapping[str, str]) -> None:
        self.module = f"tongxin_{service.name}.entrypoints.cli"
        self.env = {**os.environ, **env}
        self.proc: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            "worker",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def kill(self) -> None:
        assert self.proc is not None, "the worker was never started"
        assert self.proc.returncode is None, "the worker is not running"
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@asynccontextmanager
async def running(worker: WorkerProcess) -> AsyncIterator[WorkerProcess]:
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
