"""Demo users (development only): for each demo role, a REAL person of the read models — the
same picks every time (the first by school, district or id) — with the scope their token
carries and the page they start on. ``/demo/<role>`` signs one in at once, so that a page can be
opened by its URL alone after ``make run``.

A role whose people are not in the models yet (no events projected) is ``DemoDataMissingError``:
the page says so and how to get the demo data, instead of signing in a person who does not
exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from tongxin_platform.auth import Principal, Role
from tongxin_web.demo import DemoDataMissingError, DemoRole, DemoUser, first_row, page
from tongxin_web.views import L

DEMO_ROLES: tuple[DemoRole, ...] = (
    DemoRole("bureau_officer", Role.bureau_officer, L("区教育局干部", "District officer"),
             "education.schools"),
    DemoRole("principal", Role.principal, L("校长", "Principal"), "education.staff"),
    DemoRole("head_teacher", Role.head_teacher, L("班主任", "Head teacher"), "education.staff"),
    DemoRole("psych_teacher", Role.psych_teacher, L("心理教师", "Psychology teacher"),
             "education.staff"),
    DemoRole("hospital", Role.hospital, L("医院值班医生", "Hospital on-call"), "health.referrals"),
    DemoRole("police", Role.police, L("派出所民警", "Police"), "police.schools"),
    DemoRole("community_worker", Role.community_worker, L("社区关爱人员", "Community carer"),
             "carers.pairings"),
    DemoRole("committee_member", Role.committee_member, L("家委会委员", "Committee member"),
             "committee.members"),
    DemoRole("market_regulation", Role.market_regulation, L("市场监管", "Market regulation"),
             "market.schools"),
)  # fmt: skip
BY_KEY = {d.key: d for d in DEMO_ROLES}


def _staff_sql(role: str) -> str:
    return (
        "SELECT staff_ref, district, school_id FROM education.staff"
        f" WHERE '{role}' = ANY(roles) ORDER BY school_id, staff_ref LIMIT 1"
    )


# A head teacher with the class they head (the roster's classes name their head teacher).
HEAD_TEACHER_SQL = (
    "SELECT s.staff_ref, s.district, s.school_id, c.class_id"
    " FROM education.staff s JOIN education.classes c ON c.head_teacher_ref = s.staff_ref"
    " WHERE 'head_teacher' = ANY(s.roles) AND c.school_id = s.school_id"
    " ORDER BY s.school_id, s.staff_ref, c.class_id LIMIT 1"
)


async def _school_staff(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
    head = demo.role is Role.head_teacher
    r = await first_row(pool, HEAD_TEACHER_SQL if head else _staff_sql(demo.role.value))
    if r is None:
        return None
    class_id = r["class_id"] if head else None
    who = Principal(r["staff_ref"], demo.role, r["district"], r["school_id"], class_id)
    return DemoUser(demo, who, page("school", school_id=r["school_id"]))


async def _district_officer(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
    r = await first_row(pool, "SELECT district FROM education.schools ORDER BY district LIMIT 1")
    if r is None:
        return None
    who = Principal(f"demo-officer-{r['district']}", demo.role, r["district"])
    return DemoUser(demo, who, page("district", district=r["district"]))


async def _hospital(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
    r = await first_row(
        pool,
        "SELECT hospital_id, district FROM health.referrals"
        " ORDER BY hospital_id, referral_id LIMIT 1",
    )
    if r is None:
        return None
    hospital = r["hospital_id"]
    who = Principal(f"demo-on-call-{hospital}", demo.role, r["district"], org=hospital)
    return DemoUser(demo, who, page("hospital", hospital_id=hospital))


def _district_agency(schema: str, page_key: str) -> Callable[..., Awaitable[DemoUser | None]]:
    async def pick(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
        r = await first_row(
            pool, f"SELECT district FROM {schema}.schools ORDER BY district LIMIT 1"
        )
        if r is None:
            return None
        who = Principal(f"demo-{demo.key}-{r['district']}", demo.role, r["district"])
        return DemoUser(demo, who, page(page_key, district=r["district"]))

    return pick


async def _community_carer(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
    r = await first_row(
        pool,
        "SELECT carer_ref, district FROM carers.pairings WHERE kind = 'community'"
        " ORDER BY district, carer_ref LIMIT 1",
    )
    if r is None:
        return None
    return DemoUser(demo, Principal(r["carer_ref"], demo.role, r["district"]), page("carers"))


async def _committee_member(pool: asyncpg.Pool, demo: DemoRole) -> DemoUser | None:
    r = await first_row(
        pool,
        "SELECT committee_id, guardian_ref, district, school_id FROM committee.members"
        " WHERE ended_on IS NULL ORDER BY district, committee_id, guardian_ref LIMIT 1",
    )
    if r is None:
        return None
    who = Principal(r["guardian_ref"], demo.role, r["district"], r["school_id"])
    return DemoUser(demo, who, page("committee", committee_id=r["committee_id"]))


PICKS: dict[str, Callable[..., Awaitable[DemoUser | None]]] = {
    "bureau_officer": _district_officer,
    "principal": _school_staff,
    "head_teacher": _school_staff,
    "psych_teacher": _school_staff,
    "hospital": _hospital,
    "police": _district_agency("police", "police"),
    "community_worker": _community_carer,
    "committee_member": _committee_member,
    "market_regulation": _district_agency("market", "market"),
}


async def demo_user(pool: asyncpg.Pool, key: str) -> DemoUser:
    """The demo person of ``key`` (a ``DEMO_ROLES`` key; ``KeyError`` for another), or
    ``DemoDataMissingError``."""
    demo = BY_KEY[key]
    found = await PICKS[key](pool, demo)
    if found is None:
        raise DemoDataMissingError(demo)
    return found
