"""The machinery the OpenAPI fuzz tests share (schemathesis + hypothesis over real HTTP): who
calls, what each call answered, the ids handed out, the time budget, and driving an operation.
Each service's fuzz test says what its service really has (ids, bodies) and what to assert."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import asyncpg
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.kafka_reader import read_all
from tests.support.waiting import caught_up, eventually
from tongxin_contracts import dlq_topic

EXAMPLES = 60  # at most, per operation and caller
PROBLEM = "application/problem+json"
# Refusals a handler makes once the request is valid (a request-validation 422 lists `errors`).
HANDLER_REFUSALS = (403, 404, 409, 422, 429)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    staff_ref: str | None = None  # school staff: the token's subject
    role: str | None = None  # …in the role they would visit in
    share: float = 1.0  # of the fuzzing budget


class Fuzz:
    """Calls made, ids handed out, and what went wrong, by the fuzzing thread; and its share of
    the budget."""

    def __init__(
        self,
        base_url: str,
        callers: dict[str, Caller],
        ids: dict[str, list[str]],
        shares: float,
        *,
        budget: float,
        harvests: dict[str, str],
    ) -> None:
        self.base_url = base_url
        self.callers = callers
        self.ids = ids
        self.session = requests.Session()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.past_validation: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []
        self.accepted: list[str] = []  # commands the service took
        self.strategies: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self.shares_left = shares
        self.harvests = harvests  # response field → the id it names
        self.deadline = time.monotonic() + budget
        self.slice_ends = 0.0

    def next_slice(self, share: float) -> None:
        """The next operation and caller get their share of the time left."""
        now = time.monotonic()
        left = max(self.deadline - now, 0.0)
        self.slice_ends = now + left * share / max(self.shares_left, share)
        self.shares_left -= share

    def in_time(self) -> bool:
        return time.monotonic() < self.slice_ends

    def record(self, label: str, who: str, request: Any, response: Any) -> None:
        status: int = response.status_code
        ctype = response.headers.get("content-type", [""])[0]
        self.calls[(label, who)] += 1
        self.statuses[(label, status)] += 1
        if 200 <= status < 300 or (
            status in HANDLER_REFUSALS and ctype == PROBLEM and "errors" not in response.json()
        ):
            self.past_validation[label] += 1
        if 200 <= status < 300 and ctype == "application/json":
            self.harvest(response.json())
        if 200 <= status < 300 and request.method != "GET":
            self.accepted.append(
                f"{who}: {request.method} {request.url} body={str(request.body)[:1500]!r}"
            )
        wrong = ""
        if status >= 500:
            wrong = "a 5xx"
        elif status >= 400 and ctype != PROBLEM:
            wrong = f"an error that is not problem+json ({ctype!r})"
        if wrong:
            key = request.headers.get("Idempotency-Key")
            self.failures.append(
                f"{wrong} as {who}: {request.method} {request.url} "
                f"idempotency_key={key!r} body={str(request.body)[:600]!r} "
                f"→ {status} {response.text[:300]!r}"
            )

    def harvest(self, body: Any) -> None:
        """An id the service handed out (a field named in ``harvests``, a string or a list of
        them) becomes an id to fuzz with."""
        if not isinstance(body, dict):
            return
        for field, name in self.harvests.items():
            found = body.get(field)
            for value in found if isinstance(found, list) else [found]:
                if isinstance(value, str) and value not in self.ids[name]:
                    self.ids[name].append(value)


def real_ids(ids: dict[str, list[str]], path: str) -> st.SearchStrategy[dict[str, str]]:
    names = re.findall(r"{(\w+)}", path)
    return st.fixed_dictionaries({n: st.sampled_from(list(ids[n] or ["none"])) for n in names})


class OutOfTime(BaseException):
    """This drive's share of the budget is spent (a BaseException: hypothesis lets it through
    at once, where it would shrink an Exception)."""


def drive(
    fuzz: Fuzz, share: float, strategy: st.SearchStrategy[Any], send: Callable[[Any], None]
) -> None:
    """Send up to ``EXAMPLES`` values drawn from ``strategy``: at least one, then while this
    drive's share of the budget lasts."""
    fuzz.next_slice(share)
    sent = 0

    @FUZZ
    @given(value=strategy)
    def run(value: Any) -> None:
        nonlocal sent
        if sent and not fuzz.in_time():
            raise OutOfTime
        sent += 1
        send(value)

    with contextlib.suppress(OutOfTime):
        run()


def with_ids(fuzz: Fuzz, op: Any, ids: dict[str, str]) -> st.SearchStrategy[Any]:
    """Generated requests to these real ids (made once per operation and ids: it is slow)."""
    key = (op.label, tuple(sorted(ids.items())))
    if key not in fuzz.strategies:
        fuzz.strategies[key] = op.as_strategy(path_parameters=ids)
    strategy: st.SearchStrategy[Any] = fuzz.strategies[key]
    return strategy


def with_body(op: Any, pick: tuple[dict[str, str], dict[str, Any]]) -> Any:
    return op.Case(path_parameters=pick[0], body=pick[1], media_type="application/json")


def with_query(op: Any, pick: tuple[dict[str, str], dict[str, str]]) -> Any:
    return op.Case(path_parameters=pick[0], query=pick[1])


def call(fuzz: Fuzz, who: str, case: Any) -> None:
    try:
        r = case.call(
            base_url=fuzz.base_url,
            session=fuzz.session,
            headers=fuzz.callers[who].headers,
            timeout=30,
        )
    except requests.RequestException as exc:
        fuzz.failures.append(f"{case.operation.label} as {who}: no answer: {exc!r}")
        return
    fuzz.record(case.operation.label, who, r.request, r)


def operations(base_url: str) -> tuple[list[Any], list[str]]:
    """The served OpenAPI's operations, and those it cannot describe."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=10)
    found, broken = [], []
    for result in schema.get_all_operations():
        if hasattr(result, "ok"):
            found.append(result.ok())
        else:
            broken.append(f"an operation the schema cannot describe: {result.err()!r}")
    return found, broken


Bodies = Mapping[str, st.SearchStrategy[dict[str, Any]]]
EdgeQuery = Mapping[str, st.SearchStrategy[str]]


def strategies_for(op: Any, fuzz: Fuzz, bodies: Bodies, edges: EdgeQuery) -> st.SearchStrategy[Any]:
    """Generated requests, and requests with the ids, bodies and calendar edges we have."""
    ids = fuzz.ids
    generated = [op.as_strategy(mode) for mode in schemathesis.GenerationMode]
    ours = []
    if "{" in op.path:  # real ids (students, pairings, referrals…): handlers get past the 404
        ours.append(real_ids(ids, op.path).flatmap(partial(with_ids, fuzz, op)))
    if op.path in bodies:  # …and real staff, carers, classes in the body
        ours.append(st.tuples(real_ids(ids, op.path), bodies[op.path]).map(partial(with_body, op)))
    query = {p.name: edges[p.name] for p in op.query if p.name in edges}
    if query:  # …and the ends of the calendar in the query
        ours.append(
            st.tuples(real_ids(ids, op.path), st.fixed_dictionaries({}, optional=query)).map(
                partial(with_query, op)
            )
        )
    # Half the draws are schemathesis' own; half, where there are any, are ours.
    return st.one_of(st.one_of(*generated), *([st.one_of(*ours)] if ours else []))


def fuzz_operations(fuzz: Fuzz, ops: list[Any], bodies: Bodies, edges: EdgeQuery) -> None:
    """Every operation under every caller."""
    for op in ops:
        for who, me in fuzz.callers.items():
            strategy = strategies_for(op, fuzz, bodies, edges)
            drive(fuzz, me.share, strategy, partial(call, fuzz, who))


async def dead_letters(
    pool: asyncpg.Pool, group: str, topic: str, kafka: str, accepted: list[str]
) -> list[str]:
    """Once the outbox is relayed and the read model (consumer ``group``) has read ``topic``:
    what it dead-lettered, with the accepted commands that name the event's stream."""
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM outbox"),
        lambda n: n == 0,
        what=f"the outbox of {topic} relayed",
    )
    await eventually(
        lambda: caught_up(pool, group, topic, kafka),
        lambda done: done,
        what=f"{group} caught up with {topic}",
    )
    out = []
    for record in await read_all(kafka, dlq_topic(topic, group)):
        h = dict(record.headers)
        stream = (record.key or b"").decode()
        out.append(
            f"{h.get('ce_type', b'?').decode()} on {stream}: "
            f"{h.get('dlq_error', b'?').decode()[:300]}"
        )
        out += [f"    after {command}" for command in accepted if stream[-12:] in command]
    return out


# --- strategies every service's fuzz draws from ----------------------------------------------

YEARS = st.one_of(st.integers(0, 9999), st.sampled_from([0, 1, 2000, 2099, 9998, 9999]))
TEXT = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)


def days(today: date, *, ahead: int) -> st.SearchStrategy[date]:
    """Days near ``today`` (400 back, ``ahead`` on), any day, and the ends of the calendar."""
    return st.one_of(
        st.just(today),
        st.dates(min_value=today - timedelta(days=400), max_value=today + timedelta(days=ahead)),
        st.dates(),
        st.dates(max_value=date(1, 1, 31)),
        st.dates(min_value=date(9999, 12, 1)),
    )


def school_years(year: str) -> st.SearchStrategy[str]:
    """``year``, school years of any year, and pairs of years that are none."""
    return st.one_of(
        st.just(year),
        YEARS.filter(lambda y: y < 9999).map(lambda y: f"{y:04d}-{y + 1:04d}"),
        st.tuples(YEARS, YEARS).map(lambda ys: f"{ys[0]:04d}-{ys[1]:04d}"),
    )


def iso(values: st.SearchStrategy[date]) -> st.SearchStrategy[str]:
    return values.map(date.isoformat)


def values(enum: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([v.value for v in enum])


# --- a fuzz run and its verdict -----------------------------------------------------------------


@dataclass
class Fuzzed:
    fuzz: Fuzz
    labels: list[str]  # the operations the schema lists
    took: float  # seconds of fuzzing


async def fuzz_service(
    base_url: str,
    callers: dict[str, Caller],
    ids: dict[str, list[str]],
    *,
    budget: float,
    harvests: dict[str, str],
    bodies: Bodies,
    edges: EdgeQuery,
) -> Fuzzed:
    """Every operation of the served OpenAPI under every caller, within ``budget`` seconds."""
    ops, broken = await asyncio.to_thread(operations, base_url)
    shares = len(ops) * sum(c.share for c in callers.values())
    fuzz = Fuzz(base_url, callers, ids, shares, budget=budget, harvests=harvests)
    fuzz.failures += broken
    started = time.monotonic()
    await asyncio.to_thread(fuzz_operations, fuzz, ops, bodies, edges)
    return Fuzzed(fuzz, sorted(op.label for op in ops), time.monotonic() - started)


async def assert_fuzzed_well(
    run: Fuzzed,
    *,
    pool: asyncpg.Pool,
    group: str,
    topic: str,
    kafka: str,
    setup_failures: list[str],
    min_operations: int,
    budget: float,
) -> None:
    """No answer may be a 5xx, every 4xx must be problem+json (nor may the setup have met a
    5xx; parts missing are fine), and every command the service accepted must reach its read
    model: the projection (``group``) dead-letters nothing. The fuzzing is bounded in time (a
    budget shared among operations and callers); at least ``min_operations`` operations, each
    called by every caller, and each answered past request validation at least once, so that
    the test cannot pass without having reached the handlers."""
    fuzz, labels, took = run.fuzz, run.labels, run.took
    dead = await dead_letters(pool, group, topic, kafka, fuzz.accepted)
    bad = [f"{len(fuzz.failures)} bad answers:", *fuzz.failures[:40]] if fuzz.failures else []
    bad += [f for f in setup_failures if re.search(r"→ 5\d\d", f)]
    if dead:
        bad += ["accepted commands the read model could not project (dead-lettered):", *dead[:40]]
    assert not bad, "\n".join(bad)
    calls = sum(fuzz.calls.values())
    print(f"fuzzed {len(labels)} operations with {calls} calls in {took:.1f}s")
    for op in labels:
        seen = sorted((status, n) for (label, status), n in fuzz.statuses.items() if label == op)
        print(f"  {op}: {seen}")
    assert len(labels) >= min_operations, f"the schema lists only {labels}"
    assert took < budget + 30, f"fuzzing took {took:.1f}s"
    unexercised = [(op, who) for op in labels for who in fuzz.callers if not fuzz.calls[(op, who)]]
    assert not unexercised, f"never called: {unexercised}"
    never_past = [op for op in labels if not fuzz.past_validation[op]]
    assert not never_past, f"never past validation: {never_past}; {sorted(fuzz.statuses.items())}"
