"""``tongxin-visits``: serve the API, run the worker, rebuild the board."""

from __future__ import annotations

import time
from typing import Annotated

import asyncpg
import typer
import uvicorn
from rich.console import Console

from tongxin_platform import replay, replay_run
from tongxin_platform.settings import service_database_url
from tongxin_visits.bootstrap import board_consumer
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints import worker
from tongxin_visits.projections import board

app = typer.Typer(help="Tongxin visits service (家访)", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (default 127.0.0.1:8003)."""
    settings = VisitsSettings()
    from tongxin_visits.entrypoints.api import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="warning",
    )


@app.command("worker")
def run_worker(
    relay: Annotated[bool, typer.Option(help="Run the outbox relay")] = True,
    projection: Annotated[bool, typer.Option(help="Run the board projection")] = True,
) -> None:
    """Run the outbox relay and the board projection until SIGTERM."""
    worker.main(worker.WorkerOptions(relay=relay, projection=projection))


@app.command("replay")
def replay_board(
    swap: Annotated[
        bool,
        typer.Option(
            "--swap",
            help="Swap the rebuilt model in for the live one when the rebuild is complete.",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the rebuild.")] = 600,
) -> None:
    """Rebuild the board from offset 0 of both its topics into a fresh schema and compare it
    with the live one.

    Never writes to the live schema. Exits 0 when equal, 3 when different (unless swapped),
    1 when the rebuild could not complete or the swap was refused.
    """
    settings = VisitsSettings()

    async def rebuild(pool: asyncpg.Pool) -> int:
        board_model = replay.Projection(
            topics=(settings.registry_topic, settings.topic),
            live_schema=board.LIVE_SCHEMA,
            live_group=board.GROUP,
            create_tables=board.create_tables,
            digest=board.digest,
            tables=board.TABLES,
            consumer=lambda group, schema: board_consumer(
                settings, pool, group=group, schema=schema
            ),
        )
        return await replay_run.replay_projection(
            pool,
            settings.kafka_bootstrap_servers,
            board_model,
            swap_in=swap,
            deadline=time.monotonic() + timeout,
            console=console,
        )

    url = service_database_url(settings.database_url, settings.database_name)
    raise typer.Exit(replay_run.run(url, "visits service", rebuild, console))


def main() -> None:
    app()
