"""Roster CSV rows are validated field by field, and errors name the row and field."""

from __future__ import annotations

import pytest

from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.application.rows import ImportRejectedError, StaffRow, StudentRow, parse_rows


def small() -> tuple[str, str]:
    return demo_roster(DemoSpec(schools=1, classes_per_school=2, students_per_class=3))


def test_the_demo_roster_parses() -> None:
    students, staff = small()
    assert len(parse_rows(students, StudentRow)) == 6
    assert len(parse_rows(staff, StaffRow)) == 6


def test_a_bad_birth_date_is_reported_with_its_row_and_field() -> None:
    students, _ = small()
    lines = students.splitlines()
    cols = lines[3].split(",")
    cols[13] = "2016-02-31"
    lines[3] = ",".join(cols)
    with pytest.raises(ImportRejectedError) as info:
        parse_rows("\n".join(lines), StudentRow)
    [error] = info.value.errors
    assert (error.row, error.field) == (4, "birth_date")


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    students, _ = small()
    lines = students.splitlines()
    for i in (2, 5):
        cols = lines[i].split(",")
        cols[18] = "12345"  # guardian1_phone
        lines[i] = ",".join(cols)
    with pytest.raises(ImportRejectedError) as info:
        parse_rows("\n".join(lines), StudentRow)
    assert [(e.row, e.field) for e in info.value.errors] == [
        (3, "guardian1_phone"),
        (6, "guardian1_phone"),
    ]


def test_a_missing_column_is_named() -> None:
    students, _ = small()
    header, *rest = students.splitlines()
    header = header.replace("birth_date", "birthday")
    with pytest.raises(ImportRejectedError) as info:
        parse_rows("\n".join([header, *rest]), StudentRow)
    assert info.value.errors[0].field == "birth_date"
    assert info.value.errors[0].row == 1


def test_an_unknown_special_group_is_refused() -> None:
    students, _ = small()
    lines = students.splitlines()
    cols = lines[1].split(",")
    cols[15] = "left_behind;rich"
    lines[1] = ",".join(cols)
    with pytest.raises(ImportRejectedError) as info:
        parse_rows("\n".join(lines), StudentRow)
    assert info.value.errors[0].field.startswith("special_groups")


def test_an_excel_bom_and_chinese_semicolons_are_accepted() -> None:
    students, _ = small()
    lines = students.splitlines()
    cols = lines[1].split(",")
    cols[15] = "left_behind；migrant"
    lines[1] = ",".join(cols)
    rows = parse_rows("\ufeff" + "\n".join(lines), StudentRow)
    assert [g.value for g in rows[0][1].special_groups] == ["left_behind", "migrant"]


def test_an_empty_file_is_refused() -> None:
    students, _ = small()
    with pytest.raises(ImportRejectedError, match="no data rows"):
        parse_rows(students.splitlines()[0], StudentRow)


def test_a_nul_character_is_refused_with_its_line() -> None:
    students, _ = small()
    lines = students.splitlines()
    lines[2] = lines[2].replace("同心", "同\x00心", 1)
    with pytest.raises(ImportRejectedError) as info:
        parse_rows("\n".join(lines), StudentRow)
    assert info.value.errors[0].row == 3
    assert "NUL" in info.value.errors[0].message
