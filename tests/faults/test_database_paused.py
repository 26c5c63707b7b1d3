"""Proof: PostgreSQL paused (SIGSTOP of every process of its cluster) or stopped under a running
visits API answers each request within a bound with 503 problem+json and ``Retry-After``, keeps
``/health`` at 200 and ``/ready`` at 503; once the database is back, the same API process
answers again without a restart.

The cluster is the test's own (``infra/postgres/start.sh`` on its own port and data dir); the
shared one is never touched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import Bearer
from tests.support.cleanup import fresh_unique
from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_platform.testing import local_database_url, repo_root, run_script

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOUND = 8.0  # seconds: a request's answer while the database is away
CLIENT_TIMEOUT = 15.0  # a hang shows as a client timeout (PostgreSQL paused hung ~20 s)
PROBLEM = "application/problem+json"


@dataclass
class PrivatePostgres:
    root: Path
    env: dict[str, str]
    data_dir: Path

    @property
    def url(self) -> str:
        # With the password infra/postgres/start.sh generated for this cluster.
        return local_database_url(data_root=self.data_dir, port=int(self.env["PG_PORT"]))

    def processes(self) -> list[psutil.Process]:
        """The postmaster (first line of postmaster.pid) and every process it started."""
        pid_file = self.data_dir / "postgres" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    def signal(self, sig: signal.Signals) -> int:
        processes = self.processes()
        for p in processes:  # the postmaster first: it starts no new backend once stopped
            p.send_signal(sig)
        return len(processes)

    def start(self) -> None:
        run_script(self.root, "infra/postgres/start.sh", self.env)

    def stop(self) -> None:
        run_script(self.root, "infra/postgres/stop.sh", self.env)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    root = repo_root(Path(__file__))
    # Under /tmp, open to the postgres user the script runs the cluster as (when root).
    data_dir = Path(tempfile.mkdtemp(prefix="tongxin-pgfault-"))
    data_dir.chmod(0o755)
    env = {"PG_PORT": str(free_port()), "TONGXIN_DATA_DIR": str(data_dir), "PG_FAST": "1"}
    pg = PrivatePostgres(root, env, data_dir)
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(FileNotFoundError, psutil.Error):
            pg.signal(signal.SIGCONT)
        subprocess.run(
            ["bash", str(root / "infra/postgres/stop.sh"), "--wipe"],
            env={**os.environ, **env},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def visits_api(
    private_postgres: PrivatePostgres, kafka: str, jwt_dir: Path
) -> AsyncIterator[str]:
    """The visits API as its own process, on the private cluster and the shared broker."""
    port = free_port()
    unique = fresh_unique()
    env = {
        **os.environ,
        "DATABASE_URL": private_postgres.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "VISITS_HTTP_PORT": str(port),
        "VISITS_DATABASE_NAME": f"t_{unique}_visits",
        "VISITS_TOPIC": f"test-{unique}-visits.events",
        "VISITS_REGISTRY_TOPIC": f"test-{unique}.events",
        "TONGXIN_JWT_PUBLIC_KEY_FILE": str(jwt_dir / "public.pem"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tongxin_visits.entrypoints.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            assert process.returncode is None, "the visits API exited"
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{url}/health")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, bool, timeout=60, what="the visits API answering /health")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _timed(
    client: httpx.AsyncClient, method: str, url: str, **kw: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.request(method, url, **kw)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response, took: float, what: str) -> None:
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"].startswith(PROBLEM), what
    assert int(response.headers["retry-after"]) > 0, what
    body = response.json()
    assert body["status"] == 503
    assert "database" in body["detail"], body
    assert took < BOUND, f"{what} took {took:.1f} s"


async def _outage_answers(client: httpx.AsyncClient, api: str, headers: dict[str, str]) -> None:
    """While the database is away: bounded 503s naming it, /health 200, /ready 503."""
    requests = [
        ("GET", f"{api}/districts/330106/rules", headers),
        ("GET", f"{api}/metrics", {}),
        ("GET", f"{api}/districts/330106/rules", headers),
    ]
    answers = await asyncio.gather(
        *(_timed(client, m, u, headers=h) for m, u, h in requests),
        _timed(client, "GET", f"{api}/ready"),
    )
    for (method, url, _), (response, took) in zip(requests, answers[:-1], strict=True):
        _assert_unavailable(response, took, f"{method} {url}")
    ready, took = answers[-1]
    assert ready.status_code == 503, ready.text
    assert ready.headers["content-type"].startswith(PROBLEM)
    assert ready.json()["checks"]["database"] == "unreachable"
    assert "retry-after" in ready.headers
    assert took < BOUND, f"/ready took {took:.1f} s"
    health, took = await _timed(client, "GET", f"{api}/health")
    assert health.status_code == 200, health.text
    assert took < 2.0, f"/health took {took:.1f} s"


async def _recovers(client: httpx.AsyncClient, api: str, headers: dict[str, str]) -> None:
    async def answers() -> bool:
        rules = await client.get(f"{api}/districts/330106/rules", headers=headers)
        ready = await client.get(f"{api}/ready")
        return rules.status_code == 200 and ready.status_code == 200

    await eventually(answers, bool, timeout=30, what="the API answering again")


async def test_a_paused_or_stopped_database_gives_bounded_503s_and_the_api_recovers(
    private_postgres: PrivatePostgres, visits_api: str, bearer: Bearer
) -> None:
    officer = bearer("bureau_officer", district="330106")
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client:
        await _recovers(client, visits_api, officer)  # answering before any trouble

        # (a) paused: connections accepted by the kernel, never answered
        assert private_postgres.signal(signal.SIGSTOP) >= 2
        try:
            await _outage_answers(client, visits_api, officer)
            await _outage_answers(client, visits_api, officer)  # the pool is not wedged
        finally:
            private_postgres.signal(signal.SIGCONT)
        # (b) resumed: the same API process answers again
        await _recovers(client, visits_api, officer)

        # (c) stopped: connections refused
        private_postgres.stop()
        await _outage_answers(client, visits_api, officer)
        private_postgres.start()
        await _recovers(client, visits_api, officer)
