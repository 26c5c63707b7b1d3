"""CSV rows as a school information system exports them, validated field by field.

Every row is checked before anything is written; the errors name the row (the line number in
the file, the header being line 1) and the field, so a school secretary can fix the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from tongxin_contracts.events.registry import SchoolStage, SpecialGroup, StaffRole

PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


class ImportRejectedError(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        super().__init__(
            f"row {first.row}, field {first.field}: {first.message}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        )
        self.errors = errors


def _split(v: Any) -> Any:
    if isinstance(v, str):
        return [p.strip() for p in re.split(r"[;；]", v) if p.strip()]
    return v


def _bool(v: Any) -> Any:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in {"1", "true", "yes", "y", "是", "有"}:
            return True
        if low in {"0", "false", "no", "n", "否", "无", ""}:
            return False
    return v


def _blank_none(v: Any) -> Any:
    return None if isinstance(v, str) and not v.strip() else v


Text = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Phone = Annotated[str, Field(pattern=PHONE.pattern)]


class _Row(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")


class StudentRow(_Row):
    district: Ident
    school_id: Ident
    school_name: Text
    stage: SchoolStage
    has_counselling_room: Annotated[bool, BeforeValidator(_bool)]
    class_id: Ident
    class_name: Text
    grade: int = Field(ge=0, le=13)
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    head_teacher_id: Annotated[Ident | None, BeforeValidator(_blank_none)] = None
    student_id: Ident
    student_name: Text
    gender: Annotated[str | None, BeforeValidator(_blank_none)] = None
    birth_date: date
    address: Annotated[str | None, BeforeValidator(_blank_none)] = None
    special_groups: Annotated[list[SpecialGroup], BeforeValidator(_split)] = []
    guardian1_name: Text
    guardian1_relation: Text
    guardian1_phone: Phone
    guardian2_name: Annotated[str | None, BeforeValidator(_blank_none)] = None
    guardian2_relation: Annotated[str | None, BeforeValidator(_blank_none)] = None
    guardian2_phone: Annotated[Phone | None, BeforeValidator(_blank_none)] = None


class StaffRow(_Row):
    district: Ident
    school_id: Ident
    staff_id: Ident
    name: Text
    phone: Annotated[Phone | None, BeforeValidator(_blank_none)] = None
    roles: Annotated[list[StaffRole], BeforeValidator(_split)] = Field(min_length=1)
    class_ids: Annotated[list[str], BeforeValidator(_split)] = []


R = TypeVar("R", bound=_Row)


def parse_rows(text: str, model: type[R], *, max_rows: int = 200_000) -> list[tuple[int, R]]:
    """Parse and validate every row; raise ``ImportRejectedError`` with all errors found."""
    text = text.removeprefix("\ufeff")  # Excel writes a BOM before UTF-8 CSV
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRejectedError([RowError(line, "-", "the file contains a NUL character")])
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        missing = [n for n in required if n not in header]
        if missing:
            raise ImportRejectedError(
                [RowError(1, m, "required column is missing") for m in missing]
            )
        return _validate(reader, model, max_rows)
    except csv.Error as exc:
        raise ImportRejectedError([RowError(reader.line_num, "-", f"not CSV: {exc}")]) from exc


def _validate(reader: csv.DictReader[str], model: type[R], max_rows: int) -> list[tuple[int, R]]:
    rows: list[tuple[int, R]] = []
    errors: list[RowError] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > max_rows:
            errors.append(RowError(line, "-", f"more than {max_rows} rows; split the file"))
            break
        if None in raw:
            errors.append(RowError(line, "-", "more values than columns"))
            continue
        try:
            rows.append((line, model.model_validate(raw)))
        except ValidationError as exc:
            errors.extend(
                RowError(line, ".".join(str(p) for p in e["loc"]) or "-", e["msg"])
                for e in exc.errors()
            )
    if not rows and not errors:
        errors.append(RowError(2, "-", "the file has no data rows"))
    if errors:
        raise ImportRejectedError(errors)
    return rows
