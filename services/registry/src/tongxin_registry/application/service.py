"""Registry use cases. Each one loads the streams it needs, decides, and appends in one unit of
work; a concurrent change (``ConcurrencyError``) makes it start over from the load."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tongxin_contracts import IntegrationEvent, Sealed
from tongxin_contracts.events.registry import (
    ErasureReason,
    Guardian,
    LeaveReason,
    SpecialGroup,
    class_stream,
    school_stream,
    staff_stream,
    student_stream,
)
from tongxin_platform.commands import Writer, causation, new_events, retrying
from tongxin_platform.crypto import open_with, seal_with
from tongxin_platform.eventstore import NewEvent, StreamHead
from tongxin_platform.uow import Transactions, UnitOfWork
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.application.rows import (
    MAX_ERRORS,
    ImportRejectedError,
    RowError,
    RowStream,
    StaffRow,
    StudentRow,
    parse_rows,
)
from tongxin_registry.domain.deciders import (
    decide_class,
    decide_school,
    decide_staff,
    decide_student,
    fold,
)
from tongxin_registry.domain.model import (
    AssignStaff,
    CategoriseStudent,
    ClassState,
    EraseSubject,
    OpenClass,
    PlaceStudent,
    RecordStudentLeft,
    RegisterSchool,
    RegistryError,
    StaffState,
    StudentState,
    TransferStudent,
    UnknownClassError,
)

# Students placed (sealed, decided, appended) at a time: each batch holds the loop ~10 ms.
WRITE_BATCH = 100
# Opens the file's lines from its start (an import reads them once, and again on a retry).
LineSource = Callable[[], Iterable[str]]
# Called with the (district, school) pairs a file touches (a student import: those a batch meets
# first, before it writes); raises to refuse, and what the import wrote is rolled back.
ScopeCheck = Callable[[set[tuple[str, str]]], None]


@dataclass
class ImportResult:
    rows: int
    events: int
    by_type: dict[str, int] = field(default_factory=dict)


class RegistryService:
    def __init__(
        self,
        transactions: Transactions,
        writer: Writer,
        pseudonyms: Pseudonymizer,
    ) -> None:
        self.transactions = transactions
        self.writer = writer
        self.pseudonyms = pseudonyms

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.writer.clock

    @property
    def new_id(self) -> Callable[[], uuid.UUID]:
        return self.writer.new_id

    # --- imports -------------------------------------------------------------------------

    async def import_students(
        self, text: str, *, check_scope: ScopeCheck | None = None
    ) -> ImportResult:
        return await self.import_students_from(lambda: io.StringIO(text), check_scope=check_scope)

    async def import_students_from(
        self, lines: LineSource, *, check_scope: ScopeCheck | None = None
    ) -> ImportResult:
        """Import a student roster read from ``lines()`` in one pass and one transaction,
        ``WRITE_BATCH`` rows at a time: each batch is validated, checked against the rows
        before it (one class in two schools, one student twice), its schools checked against
        the caller's scope (a refusal rolls back what earlier batches wrote), then written,
        after the schools and classes it is the first to name if they are new. At the end
        every school and class is decided as the file's last row naming it has it (so a
        re-import writes nothing). After an error nothing more is written and the rest of the
        file is only validated, so every error is reported; the transaction then rolls back.
        Memory stays bounded by a batch (and the file's schools, classes and student ids); the
        event loop gets control back between batches."""
        return await retrying(lambda: self._import_students(lines(), check_scope))

    async def _import_students(
        self, lines: Iterable[str], check_scope: ScopeCheck | None
    ) -> ImportResult:
        now, cause = self.clock(), causation()  # one import: its events share their ids
        today = china_today(now)
        roster = _RosterFile(self.pseudonyms)
        by_type: dict[str, int] = defaultdict(int)
        errors: list[RowError] = []  # the domain's refusals (a class in another school...)
        written = 0

        def decided(
            loaded: Any, stream: str, events: list[IntegrationEvent]
        ) -> list[tuple[str, StreamHead, list[NewEvent]]]:
            if not events:
                return []
            new = new_events(events, now, new_id=self.new_id, cause=cause)
            return [(stream, loaded.head(stream), new)]

        async with self.transactions.begin() as uow:

            async def append(batches: list[tuple[str, StreamHead, list[NewEvent]]]) -> int:
                if errors:
                    return 0  # deciding on only to report every refusal
                for _, _, evs in batches:
                    for e in evs:
                        by_type[e.event.name] += 1
                return await uow.events.append_many(batches)

            stream = RowStream(lines, StudentRow, batch=WRITE_BATCH)
            for rows in stream.batches():
                fresh = roster.add(rows)
                if check_scope is not None and fresh.scopes:
                    check_scope(fresh.scopes)
                if not (stream.error_count or roster.error_count):  # else only validate
                    written += await append(
                        await self._place_students(uow, fresh, rows, today, errors, decided)
                    )
                await asyncio.sleep(0)  # the loop serves other requests between batches
            stream.raise_errors()
            roster.raise_errors()
            for schools, classes in roster.settling(WRITE_BATCH):
                loaded = await uow.events.load(
                    [school_stream(s) for s in schools] + [class_stream(c) for c in classes]
                )
                written += await append(self._register(loaded, schools, classes, errors, decided))
                await asyncio.sleep(0)
            if errors:
                raise ImportRejectedError(errors[:MAX_ERRORS], total=len(errors))
        return ImportResult(stream.rows, written, dict(by_type))

    async def _place_students(
        self,
        uow: UnitOfWork,
        fresh: _Fresh,
        rows: list[tuple[int, StudentRow]],
        today: date,
        errors: list[RowError],
        decided: Callable[..., list[tuple[str, StreamHead, list[NewEvent]]]],
    ) -> list[tuple[str, StreamHead, list[NewEvent]]]:
        """Decide a batch: the schools and classes it is the first to name, if new, then its
        students (one load, one key lookup). Refusals go to ``errors``."""
        refs = {line: self.pseudonyms.student(r.district, r.student_id) for line, r in rows}
        loaded = await uow.events.load(
            [school_stream(s) for s in fresh.schools]
            + [class_stream(c) for c in fresh.classes]
            + [student_stream(ref) for ref in refs.values()]
        )
        batches = self._register(loaded, fresh.schools, fresh.classes, errors, decided, new=True)
        states = {
            ref: fold(loaded.of(student_stream(ref)), StudentState()) for ref in refs.values()
        }
        # Keys of the students not erased whose sealed data may be read or written: personal
        # data is sealed for students (re-)enrolled by this file, special groups opened and
        # sealed for students in a group (most re-imported students need no key).
        grouped = {refs[line] for line, r in rows if r.special_groups}
        live = [
            ref
            for ref, st in states.items()
            if not st.erased
            and (not st.enrolled or st.in_special_group or st.groups_sealed or ref in grouped)
        ]
        keys = await uow.keys.keys_for(live) if live else {}
        states = {ref: with_groups(st, keys.get(ref)) for ref, st in states.items()}
        for line, r in rows:
            ref = refs[line]
            if states[ref].erased and not states[ref].enrolled:
                errors.append(
                    RowError(
                        line,
                        "student_id",
                        "this student's personal data was "
                        "erased; they cannot be enrolled again from a file",
                    )
                )
                continue
            personal = groups_sealed = None
            if ref in keys:
                key_id, key = keys[ref]
                # An enrolment starts with no groups (the decider's rule too).
                current = states[ref].groups if states[ref].enrolled else frozenset()
                if not states[ref].enrolled:
                    personal = seal_with(key_id, key, ref, _student_personal(r))
                if frozenset(r.special_groups) != current:
                    groups_sealed = seal_groups(keys[ref], ref, r.special_groups)
            cmd = PlaceStudent(
                r.district,
                r.school_id,
                r.class_id,
                ref,
                r.birth_date,
                self._guardians(r),
                frozenset(r.special_groups),
                personal,
                today,
                groups_sealed,
            )
            batches += decided(loaded, student_stream(ref), decide_student(cmd, states[ref]))
        return batches

    @staticmethod
    def _register(
        loaded: Any,
        schools: dict[str, RegisterSchool],
        classes: dict[str, tuple[int, OpenClass]],
        errors: list[RowError],
        decided: Callable[..., list[tuple[str, StreamHead, list[NewEvent]]]],
        *,
        new: bool = False,
    ) -> list[tuple[str, StreamHead, list[NewEvent]]]:
        """Decide ``schools`` and ``classes`` (with the line naming each); only those not in
        the registry yet if ``new`` (the others are decided once the whole file is read)."""
        batches: list[tuple[str, StreamHead, list[NewEvent]]] = []
        for sid, school_cmd in schools.items():
            state = fold(loaded.of(school_stream(sid)), None)
            if new and state is not None:
                continue
            batches += decided(loaded, school_stream(sid), decide_school(school_cmd, state))
        for cid, (class_line, class_cmd) in classes.items():
            cstate: ClassState | None = fold(loaded.of(class_stream(cid)), None)
            if new and cstate is not None:
                continue
            try:
                batches += decided(loaded, class_stream(cid), decide_class(class_cmd, cstate))
            except RegistryError as exc:  # a domain refusal names the rule
                errors.append(RowError(class_line, "class_id", str(exc)))
        return batches

    def _guardians(self, r: StudentRow) -> tuple[Guardian, ...]:
        out = [
            Guardian(
                guardian_ref=self.pseudonyms.guardian(r.district, r.guardian1_phone),
                relation=r.guardian1_relation,
            )
        ]
        if r.guardian2_phone:
            out.append(
                Guardian(
                    guardian_ref=self.pseudonyms.guardian(r.district, r.guardian2_phone),
                    relation=r.guardian2_relation or "guardian",
                )
            )
        return tuple(out)

    async def import_staff(
        self, text: str, *, check_scope: ScopeCheck | None = None
    ) -> ImportResult:
        rows = parse_rows(text, StaffRow)
        if check_scope is not None:
            check_scope({(r.district, r.school_id) for _, r in rows})
        return await retrying(lambda: self._import_staff(rows))

    async def _import_staff(self, rows: list[tuple[int, StaffRow]]) -> ImportResult:
        now, cause = self.clock(), causation()  # one import: its events share their ids
        refs = {line: self.pseudonyms.staff(r.district, r.staff_id) for line, r in rows}
        async with self.transactions.begin() as uow:
            school_ids = {r.school_id for _, r in rows}
            class_ids = {c for _, r in rows for c in r.class_ids}
            known = await uow.events.heads(
                [school_stream(s) for s in school_ids] + [class_stream(c) for c in class_ids]
            )
            errors = [
                RowError(line, "school_id", f"school {r.school_id} is not registered")
                for line, r in rows
                if school_stream(r.school_id) not in known
            ]
            errors += [
                RowError(line, "class_ids", f"class {c} is not open")
                for line, r in rows
                for c in r.class_ids
                if class_stream(c) not in known
            ]
            if errors:
                raise ImportRejectedError(errors)
            loaded = await uow.events.load([staff_stream(s) for s in refs.values()])
            keys = await uow.keys.keys_for(list(refs.values()))
            batches = []
            for line, r in rows:
                ref = refs[line]
                state: StaffState | None = fold(loaded.of(staff_stream(ref)), None)
                key_id, key = keys[ref]
                personal = seal_with(key_id, key, ref, {"name": r.name, "phone": r.phone})
                cmd = AssignStaff(
                    r.district,
                    r.school_id,
                    ref,
                    frozenset(r.roles),
                    frozenset(r.class_ids),
                    personal,
                )
                decided = decide_staff(cmd, state)
                if decided:
                    batches.append(
                        (
                            staff_stream(ref),
                            loaded.head(staff_stream(ref)),
                            new_events(decided, now, new_id=self.new_id, cause=cause),
                        )
                    )
            written = await uow.events.append_many(batches)
        return _result(len(rows), written, batches)

    # --- single-student commands ---------------------------------------------------------

    async def _student_command(
        self,
        student_ref: str,
        make: Callable[
            [StudentState], RecordStudentLeft | CategoriseStudent | TransferStudent | EraseSubject
        ],
        before: Callable[[UnitOfWork, datetime], Any] | None = None,
    ) -> list[str]:
        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            state = fold(history, StudentState())
            return decide_student(make(state), state)

        decided = await self.writer.run(student_stream(student_ref), decide, before=before)
        return [e.name for e in decided]

    async def record_left(self, student_ref: str, reason: LeaveReason) -> list[str]:
        return await self._student_command(
            student_ref, lambda _: RecordStudentLeft(student_ref, reason)
        )

    async def categorise(self, student_ref: str, groups: set[SpecialGroup]) -> list[str]:
        """Record the student's special groups, sealed with their key (none once erased)."""
        stream = student_stream(student_ref)
        found: dict[str, Any] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            found.clear()
            state = fold((await uow.events.load([stream])).of(stream), StudentState())
            if state.enrolled and not state.erased:
                key = found["key"] = (await uow.keys.keys_for([student_ref]))[student_ref]
                if frozenset(groups) != with_groups(state, key).groups:
                    found["sealed"] = seal_groups(key, student_ref, groups)

        def decide(history: list[IntegrationEvent], _: datetime) -> list[IntegrationEvent]:
            state = with_groups(fold(history, StudentState()), found.get("key"))
            cmd = CategoriseStudent(student_ref, frozenset(groups), found.get("sealed"))
            return decide_student(cmd, state)

        decided = await self.writer.run(stream, decide, before=seal)
        return [e.name for e in decided]

    async def transfer(self, student_ref: str, class_id: str) -> list[str]:
        target: dict[str, Any] = {}

        async def check(uow: UnitOfWork, _: datetime) -> None:
            classes = await uow.events.load([class_stream(class_id)])
            cstate: ClassState | None = fold(classes.of(class_stream(class_id)), None)
            if cstate is None:
                raise UnknownClassError(f"class {class_id} is not open")
            school = await uow.events.load([school_stream(cstate.school_id)])
            event = school.of(school_stream(cstate.school_id))[0]
            target.update(school_id=cstate.school_id, district=getattr(event, "district", ""))

        return await self._student_command(
            student_ref,
            lambda _: TransferStudent(
                student_ref, target["district"], target["school_id"], class_id
            ),
            check,
        )

    async def erase(self, student_ref: str, reason: ErasureReason, by_role: str) -> list[str]:
        """Delete the student's data key and record ``SubjectErased``, in one unit of work."""

        async def delete_key(uow: UnitOfWork, _: datetime) -> None:
            await uow.keys.erase(student_ref)

        return await self._student_command(
            student_ref, lambda _: EraseSubject(student_ref, reason, by_role), delete_key
        )

    async def history(self, stream_id: str) -> list[dict[str, Any]]:
        async with self.transactions.read() as uow:
            events = await uow.events.stored(stream_id)
        return [
            {
                "position": e.position,
                "version": e.version,
                "type": e.event_type,
                "event_id": str(e.event_id),
                "recorded_at": e.recorded_at.isoformat(),
                "hash": e.hash.hex(),
            }
            for e in events
        ]


def china_today(now: datetime) -> date:
    """The day in China (the registry's dates, like the age band's, are China time)."""
    return now.astimezone(CHINA).date()


CHINA = ZoneInfo("Asia/Shanghai")


def seal_groups(
    key: tuple[uuid.UUID, bytes],
    student_ref: str,
    groups: Sequence[SpecialGroup] | set[SpecialGroup],
) -> Sealed:
    return seal_with(key[0], key[1], student_ref, {"groups": sorted(g.value for g in groups)})


def with_groups(state: StudentState, key: tuple[uuid.UUID, bytes] | None) -> StudentState:
    """``state`` with its special groups opened from the last ``StudentCategorised`` (they travel
    sealed); unchanged when they are known already or cannot be opened."""
    if state.groups is not None or state.groups_sealed is None or key is None:
        return state
    if state.groups_sealed.key_id != str(key[0]):
        return state  # sealed under a key that no longer exists
    opened = open_with(key[1], state.groups_sealed)
    return replace(state, groups=frozenset(SpecialGroup(g) for g in opened["groups"]))


def _student_personal(r: StudentRow) -> dict[str, Any]:
    guardians: list[dict[str, str | None]] = [
        {"name": r.guardian1_name, "relation": r.guardian1_relation, "phone": r.guardian1_phone}
    ]
    if r.guardian2_phone:
        guardians.append(
            {"name": r.guardian2_name, "relation": r.guardian2_relation, "phone": r.guardian2_phone}
        )
    return {
        "name": r.student_name,
        "gender": r.gender,
        "birth_date": r.birth_date.isoformat(),
        "address": r.address,
        "guardians": guardians,
    }


@dataclass
class _Fresh:
    """What a batch of a student file names that the rows before it did not: the (district,
    school) scopes, the schools and classes (with the line naming each first)."""

    scopes: set[tuple[str, str]] = field(default_factory=set)
    schools: dict[str, RegisterSchool] = field(default_factory=dict)
    classes: dict[str, tuple[int, OpenClass]] = field(default_factory=dict)


class _RosterFile:
    """What an import keeps of a student file as it reads it, batch after batch: the rows'
    agreement (one class in two schools, one student twice: errors, the first ``MAX_ERRORS``
    kept, all counted), the schools and classes as last named, the scopes met."""

    def __init__(self, pseudonyms: Pseudonymizer) -> None:
        self.pseudonyms = pseudonyms
        self.errors: list[RowError] = []
        self.error_count = 0
        self.schools: dict[str, RegisterSchool] = {}
        self.classes: dict[str, OpenClass] = {}
        self.class_school: dict[str, tuple[str, int]] = {}
        self.students: dict[tuple[str, str], int] = {}
        self.scopes: set[tuple[str, str]] = set()

    def _error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    def add(self, rows: list[tuple[int, StudentRow]]) -> _Fresh:
        """Check ``rows`` against the rows before them; what they are the first to name. A
        school or class named differently by a later row is kept as that row names it."""
        fresh = _Fresh()
        for line, r in rows:
            seen = self.class_school.setdefault(r.class_id, (r.school_id, line))
            if seen[0] != r.school_id:
                self._error(
                    RowError(
                        line,
                        "class_id",
                        f"class {r.class_id} is in school {seen[0]} on row {seen[1]}",
                    )
                )
            first = self.students.setdefault((r.district, r.student_id), line)
            if first != line:
                self._error(RowError(line, "student_id", f"student also on row {first}"))
            school = RegisterSchool(
                r.district, r.school_id, r.school_name, r.stage, r.has_counselling_room
            )
            if r.school_id not in self.schools:
                fresh.schools[r.school_id] = school
            self.schools[r.school_id] = school
            head = (
                self.pseudonyms.staff(r.district, r.head_teacher_id) if r.head_teacher_id else None
            )
            opened = OpenClass(
                r.district, r.school_id, r.class_id, r.class_name, r.grade, r.school_year, head
            )
            if r.class_id not in self.classes:
                fresh.classes[r.class_id] = (line, opened)
            self.classes[r.class_id] = opened
            if (r.district, r.school_id) not in self.scopes:
                self.scopes.add((r.district, r.school_id))
                fresh.scopes.add((r.district, r.school_id))
        return fresh

    def raise_errors(self) -> None:
        if self.error_count:
            raise ImportRejectedError(self.errors, total=self.error_count)

    def settling(
        self, batch: int
    ) -> Iterator[tuple[dict[str, RegisterSchool], dict[str, tuple[int, OpenClass]]]]:
        """The schools, then the classes, as the file last names them, ``batch`` at a time
        (a class with the line naming it first)."""
        schools = list(self.schools.items())
        for i in range(0, len(schools), batch):
            yield dict(schools[i : i + batch]), {}
        classes = [(c, (self.class_school[c][1], cmd)) for c, cmd in self.classes.items()]
        for i in range(0, len(classes), batch):
            yield {}, dict(classes[i : i + batch])


def _result(
    rows: int, written: int, batches: Sequence[tuple[str, Any, list[NewEvent]]]
) -> ImportResult:
    by_type: dict[str, int] = defaultdict(int)
    for _, _, evs in batches:
        for e in evs:
            by_type[e.event.name] += 1
    return ImportResult(rows, written, dict(by_type))
