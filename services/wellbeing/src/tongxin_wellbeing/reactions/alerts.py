"""Alerts where staff already are (企业微信 / 钉钉 group robots of the district, through the kit's
notification port): a referral escalated because the hospital did not acknowledge it in time,
and a screening flagged high risk (the school's psychology teacher and health vice-principal are
asked, by role, to look now).

The messages say what happened, the school and a link to the record — never the student's name,
ref, answers, score or band: the templates take references and codes only. Each trigger is
handled once (the reaction's idempotency key is the trigger's id) and each notice has a dedupe
key of its own, so a redelivered trigger sends nothing new.
"""

from __future__ import annotations

from functools import cache

from tongxin_contracts.events.wellbeing import ReferralEscalated, RiskFlag, ScreeningFlagged
from tongxin_platform.notify import NoticeTemplate
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.calendar import CHINA

ALERTS = Reaction(
    "alerts",
    group="wellbeing.alerts",
    sources=("wellbeing",),
    description="Alerts the district's staff group robots (WeCom, DingTalk) of escalated crisis "
    "referrals and high-risk screening flags: what happened, the school and a link only.",
)

ESCALATED = NoticeTemplate(
    "referral.escalated",
    title="危机转介超时未确认",
    text="【危机转介超时】学校 {school} 的一项危机转介，医院 {hospital} "
    "未在确认时限 {deadline}（北京时间）前确认，已上报区教育局和区卫健局。请立即跟进。",
)

HIGH_RISK = NoticeTemplate(
    "screening.high_risk",
    title="心理筛查高风险提示",
    text="【心理筛查高风险】学校 {school} 的一次心理筛查提示高风险（筛查结果，非诊断）。"
    "心理教师、健康副校长请立即查看。",
)


def _link(ctx: Reacting, path: str) -> str:
    """The record's URL under the service's public URL (``WELLBEING_PUBLIC_URL``)."""
    settings = ctx.settings if isinstance(ctx.settings, WellbeingSettings) else _from_env()
    return settings.public_link(path)


@cache
def _from_env() -> WellbeingSettings:
    """Settings from the environment, for a handler run without the worker's."""
    return WellbeingSettings()


@ALERTS.on(ReferralEscalated)
async def escalated(e: ReferralEscalated, ctx: Reacting) -> None:
    link = _link(ctx, f"/referrals/{e.referral_id}")
    deadline = e.acknowledge_by.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    await ctx.uow.notifications.enqueue(
        ESCALATED.notice(
            key=f"referral.escalated:{e.referral_id}",
            channel="alert",
            district=e.district,
            school=e.school_id,
            link=link,
            values={
                "school": e.school_id,
                "hospital": e.hospital_id,
                "deadline": deadline,
            },
        )
    )


@ALERTS.on(ScreeningFlagged)
async def flagged(e: ScreeningFlagged, ctx: Reacting) -> None:
    if e.risk is not RiskFlag.high:
        return
    link = _link(ctx, f"/schools/{e.school_id}/attention")
    await ctx.uow.notifications.enqueue(
        HIGH_RISK.notice(
            key=f"screening.high_risk:{e.screening_id}",
            channel="alert",
            district=e.district,
            school=e.school_id,
            link=link,
            values={"school": e.school_id},
        )
    )
