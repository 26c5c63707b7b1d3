"""The run over every cell of an authorization matrix (tests/support/matrix.py), and the access
log it must leave: what the wellbeing and safety matrices (and every later service's) share.

The registry's matrix, older, runs its own loop on the same checks: its allowed cells are exactly
200 and its one-time command (leave) a 404 after the first, stricter than the run here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
from fastapi import FastAPI

from tests.support.matrix import (
    DISTRICT,
    Caller,
    Endpoint,
    Request,
    Where,
    cells_of,
    check_like_missing,
    check_problem,
    check_refusal,
    refused_by_the_rules,
    route_gaps,
    served_routes,
)


@dataclass
class Outcome:
    """What a run over the cells found: the wrong cells, and who read records of the access log."""

    wrong: list[str]
    readers: set[str] = field(default_factory=set)  # allowed, and read someone's record
    refused_readers: set[str] = field(default_factory=set)  # refused a logged read
    checked: int = 0


async def run_matrix(
    app: FastAPI,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    endpoints: Sequence[Endpoint],
    callers: Sequence[Caller],
    *,
    setup_failures: Sequence[str],
    setup_actors: set[str],
    token: Callable[[Caller, str], str],
    subject: Callable[[Caller, str], str],
    request_for: Callable[[str, Caller], Request],
    check_ok: Callable[[Endpoint, Caller, str, httpx.Response], str | None],
    reads: Callable[[httpx.Response], bool],
    ids: Collection[str],
    of_record: str,
    a_read_of: str | None = None,
) -> Outcome:
    """Every cell of every served endpoint, in order: Y a 2xx that ``check_ok`` accepts (or,
    for a ``once`` command after its first allowed cell or a ``refusable`` one, a refusal by
    the rules); R, S and the ``of_record`` letters a 403 (``check_refusal``); N a 404 exactly
    like the answer for the ``ids`` that do not exist. An endpoint not served is skipped (the
    routes the matrix and the app do not share are reported, ``route_gaps``, with what went
    wrong in the setup). Then the access log (``access_log_wrong``); ``a_read_of``: what an
    allowed read reads, when at least one must have run. The outcome, for more checks
    (``assert_no_wrong``)."""
    outcome = Outcome([*setup_failures, *route_gaps(app, endpoints)])
    routes = served_routes(app)
    for e in endpoints:
        if (e.method, e.route) not in routes:
            continue
        allowed_so_far = 0
        for caller, side, code in cells_of(callers, e.column):
            method, path, kwargs = request_for(e.column, caller)
            headers = {"Authorization": f"Bearer {token(caller, side)}"}
            r = await http.request(method, path, headers=headers, **kwargs)
            outcome.checked += 1
            cell = f"{e.column} {e.method} {path} as {caller.label}/{side}:"
            if e.logged and code != "Y":
                outcome.refused_readers.add(subject(caller, side))
            elif e.logged and reads(r):
                outcome.readers.add(subject(caller, side))
            problem: str | None
            if code == "Y":
                later = (e.once and allowed_so_far > 0) or e.refusable
                allowed_so_far += 1
                if later and refused_by_the_rules(r):
                    continue  # authorised, then refused by the rules: the record changed once
                if not 200 <= r.status_code < 300:
                    outcome.wrong.append(f"{cell} expected 2xx, got {r.status_code} {r.text[:300]}")
                    continue
                problem = check_ok(e, caller, side, r)
            else:
                want = 404 if code == "N" else 403
                if r.status_code != want:
                    outcome.wrong.append(
                        f"{cell} expected {want} ({code}), got {r.status_code} {r.text[:300]}"
                    )
                    continue
                if want == 403:
                    problem = check_refusal(e.rule, caller, code, r, of_record=of_record)
                else:
                    problem = check_problem(r, 404) or await check_like_missing(
                        http, r, request_for(e.column, caller), token(caller, side), ids
                    )
            if problem:
                outcome.wrong.append(f"{cell} {r.status_code} but {problem}")
    if a_read_of is not None and not outcome.readers:
        outcome.wrong.append(f"no allowed read of {a_read_of} ran")
    # Every allowed read of a record is in the access log — and no refused one.
    outcome.wrong += await access_log_wrong(pool, outcome, setup_actors)
    return outcome


async def access_log_wrong(
    pool: asyncpg.Pool, outcome: Outcome, setup_actors: set[str]
) -> list[str]:
    """Every allowed read of a record is in the access log — and no refused one (unless its
    subject also read while the records were set up)."""
    logged = {r["actor"] for r in await pool.fetch("SELECT DISTINCT actor FROM access_log")}
    wrong = []
    if missing := outcome.readers - logged:
        wrong.append(f"allowed readers missing from the access log: {sorted(missing)}")
    if leaked := (logged - outcome.readers) & (outcome.refused_readers - setup_actors):
        wrong.append(f"refused readers in the access log: {sorted(leaked)}")
    return wrong


def other_district_entries(where: Where, r: httpx.Response) -> str | None:
    """The kit's lists (access log, notifications, inbox) hold the caller's own district's
    entries only: every record of the matrices is in DISTRICT, so another district sees none."""
    entries = r.json()
    if where[0] not in (None, DISTRICT) and entries:
        return f"{len(entries)} entries of another district, e.g. {entries[0]}"
    return None


def assert_no_wrong(outcome: Outcome) -> None:
    wrong = outcome.wrong
    assert not wrong, f"{len(wrong)} wrong of {outcome.checked} cells run:\n" + "\n".join(wrong)
