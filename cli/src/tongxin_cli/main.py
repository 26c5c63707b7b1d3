"""``tongxin``: the operator's command.

It talks to services only as an operator would: over HTTP, through the platform to their
databases, or by running their own ``tongxin-<service>`` command; it imports no service.
Exit codes: 0 success, 1 failure (one line on stderr says why), 2 bad usage, 3 ``replay`` found
the rebuilt read model different from the live one.
"""

from __future__ import annotations

import logging
import os

import typer

from tongxin_cli import (
    auth_cmds,
    infra_cmds,
    schemas_cmd,
    seed_cmd,
    status_cmd,
    store_cmds,
    tail_cmd,
)

app = typer.Typer(
    name="tongxin",
    help="Operate Tongxin: infrastructure, demo data, audits, replays, topics and contracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def quiet_libraries() -> None:
    """Operate Tongxin: infrastructure, demo data, audits, replays, topics and contracts."""
    # aiokafka logs every failed connection attempt; the command says it once, in one line.
    if os.environ.get("TONGXIN_DEBUG") != "1":
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


app.command(rich_help_panel="Infrastructure")(infra_cmds.up)
app.command(rich_help_panel="Infrastructure")(infra_cmds.down)
app.command(rich_help_panel="Infrastructure")(status_cmd.status)
app.command(rich_help_panel="Data")(seed_cmd.seed)
app.command(rich_help_panel="Data")(infra_cmds.replay)
app.command(rich_help_panel="Audit")(store_cmds.audit)
app.command(rich_help_panel="Audit")(store_cmds.verify)
app.command(rich_help_panel="Audit")(tail_cmd.tail)
app.command(rich_help_panel="Contracts")(schemas_cmd.schemas)
app.add_typer(auth_cmds.token_app, rich_help_panel="Security")
app.command(rich_help_panel="Security")(auth_cmds.erase)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
