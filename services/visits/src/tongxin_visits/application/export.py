"""The monthly statistics (统计表) of one school, as a spreadsheet and as JSON.

The district bureau receives the table as a spreadsheet: seed 002 §7 asks every school to
report its home visits each month (每月30日前报送当月家访统计表). ``report_xlsx`` writes that
sheet, one row per figure in the order of ``MonthlyFigures``, with counts as numbers so the
bureau can sum schools; ``report_json`` gives the same view to the API. Both use ``LABELS``,
Chinese first with English in parentheses, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from tongxin_contracts.events.visits import MonthlyFigures

SHEET_TITLE = "统计表"

LABELS: dict[str, str] = {
    "visits_completed": "完成家访 (visits completed)",
    "visits_confirmed": "经第二人确认 (confirmed)",
    "visits_unconfirmed": "未确认 (unconfirmed)",
    "in_home": "入户 (in home)",
    "online": "线上 (online)",
    "phone": "电话 (phone)",
    "at_school": "到校 (at school)",
    "students_visited": "家访学生数 (students visited)",
    "special_group_students_visited": "特殊群体学生数 (special-group students)",
    "by_principals": "校长参与 (by principals)",
    "by_middle_leaders": "中层参与 (by middle leaders)",
    "by_head_teachers": "班主任参与 (by head teachers)",
    "by_subject_teachers": "任课教师参与 (by subject teachers)",
    "visits_cancelled": "取消 (cancelled)",
    "followups_opened": "新开台账 (follow-ups opened)",
    "followups_closed": "结案 (follow-ups closed)",
    "parent_suggestions": "家长建议 (parent suggestions)",
}

HEADER = ("指标 (Measure)", "数量 (Count)")

_STATUS = {"draft": "草稿 (draft)", "submitted": "已报送 (submitted)"}


@dataclass(frozen=True)
class ReportView:
    """One school's report for one month: a draft being computed, or a submitted revision."""

    district: str
    school_id: str
    school_name: str
    month: str  # "2026-10"
    status: str  # "draft" | "submitted"
    revision: int  # 0 for a draft
    due_date: date
    submitted_at: datetime | None
    late: bool | None
    figures: MonthlyFigures


def _fields() -> list[str]:
    return list(MonthlyFigures.model_fields)


def report_json(view: ReportView) -> dict[str, Any]:
    """The view as a JSON-ready dict: dates as ISO strings, figures in field order, labels."""
    return {
        "district": view.district,
        "school_id": view.school_id,
        "school_name": view.school_name,
        "month": view.month,
        "status": view.status,
        "revision": view.revision,
        "due_date": view.due_date.isoformat(),
        "submitted_at": view.submitted_at.isoformat() if view.submitted_at else None,
        "late": view.late,
        "figures": {f: getattr(view.figures, f) for f in _fields()},
        "labels": {f: LABELS[f] for f in _fields()},
    }


def _info_rows(view: ReportView) -> list[tuple[str, str | int]]:
    late = "" if view.late is None else ("是 (yes)" if view.late else "否 (no)")
    return [
        ("区县 (district)", view.district),
        ("学校 (school)", f"{view.school_name} ({view.school_id})"),
        ("月份 (month)", view.month),
        ("状态 (status)", _STATUS.get(view.status, view.status)),
        ("版本 (revision)", view.revision),
        ("截止日期 (due)", view.due_date.isoformat()),
        ("报送时间 (submitted)", view.submitted_at.isoformat() if view.submitted_at else ""),
        ("逾期 (late)", late),
    ]


def _stamp(view: ReportView) -> datetime:
    """A naive UTC time taken from the view (Excel properties carry no time zone)."""
    if view.submitted_at is not None:
        return view.submitted_at.astimezone(UTC).replace(tzinfo=None)
    return datetime.combine(view.due_date, time())


def report_xlsx(view: ReportView) -> bytes:
    """The 统计表 as an .xlsx workbook (one sheet) the bureau can open and sum."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    bold = Font(bold=True)

    ws.append([f"{view.school_name} 家访统计表 {view.month}"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=2)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")

    for label, value in _info_rows(view):
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])

    ws.append(list(HEADER))
    for cell in ws[ws.max_row]:
        cell.font = bold
    for field in _fields():
        ws.append([LABELS[field], int(getattr(view.figures, field))])
        ws.cell(row=ws.max_row, column=2).number_format = "0"

    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 30

    stamp = _stamp(view)
    wb.properties.creator = "Tongxin"
    wb.properties.title = f"{view.school_name} 家访统计表 {view.month}"
    wb.properties.created = stamp
    wb.properties.modified = stamp  # openpyxl sets it to the time of saving anyway

    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
