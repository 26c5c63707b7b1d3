"""Proof: ``scripts/run-services.sh`` tracks the service's own processes. A worker killed with
SIGKILL is noticed (``/ready``'s body and ``tongxin status`` call it stale within the bound,
the script's ``status`` says it died), ``start`` starts exactly one new worker (and no second
API), and ``stop`` leaves no process of the service behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_platform.testing import repo_root
from tongxin_visits.config import VisitsSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = repo_root(Path(__file__))
STALE_AFTER = 4.0  # seconds; heartbeats every second


def _ours(database_name: str, role: str) -> list[psutil.Process]:
    """The processes running ``tongxin-visits <role>`` on the test's database."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            cmdline = p.info["cmdline"] or []
            if not any(a.endswith("tongxin-visits") for a in cmdline) or role not in cmdline:
                continue
            if p.environ().get("VISITS_DATABASE_NAME") == database_name:
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def script_env(
    visits_settings: VisitsSettings, tmp_path: Path, jwt_dir: Path
) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "TONGXIN_RUN_DIR": str(tmp_path / "run"),
        "DATABASE_URL": visits_settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": visits_settings.kafka_bootstrap_servers,
        "VISITS_DATABASE_NAME": visits_settings.database_name,
        "VISITS_TOPIC": visits_settings.topic,
        "VISITS_REGISTRY_TOPIC": visits_settings.registry_topic,
        "VISITS_WELLBEING_TOPIC": visits_settings.wellbeing_topic,
        "VISITS_COMMITTEES_TOPIC": visits_settings.committees_topic,
        "VISITS_HTTP_PORT": str(free_port()),
        "VISITS_WORKER_HTTP_PORT": str(free_port()),
        "VISITS_WORKER_HEARTBEAT_INTERVAL": "1",
        "VISITS_WORKER_STALE_AFTER": str(STALE_AFTER),
        "TONGXIN_JWT_PUBLIC_KEY_FILE": str(jwt_dir / "public.pem"),
        # Narrow, as under many tools: ps cuts command lines at $COLUMNS, and a live service
        # must still be recognised (a fresh clone in a long path was not: a second start).
        "COLUMNS": "40",
    }
    try:
        yield env
    finally:
        _script(env, "stop")
        for p in _ours(visits_settings.database_name, "worker") + _ours(
            visits_settings.database_name, "serve"
        ):
            p.kill()


def _script(env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts/run-services.sh"), action, "visits"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def _gone(database_name: str) -> bool:
    return _ours(database_name, "worker") == []


def _pid(env: dict[str, str], name: str) -> int:
    return int((Path(env["TONGXIN_RUN_DIR"]) / f"{name}.pid").read_text())


async def _workers_alive(api: str) -> bool | None:
    """What ``/ready``'s body says of the worker (None: nothing)."""
    async with httpx.AsyncClient(timeout=15) as client:
        body = (await client.get(f"{api}/ready")).json()
    workers = body.get("workers")
    return None if workers is None else bool(workers["alive"])


def _tongxin_status(env: dict[str, str], api: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "tongxin"), "status", "--url", f"visits={api}"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_killed_worker_is_noticed_restarted_once_and_stopped_without_orphans(
    script_env: dict[str, str], visits_settings: VisitsSettings
) -> None:
    env, db = script_env, visits_settings.database_name
    api = f"http://127.0.0.1:{env['VISITS_HTTP_PORT']}"
    started = _script(env, "start")
    assert started.returncode == 0, started.stdout + started.stderr

    # The pid files hold the services' own processes (not a `uv run` wrapper).
    worker_pid, api_pid = _pid(env, "visits-worker"), _pid(env, "visits-api")
    assert [p.pid for p in _ours(db, "worker")] == [worker_pid]
    assert [p.pid for p in _ours(db, "serve")] == [api_pid]

    await eventually(lambda: _workers_alive(api), bool, timeout=30, what="worker alive")
    ok = _tongxin_status(env, api)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "alive" in ok.stdout

    # A second start while both run starts nothing.
    again = _script(env, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    assert len(_ours(db, "worker")) == 1

    # Killed: nothing of it is left, and it is noticed.
    os.kill(worker_pid, signal.SIGKILL)
    await eventually(lambda: _gone(db), bool, timeout=10, what="the killed worker gone")
    stale = await eventually(
        lambda: _workers_alive(api),
        lambda v: v is False,
        timeout=STALE_AFTER + 10,
        what="worker stale in /ready",
    )
    assert stale is False
    down = _tongxin_status(env, api)
    assert down.returncode == 1, down.stdout + down.stderr
    assert "STALE" in down.stdout
    status = _script(env, "status")
    assert status.returncode == 1
    assert "visits-worker: DIED" in status.stdout

    # Started again: exactly one new worker, the same API.
    restarted = _script(env, "start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    workers = _ours(db, "worker")
    assert [p.pid for p in workers] == [_pid(env, "visits-worker")]
    assert workers[0].pid != worker_pid
    assert [p.pid for p in _ours(db, "serve")] == [api_pid]
    await eventually(lambda: _workers_alive(api), bool, timeout=30, what="worker alive again")

    # Stopped: no process of the service is left.
    stopped = _script(env, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert _ours(db, "worker") == []
    assert _ours(db, "serve") == []

    # A port something else answers on is refused, not fought over.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["VISITS_HTTP_PORT"])))
        squatter.listen()
        refused = _script(env, "start")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "already taken" in refused.stderr
    assert _ours(db, "serve") == []
