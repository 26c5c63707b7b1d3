"""The monthly statistics (统计表) read back from the xlsx and the JSON exactly as they went in."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from tongxin_contracts.events.visits import MonthlyFigures
from tongxin_visits.application.export import LABELS, ReportView, report_json, report_xlsx

FIELDS = list(MonthlyFigures.model_fields)
# A distinct number per field, so a row read back under the wrong label cannot pass.
VALUES: dict[str, int] = {field: 100 + 7 * i for i, field in enumerate(FIELDS)}


def view(**changes: Any) -> ReportView:
    fields: dict[str, Any] = {
        "district": "330106",
        "school_id": "330106001",
        "school_name": "同心第1小学",
        "month": "2026-10",
        "status": "submitted",
        "revision": 2,
        "due_date": date(2026, 10, 30),
        "submitted_at": datetime(2026, 10, 29, 8, 30, tzinfo=UTC),
        "late": False,
        "figures": MonthlyFigures(**VALUES),
    }
    return ReportView(**(fields | changes))


def table(data: bytes) -> list[tuple[Any, Any]]:
    """The rows under the 指标 / 数量 header of the 统计表 sheet."""
    ws = load_workbook(BytesIO(data))["统计表"]
    rows = [(r[0], r[1]) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, (a, _) in enumerate(rows) if isinstance(a, str) and a.startswith("指标"))
    return [r for r in rows[start + 1 :] if r[0] is not None]


def test_every_measure_has_a_label() -> None:
    assert list(LABELS) == FIELDS


def test_the_workbook_has_one_sheet_named_the_statistics_table() -> None:
    wb = load_workbook(BytesIO(report_xlsx(view())))
    assert wb.sheetnames == ["统计表"]
    assert wb.properties.creator == "Tongxin"


def test_the_title_names_the_school_and_the_month() -> None:
    ws = load_workbook(BytesIO(report_xlsx(view())))["统计表"]
    title = ws["A1"].value
    assert "同心第1小学" in title
    assert "2026-10" in title


def test_every_figure_reads_back_under_its_label_as_an_integer_in_field_order() -> None:
    rows = table(report_xlsx(view()))
    assert [label for label, _ in rows] == [LABELS[f] for f in FIELDS]
    for (label, count), field in zip(rows, FIELDS, strict=True):
        assert type(count) is int, f"{label} is {count!r}"
        assert count == VALUES[field]


def test_a_draft_without_submission_time_still_exports() -> None:
    draft = view(status="draft", revision=0, submitted_at=None, late=None)
    rows = table(report_xlsx(draft))
    assert dict(zip(FIELDS, (c for _, c in rows), strict=True)) == VALUES


def test_the_json_survives_a_round_trip_with_the_same_figures() -> None:
    doc = json.loads(json.dumps(report_json(view())))
    assert doc["figures"] == VALUES
    assert list(doc["figures"]) == FIELDS
    assert doc["labels"] == LABELS
    assert doc["due_date"] == "2026-10-30"
    assert doc["submitted_at"] == "2026-10-29T08:30:00+00:00"
    assert (doc["status"], doc["revision"], doc["late"]) == ("submitted", 2, False)
    assert MonthlyFigures.model_validate(doc["figures"]) == view().figures


def test_a_draft_has_no_submission_time_in_json() -> None:
    doc = report_json(view(status="draft", revision=0, submitted_at=None, late=None))
    assert (doc["submitted_at"], doc["late"], doc["revision"]) == (None, None, 0)
