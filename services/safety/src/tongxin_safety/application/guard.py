"""Guard posts and shifts (``guard-post-<post_id>``, ``guard-shift-<shift_id>``) and the school's
vice-principals from outside (``school-safety-<school_id>``): load → decide → append on the
service's ``Writer``; the roster (staff, pupils' guardians) as the read model has it.

A shift's id is made of its post, day and period, so that one slot is scheduled once: the rule
holds because it is the stream's identity."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.safety import (
    AppointeeOrg,
    Guard,
    GuardKind,
    GuardShiftScheduled,
    MissedReason,
    PostPlace,
    ShiftPeriod,
    VicePost,
    guard_post_stream,
    guard_shift_stream,
    school_safety_stream,
)
from tongxin_platform.commands import Writer
from tongxin_safety.application.queries import S
from tongxin_safety.domain.guard import (
    CompleteShift,
    EstablishPost,
    MissShift,
    Post,
    ScheduleShift,
    decide_complete,
    decide_establish,
    decide_miss,
    decide_schedule,
    post_of,
    shift_of,
)
from tongxin_safety.domain.vice_principals import (
    Appoint,
    NameContact,
    RecordLesson,
    WithdrawContact,
    decide_appoint,
    decide_lesson,
    decide_name_contact,
    decide_withdraw_contact,
)

SHIFTS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tongxin:safety:guard-shift")


def shift_id_of(post_id: str, on: date, period: ShiftPeriod) -> str:
    """One slot, one id: the post, the day and the period."""
    return str(uuid.uuid5(SHIFTS, f"{post_id}/{on.isoformat()}/{period.value}"))


async def school_staff(pool: asyncpg.Pool, school_id: str) -> frozenset[str]:
    rows = await pool.fetch(f"SELECT staff_ref FROM {S}.staff WHERE school_id = $1", school_id)
    return frozenset(r["staff_ref"] for r in rows)


async def school_guardians(pool: asyncpg.Pool, school_id: str) -> frozenset[str]:
    """Guardians of the pupils enrolled at the school (parent volunteers come from them)."""
    rows = await pool.fetch(
        f"SELECT DISTINCT unnest(guardian_refs) AS ref FROM {S}.students"
        " WHERE school_id = $1 AND enrolled",
        school_id,
    )
    return frozenset(r["ref"] for r in rows)


class GuardPosts:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    def new_id(self) -> str:
        return str(self.writer.new_id())

    async def post(self, post_id: str) -> Post | None:
        """The post as its stream has it (the write side: no lag behind the read model)."""
        return post_of(await self.writer.history(guard_post_stream(post_id)))

    async def shift(self, shift_id: str) -> GuardShiftScheduled | None:
        found = shift_of(await self.writer.history(guard_shift_stream(shift_id)))
        return found.scheduled if found is not None else None

    async def establish(
        self,
        *,
        district: str,
        school_id: str,
        post_id: str,
        place: PostPlace,
        police_station: str | None,
        established_on: date,
    ) -> list[IntegrationEvent]:
        cmd = EstablishPost(district, school_id, post_id, place, police_station, established_on)
        return await self.writer.run(
            guard_post_stream(post_id), lambda history, now: decide_establish(cmd, history, now)
        )

    async def schedule(
        self, *, post: Post, on: date, period: ShiftPeriod, guards: tuple[Guard, ...]
    ) -> tuple[str, list[IntegrationEvent]]:
        shift_id = shift_id_of(post.post_id, on, period)
        cmd = ScheduleShift(
            shift_id,
            post.post_id,
            on,
            period,
            guards,
            await school_staff(self.pool, post.school_id),
            await school_guardians(self.pool, post.school_id),
        )
        p, s = guard_post_stream(post.post_id), guard_shift_stream(shift_id)
        events = await self.writer.run_many(
            [p, s], lambda loaded, now: decide_schedule(cmd, loaded[p], loaded[s], now)
        )
        return shift_id, events

    async def complete(
        self, shift_id: str, guards_present: tuple[GuardKind, ...], recorded_by: str
    ) -> list[IntegrationEvent]:
        cmd = CompleteShift(guards_present, recorded_by)
        return await self.writer.run(
            guard_shift_stream(shift_id), lambda history, now: decide_complete(cmd, history, now)
        )

    async def miss(
        self, shift_id: str, reason: MissedReason, recorded_by: str
    ) -> list[IntegrationEvent]:
        cmd = MissShift(reason, recorded_by)
        return await self.writer.run(
            guard_shift_stream(shift_id), lambda history, now: decide_miss(cmd, history, now)
        )


class VicePrincipals:
    def __init__(self, writer: Writer, pool: asyncpg.Pool) -> None:
        self.writer, self.pool = writer, pool

    def new_id(self) -> str:
        return str(self.writer.new_id())

    async def appoint(
        self,
        *,
        district: str,
        school_id: str,
        post: VicePost,
        appointee_ref: str,
        from_org: AppointeeOrg,
        appointed_on: date,
        term_until: date | None,
    ) -> list[IntegrationEvent]:
        cmd = Appoint(district, school_id, post, appointee_ref, from_org, appointed_on, term_until)
        return await self.writer.run(
            school_safety_stream(school_id), lambda history, now: decide_appoint(cmd, history, now)
        )

    async def record_lesson(
        self,
        *,
        district: str,
        school_id: str,
        lesson_id: str,
        school_year: str,
        given_on: date,
        hours: float,
        recorder_ref: str,
        recorder_is_legal_vp: bool,
    ) -> list[IntegrationEvent]:
        cmd = RecordLesson(
            district,
            school_id,
            lesson_id,
            school_year,
            given_on,
            hours,
            recorder_ref,
            recorder_is_legal_vp,
        )
        return await self.writer.run(
            school_safety_stream(school_id), lambda history, now: decide_lesson(cmd, history, now)
        )

    async def name_contact(
        self, *, district: str, school_id: str, staff_ref: str
    ) -> list[IntegrationEvent]:
        cmd = NameContact(district, school_id, staff_ref, await school_staff(self.pool, school_id))
        return await self.writer.run(
            school_safety_stream(school_id),
            lambda history, now: decide_name_contact(cmd, history, now),
        )

    async def withdraw_contact(
        self, *, district: str, school_id: str, staff_ref: str
    ) -> list[IntegrationEvent]:
        cmd = WithdrawContact(district, school_id, staff_ref)
        return await self.writer.run(
            school_safety_stream(school_id),
            lambda history, now: decide_withdraw_contact(cmd, history, now),
        )
