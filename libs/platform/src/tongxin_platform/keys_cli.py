"""``tongxin-<service> keys init | rotate | rewrap | status | retire``: the master keys that wrap
the service's subject keys (``tongxin_platform.keyring``).

Rotation: ``keys rotate`` adds a master key, makes it current and rewraps this service's data
keys; every other service sharing the keyring runs ``keys rewrap``; running services wrap new
keys with the new master key once restarted (until then ``keys rewrap`` again); when ``keys
status`` shows no data key under the old id in any service, ``keys retire <id>`` deletes it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import typer
from rich.console import Console

from tongxin_platform.crypto import key_counts, rewrap
from tongxin_platform.keyring import (
    LocalKeyring,
    forget_keyrings,
    keyring_directory,
    keyring_of,
    retire,
    rotate,
)
from tongxin_platform.secrets import InsecureSettingError
from tongxin_platform.service import Service, prepare_database
from tongxin_platform.settings import ServiceSettings

console = Console(stderr=True)


def refuse_insecure(settings: ServiceSettings) -> None:
    """Exit 2 with the reason when the settings' secrets are unfit (``check_secrets``)."""
    try:
        settings.check_secrets()
    except InsecureSettingError as exc:
        _error(str(exc))
        raise typer.Exit(2) from exc


def keys_app(service: Service) -> typer.Typer:
    app = typer.Typer(
        help="The master keys that wrap the subject keys: init, rotate, rewrap, status, retire",
        no_args_is_help=True,
    )

    def settings() -> ServiceSettings:
        s = service.settings()
        try:
            keyring_directory(s)
        except InsecureSettingError as exc:
            _error(str(exc))
            raise typer.Exit(2) from exc
        return s

    async def _rewrap(s: ServiceSettings) -> tuple[int, dict[str, int]]:
        url = await prepare_database(service, s)
        conn = await asyncpg.connect(url)
        try:
            n = await rewrap(conn, keyring_of(s))
            return n, await key_counts(conn)
        finally:
            await conn.close()

    def _run_rewrap(s: ServiceSettings) -> None:
        refuse_insecure(s)
        n, counts = asyncio.run(_rewrap(s))
        console.print(f"{service.name}: {n} data keys rewrapped under {keyring_of(s).current_id}")
        _print_counts(counts)

    @app.command("init")
    def init() -> None:
        """Create the keyring (TONGXIN_KEYRING_DIR) with its first master key; an existing one
        is left as it is."""
        s = settings()
        directory = keyring_directory(s)
        keyring = LocalKeyring.create(directory)
        console.print(f"keyring {directory}: current master key {keyring.current_id}")

    @app.command("rotate")
    def rotate_key() -> None:
        """Add a master key, make it current, and rewrap this service's data keys with it."""
        s = settings()
        directory = keyring_directory(s)
        LocalKeyring.load(directory)  # a rotation needs an existing keyring
        key_id = rotate(directory)
        forget_keyrings()
        console.print(f"keyring {directory}: new current master key {key_id}")
        _run_rewrap(s)
        console.print(
            "next: `keys rewrap` in every other service sharing this keyring, restart the "
            "services, `keys rewrap` again, then `keys retire <old id>`"
        )

    @app.command("rewrap")
    def rewrap_keys() -> None:
        """Rewrap every data key of this service not under the current master key."""
        _run_rewrap(settings())

    @app.command("status")
    def status() -> None:
        """The current master key and how many of this service's data keys each one wraps."""
        s = settings()
        refuse_insecure(s)

        async def counts() -> dict[str, int]:
            url = await prepare_database(service, s)
            conn = await asyncpg.connect(url)
            try:
                return await key_counts(conn)
            finally:
                await conn.close()

        keyring = keyring_of(s)
        console.print(f"keyring {keyring.directory}: current {keyring.current_id}")
        _print_counts(asyncio.run(counts()))

    @app.command("retire")
    def retire_key(
        key_id: Annotated[str, typer.Argument(help="The master key id to delete.")],
    ) -> None:
        """Delete an old master key. Refused while this service still has data keys under it;
        check the other services sharing the keyring with their `keys status` first."""
        s = settings()
        refuse_insecure(s)
        if key_id == keyring_of(s).current_id:
            _error(f"{key_id} is the current master key: rotate first")
            raise typer.Exit(1)

        async def count() -> int:
            url = await prepare_database(service, s)
            conn = await asyncpg.connect(url)
            try:
                return (await key_counts(conn)).get(key_id, 0)
            finally:
                await conn.close()

        left = asyncio.run(count())
        if left:
            _error(
                f"{left} data keys of {service.name} are still wrapped by {key_id}: "
                "run `keys rewrap` first"
            )
            raise typer.Exit(1)
        try:
            retire(keyring_directory(s), key_id)
        except (InsecureSettingError, FileNotFoundError) as exc:
            _error(str(exc))
            raise typer.Exit(1) from exc
        console.print(f"master key {key_id} deleted")

    return app


def _error(message: str) -> None:
    """One unwrapped line on stderr (operators and scripts grep it)."""
    typer.echo(f"error: {message}", err=True)


def _print_counts(counts: dict[str, int]) -> None:
    for master, n in counts.items():
        console.print(f"  {master}: {n} data keys")
    if not counts:
        console.print("  no data keys")
