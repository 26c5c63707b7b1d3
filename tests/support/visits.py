"""A school for visits tests: its roster imported through the registry's HTTP API, and the
visits board caught up with it; the school's people by role, and tokens for each of them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import Bearer
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster


@dataclass(frozen=True)
class Pupil:
    ref: str
    class_id: str
    special: bool
    guardians: int


@dataclass
class School:
    district: str
    school_id: str
    principal: str
    middle_leader: str
    psych_teacher: str
    head_teachers: dict[str, str]  # class_id → staff_ref
    pupils: list[Pupil]
    bearer: Bearer
    roles: dict[str, list[str]] = field(default_factory=dict)

    def as_staff(self, staff_ref: str) -> dict[str, str]:
        """The staff member's own token: a head teacher's is scoped to their class."""
        roles = self.roles[staff_ref]
        classes = [c for c, t in self.head_teachers.items() if t == staff_ref]
        if "head_teacher" in roles:
            return self.bearer(
                "head_teacher", self.district, self.school_id, classes[0], subject=staff_ref
            )
        return self.bearer(roles[0], self.district, self.school_id, subject=staff_ref)

    def officer(self) -> dict[str, str]:
        return self.bearer("bureau_officer", self.district)

    def operator(self) -> dict[str, str]:
        return self.bearer("operator", self.district)


async def set_up_school(
    registry: httpx.AsyncClient, visits: httpx.AsyncClient, bearer: Bearer, spec: DemoSpec
) -> School:
    district, school_id = spec.district, f"{spec.district}001"
    principal = bearer("principal", district, school_id)
    students, staff = demo_roster(spec)
    r = await registry.post("/imports/students", content=students.encode(), headers=principal)
    assert r.status_code == 200, r.text
    r = await registry.post("/imports/staff", content=staff.encode(), headers=principal)
    assert r.status_code == 200, r.text
    total = spec.classes_per_school * spec.students_per_class

    async def board() -> tuple[int, int]:
        cov = await visits.get(f"/schools/{school_id}/coverage", headers=principal)
        people = await visits.get(f"/schools/{school_id}/staff", headers=principal)
        if cov.status_code != 200 or people.status_code != 200:
            return -1, -1
        return cov.json()["school"]["students"], len(people.json())

    await eventually(
        board,
        lambda n: n == (total, 4 + spec.classes_per_school),
        timeout=90,
        what="the roster on the visits board",
    )
    people: list[dict[str, Any]] = (
        await visits.get(f"/schools/{school_id}/staff", headers=principal)
    ).json()

    def one(role: str) -> str:
        return str(next(p["staff_ref"] for p in people if role in p["roles"]))

    heads = {p["class_ids"][0]: p["staff_ref"] for p in people if "head_teacher" in p["roles"]}
    pupils = []
    for class_id in sorted(heads):

        async def roster(class_id: str = class_id) -> Any:
            return (await registry.get(f"/classes/{class_id}/students", headers=principal)).json()

        rows = await eventually(
            roster,
            lambda rows: isinstance(rows, list) and len(rows) == spec.students_per_class,
            what=f"class {class_id} in the registry's roster",
        )
        pupils += [
            Pupil(p["student_ref"], class_id, p["in_special_group"], len(p["guardians"]))
            for p in rows
        ]
    assert len(pupils) == total
    return School(
        district,
        school_id,
        one("principal"),
        one("middle_leader"),
        one("psych_teacher"),
        heads,
        pupils,
        bearer,
        {p["staff_ref"]: p["roles"] for p in people},
    )


async def family_code(visits: httpx.AsyncClient, school: School, visit_id: str) -> str:
    """The code the family received (read from the development inbox, as an operator)."""
    r = await visits.get("/family-inbox", params={"visit_id": visit_id}, headers=school.operator())
    assert r.status_code == 200, r.text
    found = re.search(r"确认码 (\d{6})", r.json()[-1]["message"])
    assert found, r.json()
    return found.group(1)
