"""A service's API served as its own process for a bench (as ``make run`` starts it), and the
time of GETs against it: the agencies' district page and the city page are measured alike."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def api_process(
    service: str,
    server_url: str,
    kafka: str,
    database: str,
    topics: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[str]:
    """``tongxin-<service> serve`` on the bench's database and topics; yields its base URL."""
    prefix = service.upper()
    port = free_port()
    env = {
        **os.environ,
        "TONGXIN_ENV": "development",
        "DATABASE_URL": server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        f"{prefix}_DATABASE_NAME": database,
        f"{prefix}_HTTP_PORT": str(port),
        **{f"{prefix}_{s.upper()}_TOPIC": t for s, t in topics.items()},
        **(extra_env or {}),
    }
    exe = Path(sys.executable).with_name(f"tongxin-{service}")
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on by polling below
        [str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    err = proc.stderr.read() if proc.stderr else b""
                    raise RuntimeError(f"the {service} API exited: {err!r}"[:500])
                await asyncio.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def time_get(
    base: str, path: str, headers: dict[str, str], warm: int, n: int
) -> dict[str, Any]:
    """``warm`` untimed GETs of ``path``, then ``n`` timed ones one after the other."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for _ in range(warm):
            r = await http.get(path)
            r.raise_for_status()
        times: list[float] = []
        size = 0
        for _ in range(n):
            start = clock()
            r = await http.get(path)
            times.append(clock() - start)
            r.raise_for_status()
            size = len(r.content)
    times.sort()
    return {
        "path": path,
        "calls": n,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))] * 1000,
        "max_ms": times[-1] * 1000,
        "bytes": size,
    }
