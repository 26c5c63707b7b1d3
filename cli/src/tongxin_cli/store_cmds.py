"""``tongxin audit`` and ``tongxin verify``: a subject's full history, and proof that no stored
event was altered (every stream's hash chain recomputed from the stored bytes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tongxin_cli.console import err, exit_with, fail, out, run
from tongxin_cli.stores import check_service, connect, database_name
from tongxin_platform.eventstore import (
    ChainBrokenError,
    EventStore,
    StoredEvent,
    read_streams,
    verify_chain,
)

ServiceOpt = Annotated[str, typer.Option(help="The service whose event store to read.")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        help="The service's database (default: <SERVICE>_DATABASE_NAME, else tongxin_<service>)."
    ),
]


def short_hash(h: bytes | None, n: int = 12) -> str:
    return "-" if h is None else h.hex()[:n]


def short_type(ce_type: str) -> str:
    """``cn.tongxin.registry.StudentEnrolled.v1`` → ``StudentEnrolled.v1``."""
    parts = ce_type.split(".")
    if len(parts) == 5 and parts[:2] == ["cn", "tongxin"]:
        return ".".join(parts[3:])
    return ce_type


def utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_table(stream_id: str, events: list[StoredEvent]) -> Table:
    table = Table(title=f"{stream_id}: {len(events)} event(s)", title_justify="left")
    for name, justify in (
        ("version", "right"),
        ("position", "right"),
        ("type", "left"),
        ("recorded_at", "left"),
        ("event_id", "left"),
        ("hash", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for e in events:
        table.add_row(
            str(e.version),
            str(e.position),
            short_type(e.event_type),
            utc(e.recorded_at),
            str(e.event_id),
            short_hash(e.hash),
        )
    return table


def audit(
    stream_id: Annotated[str, typer.Argument(help="The stream, e.g. student-stu_… or school-…")],
    service: ServiceOpt = "registry",
    database: DatabaseOpt = None,
    payload: Annotated[bool, typer.Option(help="Also print each event's stored JSON.")] = False,
) -> None:
    """Show one stream's full history and verify its hash chain."""
    check_service(service)

    async def go() -> None:
        async with connect(service, database) as conn:
            events = await EventStore(topic="").load(conn, stream_id)
        if not events:
            fail(
                f"no stream {stream_id!r} in the {service} store "
                f"({database_name(service, database)}); stream ids look like student-<ref>"
            )
        console = out()
        console.print(audit_table(stream_id, events))
        if payload:
            for e in events:
                console.print(Text(f"v{e.version} {e.payload.decode('utf-8', 'replace')}"))
        try:
            verify_chain(events)
        except ChainBrokenError as exc:
            fail(f"chain broken: {exc}")
        console.print(
            f"[green]chain verifies[/green]: {len(events)} event(s), head "
            f"{short_hash(events[-1].hash, 16)}"
        )

    run(go())


@dataclass
class VerifyReport:
    streams: int = 0
    events: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)  # (stream, why)

    def check(self, events: list[StoredEvent]) -> None:
        self.streams += 1
        self.events += len(events)
        try:
            verify_chain(events)
        except ChainBrokenError as exc:
            self.broken.append((events[0].stream_id, str(exc)))


async def streams(conn: asyncpg.Connection) -> AsyncIterator[list[StoredEvent]]:
    """Every stream's events; the caller holds a transaction (server-side cursor)."""
    async for events in read_streams(conn):
        yield events


def verify(service: ServiceOpt = "registry", database: DatabaseOpt = None) -> None:
    """Recompute every stream's hash chain from the stored bytes.

    Exits 1 naming the first stream whose events were altered.
    """
    check_service(service)
    report = VerifyReport()

    async def go() -> None:
        async with (
            connect(service, database) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            total = int(await conn.fetchval("SELECT count(*) FROM events"))
            progress = Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err(),
                transient=True,
                disable=not err().is_terminal,
            )
            with progress:
                task = progress.add_task("events", total=total)
                async for events in streams(conn):
                    report.check(events)
                    progress.advance(task, len(events))

    run(go())
    name = database_name(service, database)
    console = out()
    if report.broken:
        for _, why in report.broken[:20]:
            err().print(Text(f"  broken: {why}", style="red"))
        first = report.broken[0][0]
        with_others = f" (and {len(report.broken) - 1} other(s))" if len(report.broken) > 1 else ""
        console.print(f"checked {report.streams} stream(s), {report.events} event(s) in {name}")
        exit_with(f"stream {first} does not verify{with_others}: the store was altered")
    console.print(
        f"checked {report.streams} stream(s), {report.events} event(s) in {name}: "
        "[green]every chain verifies[/green]"
    )
