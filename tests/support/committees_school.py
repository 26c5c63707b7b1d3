"""The committees service for HTTP tests, stood up one way: its own topics and database, its
worker in the test's loop on a clock the test may move (the API's commands see the same clock),
its API on a free port, the registry's API beside it, and a small district's roster imported
through the registry and caught up on committees' read model.

The roster (``CommitteesRoster``, made here, every pseudonym computed with the registry's
secret so the test knows who is who before the import) has two schools of four classes in three
grades (1, 1, 2, 3), three pupils a class; every pupil has a mother, the first pupil of a class
a father too; the mother of the first pupil of class 01 is also the mother of the first pupil
of class 03 (a guardian with two children at the school). Staff of each school: a principal, a
middle leader, a family-education coordinator, a subject teacher and a head teacher per class.

    async with committees_env.world() as s:  # the fixture (``committees_env_fixture``)
        r = await s.http.get(f"/schools/{s.school_id}/committees", headers=s.principal())
        member = s.member(s.roster.guardian_of(s.roster.class_ids(s.school_id)[0]))

The registry's worker must be running (the fixture ``registry_worker``: ``committees_env``
asks for it). ``worker=False`` leaves the committees worker to the test (``s.start_worker()``,
then ``await s.catch_up()``)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from tests.conftest import Bearer
from tests.support.service_world import (
    Clock,
    ServiceEnv,
    ServiceWorld,
    StackKit,
    env_fixture,
    service_settings,
    stood_up,
)
from tests.support.waiting import eventually
from tongxin_cli.demo import STAFF_COLUMNS, STUDENT_COLUMNS
from tongxin_committees.bootstrap import SERVICE
from tongxin_committees.config import CommitteesSettings
from tongxin_committees.entrypoints.api import create_app as committees_app
from tongxin_platform.auth import Role, TokenVerifier
from tongxin_platform.service import Service
from tongxin_registry.application.pseudonyms import Pseudonymizer
from tongxin_registry.config import RegistrySettings

DISTRICT = "330106"
GRADES = (1, 1, 2, 3)  # the classes of each school, by grade (grade 1 has two classes)
PUPILS_PER_CLASS = 3
SCHOOL_YEAR = "2026-2027"
STAFF_ROLES = ("principal", "middle_leader", "family_education_coordinator", "subject_teacher")


@dataclass(frozen=True)
class Guardian:
    ref: str
    name: str
    phone: str


@dataclass(frozen=True)
class Pupil:
    ref: str
    student_id: str
    school_id: str
    class_id: str
    grade: int
    guardians: tuple[Guardian, ...]


@dataclass(frozen=True)
class StaffMember:
    ref: str
    staff_id: str
    school_id: str
    roles: tuple[str, ...]
    class_ids: tuple[str, ...]
    name: str


@dataclass
class CommitteesRoster:
    """The district the test imports, with every pseudonym the registry will give it."""

    district: str
    schools: list[str]
    classes: dict[str, tuple[str, int]]  # class_id → (school_id, grade)
    pupils: list[Pupil]
    staff: list[StaffMember]
    students_csv: str = ""
    staff_csv: str = ""

    # --- who is who ---------------------------------------------------------------------------

    def class_ids(self, school_id: str, grade: int | None = None) -> list[str]:
        return sorted(
            c for c, (s, g) in self.classes.items() if s == school_id and grade in (None, g)
        )

    def pupils_of(self, class_id: str) -> list[Pupil]:
        return [p for p in self.pupils if p.class_id == class_id]

    def guardian_of(self, class_id: str, n: int = 0) -> Guardian:
        """The mother of the ``n``-th pupil of ``class_id``."""
        return self.pupils_of(class_id)[n].guardians[0]

    def guardians_of_class(self, class_id: str) -> list[Guardian]:
        seen: dict[str, Guardian] = {}
        for p in self.pupils_of(class_id):
            for g in p.guardians:
                seen.setdefault(g.ref, g)
        return list(seen.values())

    def guardian(self, ref: str) -> Guardian:
        return next(g for p in self.pupils for g in p.guardians if g.ref == ref)

    def children_of(self, guardian_ref: str) -> list[Pupil]:
        return [p for p in self.pupils if any(g.ref == guardian_ref for g in p.guardians)]

    def sibling_guardian(self, school_id: str) -> Guardian:
        """The guardian with two children at ``school_id`` (classes 01 and 03)."""
        return self.guardian_of(self.class_ids(school_id)[0])

    def one(self, role: str, school_id: str) -> StaffMember:
        return next(m for m in self.staff if m.school_id == school_id and role in m.roles)

    def head_of(self, class_id: str) -> StaffMember:
        return next(m for m in self.staff if class_id in m.class_ids and "head_teacher" in m.roles)

    def names(self) -> list[str]:
        """Every person's name in the roster (what must never travel in clear)."""
        out = [g.name for p in self.pupils for g in p.guardians] + [m.name for m in self.staff]
        for row in csv.DictReader(io.StringIO(self.students_csv)):
            out.append(row["student_name"])
        return sorted(set(out))


def _name(n: int, kind: str) -> str:
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    given = "子涵浩然梓萱宇轩欣怡俊杰诗涵雨桐思远佳琪博文若曦明轩一诺可馨天佑语嫣"
    first = {"student": 0, "guardian": 7, "staff": 13}[kind]
    return (
        surnames[(n + first) % len(surnames)]
        + given[(3 * n + first) % len(given)]
        + (given[(5 * n + 1) % len(given)])
    )


def make_roster(
    pseudonyms: Pseudonymizer, *, district: str = DISTRICT, schools: int = 2
) -> CommitteesRoster:
    """The district of this module's docstring, as the registry's CSV files and as refs."""
    students, staff = io.StringIO(), io.StringIO()
    sw = csv.DictWriter(students, STUDENT_COLUMNS, lineterminator="\n")
    tw = csv.DictWriter(staff, STAFF_COLUMNS, lineterminator="\n")
    sw.writeheader()
    tw.writeheader()
    roster = CommitteesRoster(district, [], {}, [], [])
    n = 0
    for s in range(1, schools + 1):
        school_id = f"{district}{s:03d}"
        roster.schools.append(school_id)

        def hire(
            staff_id: str,
            roles: tuple[str, ...],
            classes: tuple[str, ...] = (),
            school_id: str = school_id,
        ) -> None:
            nonlocal n
            n += 1
            name = _name(n, "staff")
            tw.writerow(
                {
                    "district": district,
                    "school_id": school_id,
                    "staff_id": staff_id,
                    "name": name,
                    "phone": f"139{n:08d}",
                    "roles": ";".join(roles),
                    "class_ids": ";".join(classes),
                }
            )
            ref = pseudonyms.staff(district, staff_id)
            roster.staff.append(StaffMember(ref, staff_id, school_id, roles, classes, name))

        for role in STAFF_ROLES:
            hire(f"{school_id}-{role}", (role,))
        sibling_mother: tuple[str, str] | None = None
        for c, grade in enumerate(GRADES, start=1):
            class_id = f"{school_id}-{c:02d}"
            teacher_id = f"{school_id}-T{c:02d}"
            roster.classes[class_id] = (school_id, grade)
            hire(teacher_id, ("head_teacher", "subject_teacher"), (class_id,))
            for k in range(1, PUPILS_PER_CLASS + 1):
                n += 1
                student_id = f"G{school_id}{c:02d}{k:04d}"
                mother = (_name(n, "guardian"), f"138{n:08d}")
                if k == 1 and c == 1:
                    sibling_mother = mother
                if k == 1 and c == 3 and sibling_mother is not None:
                    mother = sibling_mother  # the same phone: the same guardian
                father = (_name(n + 500, "guardian"), f"137{n:08d}") if k == 1 else ("", "")
                sw.writerow(
                    {
                        "district": district,
                        "school_id": school_id,
                        "school_name": f"同心第{s}小学",
                        "stage": "primary",
                        "has_counselling_room": "yes",
                        "class_id": class_id,
                        "class_name": f"{grade}年级{c}班",
                        "grade": grade,
                        "school_year": SCHOOL_YEAR,
                        "head_teacher_id": teacher_id,
                        "student_id": student_id,
                        "student_name": _name(n, "student"),
                        "gender": "男女"[k % 2],
                        "birth_date": f"{2019 - grade}-0{1 + k}-1{k}",
                        "address": f"同心路{n}号",
                        "special_groups": "",
                        "guardian1_name": mother[0],
                        "guardian1_relation": "mother",
                        "guardian1_phone": mother[1],
                        "guardian2_name": father[0],
                        "guardian2_relation": "father" if father[1] else "",
                        "guardian2_phone": father[1],
                    }
                )
                guardians = tuple(
                    Guardian(pseudonyms.guardian(district, phone), name, phone)
                    for name, phone in (mother, father)
                    if phone
                )
                roster.pupils.append(
                    Pupil(
                        pseudonyms.student(district, student_id),
                        student_id,
                        school_id,
                        class_id,
                        grade,
                        guardians,
                    )
                )
    roster.students_csv, roster.staff_csv = students.getvalue(), staff.getvalue()
    return roster


@dataclass(kw_only=True)
class CommitteesSchool(ServiceWorld):
    service: ClassVar[Service] = SERVICE

    settings: CommitteesSettings
    roster: CommitteesRoster

    @property
    def district(self) -> str:
        return self.roster.district

    @property
    def school_id(self) -> str:
        return self.roster.schools[0]

    @property
    def other_school_id(self) -> str:
        return self.roster.schools[1]

    # --- tokens ---------------------------------------------------------------------------------

    def staff(self, role: str, school_id: str | None = None) -> dict[str, str]:
        """The roster's ``role`` of ``school_id`` (default: the first school)."""
        m = self.roster.one(role, school_id or self.school_id)
        return self.token(role, m.ref, school=m.school_id)

    def principal(self, school_id: str | None = None) -> dict[str, str]:
        return self.staff("principal", school_id)

    def middle_leader(self, school_id: str | None = None) -> dict[str, str]:
        return self.staff("middle_leader", school_id)

    def coordinator(self, school_id: str | None = None) -> dict[str, str]:
        return self.staff("family_education_coordinator", school_id)

    def head_teacher(self, class_id: str) -> dict[str, str]:
        m = self.roster.head_of(class_id)
        return self.token(Role.head_teacher, m.ref, school=m.school_id, class_id=class_id)

    def member(self, guardian_ref: str, school_id: str | None = None) -> dict[str, str]:
        """A committee member: ``sub`` = their guardian_ref; their school (none: a district
        committee's member)."""
        return self.token(Role.committee_member, guardian_ref, school=school_id)

    def bureau(self, district: str | None = None) -> dict[str, str]:
        return self.token(Role.bureau_officer, "bureau-1", district=district)

    def agency(self, role: str, district: str | None = None) -> dict[str, str]:
        """One officer of an agency or role without a school (``<role>-1``)."""
        return self.token(role, f"{role}-1", district=district)

    # --- the roster arrived ---------------------------------------------------------------------

    async def catch_up(self) -> None:
        """Wait for the roster in committees' read model, and for every part of the worker that
        reads the registry to have read all of it (the worker must run)."""
        n_pupils, n_staff = len(self.roster.pupils), len(self.roster.staff)

        async def counts() -> tuple[int, int]:
            return (
                await self.pool.fetchval("SELECT count(*) FROM committees.students"),
                await self.pool.fetchval("SELECT count(*) FROM committees.staff"),
            )

        await eventually(
            counts, lambda n: n == (n_pupils, n_staff), timeout=90, what="the roster in committees"
        )
        await self.registry_read()


# Its own topic, and test topics for every topic it reads; keywords: settings of the test (e.g.
# ``district_committees``, ``visits_topic``).
committees_settings = partial(service_settings, SERVICE, CommitteesSettings)


@asynccontextmanager
async def committees_world(
    settings: CommitteesSettings,
    registry_settings: RegistrySettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    private_key: bytes,
    *,
    roster: CommitteesRoster | None = None,
    worker: bool = True,
    clock: Clock | None = None,
) -> AsyncIterator[CommitteesSchool]:
    """The roster (default: ``make_roster``) imported by the district's officer; committees
    caught up with it (its worker running on ``clock``), unless ``worker=False``: then the test
    starts the worker itself (``s.start_worker()``) and waits (``await s.catch_up()``)."""
    roster = roster or make_roster(Pseudonymizer(registry_settings.pseudonym_key()))
    async with stood_up(
        CommitteesSchool,
        committees_app,
        settings,
        registry_settings,
        verifier,
        private_key=private_key,
        officer=bearer("bureau_officer", roster.district),
        roster_csv=(roster.students_csv, roster.staff_csv),
        clock=clock,
        worker=worker,
        roster=roster,
    ) as s:
        yield s


def committees_stack(kit: StackKit, **extra: Any) -> AbstractAsyncContextManager[CommitteesSchool]:
    """Committees (``extra``: its settings of the test) and a registry of their own, for a
    module's matrix or a fuzz test."""
    world_of = partial(
        committees_world, verifier=kit.verifier, bearer=kit.bearer, private_key=kit.private_key
    )
    return kit.stack(committees_settings, world_of, **extra)


@dataclass
class CommitteesEnv(ServiceEnv):
    """The test's infrastructure and the registry it imports the roster through (the fixture
    ``committees_env``): ``world`` stands the committees service up on it."""

    async def settings(self, **extra: Any) -> CommitteesSettings:
        return await committees_settings(
            self.infra, self.kafka, self.unique, self.database_name, self.topic, **extra
        )

    @asynccontextmanager
    async def world(
        self,
        *,
        roster: CommitteesRoster | None = None,
        worker: bool = True,
        clock: Clock | None = None,
        **extra: Any,
    ) -> AsyncIterator[CommitteesSchool]:
        """``extra``: committees settings of the test (``district_committees=frozenset({"*"})``,
        ``visits_topic``: the visits topic it reads)."""
        async with committees_world(
            await self.settings(**extra),
            self.registry_settings,
            self.verifier,
            self.bearer,
            self.keys[0],
            roster=roster,
            worker=worker,
            clock=clock,
        ) as s:
            yield s


committees_env_fixture = env_fixture(CommitteesEnv, "committees_env")
