"""``tongxin-registry``: serve the API, run the worker, import a roster, rebuild the roster."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import uvicorn
from rich.console import Console

from tongxin_platform import replay, replay_run
from tongxin_platform.settings import service_database_url
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import bootstrap, roster_consumer
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints import worker
from tongxin_registry.projections import roster

app = typer.Typer(help="Tongxin registry service", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (default 127.0.0.1:8001)."""
    settings = RegistrySettings()
    from tongxin_registry.entrypoints.api import create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="warning",
    )


@app.command("worker")
def run_worker(
    relay: Annotated[bool, typer.Option(help="Run the outbox relay")] = True,
    projection: Annotated[bool, typer.Option(help="Run the roster projection")] = True,
) -> None:
    """Run the outbox relay and the roster projection until SIGTERM."""
    worker.main(worker.WorkerOptions(relay=relay, projection=projection))


@app.command("import")
def import_csv(
    path: Path,
    kind: Annotated[str, typer.Option(help="students or staff")] = "students",
) -> None:
    """Import a roster CSV directly into the registry's store (same rules as the HTTP import)."""
    if kind not in ("students", "staff"):
        raise typer.BadParameter("kind must be 'students' or 'staff'")
    text = path.read_text(encoding="utf-8-sig")

    async def go() -> None:
        reg = await bootstrap(RegistrySettings())
        try:
            svc = reg.service
            do = svc.import_students if kind == "students" else svc.import_staff
            with console.status(f"importing {path.name}…"):
                result = await do(text)
            print(
                json.dumps(
                    {"rows": result.rows, "events": result.events, "by_type": result.by_type}
                )
            )
        finally:
            await reg.close()

    try:
        asyncio.run(go())
    except ImportRejectedError as exc:
        for e in exc.errors[:50]:
            console.print(f"[red]row {e.row}[/red], field [bold]{e.field}[/bold]: {e.message}")
        console.print(f"{len(exc.errors)} error(s); nothing was imported.")
        raise typer.Exit(2) from exc


@app.command("replay")
def replay_roster(
    swap: Annotated[
        bool,
        typer.Option(
            "--swap",
            help="Swap the rebuilt model in for the live one when the rebuild is complete.",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the rebuild.")] = 600,
) -> None:
    """Rebuild the roster from offset 0 into a fresh schema and compare it with the live one.

    Never writes to the live schema. Exits 0 when equal, 3 when different (unless swapped),
    1 when the rebuild could not complete or the swap was refused.
    """
    settings = RegistrySettings()

    async def rebuild(pool: asyncpg.Pool) -> int:
        roster_model = replay.Projection(
            topics=(settings.topic,),
            live_schema=roster.LIVE_SCHEMA,
            live_group=roster.GROUP,
            create_tables=roster.create_tables,
            digest=roster.digest,
            tables=roster.TABLES,
            consumer=lambda group, schema: roster_consumer(
                settings, pool, group=group, schema=schema
            ),
        )
        return await replay_run.replay_projection(
            pool,
            settings.kafka_bootstrap_servers,
            roster_model,
            swap_in=swap,
            deadline=time.monotonic() + timeout,
            console=console,
        )

    url = service_database_url(settings.database_url, settings.database_name)
    raise typer.Exit(replay_run.run(url, "registry", rebuild, console))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
