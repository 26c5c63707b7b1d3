"""``tongxin-agencies``: serve the API, run the worker, rebuild the read model (the kit's
commands)."""

from __future__ import annotations

from tongxin_agencies.bootstrap import SERVICE
from tongxin_agencies.entrypoints.api import create_app
from tongxin_platform.cli import service_cli

app = service_cli(SERVICE, create_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
