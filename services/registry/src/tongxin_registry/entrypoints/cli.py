"""``tongxin-registry``: serve the API, run the worker, rebuild the roster (the kit's commands),
and import a roster file straight into the store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tongxin_platform.cli import service_cli
from tongxin_platform.telemetry import configure_tracing, tracer
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import SERVICE, bootstrap
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app

app = service_cli(SERVICE, create_app)
console = Console(stderr=True)


@app.command("import")
def import_csv(
    path: Path,
    kind: Annotated[str, typer.Option(help="students or staff")] = "students",
) -> None:
    """Import a roster CSV directly into the registry's store (same rules as the HTTP import)."""
    if kind not in ("students", "staff"):
        raise typer.BadParameter("kind must be 'students' or 'staff'")
    text = path.read_text(encoding="utf-8-sig")
    configure_tracing(SERVICE.name)

    async def go() -> None:
        registry = await bootstrap(RegistrySettings())
        try:
            svc = registry.service
            do = svc.import_students if kind == "students" else svc.import_staff
            with (
                console.status(f"importing {path.name}…"),
                tracer(__name__).start_as_current_span(f"import {kind} {path.name}"),
            ):
                result = await do(text)
            print(
                json.dumps(
                    {"rows": result.rows, "events": result.events, "by_type": result.by_type}
                )
            )
        finally:
            await registry.close()

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
