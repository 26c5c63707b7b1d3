"""The committees test school: the roster the tests know is the one committees' read model
holds after the registry import (every pseudonym computed beforehand is the registry's)."""

from __future__ import annotations

from tests.support.committees_school import CommitteesEnv, committees_env_fixture

__all__ = ["committees_env_fixture"]


async def test_the_school_the_tests_know_is_the_one_committees_read_from_the_registry(
    committees_env: CommitteesEnv,
) -> None:
    async with committees_env.world() as s:
        rows = await s.pool.fetch(
            "SELECT student_ref, class_id, guardian_refs FROM committees.students"
        )
        held = {r["student_ref"]: (r["class_id"], sorted(r["guardian_refs"])) for r in rows}
        known = {p.ref: (p.class_id, sorted(g.ref for g in p.guardians)) for p in s.roster.pupils}
        assert held == known
        staff = await s.pool.fetch("SELECT staff_ref, roles FROM committees.staff")
        assert {r["staff_ref"]: sorted(r["roles"]) for r in staff} == {
            m.ref: sorted(m.roles) for m in s.roster.staff
        }
        sibling = s.roster.sibling_guardian(s.school_id)
        assert len({p.class_id for p in s.roster.children_of(sibling.ref)}) == 2
        grades = {g for c, (school, g) in s.roster.classes.items() if school == s.school_id}
        assert grades == {1, 2, 3}
