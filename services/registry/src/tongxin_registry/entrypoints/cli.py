"""``tongxin-registry``: serve the API, run the worker, import a roster, rebuild the roster."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import uvicorn
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tongxin_platform.db import create_pool
from tongxin_platform.settings import service_database_url
from tongxin_registry.application import replay as rb
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import bootstrap, roster_consumer
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints import worker
from tongxin_registry.projections import roster

# Exit codes of ``replay``: equal, failed (rebuild incomplete, swap refused), different.
EQUAL, FAILED, DIFFERENT = 0, 1, 3

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
    try:
        code = asyncio.run(_replay(RegistrySettings(), swap=swap, seconds=timeout))
    except rb.ReplayError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(FAILED) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError) as exc:
        console.print(f"[red]error:[/red] {type(exc).__name__}: {escape(str(exc))}")
        raise typer.Exit(FAILED) from None
    raise typer.Exit(code)


async def _replay(settings: RegistrySettings, *, swap: bool, seconds: float) -> int:
    url = service_database_url(settings.database_url, settings.database_name)
    try:
        pool = await create_pool(url, min_size=1, max_size=4)
    except asyncpg.InvalidCatalogNameError:
        raise rb.ReplayError(
            f"no database {settings.database_name!r}: has the registry run?"
        ) from None
    try:
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT to_regclass('consumer_offsets')") is None:
                raise rb.ReplayError("the registry database is not migrated: start it once")
        # A pipe gets wide lines: digests are longer than 80 columns allow.
        out = Console() if sys.stdout.isatty() else Console(width=160)
        deadline = time.monotonic() + seconds
        async with rb.TopicEnds(settings.kafka_bootstrap_servers, settings.topic) as kafka:
            async with pool.acquire() as conn:
                job = await rb.fresh_rebuild(conn, settings.topic, roster.LIVE_SCHEMA, roster.GROUP)
                await roster.create_tables(conn, job.schema)
            out.print(f"rebuilding {job.topic} into {job.schema} (consumer group {job.group})")
            if not await _rebuild(pool, kafka, settings, job, deadline):
                return FAILED
        equal = await _compare(pool, job, min(deadline, time.monotonic() + 30), out)
        if swap:
            async with pool.acquire() as conn:
                await rb.swap(conn, job)
            out.print(
                f"swapped: {roster.LIVE_SCHEMA} is now the rebuilt model; the previous one "
                f"is {job.retired_schema} (drop it once you are satisfied)"
            )
            return EQUAL
        out.print(
            f"nothing dropped: the rebuilt model is schema {job.schema} (inspect it, then "
            f"DROP SCHEMA {job.schema} CASCADE, or replay with --swap)",
            soft_wrap=True,
        )
        return EQUAL if equal else DIFFERENT
    finally:
        await pool.close()


async def _rebuild(
    pool: asyncpg.Pool,
    kafka: rb.TopicEnds,
    settings: RegistrySettings,
    job: rb.Rebuild,
    deadline: float,
) -> bool:
    """Run the job's fresh consumer group into its schema until the end of the topic."""
    runtime = roster_consumer(settings, pool, group=job.group, schema=job.schema, topic=job.topic)
    progress = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    ends = await kafka.ends()
    task = asyncio.create_task(runtime.run(), name="rebuild")
    left = sum(ends.values())
    try:
        with progress:
            bar = progress.add_task("records", total=left)
            while time.monotonic() < deadline and not task.done():
                ends = await kafka.ends()
                left = rb.behind(await rb.stored_offsets(pool, job.group, job.topic), ends)
                progress.update(bar, total=sum(ends.values()), completed=sum(ends.values()) - left)
                if left == 0:
                    break
                await asyncio.sleep(0.2)
    finally:
        runtime.stop()
        await asyncio.gather(task, return_exceptions=True)
    if not task.cancelled() and task.exception() is not None:
        raise rb.ReplayError(f"the rebuild's consumer failed: {task.exception()}")
    stats = runtime.stats
    console.print(
        f"replayed: {stats.applied} applied, {stats.duplicates} duplicate(s) dropped, "
        f"{stats.dead_lettered} dead-lettered"
    )
    if left:
        console.print(
            f"[red]error:[/red] rebuild incomplete: {left} record(s) behind when time "
            f"ran out; schema {job.schema} kept, nothing swapped (try --timeout)"
        )
        return False
    return True


async def _compare(pool: asyncpg.Pool, job: rb.Rebuild, grace: float, out: Console) -> bool:
    """Print the digests of live and rebuilt, taken in one snapshot; whether they are equal."""
    rebuilt_at = await rb.stored_offsets(pool, job.group, job.topic)
    # Compare at the same offsets: give the live projection a moment to get there.
    while await rb.stored_offsets(pool, roster.GROUP, job.topic) != rebuilt_at:
        if time.monotonic() >= grace:
            break
        await asyncio.sleep(0.2)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        live_at = await rb.stored_offsets(conn, roster.GROUP, job.topic)
        if await rb.schema_exists(conn, roster.LIVE_SCHEMA):
            live = await roster.digest(conn)
        else:
            live = dict.fromkeys(roster.TABLES, "(no live schema)")
        rebuilt = await roster.digest(conn, job.schema)
    table = Table(
        "table",
        "live digest",
        "rebuilt digest",
        "",
        title_justify="left",
        title=f"{roster.LIVE_SCHEMA} vs {job.schema}",
    )
    for name in roster.TABLES:
        same = live[name] == rebuilt[name]
        table.add_row(
            name,
            live[name],
            rebuilt[name],
            "[green]equal[/green]" if same else "[red]DIFFERENT[/red]",
        )
    out.print(table)
    if live_at != rebuilt_at:
        out.print(
            f"[yellow]note:[/yellow] the live projection has applied up to "
            f"{sum(live_at.values())} record(s), the rebuild {sum(rebuilt_at.values())}: "
            "a difference may be only that (is the worker running?)"
        )
    equal = live == rebuilt
    out.print("[green]digests are equal[/green]" if equal else "[red]digests differ[/red]")
    return equal


def main() -> None:
    app()


if __name__ == "__main__":
    main()
