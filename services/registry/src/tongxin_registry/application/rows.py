"""CSV rows as a school information system exports them, validated field by field.

Every row is checked before anything is committed (an import that meets an error writes no
more, reads on to report every error, and rolls back); the errors name the row (the line number
in the file, the header being line 1) and the field, so a school secretary can fix the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from tongxin_contracts.events.registry import SchoolStage, SpecialGroup, StaffRole

PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


MAX_ERRORS = 1000  # kept to report; the rest only counted


class ImportRejectedError(Exception):
    """The file has errors; nothing was written."""

    def __init__(self, errors: list[RowError], *, total: int | None = None) -> None:
        first = errors[0]
        total = max(total or 0, len(errors))
        super().__init__(
            f"row {first.row}, field {first.field}: {first.message}"
            + (f" (and {total - 1} more)" if total > 1 else "")
        )
        self.errors = errors
        self.total = total


class NotUTF8Error(Exception):
    """The file is not UTF-8 text."""

    def __init__(self, reason: str, byte: int) -> None:
        super().__init__(f"not UTF-8 ({reason} at byte {byte}); save the CSV as UTF-8")
        self.reason, self.byte = reason, byte


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


BATCH = 200  # rows validated at a time: bounded memory, the loop held ~10 ms per batch
CHUNK = 64 * 1024


def text_lines(binary: IO[bytes], *, chunk: int = CHUNK) -> Iterator[str]:
    """The lines (ends kept) of a UTF-8 file read ``chunk`` bytes at a time; a BOM (Excel
    writes one) is dropped; invalid UTF-8 raises ``NotUTF8Error`` naming the byte."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset, pending = 0, ""
    while True:
        data = binary.read(chunk)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise NotUTF8Error(exc.reason, offset + exc.start) from exc
        offset += len(data)
        *complete, pending = (pending + text).split("\n")  # as io.StringIO splits lines
        for line in complete:
            yield line + "\n"
        if not data:
            if pending:
                yield pending
            return


class RowStream(Generic[R]):
    """Rows of a CSV read line by line and validated ``batch`` at a time. ``batches()`` yields
    the valid rows; the errors are collected in ``errors`` (the first ``MAX_ERRORS``; all are
    counted in ``error_count``). A missing column, a NUL or broken CSV stops at once
    (``ImportRejectedError``)."""

    def __init__(
        self, lines: Iterable[str], model: type[R], *, max_rows: int = 200_000, batch: int = BATCH
    ) -> None:
        self.lines, self.model, self.max_rows, self.batch = lines, model, max_rows, batch
        self.errors: list[RowError] = []
        self.error_count = 0
        self.rows = 0

    def _error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    def _checked(self) -> Iterator[str]:
        for physical, line in enumerate(self.lines, start=1):
            if "\x00" in line:
                raise ImportRejectedError(
                    [RowError(physical, "-", "the file contains a NUL character")]
                )
            yield line.removeprefix("\ufeff") if physical == 1 else line

    def batches(self) -> Iterator[list[tuple[int, R]]]:
        reader = csv.DictReader(self._checked())
        try:
            header = reader.fieldnames or []
            required = [n for n, f in self.model.model_fields.items() if f.is_required()]
            missing = [n for n in required if n not in header]
            if missing:
                raise ImportRejectedError(
                    [RowError(1, m, "required column is missing") for m in missing]
                )
            batch: list[tuple[int, R]] = []
            for line, raw in enumerate(reader, start=2):
                if line - 1 > self.max_rows:
                    self._error(
                        RowError(line, "-", f"more than {self.max_rows} rows; split the file")
                    )
                    break
                if None in raw:
                    self._error(RowError(line, "-", "more values than columns"))
                    continue
                try:
                    batch.append((line, self.model.model_validate(raw)))
                except ValidationError as exc:
                    for e in exc.errors():
                        self._error(
                            RowError(line, ".".join(str(p) for p in e["loc"]) or "-", e["msg"])
                        )
                    continue
                self.rows += 1
                if len(batch) >= self.batch:
                    yield batch
                    batch = []
            if batch:
                yield batch
        except csv.Error as exc:
            raise ImportRejectedError([RowError(reader.line_num, "-", f"not CSV: {exc}")]) from exc
        if not self.rows and not self.error_count:
            self._error(RowError(2, "-", "the file has no data rows"))

    def raise_errors(self) -> None:
        if self.error_count:
            raise ImportRejectedError(self.errors, total=self.error_count)


def parse_rows(text: str, model: type[R], *, max_rows: int = 200_000) -> list[tuple[int, R]]:
    """Parse and validate every row; raise ``ImportRejectedError`` with all errors found."""
    stream = RowStream(io.StringIO(text), model, max_rows=max_rows)
    rows = [row for batch in stream.batches() for row in batch]
    stream.raise_errors()
    return rows
