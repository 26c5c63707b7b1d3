"""Tracing is on in every process a service runs: started as an operator starts it
(``tongxin-registry serve``, its own process, no test provider), a command's spans reach the
OTLP endpoint named by ``OTEL_EXPORTER_OTLP_ENDPOINT``, and the events it stored carry the
``traceparent`` of one of them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.servers import free_port
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration


class Collector:
    """A stand-in OTLP/HTTP receiver on 127.0.0.1: keeps every body posted to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = free_port()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                (
                    int(v)
                    for k, _, v in (h.partition(":") for h in lines)
                    if k.lower() == "content-length"
                ),
                0,
            )
            body = await reader.readexactly(length)
            if lines[0].startswith("POST /v1/traces"):
                self.bodies.append(body)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n"
                b"content-length: 0\r\nconnection: close\r\n\r\n"
            )
            await writer.drain()
        finally:
            writer.close()

    async def __aenter__(self) -> Collector:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_command_served_by_its_own_process_exports_its_spans_and_its_events_carry_them(
    registry_settings: RegistrySettings,
    registry_db: asyncpg.Pool,
    jwt_dir: Path,
    officer: dict[str, str],
) -> None:
    port = free_port()
    async with Collector() as collector:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": registry_settings.kafka_bootstrap_servers,
            "DATABASE_URL": registry_settings.database_url,
            "REGISTRY_DATABASE_NAME": registry_settings.database_name,
            "REGISTRY_TOPIC": registry_settings.topic,
            "TONGXIN_JWT_PUBLIC_KEY_FILE": str(jwt_dir / "public.pem"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tongxin_registry.entrypoints.cli",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

                async def up() -> int:
                    try:
                        return (await http.get("/health")).status_code
                    except httpx.TransportError:
                        return 0

                await eventually(up, lambda s: s == 200, timeout=60, what="the API process")
                students, _ = demo_roster(
                    DemoSpec(schools=1, classes_per_school=1, students_per_class=2)
                )
                r = await http.post("/imports/students", content=students.encode(), headers=officer)
                assert r.status_code == 200, r.text
                assert r.headers["x-correlation-id"]
            stored = await registry_db.fetch("SELECT traceparent, correlation_id FROM events")
            assert len(stored) == 4  # a school, a class, two students
            traceparents = {row["traceparent"] for row in stored}
            assert len(traceparents) == 1
            assert "" not in traceparents
            trace_id = bytes.fromhex(next(iter(traceparents)).split("-")[1])
            assert {row["correlation_id"] for row in stored} == {r.headers["x-correlation-id"]}

            def exported() -> bytes:
                return b"".join(collector.bodies)

            body = await eventually(
                lambda: asyncio.sleep(0, exported()),
                lambda b: trace_id in b,
                timeout=30,
                what="the command's trace at the OTLP endpoint",
            )
            assert b"tongxin-registry" in body  # the process's service.name
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
