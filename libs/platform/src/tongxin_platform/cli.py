"""One command per service, built from its declaration: ``tongxin-<service> serve | worker |
replay | asyncapi``. A service adds its own commands to the Typer app this returns.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
import uvicorn
from fastapi import FastAPI
from rich.console import Console

from tongxin_contracts import default_registry
from tongxin_platform import replay, replay_run
from tongxin_platform.api import asyncapi_document
from tongxin_platform.consumer import ConsumerRuntime
from tongxin_platform.edge import SecurityHeaders, server_config
from tongxin_platform.keys_cli import keys_app, refuse_insecure
from tongxin_platform.service import Service
from tongxin_platform.settings import ServiceSettings, service_database_url
from tongxin_platform.telemetry import configure_tracing
from tongxin_platform.testing import repo_root
from tongxin_platform.worker import Worker, WorkerOptions, serve, tune_gc

console = Console(stderr=True)
REBUILD_BATCH = 5000


def service_cli(service: Service, create_app: Callable[[Any], FastAPI]) -> typer.Typer:
    """``create_app(settings)`` builds the service's API (``create_service_app`` with its
    routers)."""
    app = typer.Typer(
        help=f"{service.title}: serve, worker, replay, asyncapi, url", no_args_is_help=True
    )

    @app.command("serve")
    def serve_api(host: str | None = None, port: int | None = None) -> None:
        """Serve the HTTP API."""
        settings = service.settings()
        refuse_insecure(settings)
        configure_tracing(service.name)
        uvicorn.Server(
            server_config(
                create_app(settings),
                host or settings.http_host,
                port or settings.http_port,
            )
        ).run()

    @app.command("worker")
    def run_worker(
        relay: Annotated[bool, typer.Option(help="Run the outbox relay")] = True,
        projection: Annotated[bool, typer.Option(help="Run the projections")] = True,
        reactions: Annotated[bool, typer.Option(help="Run the reactions")] = True,
        deadlines: Annotated[bool, typer.Option(help="Fire the service's deadlines")] = True,
        notifications: Annotated[
            bool, typer.Option(help="Deliver the messages to people it queued")
        ] = True,
        port: Annotated[
            int | None, typer.Option(help="HTTP port for /metrics, /health, /asyncapi (0: none)")
        ] = None,
    ) -> None:
        """Run the outbox relay, the projections, the reactions, the deadlines and the
        delivery of notifications until SIGTERM."""
        settings = service.settings()
        refuse_insecure(settings)
        configure_tracing(service.name)
        options = WorkerOptions(
            relay=relay,
            projection=projection,
            reactions=reactions,
            deadlines=deadlines,
            notifications=notifications,
            tune_gc=True,
        )
        worker = Worker(service, settings, options)
        http = settings.worker_http_port if port is None else port
        if http and _port_free(settings.http_host, http):
            app_ = SecurityHeaders(worker.app())
            uvicorn.Server(server_config(app_, settings.http_host, http)).run()
            return
        if http:
            console.print(f"worker: port {http} is taken; running without /metrics")
        serve(worker.run)

    @app.command("replay")
    def replay_projection(
        swap: Annotated[
            bool,
            typer.Option(
                "--swap",
                help="Swap the rebuilt model in for the live one when the rebuild is complete.",
            ),
        ] = False,
        timeout: Annotated[
            float, typer.Option(min=1, help="Seconds to wait for the rebuild.")
        ] = 600,
        name: Annotated[
            str | None, typer.Option("--projection", help="Which read model (if several).")
        ] = None,
    ) -> None:
        """Rebuild a read model from offset 0 of its topics into a fresh schema and compare it
        with the live one.

        Never writes to the live schema. Exits 0 when equal, 3 when different (unless swapped),
        1 when the rebuild could not complete or the swap was refused.
        """
        settings = service.settings()
        try:
            projection = service.projection(name)
        except LookupError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        topics = tuple(t for s in projection.sources for t in settings.topics_of(s))
        projection.configure(settings)

        async def rebuild(pool: asyncpg.Pool) -> int:
            tune_gc()

            def consumer(group: str, schema: str) -> ConsumerRuntime:
                return ConsumerRuntime(
                    group=group,
                    topics=topics,
                    registry=default_registry(),
                    bootstrap=settings.kafka_bootstrap_servers,
                    pool=pool,
                    apply=projection.apply_to(schema),
                    handles=projection.handles,
                    stream_ids=settings.ledger_stream_ids(),
                    # A rebuild reads whole topics: fewer, larger transactions.
                    max_batch=max(settings.projection_batch_size, REBUILD_BATCH),
                    replication_factor=settings.topic_replication_factor,
                    span_per_event=False,
                    service=service.name,
                )

            target = replay.Target(
                topics=topics,
                live_schema=projection.schema,
                live_group=projection.group,
                create_tables=projection.create_tables,
                digest=projection.digest,
                tables=tuple(projection.tables),
                consumer=consumer,
            )
            return await replay_run.replay_projection(
                pool,
                settings.kafka_bootstrap_servers,
                target,
                swap_in=swap,
                deadline=time.monotonic() + timeout,
                console=console,
            )

        url = service_database_url(settings.database_url, settings.database_name)
        raise typer.Exit(replay_run.run(url, f"{service.name} service", rebuild, console))

    @app.command("url")
    def url(
        worker: Annotated[
            bool, typer.Option("--worker", help="The worker's HTTP port instead.")
        ] = False,
    ) -> None:
        """Print where the service's API (or its worker's /metrics) answers, per its settings."""
        settings = service.settings()
        port = settings.worker_http_port if worker else settings.http_port
        if port:
            print(f"http://{settings.http_host}:{port}")

    @app.command("asyncapi")
    def asyncapi(
        check: Annotated[
            bool, typer.Option("--check", help="Fail when the committed document differs.")
        ] = False,
        write: Annotated[
            bool, typer.Option("--write", help="Write the committed document.")
        ] = False,
        path: Annotated[Path | None, typer.Option(help="The committed document.")] = None,
    ) -> None:
        """Print the AsyncAPI document generated from the worker's FastStream app (who publishes
        what, which groups consume which topics); --write commits it, --check compares."""
        settings = _documented(service)
        text = json.dumps(asyncapi_document(Worker(service, settings)), indent=2, sort_keys=True)
        target = path or repo_root() / "contracts" / "asyncapi" / f"{service.name}.json"
        if write:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n")
            console.print(f"wrote {target}")
        elif check:
            committed = target.read_text() if target.exists() else ""
            if committed != text + "\n":
                console.print(
                    f"[red]{target} differs from the {service.name} worker's AsyncAPI[/red]"
                    f": run `uv run tongxin-{service.name} asyncapi --write` and commit it"
                )
                raise typer.Exit(1)
            console.print(f"{target} matches the {service.name} worker")
        else:
            print(text)

    app.add_typer(keys_app(service), name="keys")
    return app


def _documented(service: Service) -> ServiceSettings:
    """The settings the committed document describes: the defaults, whatever the environment
    says (a test's topics would otherwise change it)."""
    settings_class = type(service.settings())
    fields = {
        name: f.default
        for name, f in settings_class.model_fields.items()
        if name.endswith("topic") and isinstance(f.default, str)
    }
    return service.settings().model_copy(update=fields)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
