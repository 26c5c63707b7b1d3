"""A service's background process: its parts (outbox relay, projections, reactions) run side by
side until a signal or until one of them fails, and are then stopped together."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class Part(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


async def run_parts(parts: Sequence[tuple[str, Part]], stop: asyncio.Event) -> None:
    """Run every part until ``stop`` is set; a part that fails stops the others and re-raises."""
    tasks = [asyncio.create_task(part.run(), name=name) for name, part in parts]
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not waiter and (exc := t.exception()) is not None:
                raise exc
    finally:
        waiter.cancel()
        for _, part in parts:
            part.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


def serve(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` with logging, where SIGINT and SIGTERM set ``stop``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(_main())
