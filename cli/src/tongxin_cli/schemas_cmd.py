"""``tongxin schemas``: write the JSON Schemas of every event; ``--check`` is the guard that the
committed schemas are exactly what the contracts' code produces (run by ``make test``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tongxin_cli.console import exit_with, out
from tongxin_contracts import default_registry
from tongxin_contracts.schemas import write_schemas
from tongxin_platform.testing import repo_root

DEFAULT_OUT = Path("contracts/schemas")


@dataclass(frozen=True)
class SchemaDiff:
    changed: list[str]  # generated, and the file in --out has other bytes
    missing: list[str]  # generated, absent from --out
    extra: list[str]  # in --out, no longer generated (an event or version was removed)

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"differs:  {p}" for p in self.changed]
            + [f"missing:  {p}" for p in self.missing]
            + [f"stale:    {p}" for p in self.extra]
        )


def _json_files(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*.json"))
        if p.is_file()
    }


def compare(generated: Path, committed: Path) -> SchemaDiff:
    """Compare the ``*.json`` files of two directory trees, byte for byte."""
    want, have = _json_files(generated), _json_files(committed)
    return SchemaDiff(
        changed=sorted(p for p in want if p in have and have[p] != want[p]),
        missing=sorted(p for p in want if p not in have),
        extra=sorted(p for p in have if p not in want),
    )


def diff_against(out_dir: Path) -> SchemaDiff:
    """What ``write_schemas`` would change in ``out_dir`` (it writes into a scratch directory)."""
    with tempfile.TemporaryDirectory(prefix="tongxin-schemas-") as scratch:
        write_schemas(default_registry(), Path(scratch))
        return compare(Path(scratch), out_dir)


def resolve_out(out_dir: Path | None) -> Path:
    if out_dir is not None:
        return out_dir
    try:
        return repo_root() / DEFAULT_OUT
    except FileNotFoundError:
        exit_with("not inside a Tongxin checkout: pass --out DIR", 2)


def schemas(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            file_okay=False,
            help="Where the schemas live (default: contracts/schemas of this checkout).",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 listing files that differ from the code."
        ),
    ] = False,
) -> None:
    """Write the JSON Schema of every event (and the AsyncAPI document) from the contracts."""
    target = resolve_out(out_dir)
    console = out()
    try:
        diff = diff_against(target)
        if check:
            if not diff.clean:
                for line in diff.lines():
                    console.print(line)
                exit_with(
                    f"{len(diff.lines())} schema file(s) in {target} differ from the "
                    "contracts: run `tongxin schemas` and commit the result (a changed "
                    "event needs a new version)"
                )
            console.print(
                f"schemas in {target} match the contracts ({len(_json_files(target))} file(s))"
            )
            return
        written = write_schemas(default_registry(), target)
    except OSError as exc:
        exit_with(f"cannot write schemas to {target}: {exc.strerror or exc}")
    for line in diff.lines():
        if not line.startswith("stale"):
            console.print(line.replace("differs:", "updated:").replace("missing:", "added:  "))
    for p in diff.extra:
        console.print(
            f"[yellow]stale:    {p}[/yellow] (no event produces it; delete it if the "
            "removal is intended)"
        )
    console.print(
        f"wrote {len(written)} schema file(s) to {target} "
        f"({len(diff.changed) + len(diff.missing)} changed)"
    )
