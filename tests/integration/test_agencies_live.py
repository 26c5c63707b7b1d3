"""Live: an event published on a service's topic changes the district page within seconds,
without anything else happening (the worker projects it, the API answers from the model).

The visit is dated after the world's day D and the page asked for a later day, so that the
figures of D that the other tests check stay as the world made them (the stack is shared)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from tests.support.agencies_env import AgenciesEnv
from tests.support.agencies_expected import expected
from tests.support.agencies_world import at
from tests.support.waiting import eventually
from tongxin_contracts.calendar import china_date
from tongxin_contracts.events import visits as vs

pytestmark = pytest.mark.integration

SCHOOL = "330106002"  # the school that misses its visit coverage
BOUND = 15.0  # seconds: the "within seconds", generously


def coverage_of(page: dict[str, Any], school: str) -> Any:
    for p in page["panels"]:
        for t in p["tables"]:
            keys = [c["key"] for c in t["columns"]]
            if "visit_coverage" not in keys:
                continue
            for row in t["rows"]:
                if any(f"school_id={school}" in (c.get("link") or "") for c in row):
                    return row[keys.index("visit_coverage")]["value"]
    raise AssertionError(f"no visit coverage of {school} on the page")


async def test_a_visit_published_changes_the_district_page_within_seconds(
    agencies_env: AgenciesEnv,
) -> None:
    env = agencies_env
    world = env.world
    later = world.day + timedelta(days=5)
    params = {"district": env.district, "as_of": later.isoformat()}
    officer = env.token("bureau_officer")

    async def page() -> dict[str, Any]:
        r = await env.http.get("/dashboards/district", params=params, headers=officer)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    # given a student of the school never visited in home, and the page for a later day
    visited_later = {
        v.student_ref for v in world.of(vs.VisitCompleted) if china_date(v.started_at) > world.day
    }
    student = next(
        st
        for st in world.students
        if st.student_ref in expected(world).not_visited[SCHOOL]
        and st.student_ref not in visited_later
    )
    before = coverage_of(await page(), SCHOOL)
    head = next(k.head_teacher_ref for k in world.classes if k.class_id == student.class_id)
    visit = vs.VisitCompleted(
        district=student.district,
        school_id=SCHOOL,
        visit_id=f"visit-live-{student.student_ref}",
        class_id=student.class_id,
        student_ref=student.student_ref,
        recorded_by=head or world.school(SCHOOL).principal,
        visitors=[
            vs.Visitor(
                staff_ref=head or world.school(SCHOOL).principal,
                role="principal" if head is None else "head_teacher",
            )
        ],
        mode=vs.VisitMode.in_home,
        started_at=at(world.day + timedelta(days=3), 18),
        duration_minutes=45,
        goals_covered=[vs.VisitGoal.family_situation],
        findings=None,
        referrals=[],
        followup_case_ids=[],
        parent_suggestions=[],
        notes=None,
        integrity_attested=True,
    )
    # when the visits service's relay publishes its completion
    started = time.monotonic()
    await env.publisher.publish([visit])
    # then the school's coverage on the page rises within the bound
    after = await eventually(
        lambda: page(),
        lambda p: coverage_of(p, SCHOOL) != before,
        timeout=BOUND,
        what=f"the visit coverage of {SCHOOL} to change from {before}",
    )
    took = time.monotonic() - started
    assert coverage_of(after, SCHOOL) > before
    print(f"the district page changed {took:.2f}s after the event was published")
