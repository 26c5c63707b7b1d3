"""``faststream run --factory tongxin_registry.entrypoints.worker:create_worker`` runs the
registry's worker as a process of its own: settings from the environment, the relay and the
roster projection working, ``/metrics`` and ``/health`` served over HTTP, and a clean exit on
SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration

FACTORY = "tongxin_registry.entrypoints.worker:create_worker"
SPEC = DemoSpec(schools=1, classes_per_school=2, students_per_class=5)


def env_of(settings: RegistrySettings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_URL": settings.database_url,
        "REGISTRY_DATABASE_NAME": settings.database_name,
        "REGISTRY_TOPIC": settings.topic,
        **extra,
    }


def output(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


@asynccontextmanager
async def faststream_run(
    args: Sequence[str], env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``faststream run --factory FACTORY *args``; SIGTERM (then SIGKILL) if still running."""
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "faststream",
            "run",
            "--factory",
            FACTORY,
            *args,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def answering(
    process: asyncio.subprocess.Process, url: str, log: Path
) -> httpx.Response | None:
    """The answer at ``url``, or None while nothing answers; fails if the process died."""
    if process.returncode is not None:
        raise AssertionError(f"the worker exited ({process.returncode}):\n{output(log)}")
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.get(url)
    except httpx.TransportError:
        return None


async def test_faststream_run_factory_runs_the_registry_worker_until_sigterm(
    registry_settings: RegistrySettings, registry_db: asyncpg.Pool, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    students, _ = demo_roster(SPEC)
    total = SPEC.classes_per_school * SPEC.students_per_class
    reg = await bootstrap(registry_settings)
    try:
        async with faststream_run(["--port", str(port)], env_of(registry_settings), log) as proc:
            base = f"http://127.0.0.1:{port}"
            await eventually(
                lambda: answering(proc, f"{base}/health", log),
                lambda r: r is not None,
                timeout=60,
                what="the worker's /health",
            )
            await reg.service.import_students(students)  # in this process: relayed by that one
            await eventually(
                lambda: registry_db.fetchval("SELECT count(*) FROM roster.students"),
                lambda n: n == total,
                timeout=60,
                what="the roster projected by the faststream-run worker",
            )
            assert await registry_db.fetchval("SELECT count(*) FROM outbox") == 0

            health = await answering(proc, f"{base}/health", log)
            assert health is not None
            assert health.status_code < 300, health.text
            metrics = await answering(proc, f"{base}/metrics", log)
            assert metrics is not None
            assert metrics.status_code == 200, metrics.text
            assert "tongxin_relay_active 1.0" in metrics.text, metrics.text
            published = [
                line for line in metrics.text.splitlines() if line.startswith("tongxin_relay_pub")
            ]
            assert published, metrics.text
            assert float(published[0].split()[-1]) > 0, published

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        await reg.close()
    printed = output(log)
    # Uvicorn shuts down gracefully on SIGTERM, then raises the signal again so that whoever
    # started it sees how it ended: -SIGTERM is a clean exit here, as 0 is.
    assert code in (0, -signal.SIGTERM), printed
    assert "Application shutdown complete" in printed, printed
    assert "Traceback" not in printed, printed
    assert "shut down gracefully" in printed, printed


async def test_faststream_run_factory_serves_metrics_on_the_registry_worker_port(
    registry_settings: RegistrySettings, registry_db: asyncpg.Pool, tmp_path: Path
) -> None:
    """Run as the factory alone, the worker serves HTTP on its configured port
    (``REGISTRY_WORKER_HTTP_PORT``), as ``tongxin-registry worker`` does."""
    port = free_port()
    log = tmp_path / "worker.log"
    env = env_of(registry_settings, REGISTRY_WORKER_HTTP_PORT=str(port))
    async with faststream_run([], env, log) as proc:
        await eventually(
            lambda: registry_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                registry_settings.database_name,
            ),
            lambda n: n >= 2,  # this test's pool and the worker's
            timeout=60,
            what="the worker connected to its database",
        )
        try:
            metrics = await eventually(
                lambda: answering(proc, f"http://127.0.0.1:{port}/metrics", log),
                lambda r: r is not None,
                timeout=30,
                what=f"the worker's /metrics on REGISTRY_WORKER_HTTP_PORT ({port})",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nthe worker's log:\n{output(log)}") from exc
        assert metrics is not None
        assert metrics.status_code == 200
        assert "tongxin_relay_active" in metrics.text
