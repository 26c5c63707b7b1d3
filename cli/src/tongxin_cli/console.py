"""Output and failure for operators: rich consoles, one-line errors, exit codes, no tracebacks.

Consoles are made per call (never at import): the test runner and pipes swap ``sys.stdout``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

# A table of audit rows is wider than the 80 columns rich assumes for a pipe or a file.
PIPE_WIDTH = 200


class OperatorError(Exception):
    """Something the operator can act on: printed as one line, then exit with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def out() -> Console:
    """The console for results (stdout)."""
    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return Console(highlight=False)
    return Console(highlight=False, width=PIPE_WIDTH)


def err() -> Console:
    """The console for progress, warnings and errors (stderr)."""
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command with ``message`` (inside ``operator_errors``/``run``)."""
    raise OperatorError(message, code)


def exit_with(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as the command's one-line error and exit with ``code``."""
    err().print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def without_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:***@h/db``: URLs get printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def one_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def describe(exc: BaseException) -> str:
    """A one-line account of an infrastructure failure nobody translated closer to its cause."""
    if isinstance(exc, KafkaError):
        return f"Kafka: {one_line(str(exc)) or type(exc).__name__}"
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        return f"PostgreSQL: {one_line(str(exc)) or type(exc).__name__}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {one_line(str(exc))}"


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn failures into a red line on stderr and a non-zero exit code.

    ``TONGXIN_DEBUG=1`` re-raises unexpected errors so a developer gets the traceback.
    """
    try:
        yield
    except OperatorError as exc:
        exit_with(str(exc), exc.code)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("TONGXIN_DEBUG") == "1":
            raise
        exit_with(describe(exc))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async command body with operator-friendly errors."""
    with operator_errors():
        return asyncio.run(coro)
    raise AssertionError("unreachable")  # pragma: no cover - operator_errors always re-raises
