"""The operator's tools in tests: Zipkin and Prometheus started by their own scripts (infra/) on
free ports with a private data dir, and a service's API and worker run as an operator runs
them (``tongxin-<service> serve`` / ``worker``: their own processes, their own tracer providers)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.config import RegistrySettings

ROOT = Path(__file__).resolve().parents[2]


def _script(path: str, env: Mapping[str, str], *args: str) -> None:
    done = subprocess.run(
        ["bash", str(ROOT / path), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{path}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


@asynccontextmanager
async def zipkin(data_dir: Path) -> AsyncIterator[str]:
    """Zipkin by infra/zipkin/start.sh on a free port; yields its base URL."""
    env = {"ZIPKIN_PORT": str(free_port()), "TONGXIN_DATA_DIR": str(data_dir)}
    await asyncio.to_thread(_script, "infra/zipkin/start.sh", env)
    try:
        yield f"http://127.0.0.1:{env['ZIPKIN_PORT']}"
    finally:
        await asyncio.to_thread(_script, "infra/zipkin/stop.sh", env)


@asynccontextmanager
async def prometheus(data_dir: Path, *render_args: str) -> AsyncIterator[str]:
    """Prometheus by infra/prometheus/start.sh on a free port, scraping every second."""
    env = {
        "PROMETHEUS_PORT": str(free_port()),
        "TONGXIN_DATA_DIR": str(data_dir),
        "PROMETHEUS_SCRAPE_INTERVAL": "1s",
        "PYTHON": sys.executable,
    }
    await asyncio.to_thread(_script, "infra/prometheus/start.sh", env, *render_args)
    try:
        yield f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
    finally:
        await asyncio.to_thread(_script, "infra/prometheus/stop.sh", env, "--wipe")


@dataclass(frozen=True)
class Running:
    api: str  # http://127.0.0.1:port
    worker: str


async def _up(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"{url}/health")).status_code
    except httpx.TransportError:
        return 0


async def _ready(url: str) -> None:
    async def probe() -> int:
        return await _up(url)

    await eventually(probe, lambda s: s in (200, 204), timeout=90, what=f"{url}/health")


@asynccontextmanager
async def service_processes(service: str, env: Mapping[str, str]) -> AsyncIterator[Running]:
    """``tongxin-<service> serve`` and ``worker`` as processes of their own, ready."""
    api_port, worker_port = free_port(), free_port()
    full = {**os.environ, **env}
    module = f"tongxin_{service}.entrypoints.cli"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            env=full,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for args in (
            ("serve", "--port", str(api_port)),
            ("worker", "--port", str(worker_port)),
        )
    ]
    running = Running(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{worker_port}")
    try:
        for url in (running.api, running.worker):
            await _ready(url)
        yield running
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def registry_env(settings: RegistrySettings, jwt_dir: Path, **tracing: str) -> dict[str, str]:
    """The environment of the registry's processes on the test's Kafka, database, topic and
    keys; ``tracing``: the OpenTelemetry variables (where the spans go)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url,
        "REGISTRY_DATABASE_NAME": settings.database_name,
        "REGISTRY_TOPIC": settings.topic,
        "TONGXIN_JWT_PUBLIC_KEY_FILE": str(jwt_dir / "public.pem"),
        **tracing,
    }


async def import_two_students(api: str, officer: Mapping[str, str]) -> None:
    """A district officer imports two students into the registry at ``api`` over HTTP."""
    students, _ = demo_roster(DemoSpec(schools=1, classes_per_school=1, students_per_class=2))
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        r = await http.post("/imports/students", content=students.encode(), headers=officer)
        assert r.status_code == 200, r.text
