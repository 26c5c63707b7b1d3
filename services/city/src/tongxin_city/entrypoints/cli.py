"""``tongxin-city``: serve the API, run the worker, rebuild a read model (the kit's commands)."""

from __future__ import annotations

from tongxin_city.bootstrap import SERVICE
from tongxin_city.entrypoints.api import create_app
from tongxin_platform.cli import service_cli

app = service_cli(SERVICE, create_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
