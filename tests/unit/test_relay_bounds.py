"""The relay's own connection is bounded: a server that accepts and never answers (a paused
PostgreSQL) fails the attempt within the connect timeout, and the relay retries."""

from __future__ import annotations

import asyncio
import time

import pytest

from tongxin_platform.outbox import OutboxRelay


async def test_a_silent_server_fails_the_relays_connection_within_its_bound() -> None:
    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    relay = OutboxRelay(
        service="visits",
        database_url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        bootstrap="127.0.0.1:1",
        connect_timeout=0.5,
    )
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            # asyncpg's own default would wait 60 s: the outer 10 s would then be what fires.
            await asyncio.wait_for(relay._run_once(), timeout=10)
    finally:
        server.close()
    assert time.monotonic() - started < 5
