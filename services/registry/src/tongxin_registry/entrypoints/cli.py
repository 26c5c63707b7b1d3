"""``tongxin-registry``: serve the API, run the worker, import a roster from the shell."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints import worker

app = typer.Typer(help="Tongxin registry service", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP API (default 127.0.0.1:8001)."""
    settings = RegistrySettings()
    from tongxin_registry.entrypoints.api import create_app

    uvicorn.run(create_app(settings), host=host or settings.http_host,
                port=port or settings.http_port, log_level="warning")


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
            print(json.dumps({"rows": result.rows, "events": result.events,
                              "by_type": result.by_type}))
        finally:
            await reg.close()

    try:
        asyncio.run(go())
    except ImportRejectedError as exc:
        for e in exc.errors[:50]:
            console.print(f"[red]row {e.row}[/red], field [bold]{e.field}[/bold]: {e.message}")
        console.print(f"{len(exc.errors)} error(s); nothing was imported.")
        raise typer.Exit(2) from exc


def main() -> None:
    app()


if __name__ == "__main__":
    main()
