"""``tongxin-visits``: serve the API, run the worker."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints import worker

app = typer.Typer(help="Tongxin visits service (家访)", no_args_is_help=True)


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


def main() -> None:
    app()
