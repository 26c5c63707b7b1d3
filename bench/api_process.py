"""Measure 7 (second half): the RSS of a registry API process serving a roster import, and
the longest event-loop stall during it (issue 9).

Starts ``tongxin-registry serve`` on a free 127.0.0.1 port against its own database, waits for
``/health``, posts one roster CSV to ``/imports/students`` and reads the process's VmHWM. During
the import it samples the process's VmRSS every 50 ms, reads the API's own loop-lag gauge
(``tongxin_event_loop_max_stall_seconds``, a 5 s window here) every 0.5 s and times a
``/health`` every 100 ms. Peer, same run: the bare ``csv`` module parsing the same file in one
go (how long a loop that parsed it at once would be held, and what the file alone costs).
Before the import, the same file posted with a police token (not allowed to import) must be
refused (403) without the process growing: the edge refuses before reading the body.

Runnable alone: ``uv run python -m bench.api_process [--students 20000]`` (its own database and
topic, dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import clock, peak_rss_mb, rss_mb

STALL_WINDOW = 5  # seconds: the API's loop-lag gauge covers this much of the recent past
_STALL = re.compile(r"^tongxin_event_loop_max_stall_seconds (\S+)$", re.M)


def bare_csv_parse(csv_text: str) -> dict[str, float]:
    """Peer: the csv module alone parsing the file in one go (no validation, nothing kept)."""
    start = clock()
    rows = sum(1 for _ in csv.DictReader(io.StringIO(csv_text)))
    return {"seconds": clock() - start, "rows": rows}


class During:
    """What the API process does while it imports: its RSS, its loop's stalls, /health."""

    def __init__(self, http: httpx.AsyncClient, pid: int) -> None:
        self.http, self.pid = http, pid
        self.rss_max = 0.0
        self.stall_max = 0.0
        self.health_max = 0.0
        self.samples = 0

    async def stall_now(self) -> float | None:
        try:
            text = (await self.http.get("/metrics", timeout=30)).text
        except httpx.TransportError:
            return None
        found = _STALL.search(text)
        return float(found.group(1)) if found else None

    async def watch(self, done: asyncio.Event) -> None:
        async def rss() -> None:
            while not done.is_set():
                self.rss_max = max(self.rss_max, rss_mb(self.pid) or 0.0)
                self.samples += 1
                await asyncio.sleep(0.05)

        async def stalls() -> None:
            while not done.is_set():
                self.stall_max = max(self.stall_max, await self.stall_now() or 0.0)
                await asyncio.sleep(0.5)

        async def health() -> None:
            while not done.is_set():
                start = clock()
                await self.http.get("/health", timeout=60)
                self.health_max = max(self.health_max, clock() - start)
                await asyncio.sleep(0.1)

        await asyncio.gather(rss(), stalls(), health())


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
    police = mint(private, Principal("bench-police", Role.police, "330106"), ttl=3600)
    return {"TONGXIN_JWT_PUBLIC_KEY": public.decode()}, {
        "authorization": f"Bearer {token}",
        "police": f"Bearer {police}",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def api_process_rss(
    server_url: str,
    kafka: str,
    database: str,
    topic: str,
    csv_text: str,
    time_limit: float = 180.0,
    port: int | None = None,
) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "tongxin-registry"
    port = port or _free_port()
    auth_env, auth_headers = _bench_token()
    env = {
        **os.environ,
        "DATABASE_URL": server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REGISTRY_DATABASE_NAME": database,
        "REGISTRY_TOPIC": topic,
        "TONGXIN_LOOP_STALL_WINDOW": str(STALL_WINDOW),
        **auth_env,
    }
    police = auth_headers.pop("police", "")
    peer = bare_csv_parse(csv_text)
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
                server_header = (await http.get("/health")).headers.get("server")
                refused = await http.post(
                    "/imports/students",
                    content=csv_text.encode(),
                    headers={"content-type": "text/csv", "authorization": police},
                )
                after_refusal = rss_mb(proc.pid)
                await asyncio.sleep(STALL_WINDOW + 1)  # start-up stalls leave the gauge's window
                before = await During(http, proc.pid).stall_now()
                during = During(http, proc.pid)
                done = asyncio.Event()
                watcher = asyncio.create_task(during.watch(done))
                start = clock()
                try:
                    resp = await http.post(
                        "/imports/students",
                        content=csv_text.encode(),
                        headers={"content-type": "text/csv", **auth_headers},
                    )
                    elapsed = clock() - start
                    during.stall_max = max(during.stall_max, await during.stall_now() or 0.0)
                finally:
                    done.set()
                    await watcher
                resp.raise_for_status()
                events = resp.json()["events"]
            return {
                "idle_rss_mb": idle,
                "peak_rss_mb": peak_rss_mb(proc.pid),
                "rss_after_mb": rss_mb(proc.pid),
                "rss_max_sampled_mb": during.rss_max,
                "rss_samples": during.samples,
                "import_events": events,
                "import_bytes": len(csv_text.encode()),
                "import_seconds": elapsed,
                "import_rate": events / elapsed,
                "loop_stall_before_s": before,
                "loop_max_stall_s": during.stall_max,
                "health_max_latency_s": during.health_max,
                "police_refusal_status": refused.status_code,
                "police_refusal_rss_growth_mb": (after_refusal or 0) - (idle or 0),
                "server_header": server_header,
                "peer_bare_csv_parse_s": peer["seconds"],
                "peer_bare_csv_rows": peer["rows"],
            }
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def report(api: dict[str, Any]) -> str:
    return (
        f"registry API, {api['peer_bare_csv_rows']:,} students ({api['import_bytes'] / 2**20:.1f}"
        f" MiB) over HTTP in {api['import_seconds']:.1f} s ({api['import_events']:,} events):\n"
        f"  peak RSS (VmHWM) {api['peak_rss_mb']:.1f} MB, max sampled VmRSS during the import"
        f" {api['rss_max_sampled_mb']:.1f} MB, idle {api['idle_rss_mb']:.1f} MB"
        f" (target < 150 MB)\n"
        f"  longest event-loop stall during the import {api['loop_max_stall_s'] * 1000:.0f} ms"
        f" (target < 100 ms; before it {(api['loop_stall_before_s'] or 0) * 1000:.0f} ms);"
        f" slowest /health {api['health_max_latency_s'] * 1000:.0f} ms\n"
        f"  peer: the bare csv module parses the same file in one go in"
        f" {api['peer_bare_csv_parse_s'] * 1000:.0f} ms (a loop parsing it at once is held"
        f" that long)\n"
        f"  a police token posting the same file: {api['police_refusal_status']},"
        f" RSS {api['police_refusal_rss_growth_mb']:+.1f} MB; server header:"
        f" {api['server_header']!r}"
    )


async def _alone(students: int, port: int | None) -> int:
    from bench.common import Names
    from bench.run import cleanup
    from tongxin_cli.demo import DemoSpec, demo_roster
    from tongxin_platform.settings import DEFAULT_DATABASE_URL, DEFAULT_KAFKA

    server_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    names = Names.fresh()
    per_class = 50
    classes = max(1, students // per_class)
    schools = max(1, classes // 40)
    spec = DemoSpec(
        schools=schools, classes_per_school=max(1, classes // schools), students_per_class=per_class
    )
    csv_text, _ = demo_roster(spec)
    try:
        api = await api_process_rss(
            server_url, kafka, names.api_db, names.api_topic, csv_text, port=port
        )
    finally:
        for problem in await cleanup(server_url, kafka, names):
            print(f"cleanup: {problem}", file=sys.stderr)
    print(report(api))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_process", description=__doc__)
    parser.add_argument("--students", type=int, default=20_000, help="roster size (20,000)")
    parser.add_argument("--port", type=int, default=None, help="the API's port (a free one)")
    args = parser.parse_args(argv)
    return asyncio.run(_alone(args.students, args.port))


if __name__ == "__main__":
    sys.exit(main())
