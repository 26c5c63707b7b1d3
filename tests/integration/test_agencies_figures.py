"""The district's and the schools' figures equal those computed independently from the generated
events (``tests.support.agencies_expected``, plain Python over the world), every count links to
a list of exactly that many rows, and the bureau's answers hold no person's pseudonym.

One agencies service on the generated district (the session fixture ``agencies_env``); the day
is the world's ``D`` (the stack's clock). Every wrong figure is collected and reported at once.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_expected import (
    FLAG_TARGETS,
    KPIS,
    TARGETS,
    TREND,
    Expected,
    expected,
    meets,
    refs_in,
    value_of,
)
from tests.support.agencies_pages import page_links
from tongxin_contracts.events import registry as rg

pytestmark = pytest.mark.integration

# The counts whose list lists exactly what they count.
COUNTED = (
    "followups_overdue",
    "care_contacts_overdue",
    "hazards_overdue",
    "mandatory_reports_late",
    "open_days",
    "attention_list",
)


def same(got: Any, want: Any) -> bool:
    if any(x is None or isinstance(x, bool | str) for x in (got, want)):
        return bool(got == want)
    return math.isclose(float(got), float(want), abs_tol=1e-6)


def names(env: AgenciesEnv) -> dict[str, str]:
    return {e.school_id: e.school_name for e in env.world.of(rg.SchoolRegistered)}


async def district_page(env: AgenciesEnv, district: str) -> dict[str, Any]:
    r = await env.http.get(
        "/dashboards/district",
        params={"district": district},
        headers=env.token("bureau_officer", district=district),
    )
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def school_rows(page: dict[str, Any]) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """The KPI table's columns, and its rows by school id (found in the row's links)."""
    tables = [t for p in page["panels"] for t in p["tables"]]
    table = next(t for t in tables if {c["key"] for c in t["columns"]} >= set(KPIS))
    columns = [c["key"] for c in table["columns"]]
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in table["rows"]:
        links = " ".join(c.get("link") or "" for c in row)
        for school in set(re.findall(r"school_id=([A-Za-z0-9_\-]+)", links)):
            rows[school] = row
    return columns, rows


def figures_of(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A page's figures by key (the first of each key)."""
    out: dict[str, dict[str, Any]] = {}
    for p in page["panels"]:
        for f in p["figures"]:
            out.setdefault(f["key"], f)
    return out


@pytest.fixture(scope="module")
def truth(agencies_env: AgenciesEnv) -> Expected:
    return expected(agencies_env.world)


@pytest.mark.parametrize("district", ["330106", "330108"])
async def test_every_kpi_of_every_school_on_the_district_page_equals_the_independent_figure(
    agencies_env: AgenciesEnv, truth: Expected, district: str
) -> None:
    env = agencies_env
    # given the generated district; when the bureau asks for its page
    page = await district_page(env, district)
    columns, rows = school_rows(page)
    # then each school's row, each KPI, says what the events say, judged as the targets say
    wrong: list[str] = []
    schools = [s.school_id for s in env.world.schools_of(district)]
    assert sorted(rows) == sorted(schools), f"rows for {sorted(rows)}"
    for school in schools:
        for kpi in KPIS:
            cell = rows[school][columns.index(kpi)]
            want = truth.schools[school][kpi]
            if not same(cell["value"], value_of(want)):
                wrong.append(f"{school} {kpi}: {cell['value']!r}, expected {value_of(want)!r}")
            elif cell.get("meets") != meets(kpi, want):
                wrong.append(
                    f"{school} {kpi}: meets {cell.get('meets')}, expected {meets(kpi, want)}"
                )
    # and the district's own figures pool the schools'
    totals = figures_of(page)
    for kpi in KPIS:
        got = totals.get(kpi, {}).get("value", "(no figure)")
        pooled = value_of(truth.district[district][kpi])
        if not same(got, pooled):
            wrong.append(f"district {district} {kpi}: {got!r}, expected {pooled!r}")
        # judged: a pooled share against its target, a flag's share of schools against the
        # city's share (counselling rooms, standard parent schools, coordinators)
        judged = district_meets(kpi, pooled)
        if judged is not None and totals.get(kpi, {}).get("meets") != judged:
            wrong.append(
                f"district {district} {kpi} = {got!r}: meets {totals[kpi].get('meets')}, "
                f"expected {judged}"
            )
    assert not wrong, "\n".join(wrong)


def district_meets(kpi: str, value: Any) -> bool | None:
    """The district figure's verdict: a share or a floor's fewest against its target (≥), a
    count of what is overdue or late against its most (≤), a flag's share of schools."""
    if value is None:
        return None
    if kpi in FLAG_TARGETS:
        return bool(float(value) >= FLAG_TARGETS[kpi] - 1e-9)
    rule, target = TARGETS[kpi]
    if target is None:
        return None
    if rule == "at_least":
        return bool(float(value) >= float(target) - 1e-9)
    if rule == "at_most":
        return bool(float(value) <= float(target) + 1e-9)
    return None


async def test_the_month_trend_is_each_figure_as_of_each_month_end(
    agencies_env: AgenciesEnv, truth: Expected
) -> None:
    env = agencies_env
    page = await district_page(env, env.district)
    charts = {c["key"]: c for p in page["panels"] for c in p["charts"]}
    wrong: list[str] = []
    label = names(env)
    for kpi in TREND:
        chart = charts.get(kpi)
        if chart is None:
            wrong.append(f"{kpi}: no month trend")
            continue
        if chart["months"] != truth.months:
            wrong.append(f"{kpi}: months {chart['months']}, expected {truth.months}")
            continue
        for s in env.world.schools_of(env.district):
            got = chart["lines"].get(label[s.school_id], chart["lines"].get(s.school_id))
            want = truth.trend[kpi][s.school_id]
            if got is None or not all(same(g, w) for g, w in zip(got, want, strict=True)):
                wrong.append(f"{kpi} {s.school_id}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)


async def test_every_kpi_on_each_school_page_equals_the_independent_figure(
    agencies_env: AgenciesEnv, truth: Expected
) -> None:
    env = agencies_env
    wrong: list[str] = []
    for s in env.world.schools:
        # given the school's principal; when they open their school's page
        r = await env.http.get(
            "/dashboards/school",
            params={"school_id": s.school_id},
            headers=env.token("principal", s.principal, district=s.district, school=s.school_id),
        )
        assert r.status_code == 200, r.text
        figures = figures_of(r.json())
        # then every KPI the page shows is the independent figure
        for kpi in KPIS:
            if kpi not in figures:
                wrong.append(f"{s.school_id} {kpi}: not on the school page")
                continue
            want = value_of(truth.schools[s.school_id][kpi])
            if not same(figures[kpi]["value"], want):
                wrong.append(f"{s.school_id} {kpi}: {figures[kpi]['value']!r}, expected {want!r}")
    assert not wrong, "\n".join(wrong)


def drill_wrong(where: str, kpi: str, value: int, link: str, listed: list[Any] | str) -> str | None:
    """What is wrong with a count's list, or None."""
    if isinstance(listed, str):
        return f"{where} {kpi} = {value}: {link} → {listed}"
    if len(listed) != value:
        return f"{where} {kpi} = {value}: {link} → {len(listed)} rows"
    return None


async def rows_of(env: AgenciesEnv, link: str, headers: dict[str, str]) -> list[Any] | str:
    r = await env.http.get(link, headers=headers)
    if r.status_code != 200:
        return f"{r.status_code} {r.text[:200]}"
    rows: list[Any] = r.json()["rows"]
    return rows


async def test_a_count_on_the_district_page_opens_a_list_of_exactly_that_many_rows(
    agencies_env: AgenciesEnv, truth: Expected
) -> None:
    env = agencies_env
    officer = env.token("bureau_officer")
    page = await district_page(env, env.district)
    columns, rows = school_rows(page)
    wrong: list[str] = []
    checked = 0
    # per school: "3 overdue follow-ups" opens those three
    for school, row in rows.items():
        for kpi in COUNTED:
            cell = row[columns.index(kpi)]
            if not cell.get("link") or not isinstance(cell["value"], int):
                continue
            listed = await rows_of(env, cell["link"], officer)
            checked += 1
            if bad := drill_wrong(school, kpi, cell["value"], cell["link"], listed):
                wrong.append(bad)
    # the district's totals likewise (a floor's district figure is its fewest school's, and
    # opens that school's list)
    for kpi, figure in figures_of(page).items():
        if kpi in COUNTED and figure.get("link") and isinstance(figure["value"], int):
            listed = await rows_of(env, figure["link"], officer)
            checked += 1
            if bad := drill_wrong("district", kpi, figure["value"], figure["link"], listed):
                wrong.append(bad)
    assert checked >= 6, "the district page links too few counts to their lists"
    assert not wrong, "\n".join(wrong)


async def test_a_count_on_the_school_page_opens_a_list_of_exactly_that_many_rows(
    agencies_env: AgenciesEnv, truth: Expected
) -> None:
    env = agencies_env
    wrong: list[str] = []
    checked = 0
    for s in env.world.schools_of(env.district):
        principal = env.token("principal", s.principal, school=s.school_id)
        psych = env.token("psych_teacher", s.psych_teacher, school=s.school_id)
        r = await env.http.get(
            "/dashboards/school", params={"school_id": s.school_id}, headers=principal
        )
        assert r.status_code == 200, r.text
        for kpi, figure in figures_of(r.json()).items():
            if kpi not in COUNTED or not figure.get("link") or not isinstance(figure["value"], int):
                continue
            who = psych if kpi == "attention_list" else principal
            listed = await rows_of(env, figure["link"], who)
            checked += 1
            if bad := drill_wrong(s.school_id, kpi, figure["value"], figure["link"], listed):
                wrong.append(bad)
        # the students not visited in home are exactly those the events say (pseudonyms)
        r = await env.http.get(
            "/lists/school.students_not_visited",
            params={"school_id": s.school_id},
            headers=principal,
        )
        if r.status_code != 200:
            wrong.append(
                f"{s.school_id} school.students_not_visited: {r.status_code} {r.text[:200]}"
            )
        else:
            text = r.text
            listed_refs = refs_in(text, env.world.student_refs())
            if listed_refs != set(truth.not_visited[s.school_id]):
                wrong.append(
                    f"{s.school_id} students not visited: {sorted(listed_refs)}, "
                    f"expected {truth.not_visited[s.school_id]}"
                )
    assert checked >= 4, "the school page links too few counts to their lists"
    assert not wrong, "\n".join(wrong)


async def test_the_bureaus_answers_name_no_student_guardian_or_staff_member(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    world = env.world
    people = world.student_refs() | world.guardian_refs() | world.staff_refs()
    officer = env.token("bureau_officer")
    # given every answer the bureau gets: its page, every list it links to, the school pages
    answers: dict[str, str] = {}
    page = await env.http.get(
        "/dashboards/district", params={"district": env.district}, headers=officer
    )
    assert page.status_code == 200, page.text
    answers["district"] = page.text
    links = set(page_links(page.json()))
    for s in world.schools_of(env.district):
        r = await env.http.get(
            "/dashboards/school", params={"school_id": s.school_id}, headers=officer
        )
        assert r.status_code == 200, r.text
        answers[f"school {s.school_id}"] = r.text
        links |= set(page_links(r.json()))
    for link in sorted(links):
        if link.startswith("/lists/"):
            r = await env.http.get(link, headers=officer)
            if r.status_code == 200:
                answers[link] = r.text
    # then none holds a student_ref, a guardian_ref or a staff_ref of the world
    named = {where: sorted(refs_in(text, people)) for where, text in answers.items()}
    assert len(answers) > 5, sorted(answers)
    assert not {w: n for w, n in named.items() if n}, {w: n for w, n in named.items() if n}
