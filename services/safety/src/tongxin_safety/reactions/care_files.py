"""Care files (一人一档) from what other services saw:

- the registry categorises a student (``StudentCategorised``) with care groups (left-behind,
  without support) → the child's file is opened, once; a later change of the groups is
  ``CareGroupsChanged`` on the open file (the roster is the authority on them);
- visits opens a hardship follow-up case (``FollowUpOpened`` with the measure
  ``hardship_assistance``) → the child's file is opened, once (an open file is left as it is);
- a home visit's findings refer the child to safety (``VisitCompleted`` with ``referrals``
  including ``safety``) → a safety concern on the child's file for the school to assess, once
  per visit (the concern's id is derived from the visit's). A child without an open file gets
  one first (source ``safety_concern``): a safety finding must not be lost because nobody had
  opened a file yet, and the school sees the file, the concern and the missing carers at once;
- the registry moves the student (``StudentTransferred``) → the file is handed over to the new
  school (nothing within the same school); the student leaves (``StudentLeft``) → the file is
  closed (``left_school``).

Each trigger is handled once (the kit's reaction claims its id), and every decision is
idempotent on the file itself (``domain.files``: a second open appends nothing, a concern's id
is its visit's), so a redelivered or replayed trigger changes nothing. One consumer group for all
of them: the registry's events of one student are on one partition, so a categorisation and a
transfer of the same child are decided in the order they happened.
"""

from __future__ import annotations

from datetime import date, datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.registry import (
    StudentCategorised,
    StudentLeft,
    StudentTransferred,
)
from tongxin_contracts.events.safety import (
    ConcernSource,
    FileClosedReason,
    FileSource,
    care_file_stream,
)
from tongxin_contracts.events.visits import FollowUpOpened, Measure, Referral, VisitCompleted
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_safety.domain.calendar import china_date
from tongxin_safety.domain.files import (
    Child,
    CloseFile,
    FileCommand,
    HandOver,
    OpenFile,
    RaiseConcern,
    concern_id_for,
    decide_file,
    fold,
)

CARE_FILES = Reaction(
    "care_files",
    group="safety.care_files",
    sources=("registry", "visits"),
    description="Opens a child's care file when the roster puts them in a care group or visits "
    "opens a hardship case; raises a visit's safety finding as a concern on the file; hands the "
    "file over when the child moves school and closes it when they leave (each once).",
)


async def _run(ctx: Reacting, student_ref: str, *commands: FileCommand) -> None:
    """The commands decided one after the other on the child's file, in one append."""

    def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
        out: list[IntegrationEvent] = []
        for cmd in commands:
            out += decide_file(student_ref, cmd, fold([*history, *out]), now)
        return out

    await ctx.writer.run(care_file_stream(student_ref), decide)


def _today(ctx: Reacting) -> date:
    """Today in China time, by the writer's clock (injected in tests)."""
    return china_date(ctx.writer.clock())


@CARE_FILES.on(StudentCategorised)
async def on_categorised(e: StudentCategorised, ctx: Reacting) -> None:
    # An empty list opens nothing, and on an open file says the groups no longer apply.
    child = Child(e.student_ref, e.district, e.school_id)
    on = _today(ctx)
    await _run(
        ctx, e.student_ref, OpenFile(child, FileSource.categorised, tuple(e.care_groups), on)
    )


@CARE_FILES.on(FollowUpOpened)
async def on_case(e: FollowUpOpened, ctx: Reacting) -> None:
    if e.measure is not Measure.hardship_assistance:
        return
    child = Child(e.student_ref, e.district, e.school_id, e.class_id)
    await _run(ctx, e.student_ref, OpenFile(child, FileSource.hardship_followup, (), e.opened_on))


@CARE_FILES.on(VisitCompleted)
async def on_visit(e: VisitCompleted, ctx: Reacting) -> None:
    if Referral.safety not in e.referrals:
        return
    child = Child(e.student_ref, e.district, e.school_id, e.class_id)
    on = china_date(e.started_at)
    await _run(
        ctx,
        e.student_ref,
        OpenFile(child, FileSource.safety_concern, (), on),
        RaiseConcern(
            concern_id_for(e.student_ref, e.visit_id),
            ConcernSource.visit,
            visit_id=e.visit_id,
            raised_by=e.recorded_by,
            raised_on=on,
        ),
    )


@CARE_FILES.on(StudentTransferred)
async def on_transfer(e: StudentTransferred, ctx: Reacting) -> None:
    on = _today(ctx)
    await _run(ctx, e.student_ref, HandOver(e.school_id, e.district, e.class_id, on))


@CARE_FILES.on(StudentLeft)
async def on_left(e: StudentLeft, ctx: Reacting) -> None:
    on = _today(ctx)
    await _run(ctx, e.student_ref, CloseFile(FileClosedReason.left_school, on))
