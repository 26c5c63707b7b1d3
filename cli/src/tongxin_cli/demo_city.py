"""The demo city (``tongxin seed --city``): several districts of the demo roster, each played
through every service like the demo district, and the filings its bureau tracks.

A city is made from a seed: the same ``CitySpec`` gives the same districts, schools, classes,
students and staff every time (``district_specs`` → ``demo.demo_roster``). District codes are
Hangzhou's (上城 330102, 拱墅 330105, 滨江 330108, …) without 西湖 330106, ``make run``'s demo
district, which stays what it is. Every school has staff in every role and every class a child
in a special group (``DemoSpec.every_role_and_group``).

Filings (seed 000 三, seed 002 七), through the city's ``POST /filings``: each district files its
plan to the city on time; its schools file their visit plans on time, but the last but one
school files late and the last never does (a district of one school: that one files late), so
the city page shows filed, late and missing. Only days already past are filed.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import httpx
from rich.table import Table

from tongxin_cli.console import err, out
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_cli.demo_http import TIMEOUT, DemoActor, until
from tongxin_platform.auth import Role

CHINA = timezone(timedelta(hours=8))
# Hangzhou's districts and counties in the order the city adds them; 330106 (西湖) is left out:
# it is the demo district of ``make run`` (``tongxin seed``) and keeps its own roster.
HANGZHOU = (
    "330102",  # 上城区
    "330105",  # 拱墅区
    "330108",  # 滨江区
    "330109",  # 萧山区
    "330110",  # 余杭区
    "330111",  # 富阳区
    "330112",  # 临安区
    "330113",  # 临平区
    "330114",  # 钱塘区
    "330122",  # 桐庐县
    "330127",  # 淳安县
    "330182",  # 建德市
)
# The city's default deadlines (``CITY_DEADLINES__*``): month and day.
DISTRICT_PLAN_DUE = (4, 20)  # seed 000 三(一): districts' plans to the city by 20 April
SCHOOL_PLAN_DUE = (4, 28)  # seed 002 七: schools' visit plans
SUMMARY_DUE = (12, 31)  # seed 000 三(三): the December summary
FilingKind = Literal["district_plan", "school_visit_plan", "december_summary"]
Status = Literal["on_time", "late", "missing", "pending"]


@dataclass(frozen=True)
class CitySpec:
    """The size of the demo city (default: 3 districts, 30 schools, 900 classes, 29,700
    students) and the seed it is made from."""

    districts: int = 3
    schools: int = 10  # per district
    classes: int = 30  # per school
    students: int = 33  # per class
    seed: int = 2026

    def __post_init__(self) -> None:
        if not 1 <= self.districts <= len(HANGZHOU):
            raise ValueError(f"a demo city has 1 to {len(HANGZHOU)} districts")
        if min(self.schools, self.classes, self.students) < 1:
            raise ValueError("a demo city has at least one school, class and student")

    def command(self) -> str:
        """The ``tongxin seed`` command line that seeds this city."""
        return (
            f"tongxin seed --city --districts {self.districts} --schools {self.schools} "
            f"--classes {self.classes} --students {self.students}"
        )


def district_specs(city: CitySpec) -> list[DemoSpec]:
    """The demo roster of each district of ``city``; each its own seed (the city's, plus its
    place). The last school of a district of several lacks a school doctor and a counselling
    room, as in the demo district: the gaps show on the city's page."""
    return [
        DemoSpec(
            district=code,
            schools=city.schools,
            classes_per_school=city.classes,
            students_per_class=city.students,
            seed=city.seed * 100 + n,
            school_doctors=max(1, city.schools - 1),
            counselling_rooms=city.schools - 1 if city.schools > 1 else None,
            every_role_and_group=True,
        )
        for n, code in enumerate(HANGZHOU[: city.districts])
    ]


@dataclass(frozen=True)
class RosterFigures:
    """What a district's roster holds (counted from its CSV)."""

    schools: int
    classes: int
    students: int
    staff: int
    roles: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)


def roster_figures(spec: DemoSpec) -> RosterFigures:
    students_csv, staff_csv = demo_roster(spec)
    students = list(csv.DictReader(io.StringIO(students_csv)))
    staff = list(csv.DictReader(io.StringIO(staff_csv)))
    roles: Counter[str] = Counter(r for s in staff for r in s["roles"].split(";") if r)
    groups: Counter[str] = Counter(g for s in students for g in s["special_groups"].split(";") if g)
    return RosterFigures(
        schools=len({s["school_id"] for s in students}),
        classes=len({s["class_id"] for s in students}),
        students=len(students),
        staff=len(staff),
        roles=roles,
        groups=groups,
    )


@dataclass(frozen=True)
class Filing:
    """One filing the demo makes (``filed_on``) or leaves out (None)."""

    kind: FilingKind
    district: str
    year: int
    due: date
    filed_on: date | None
    school_id: str | None = None

    def status(self, today: date) -> Status:
        if self.filed_on is not None and self.filed_on <= today:
            return "on_time" if self.filed_on <= self.due else "late"
        return "missing" if today > self.due else "pending"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind, "district": self.district, "year": self.year}
        body["filed_on"] = str(self.filed_on)
        return body | ({"school_id": self.school_id} if self.school_id else {})


def filing_year(today: date) -> int:
    """The calendar year whose plans are due by ``today`` (from May on: this year's)."""
    return today.year if today >= date(today.year, 5, 1) else today.year - 1


def filing_plan(spec: DemoSpec, today: date) -> list[Filing]:
    """The district's plan (on time), its schools' visit plans (the last but one late, the
    last missing; one school: late) and, once it is due, its December summary (on time)."""
    year = filing_year(today)
    district_due, school_due = date(year, *DISTRICT_PLAN_DUE), date(year, *SCHOOL_PLAN_DUE)
    d = spec.district
    plan = [Filing("district_plan", d, year, district_due, district_due - timedelta(days=2))]
    schools = [f"{d}{n:03d}" for n in range(1, spec.schools + 1)]  # as demo.py
    late = len(schools) - 2 if len(schools) > 1 else 0
    for n, school in enumerate(schools):
        if n == len(schools) - 1 and len(schools) > 1:
            filed: date | None = None  # missing
        elif n == late:
            filed = school_due + timedelta(days=8)
        else:
            filed = school_due - timedelta(days=1 + n % 10)
        plan.append(Filing("school_visit_plan", d, year, school_due, filed, school))
    summary_due = date(year, *SUMMARY_DUE)
    filed_summary = summary_due - timedelta(days=3)
    plan.append(
        Filing(
            "december_summary",
            d,
            year,
            summary_due,
            filed_summary if filed_summary <= today else None,
        )
    )
    return plan


class FilingPlayer(DemoActor):
    """Files a district's filings on the city's API, as its bureau officer and principals."""

    def __init__(self, city: httpx.Client, registry: httpx.Client, district: str) -> None:
        super().__init__(city, registry, district, datetime.now(CHINA).date(), "city")

    def filed(self) -> int:
        """How many of the district's plans and summaries the city's read model holds."""
        path = f"/districts/{self.district}/filings?as_of={self.today}"
        rows = self.get(path, self.who(Role.bureau_officer, sub=f"jyj-{self.district}"))["rows"]
        kinds = ("district_plan", "school_visit_plan", "december_summary")
        return sum(r["on_time"] + r["late"] for r in rows if r["kind"] in kinds)

    def file(self, filing: Filing) -> None:
        if filing.school_id:
            who = self.who(Role.principal, filing.school_id, sub=f"{filing.school_id}-P")
        else:
            who = self.who(Role.bureau_officer, sub=f"jyj-{self.district}")
        key = f"filing-{filing.kind}-{filing.year}-{filing.school_id or self.district}"
        self.post("/filings", who, filing.body(), key)


def play_filings(
    city_url: str, registry_url: str, spec: DemoSpec, wait: float = 90.0
) -> Counter[str] | None:
    """File ``spec``'s district's filings (``filing_plan``) on the city at ``city_url``; the
    count of each status, or None when nothing was filed (no city or filed before)."""
    if os.environ.get("TONGXIN_TOKEN"):
        out().print("filings skipped: they are made as many people (TONGXIN_TOKEN is set)")
        return None
    with (
        httpx.Client(base_url=city_url, timeout=TIMEOUT) as city,
        httpx.Client(base_url=registry_url, timeout=TIMEOUT) as registry,
    ):
        p = FilingPlayer(city, registry, spec.district)
        officer = p.who(Role.bureau_officer, sub=f"jyj-{spec.district}")
        try:
            probe = city.get(f"/districts/{spec.district}/filings", headers=officer)
        except httpx.ConnectError:
            err().print(f"[yellow]no city service at {city_url}: no filings made[/]")
            return None
        if probe.status_code != 200:
            err().print(
                f"[yellow]the city at {city_url} answers its filings with {probe.status_code}: "
                "no filings made[/]"
            )
            return None
        if p.filed():
            return None  # the demo's filings were made (the district's plan is among them)
        plan = filing_plan(spec, p.today)
        made = [f for f in plan if f.filed_on is not None and f.filed_on <= p.today]
        for filing in made:
            p.file(filing)
        until(f"the filings of {spec.district} at the city", lambda: p.filed() >= len(made), wait)
        return Counter(f.status(p.today) for f in plan)


@dataclass
class DistrictRun:
    """What ``tongxin seed --city`` did in one district (for the summary)."""

    district: str
    figures: RosterFigures
    events: Counter[str] = field(default_factory=Counter)  # per service
    filings: Counter[str] | None = None  # per status; None: none made in this run
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase


SERVICES = ("registry", "visits", "wellbeing", "safety", "committees", "city")


def summary_table(runs: list[DistrictRun], seconds: float, full: CitySpec) -> Table:
    """Per district and in all: its size, the events appended per service, its filings and
    how long it took; the caption says how to seed the full city."""
    grid = Table(title="demo city (tongxin seed --city)", title_justify="left")
    for column in ("district", "schools", "classes", "students", "staff", *SERVICES[:-1]):
        grid.add_column(column, justify="left" if column == "district" else "right")
    grid.add_column("filings on time/late/missing", justify="right")
    grid.add_column("elapsed", justify="right")

    def filed(c: Counter[str] | None) -> str:
        return "–" if c is None else f"{c['on_time']}/{c['late']}/{c['missing']}"

    total_filings: Counter[str] | None = None
    for r in runs:
        f = r.figures
        events = [str(r.events[s]) for s in SERVICES[:-1]]
        grid.add_row(
            r.district, str(f.schools), str(f.classes), str(f.students), str(f.staff),
            *events, filed(r.filings), f"{r.seconds:.0f} s",
        )  # fmt: skip
        if r.filings is not None:
            total_filings = (total_filings or Counter()) + r.filings
    sums = [sum(getattr(r.figures, k) for r in runs) for k in ("schools", "classes")]
    sums += [sum(getattr(r.figures, k) for r in runs) for k in ("students", "staff")]
    events = [str(sum(r.events[s] for r in runs)) for s in SERVICES[:-1]]
    grid.add_row(
        "[bold]city[/bold]", *map(str, sums), *events, filed(total_filings), f"{seconds:.0f} s",
        end_section=True,
    )  # fmt: skip
    slowest = Counter[str]()
    for r in runs:
        slowest.update(r.phases)
    took = ", ".join(f"{name} {s:.0f} s" for name, s in slowest.items())
    grid.caption = (f"time per phase: {took}\n" if took else "") + (
        f"the full demo city is one command away: {full.command()}"
    )
    return grid
