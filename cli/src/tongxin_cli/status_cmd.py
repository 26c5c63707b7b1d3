"""``tongxin status``: is each service up? Its API's readiness (database and broker), its
worker's relay, consumer groups and polling parts (deadlines, notifications: alive or stale,
from their heartbeats), each group's lag and the messages to people failed or pending, asked
from each service's ``/ready``. Exits 1 when anything is down or stale."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from tongxin_cli.console import err, exit_with, one_line, out
from tongxin_cli.infra_cmds import service_command
from tongxin_cli.stores import SERVICES


def _url_of(service: str) -> str | None:
    """Where the service's API answers, per ``tongxin-<service> url``; None if not installed."""
    command = service_command(service)
    if command is None:
        return None
    result = subprocess.run(  # noqa: S603 - the service's own command
        [command, "url"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        exit_with(f"tongxin-{service} url failed: {one_line(result.stderr)}")
    return result.stdout.strip() or None


async def _ready(client: httpx.AsyncClient, url: str) -> tuple[str, dict[str, Any]]:
    """("ready" | "not ready" | "unreachable", the body of /ready)."""
    try:
        response = await client.get(f"{url.rstrip('/')}/ready")
    except httpx.HTTPError as exc:
        return "unreachable", {"detail": one_line(str(exc)) or type(exc).__name__}
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"detail": one_line(response.text)}
    return ("ready" if response.status_code == 200 else "not ready"), body


def _rows(service: str, state: str, body: dict[str, Any]) -> tuple[list[list[str]], bool]:
    """Table rows of one service, and whether all is well."""
    checks = body.get("checks") or {k: body[k] for k in ("database", "kafka") if k in body}
    deps = ", ".join(f"{k} {v}" for k, v in checks.items()) or body.get("detail", "")
    rows = [[service, "API", state, deps, ""]]
    ok = state == "ready"
    workers = body.get("workers")
    if not isinstance(workers, dict):
        why = "the API did not answer" if state == "unreachable" else "database unreachable"
        rows.append([service, "worker", "unknown", f"no liveness: {why}", ""])
        return rows, False
    parts: list[tuple[str, dict[str, Any]]] = []
    if workers.get("relay") is not None:
        parts.append(("relay", workers["relay"]))
    parts += [(f"group {g}", e) for g, e in sorted((workers.get("consumers") or {}).items())]
    parts += sorted((workers.get("loops") or {}).items())
    for name, entry in parts:
        age = entry.get("age_seconds")
        beat = "never" if age is None else f"{age:g} s ago"
        lag = entry.get("lag")
        alive = bool(entry.get("alive"))
        rows.append(
            [
                service,
                name,
                "alive" if alive else "STALE",
                f"last beat {beat}",
                "" if "lag" not in entry else ("?" if lag is None else str(lag)),
            ]
        )
    messages = workers.get("notifications")
    if isinstance(messages, dict) and (messages.get("failed") or messages.get("pending")):
        failed = messages.get("failed") or 0
        rows.append(
            [
                service,
                "messages",
                "FAILED" if failed else "pending",
                f"{failed} failed, {messages.get('pending') or 0} pending (GET /notifications)",
                "",
            ]
        )
    return rows, ok and bool(workers.get("alive"))


async def _ask(urls: dict[str, str], wait: float) -> list[tuple[str, str, dict[str, Any]]]:
    async with httpx.AsyncClient(timeout=wait) as client:
        answers = await asyncio.gather(*(_ready(client, u) for u in urls.values()))
    return [(s, state, body) for s, (state, body) in zip(urls, answers, strict=True)]


def status(
    services: Annotated[
        list[str] | None,
        typer.Argument(help="Services to ask (default: every one installed here)."),
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="SERVICE=URL of a service's API (default: what `tongxin-<service> url` says).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.5, help="Seconds to wait for each API.")] = 15,
) -> None:
    """API readiness, worker liveness (relay, consumer groups) and lag of each service.

    Exits 1 when an API is not ready or unreachable, or a relay or consumer group is stale.
    """
    given: dict[str, str] = {}
    for item in url or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            exit_with(f"--url: expected SERVICE=URL, got {item!r}", 2)
        given[name] = value
    names = list(services or []) or ([] if given else list(SERVICES))
    urls = dict(given)
    for s in names:
        if s not in urls:
            found = _url_of(s)
            if found is None:
                if services:
                    exit_with(f"no command tongxin-{s} (or no API port): pass --url {s}=URL")
                continue
            urls[s] = found
    if not urls:
        exit_with("no service to ask: name one, or pass --url SERVICE=URL", 2)
    table = Table("service", "part", "state", "detail", "lag")
    well = True
    for service, state, body in asyncio.run(_ask(urls, timeout)):
        rows, ok = _rows(service, state, body)
        well = well and ok
        for row in rows:
            table.add_row(*row)
    out().print(table)
    if not well:
        err().print("[red]not all is well:[/red] an API is not ready or a worker part is stale")
        raise typer.Exit(1)
