"""The agencies' views: one registry (``VIEWS``) of every agency's dashboards and lists, and the
context its providers are given (``tongxin_web.views``: the views as data, shared by every
service with pages).

    @dashboard("district")
    async def district_page(ctx: ViewContext) -> Dashboard: ...

    @item_list("followups_overdue")
    async def overdue_followups(ctx: ViewContext) -> ItemList: ...
"""

from __future__ import annotations

from dataclasses import dataclass

from tongxin_agencies.application.policy import POLICY
from tongxin_agencies.config import AgenciesSettings
from tongxin_platform.policy import Policy
from tongxin_web import views as web


@dataclass(frozen=True)
class ViewContext(web.ViewContext[AgenciesSettings]):
    """A provider's context; the agencies' policy decides (``ctx.require``)."""

    policy: Policy = POLICY


VIEWS: web.Views[ViewContext] = web.Views()
DASHBOARDS = VIEWS.dashboards
LISTS = VIEWS.lists
dashboard = VIEWS.dashboard
item_list = VIEWS.item_list
