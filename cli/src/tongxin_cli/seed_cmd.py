"""``tongxin seed``: import the synthetic demo district into a running registry over HTTP."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tongxin_cli.auth_cmds import bearer_for
from tongxin_cli.console import err, exit_with, fail, one_line, operator_errors, out
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_cli.demo_city import (
    CitySpec,
    DistrictRun,
    district_specs,
    play_filings,
    roster_figures,
    summary_table,
)
from tongxin_cli.demo_committees import play_demo_year
from tongxin_cli.demo_http import APPENDED
from tongxin_cli.demo_safety import play_demo_term
from tongxin_cli.demo_visits import play_demo_semester
from tongxin_cli.demo_wellbeing import play_demo_campaign
from tongxin_platform.auth import Role

TIMEOUT = httpx.Timeout(600.0, connect=5.0)  # a large roster imports in one request
ATTEMPTS = 3


def idempotency_key(kind: str, content: bytes, run_id: str) -> str:
    """``seed-<kind>-<content hash>-<run>``: a retry inside one run gets the first answer back;
    a later run is a new request, so the registry reports what it changed *this* time."""
    return f"seed-{kind}-{hashlib.sha256(content).hexdigest()[:32]}-{run_id}"


def problem_lines(body: Any, limit: int = 5) -> list[str]:
    """The ``detail`` of a problem+json body, then its first ``limit`` errors."""
    if not isinstance(body, dict):
        return [one_line(str(body)) or "(empty response)"]
    lines = [str(body.get("detail") or body.get("title") or "request refused")]
    errors = body.get("errors") or []
    for e in errors[:limit]:
        if isinstance(e, dict):
            where = ", ".join(f"{k} {e[k]}" for k in ("row", "field") if k in e)
            lines.append(f"{where}: {e.get('message', '')}" if where else str(e.get("message")))
    if len(errors) > limit:
        lines.append(f"… and {len(errors) - limit} more error(s)")
    return lines


def post_csv(
    client: httpx.Client, url: str, kind: str, text: str, run_id: str, token: str
) -> dict[str, Any]:
    content = text.encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "content-type": "text/csv",
        "Idempotency-Key": idempotency_key(kind, content, run_id),
    }
    for attempt in range(1, ATTEMPTS + 1):
        try:
            r = client.post(f"/imports/{kind}", content=content, headers=headers)
            break
        except httpx.ConnectError:
            fail(
                f"the registry is not running at {url} (connection refused); start it with "
                "`tongxin-registry serve` or pass --registry-url"
            )
        except httpx.TimeoutException:
            fail(f"the registry at {url} did not answer the {kind} import in time")
        except httpx.TransportError as exc:
            # The connection broke after the request went out: the same key makes a retry safe.
            if attempt == ATTEMPTS:
                why = one_line(str(exc)) or type(exc).__name__
                fail(f"the {kind} import to {url} failed: {why}")
    if r.headers.get("content-type", "").startswith("application/problem+json") or r.is_error:
        try:
            body: Any = r.json()
        except ValueError:
            body = r.text
        lines = problem_lines(body)
        for line in lines[1:]:
            err().print(f"  [red]{escape(line)}[/red]")
        fail(f"the registry refused the {kind} CSV ({r.status_code}): {lines[0]}")
    data: dict[str, Any] = r.json()
    return data


def counts_table(results: dict[str, dict[str, Any]]) -> Table:
    by_type: Counter[str] = Counter()
    for result in results.values():
        by_type.update({k: int(v) for k, v in (result.get("by_type") or {}).items()})
    table = Table(title="events appended", title_justify="left")
    table.add_column("event type")
    table.add_column("count", justify="right")
    for name, n in sorted(by_type.items()):
        table.add_row(name, str(n))
    table.add_row("[bold]total[/bold]", f"[bold]{sum(by_type.values())}[/bold]")
    return table


@dataclass(frozen=True)
class Urls:
    """Where each service's HTTP API answers (a play is skipped when its URL is None)."""

    registry: str
    visits: str | None
    wellbeing: str | None
    safety: str | None
    committees: str | None
    city: str | None = None


def import_roster(spec: DemoSpec, registry_url: str, run_id: str) -> dict[str, dict[str, Any]]:
    """Import ``spec``'s students, then staff, as a bureau officer of its district
    (``TONGXIN_TOKEN`` overrides); the registry's answer to each."""
    students_csv, staff_csv = demo_roster(spec)
    results: dict[str, dict[str, Any]] = {}
    with operator_errors():
        token = bearer_for(Role.bureau_officer, spec.district)
    with operator_errors(), httpx.Client(base_url=registry_url, timeout=TIMEOUT) as client:
        for kind, text in (("students", students_csv), ("staff", staff_csv)):
            with err().status(f"{spec.district}: importing {kind}…"):
                results[kind] = post_csv(client, registry_url, kind, text, run_id, token)
    return results


def print_import(results: dict[str, dict[str, Any]]) -> None:
    console = out()
    for kind, result in results.items():
        console.print(
            f"{kind}: {result.get('rows', '?')} row(s) → {result.get('events', '?')} new event(s)"
        )
    console.print(counts_table(results))
    if sum(int(r.get("events", 0)) for r in results.values()) == 0:
        console.print("the registry already had this roster: nothing changed")


def district_phases(spec: DemoSpec, urls: Urls, run_id: str) -> list[tuple[str, Callable[[], Any]]]:
    """The plays of one district in order (name, play): the roster, then each service's demo
    (committees after visits: the visits' parent suggestions are among its feedback), then
    the city's filings."""
    d = spec.district

    def roster() -> None:
        results = import_roster(spec, urls.registry, run_id)
        APPENDED["registry"] += sum(int(r.get("events", 0)) for r in results.values())
        print_import(results)

    phases: list[tuple[str, Callable[[], Any]]] = [("roster", roster)]
    if urls.visits:
        visits = urls.visits
        phases.append(("visits", lambda: play_demo_semester(visits, urls.registry, d, spec=spec)))
    if urls.wellbeing:
        wb = urls.wellbeing
        phases.append(("wellbeing", lambda: play_demo_campaign(wb, urls.registry, d, spec=spec)))
    if urls.safety:
        safety = urls.safety
        phases.append(("safety", lambda: play_demo_term(safety, urls.registry, d, spec=spec)))
    if urls.committees:
        cm = urls.committees
        phases.append(("committees", lambda: play_demo_year(cm, urls.registry, d, spec=spec)))
    if urls.city:
        city = urls.city
        phases.append(("filings", lambda: play_filings(city, urls.registry, spec)))
    return phases


def seed_city(city: CitySpec, urls: Urls, run_id: str | None = None) -> list[DistrictRun]:
    """Seed every district of ``city`` through ``urls`` (district by district, phase by
    phase, under a progress bar per district); print and return what each district did."""
    run_id = run_id or uuid.uuid4().hex[:8]
    started = time.monotonic()
    specs = district_specs(city)
    runs: list[DistrictRun] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err()) as bar:
        plan = [(spec, district_phases(spec, urls, run_id)) for spec in specs]
        tasks = [bar.add_task(spec.district, total=len(phases)) for spec, phases in plan]
        for task, (spec, phases) in zip(tasks, plan, strict=True):
            run = DistrictRun(spec.district, roster_figures(spec))
            since, before = time.monotonic(), APPENDED.copy()
            for name, play in phases:
                bar.update(task, description=f"{spec.district} · {name}")
                began = time.monotonic()
                with operator_errors():
                    answer = play()
                run.phases[name] = time.monotonic() - began
                if name == "filings":
                    run.filings = answer
                bar.advance(task)
            bar.update(task, description=f"{spec.district} · done")
            run.events = APPENDED - before
            run.seconds = time.monotonic() - since
            runs.append(run)
    out().print(summary_table(runs, time.monotonic() - started, CitySpec()))
    return runs


def seed(
    registry_url: Annotated[
        str, typer.Option(help="The registry's HTTP API.")
    ] = "http://127.0.0.1:8001",
    schools: Annotated[
        int | None,
        typer.Option(min=1, max=999, help="Schools in the district (default 2; --city: 10 each)."),
    ] = None,
    classes: Annotated[
        int | None,
        typer.Option(min=1, max=99, help="Classes per school (default 6; --city: 30)."),
    ] = None,
    students: Annotated[
        int | None,
        typer.Option(min=1, max=9999, help="Students per class (default 40; --city: 33)."),
    ] = None,
    district: Annotated[str, typer.Option(help="District code of the demo.")] = "330106",
    visits_url: Annotated[
        str, typer.Option(help="The visits service's HTTP API (the demo semester is played there).")
    ] = "http://127.0.0.1:8003",
    visits: Annotated[
        bool, typer.Option("--visits/--no-visits", help="Play a demo semester of home visits.")
    ] = True,
    wellbeing_url: Annotated[
        str, typer.Option(help="The wellbeing service's HTTP API (the demo campaign runs there).")
    ] = "http://127.0.0.1:8004",
    wellbeing: Annotated[
        bool,
        typer.Option("--wellbeing/--no-wellbeing", help="Play a demo screening campaign (心阳光)."),
    ] = True,
    safety_url: Annotated[
        str, typer.Option(help="The safety service's HTTP API (the demo term is played there).")
    ] = "http://127.0.0.1:8005",
    safety: Annotated[
        bool,
        typer.Option("--safety/--no-safety", help="Play a demo term of child safety (护平安)."),
    ] = True,
    committees_url: Annotated[
        str,
        typer.Option(help="The committees service's HTTP API (the demo year is played there)."),
    ] = "http://127.0.0.1:8002",
    committees: Annotated[
        bool,
        typer.Option(
            "--committees/--no-committees",
            help="Play a demo year of committee work (家委会 · 家长学校).",
        ),
    ] = True,
    city: Annotated[
        bool,
        typer.Option(
            "--city",
            help="Seed a demo city: --districts districts of Hangzhou (not 330106, the demo "
            "district), each played like the demo district, and their filings to the city.",
        ),
    ] = False,
    districts: Annotated[
        int, typer.Option(min=1, max=12, help="Districts of the demo city (--city).")
    ] = 3,
    city_url: Annotated[
        str, typer.Option(help="The city service's HTTP API (--city: the filings are made there).")
    ] = "http://127.0.0.1:8020",
    filings: Annotated[
        bool, typer.Option("--filings/--no-filings", help="--city: file the districts' plans.")
    ] = True,
) -> None:
    """Import a synthetic demo district into a running registry, then play a semester of visits.

    Students first, then staff; seeding the same district again appends nothing.

    The semester of home visits (家访), the screening campaign (心阳光), the term of child
    safety (护平安) and the year of committee work (家委会 · 家长学校) are played once: a school
    with visits, a campaign, a guard post or a school committee is left as it is.

    With --city: a demo city of --districts districts (default 3 × 10 schools × 30 classes × 33
    students), each imported and played the same way, then its filings made on the city
    service (a district whose plan is filed is left as it is); a progress bar per district and
    a summary table at the end.
    """
    urls = [("--registry-url", registry_url), ("--visits-url", visits_url)]
    urls += [("--wellbeing-url", wellbeing_url), ("--safety-url", safety_url)]
    urls += [("--committees-url", committees_url), ("--city-url", city_url)]
    for option, url in urls:
        if not url.startswith(("http://", "https://")):
            exit_with(f"{option} must be an http:// or https:// URL, not {url!r}", 2)
    where = Urls(
        registry=registry_url,
        visits=visits_url if visits else None,
        wellbeing=wellbeing_url if wellbeing else None,
        safety=safety_url if safety else None,
        committees=committees_url if committees else None,
        city=city_url if filings else None,
    )
    if city:
        size = CitySpec(districts=districts)
        size = CitySpec(
            districts=districts,
            schools=schools or size.schools,
            classes=classes or size.classes,
            students=students or size.students,
        )
        seed_city(size, where)
        return
    schools, classes, students = schools or 2, classes or 6, students or 40
    spec = DemoSpec(
        district=district,
        schools=schools,
        classes_per_school=classes,
        students_per_class=students,
        # The last school of a district of several lacks a school doctor and a counselling
        # room: the wellbeing team's gaps show.
        school_doctors=max(1, schools - 1),
        counselling_rooms=schools - 1 if schools > 1 else None,
    )
    # The demo district: no filings (the city's demo districts file theirs).
    for _, play in district_phases(spec, replace(where, city=None), uuid.uuid4().hex[:8]):
        with operator_errors():
            play()
