"""The agencies' pages on ``tongxin_web``: their views, their demo users and the page each role
starts on."""

from __future__ import annotations

from tongxin_agencies.application import providers  # noqa: F401 - registers every view
from tongxin_agencies.application.demo_users import DEMO_ROLES, demo_user
from tongxin_agencies.application.views import VIEWS, ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_platform.auth import Principal, Role
from tongxin_web.demo import page
from tongxin_web.site import Site, context_of
from tongxin_web.views import L


def home_of(who: Principal) -> str | None:
    """The page a person of this role starts on (None: no page for the role)."""
    r = who.role
    if r in (Role.bureau_officer, Role.auditor) and who.district and not who.school:
        return page("district", district=who.district)
    if who.school and r in (
        Role.principal,
        Role.middle_leader,
        Role.head_teacher,
        Role.psych_teacher,
        Role.health_vp,
        Role.school_doctor,
        Role.family_education_coordinator,
    ):
        return page("school", school_id=who.school)
    if r is Role.hospital:
        return page("hospital", hospital_id=who.org)
    if r is Role.police:
        return page("police", district=who.district)
    if r is Role.market_regulation:
        return page("market", district=who.district)
    if r in (Role.civil_affairs, Role.womens_federation, Role.community_worker):
        return page("carers")
    if r is Role.committee_member:
        return page("committee")
    return None


SITE = Site(
    views=VIEWS,
    context=context_of(ViewContext, AgenciesSettings),
    demo_roles=DEMO_ROLES,
    demo_user=demo_user,
    home_of=home_of,
    brand=L("各部门视图", "agencies"),
)
