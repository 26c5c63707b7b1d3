"""Alerts where staff already are (企业微信 / 钉钉 group robots of the district, through the kit's
notification port): an incident whose mandatory report (强制报告) was not filed in time and was
escalated to the district education bureau.

The message says the school, the incident's id, its category code, the due time passed and a
link to the record — never a child, a child's ref or the account: the template takes references
and codes only. Each escalation is handled once (the reaction's idempotency key is the trigger's
id) and the notice has a dedupe key of its own (the incident), so a redelivered escalation sends
nothing new.
"""

from __future__ import annotations

from functools import cache

from tongxin_contracts.events.safety import MandatoryReportEscalated
from tongxin_platform.notify import NoticeTemplate
from tongxin_platform.reaction import Reacting, Reaction
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain.calendar import CHINA

ALERTS = Reaction(
    "alerts",
    group="safety.alerts",
    sources=("safety",),
    description="Alerts the district's staff group robots (WeCom, DingTalk) of incidents whose "
    "mandatory report was not filed in time and was escalated: the school, the incident, its "
    "category code and a link only.",
)

REPORT_ESCALATED = NoticeTemplate(
    "incident.report_escalated",
    title="强制报告超时未报",
    text="【强制报告超时】学校 {school} 的事件 {incident}（类别 {category}）未在报告时限 "
    "{deadline}（北京时间）前向公安、民政、教育等部门报告，已上报区教育局。请立即跟进。",
)


@cache
def _from_env() -> SafetySettings:
    """Settings from the environment, for a handler run without the worker's."""
    return SafetySettings()


def _link(ctx: Reacting, path: str) -> str:
    """The record's URL under the service's public URL (``SAFETY_PUBLIC_URL``)."""
    settings = ctx.settings if isinstance(ctx.settings, SafetySettings) else _from_env()
    return settings.public_link(path)


@ALERTS.on(MandatoryReportEscalated)
async def escalated(e: MandatoryReportEscalated, ctx: Reacting) -> None:
    deadline = e.report_due_at.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    await ctx.uow.notifications.enqueue(
        REPORT_ESCALATED.notice(
            key=f"incident.report_escalated:{e.incident_id}",
            channel="alert",
            district=e.district,
            school=e.school_id,
            link=_link(ctx, f"/incidents/{e.incident_id}"),
            values={
                "school": e.school_id,
                "incident": e.incident_id,
                "category": e.category.value,
                "deadline": deadline,
            },
        )
    )
