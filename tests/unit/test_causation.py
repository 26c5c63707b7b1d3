"""Every event of one command shares the command's correlation and causation ids — also for a
command run outside an HTTP request (an import from the shell, a service call)."""

from __future__ import annotations

from datetime import UTC, datetime

from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_contracts import default_registry
from tongxin_contracts.events.registry import SpecialGroup
from tongxin_contracts.events.visits import visit_stream
from tongxin_platform.commands import Writer, caused_by
from tongxin_platform.memory import MemoryDatabase, MemoryTransactions
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.application.service import RegistryService
from tongxin_visits.application.service import VisitsService

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def writer_on(db: MemoryDatabase) -> Writer:
    return Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)


async def test_one_import_from_the_shell_gives_all_its_events_one_correlation_and_causation() -> (
    None
):
    db = MemoryDatabase(default_registry())
    writer = writer_on(db)
    registry = RegistryService(
        writer.transactions, writer, Pseudonymizer(b"a-test-pseudonym-secret")
    )
    students, _ = demo_roster(DemoSpec(schools=1, classes_per_school=2, students_per_class=3))
    await registry.import_students(students)
    stored = db.stored()
    assert len(stored) >= 8  # a school, two classes, six students
    assert len({e.stream_id for e in stored}) >= 8  # many streams, one command
    assert len({e.correlation_id for e in stored}) == 1
    assert len({e.causation_id for e in stored}) == 1
    assert "" not in {stored[0].correlation_id, stored[0].causation_id}
    some = next(e for e in stored if e.stream_id.startswith("student-"))
    await registry.categorise(some.stream_id.removeprefix("student-"), {SpecialGroup.left_behind})
    assert len({e.correlation_id for e in db.stored()}) == 2  # another command, its own ids


async def test_a_command_in_a_request_carries_the_request_s_ids_and_retries_keep_them() -> None:
    db = MemoryDatabase(default_registry())
    visits = VisitsService(writer_on(db))
    with caused_by("req-42", "cmd-7"):
        visit_id = await visits.visits.plan(
            district="330106",
            school_id="330106001",
            class_id="330106001-01",
            student_ref="stu_1",
            planned_by="t1",
            planned_for=NOW.date(),
        )
    [planned] = [e for e in db.stored() if e.stream_id == visit_stream(visit_id)]
    assert (planned.correlation_id, planned.causation_id) == ("req-42", "cmd-7")
