"""Crisis referral commands (1小时响应通道): the team refers, the hospital acknowledges and
resolves, and the deadline escalates what was not acknowledged in time.

A referral's unit of work holds everything it causes: the events (``CrisisReferred`` and one
``GuardianNotified`` per guardian), the deadline row (``referral.ack``, keyed by the referral:
a row, not a timer, so it survives restarts of any process) and a notice to each guardian
through the kit's notification port. The acknowledgement cancels the deadline in its own unit
of work; the deadline's handler, run by the worker with its injected clock, appends
``ReferralEscalated`` — once: the decider refuses a second escalation and one after an
acknowledgement, and the kit fires each row once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import (
    CrisisReferred,
    GuardianNotified,
    ReferralOutcome,
    referral_stream,
)
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import Deadline, Due, Firing
from tongxin_platform.notify import NoticeTemplate
from tongxin_platform.uow import UnitOfWork
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.referrals import (
    AcknowledgeReferral,
    EscalateReferral,
    MakeReferral,
    ReferralCommand,
    ReferralSettledError,
    ResolveReferral,
    decide_referral,
    fold,
)

log = logging.getLogger(__name__)

REFERRAL_ACK = "referral.ack"  # the deadline's kind; its key is the referral id

# What a guardian is told: a fixed text, no student name, score or note (the notification port
# refuses free-form values; this template has none).
GUARDIAN_NOTICE = NoticeTemplate(
    "referral.guardian",
    title="学校心理健康转介通知",
    text="您好：学校已将您的孩子转介至专科医院，以便及时获得专业帮助。"
    "学校心理教师将尽快与您联系，请保持电话畅通。",
)


@dataclass(frozen=True, slots=True)
class Referral:
    """What the team asks for: who, where to, and what the hospital needs to know."""

    district: str
    school_id: str
    student_ref: str
    hospital_id: str
    referred_by: str
    guardian_refs: tuple[str, ...]
    note: str | None = None


class Referrals:
    def __init__(self, writer: Writer, settings: WellbeingSettings) -> None:
        self.writer, self.settings = writer, settings

    async def _run(
        self, referral_id: str, cmd: ReferralCommand, **hooks: Any
    ) -> list[IntegrationEvent]:
        return await self.writer.run(
            referral_stream(referral_id),
            lambda history, now: decide_referral(cmd, fold(history), now),
            **hooks,
        )

    async def make(self, r: Referral) -> list[IntegrationEvent]:
        """Refer: the events (``CrisisReferred`` first), the deadline and the guardians'
        notices, in one unit of work."""
        referral_id = str(self.writer.new_id())
        sealed: dict[str, Any] = {}

        async def seal(uow: UnitOfWork, _: datetime) -> None:
            if r.note:
                sealed["note"] = await uow.keys.seal(r.student_ref, {"text": r.note})

        decided: list[IntegrationEvent] = []

        def decide(history: list[IntegrationEvent], now: datetime) -> list[IntegrationEvent]:
            cmd = MakeReferral(
                referral_id,
                r.district,
                r.school_id,
                r.student_ref,
                r.hospital_id,
                r.referred_by,
                self.settings.referral_ack_seconds,
                r.guardian_refs,
                sealed.get("note"),
            )
            decided[:] = decide_referral(cmd, fold(history), now)
            return decided

        async def schedule(uow: UnitOfWork, _: list[str]) -> None:
            referred = next(e for e in decided if isinstance(e, CrisisReferred))
            await uow.deadlines.set(
                REFERRAL_ACK,
                referral_id,
                referred.acknowledge_by,
                {"district": r.district, "school_id": r.school_id, "hospital_id": r.hospital_id},
            )
            link = self.settings.public_link(f"/referrals/{referral_id}")
            for e in decided:
                if isinstance(e, GuardianNotified):
                    await uow.notifications.enqueue(
                        GUARDIAN_NOTICE.notice(
                            key=f"referral.guardian:{referral_id}:{e.guardian_ref}",
                            channel="guardian",
                            district=r.district,
                            school=r.school_id,
                            recipient=e.guardian_ref,
                            link=link,
                        )
                    )

        return await self.writer.run(
            referral_stream(referral_id), decide, before=seal, after=schedule
        )

    async def acknowledge(self, referral_id: str, hospital_id: str) -> list[IntegrationEvent]:
        """The receiving hospital acknowledges (late, after an escalation, too); the deadline is
        cancelled with it."""

        async def cancel(uow: UnitOfWork, _: list[str]) -> None:
            await uow.deadlines.cancel(REFERRAL_ACK, referral_id)

        return await self._run(
            referral_id, AcknowledgeReferral(referral_id, hospital_id), after=cancel
        )

    async def resolve(
        self, referral_id: str, hospital_id: str, outcome: ReferralOutcome
    ) -> list[IntegrationEvent]:
        return await self._run(referral_id, ResolveReferral(referral_id, hospital_id, outcome))


async def escalate(due: Due, ctx: Firing) -> None:
    """The hospital's deadline fell due: escalate, unless it was acknowledged or escalated
    already (nothing to do: the row is marked fired). A refusal that the deadline has not
    passed (a clock behind the row's) raises: the row stays for the next poll."""
    cmd = EscalateReferral(due.key)
    try:
        await ctx.writer.run(
            referral_stream(due.key),
            lambda history, now: decide_referral(cmd, fold(history), now),
        )
    except ReferralSettledError as settled:
        log.info("referral %s: not escalated (%s)", due.key, settled.rule)


ACK_DEADLINE = Deadline(
    REFERRAL_ACK,
    escalate,
    description="A crisis referral not acknowledged by the hospital within "
    "WELLBEING_REFERRAL_ACK_SECONDS (1 h) is escalated to the district's education and health "
    "bureaus (ReferralEscalated), once.",
)
