"""The demo city's generator (``tongxin seed --city``): deterministic, sized as asked, every
role and special group in it, the filings mixed so the city page shows filed, late and missing."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_cli.demo_city import (
    HANGZHOU,
    CitySpec,
    DistrictRun,
    district_specs,
    filing_plan,
    play_filings,
    roster_figures,
    summary_table,
)
from tongxin_cli.main import app
from tongxin_contracts.events.registry import SpecialGroup, StaffRole

TINY = CitySpec(districts=2, schools=1, classes=2, students=5)
NOV = date(2026, 11, 28)


def rosters(city: CitySpec) -> list[tuple[str, str]]:
    return [demo_roster(spec) for spec in district_specs(city)]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_same_seed_makes_the_same_city_and_another_seed_another() -> None:
    city = CitySpec(districts=2, schools=2, classes=3, students=4)
    assert rosters(city) == rosters(CitySpec(districts=2, schools=2, classes=3, students=4))
    assert rosters(city) != rosters(CitySpec(districts=2, schools=2, classes=3, students=4, seed=1))


def test_the_default_city_has_3_districts_30_schools_900_classes_and_about_30000_students() -> None:
    figures = [roster_figures(spec) for spec in district_specs(CitySpec())]
    assert len(figures) == 3
    assert sum(f.schools for f in figures) == 30
    assert sum(f.classes for f in figures) == 900
    assert sum(f.students for f in figures) == 900 * 33
    # Every special group is in every district, each a few per cent of its students.
    for f in figures:
        assert set(f.groups) == {g.value for g in SpecialGroup}
        assert all(0.01 < n / f.students < 0.1 for n in f.groups.values())


def test_districts_are_distinct_hangzhou_codes_and_never_the_demo_district() -> None:
    codes = [spec.district for spec in district_specs(CitySpec(districts=len(HANGZHOU)))]
    assert len(set(codes)) == len(HANGZHOU)
    assert all(c.startswith("3301") and len(c) == 6 for c in codes)
    assert DemoSpec().district not in codes
    with pytest.raises(ValueError, match="districts"):
        CitySpec(districts=len(HANGZHOU) + 1)


def test_every_school_of_even_a_tiny_city_has_staff_in_every_role_and_a_left_behind_child() -> None:
    for students_csv, staff_csv in rosters(TINY):
        staff, students = rows(staff_csv), rows(students_csv)
        for school in {s["school_id"] for s in students}:
            roles = {r for s in staff if s["school_id"] == school for r in s["roles"].split(";")}
            assert roles == {r.value for r in StaffRole}
            groups = [s["special_groups"] for s in students if s["school_id"] == school]
            assert any("left_behind" in g for g in groups)


def test_the_hook_for_roles_and_groups_leaves_the_rest_of_the_roster_as_it_was() -> None:
    plain = DemoSpec(district="330102", schools=2, classes_per_school=3, students_per_class=6)
    rich = DemoSpec(**{**plain.__dict__, "every_role_and_group": True})
    students_plain, staff_plain = map(rows, demo_roster(plain))
    students_rich, staff_rich = map(rows, demo_roster(rich))
    names = ("student_id", "student_name", "birth_date", "guardian1_phone")
    assert [[s[k] for k in names] for s in students_plain] == [
        [s[k] for k in names] for s in students_rich
    ]
    extra = [s for s in staff_rich if s not in staff_plain]
    assert Counter(s["roles"] for s in extra) == Counter(
        {"legal_vp": 2, "fire_vp": 2, "family_education_coordinator": 2}
    )


def test_a_district_files_its_plan_on_time_one_school_plan_late_and_one_not_at_all() -> None:
    spec = district_specs(CitySpec(districts=1))[0]
    plan = filing_plan(spec, NOV)
    status = Counter((f.kind, f.status(NOV)) for f in plan)
    assert status == {
        ("district_plan", "on_time"): 1,
        ("school_visit_plan", "on_time"): 8,
        ("school_visit_plan", "late"): 1,
        ("school_visit_plan", "missing"): 1,
        ("december_summary", "pending"): 1,
    }
    assert all(f.year == 2026 for f in plan)
    assert all(f.filed_on is None or f.filed_on <= NOV for f in plan)
    missing = next(f for f in plan if f.status(NOV) == "missing")
    assert missing.school_id == f"{spec.district}010"
    assert missing.filed_on is None


def test_after_december_the_summary_is_filed_on_time_and_a_one_school_district_files_late() -> None:
    spec = district_specs(TINY)[0]
    january = date(2027, 1, 5)
    status = Counter((f.kind, f.status(january)) for f in filing_plan(spec, january))
    assert status == {
        ("district_plan", "on_time"): 1,
        ("school_visit_plan", "late"): 1,
        ("december_summary", "on_time"): 1,
    }


def test_a_filing_body_is_what_the_city_api_takes() -> None:
    spec = district_specs(CitySpec(districts=1, schools=2))[0]
    district_plan, school_plan = filing_plan(spec, NOV)[:2]
    assert district_plan.body() == {
        "kind": "district_plan",
        "district": "330102",
        "year": 2026,
        "filed_on": "2026-04-18",
    }
    assert school_plan.body()["school_id"] == "330102001"
    assert school_plan.status(NOV) == "late"


def test_the_summary_adds_up_the_districts_and_names_the_full_city_command() -> None:
    runs = [
        DistrictRun(spec.district, roster_figures(spec), Counter(visits=7, registry=30))
        for spec in district_specs(TINY)
    ]
    runs[0].filings = Counter(on_time=2, late=1)
    console = Console(width=250, record=True)
    console.print(summary_table(runs, 12.0, CitySpec()))
    text = console.export_text()
    cells = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    }
    # schools, classes, students, staff, registry, visits, …, filings
    assert cells["city"][:3] == ["2", "4", "20"]
    assert cells["city"][4:6] == ["60", "14"]
    assert cells["city"][-2] == "2/1/0"
    assert cells["330105"][-2] == "–"
    assert "tongxin seed --city --districts 3 --schools 10 --classes 30 --students 33" in text


def test_seed_city_refuses_a_city_of_no_districts() -> None:
    result = CliRunner().invoke(app, ["seed", "--city", "--districts", "0"])
    assert result.exit_code == 2


def test_filings_are_skipped_with_one_token_for_everybody(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TONGXIN_TOKEN", "one-token")
    spec = district_specs(TINY)[0]
    assert play_filings("http://127.0.0.1:9", "http://127.0.0.1:9", spec) is None
    assert "TONGXIN_TOKEN" in capsys.readouterr().out
