"""Measure 7 (second half): the RSS of a registry API process serving a roster import.

Starts ``tongxin-registry serve`` on a free 127.0.0.1 port against its own database, waits for
``/health``, posts one roster CSV to ``/imports/students`` and reads the process's VmHWM.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import clock, peak_rss_mb, rss_mb


def _bench_token() -> tuple[dict[str, str], dict[str, str]]:
    """A throw-away Ed25519 key for this run: (environment for the API, request headers).

    The API verifies bearer tokens with ``TONGXIN_JWT_PUBLIC_KEY``; the bench mints a city-level
    operator token (allowed to import) with the matching private key, kept in memory only.
    """
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from tongxin_platform.auth import Principal, Role, mint
    except ImportError:  # a platform without tokens: nothing to send
        return {}, {}
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = mint(private, Principal("bench", Role.operator), ttl=3600)
    return {"TONGXIN_JWT_PUBLIC_KEY": public.decode()}, {"authorization": f"Bearer {token}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def api_process_rss(
    server_url: str, kafka: str, database: str, topic: str, csv_text: str, time_limit: float = 180.0
) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "tongxin-registry"
    port = _free_port()
    auth_env, auth_headers = _bench_token()
    env = {
        **os.environ,
        "DATABASE_URL": server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REGISTRY_DATABASE_NAME": database,
        "REGISTRY_TOPIC": topic,
        **auth_env,
    }
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for with a bound below
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=time_limit) as http:
                deadline = clock() + 60
                while True:
                    if proc.poll() is not None or clock() > deadline:
                        errors.seek(0)
                        raise RuntimeError(
                            "the registry API did not start: "
                            + errors.read().decode(errors="replace")[-2000:]
                        )
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                idle = rss_mb(proc.pid)
                start = clock()
                resp = await http.post(
                    "/imports/students",
                    content=csv_text.encode(),
                    headers={"content-type": "text/csv", **auth_headers},
                )
                elapsed = clock() - start
                resp.raise_for_status()
                events = resp.json()["events"]
            return {
                "idle_rss_mb": idle,
                "peak_rss_mb": peak_rss_mb(proc.pid),
                "rss_after_mb": rss_mb(proc.pid),
                "import_events": events,
                "import_seconds": elapsed,
                "import_rate": events / elapsed,
            }
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
