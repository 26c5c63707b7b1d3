"""A student import reads its file once, writing batch by batch in one transaction: an error or a
scope refusal met in a later batch still leaves nothing written, and every error is reported."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_registry.application import service as registry_service
from tongxin_registry.application.rows import ImportRejectedError
from tongxin_registry.bootstrap import Registry, bootstrap
from tongxin_registry.config import RegistrySettings

pytestmark = pytest.mark.integration

# Two schools of one class of six students: 12 rows, three batches of five.
SPEC = DemoSpec(schools=2, classes_per_school=1, students_per_class=6)
SECOND_SCHOOL = "330106002"


@pytest.fixture
async def reg(
    registry_settings: RegistrySettings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Registry]:
    monkeypatch.setattr(registry_service, "WRITE_BATCH", 5)
    registry = await bootstrap(registry_settings)
    try:
        yield registry
    finally:
        await registry.close()


def edited(text: str, edit: dict[int, dict[str, str]], extra: tuple[int, ...] = ()) -> str:
    """``text`` with the data rows ``edit`` names changed, and copies of rows ``extra`` added."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for i, change in edit.items():
        rows[i].update(change)
    rows += [dict(rows[i]) for i in extra]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def event_count(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM events"))


async def test_a_duplicate_in_the_last_batch_leaves_nothing_written(
    reg: Registry, registry_db: asyncpg.Pool
) -> None:
    students, _ = demo_roster(SPEC)
    with pytest.raises(ImportRejectedError) as info:
        await reg.service.import_students(edited(students, {}, extra=(0, 1)))
    assert [(e.row, e.field) for e in info.value.errors] == [
        (14, "student_id"),
        (15, "student_id"),
    ]
    assert "also on row 2" in info.value.errors[0].message
    assert await event_count(registry_db) == 0
    assert await registry_db.fetchval("SELECT count(*) FROM subject_keys") == 0


async def test_every_bad_row_is_reported_and_nothing_is_written(
    reg: Registry, registry_db: asyncpg.Pool
) -> None:
    students, _ = demo_roster(SPEC)
    bad = edited(students, {3: {"birth_date": "yesterday"}, 11: {"grade": "99"}})
    with pytest.raises(ImportRejectedError) as info:
        await reg.service.import_students(bad)
    assert [(e.row, e.field) for e in info.value.errors] == [(5, "birth_date"), (13, "grade")]
    assert await event_count(registry_db) == 0


async def test_a_school_out_of_scope_in_a_later_batch_leaves_nothing_written(
    reg: Registry, registry_db: asyncpg.Pool
) -> None:
    students, _ = demo_roster(SPEC)
    checked: list[set[tuple[str, str]]] = []

    class OutOfScopeError(Exception):
        pass

    def check(scopes: set[tuple[str, str]]) -> None:
        checked.append(scopes)
        if any(school == SECOND_SCHOOL for _, school in scopes):
            raise OutOfScopeError(SECOND_SCHOOL)

    with pytest.raises(OutOfScopeError):
        await reg.service.import_students(students, check_scope=check)
    assert checked == [{("330106", "330106001")}, {("330106", SECOND_SCHOOL)}]
    assert await event_count(registry_db) == 0
    assert await registry_db.fetchval("SELECT count(*) FROM subject_keys") == 0


async def test_the_last_row_naming_a_school_wins_and_a_re_import_writes_nothing(
    reg: Registry, registry_db: asyncpg.Pool
) -> None:
    students, _ = demo_roster(SPEC)
    renamed = edited(students, {11: {"school_name": "同心第2小学（新）"}})
    first = await reg.service.import_students(renamed)
    assert first.rows == 12
    assert first.by_type["StudentEnrolled"] == 12
    assert first.events == await event_count(registry_db)
    payload = await registry_db.fetchval(
        "SELECT payload FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
        f"school-{SECOND_SCHOOL}",
    )
    assert json.loads(payload)["school_name"] == "同心第2小学（新）"
    again = await reg.service.import_students(renamed)
    assert (again.rows, again.events, again.by_type) == (12, 0, {})
