"""A visit or case outside the caller's scope is answered exactly like one that does not exist,
over real HTTP: same status, same problem+json body, the id not echoed. A role that may not do
the action anywhere is still a 403 naming the rule, the same for a real and a random id.

The expected answers are written out below, independently of ``tongxin_visits``' policy table.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Bearer
from tests.integration.test_visits_http import completion, plan_visit, world
from tests.support.waiting import eventually
from tongxin_platform.auth import TokenVerifier
from tongxin_registry.config import RegistrySettings
from tongxin_visits.config import VisitsSettings

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
OTHER_DISTRICT = "110101"

# Columns (staff GETs, then commands on a visit or case):
#   vis GET /visits/{v}                  rec GET /visits/{v}/record
#   sug GET /visits/{v}/suggestions/{s}  act GET /followups/{c}/actions
#   inb GET /family-inbox?visit_id={v}
#   cnf POST /visits/{v}/confirm         fam POST /visits/{v}/family-code
#   fac POST /followups/{c}/actions      fcl POST /followups/{c}/close
# Callers: the visit lies in class 1 of the demo school.
#   ht:own  the class's head teacher     ht:class  the head teacher of the school's class 2
#   pr:school  a principal of another school in the district   pr:district  one elsewhere
#   cm:own  the school's committee member   cm:class  a class-2 committee member
#   op:own  an operator of the district     op:district  one of another district
#   police  the district's police
# Y = 200 (GETs only: commands are not run in scope here), N = 404 exactly as for a random id,
# R = 403 naming the rule, exactly as for a random id, . = not asked.
MATRIX = """
caller       vis rec sug act inb cnf fam fac fcl
ht:own       Y   Y   R   Y   R   .   .   .   .
ht:class     N   N   R   N   R   N   N   N   N
pr:school    N   N   N   N   R   N   N   N   N
pr:district  N   N   N   N   R   N   N   N   N
cm:own       R   R   Y   R   R   R   R   R   R
cm:class     R   R   N   R   R   R   R   R   R
op:own       R   R   R   R   Y   R   R   R   R
op:district  R   R   R   R   N   R   R   R   R
police       R   R   R   R   R   R   R   R   R
"""


async def test_out_of_scope_visits_and_cases_answer_like_missing_ones(
    registry_settings: RegistrySettings,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
    registry_worker: None,
    visits_worker: None,
) -> None:
    async with world(registry_settings, visits_settings, verifier, bearer) as (http, school):
        (c1, teacher), (c2, _) = sorted(school.head_teachers.items())
        pupil = next(p for p in school.pupils if p.class_id == c1)
        me = school.as_staff(teacher)
        visit = await plan_visit(http, me, pupil.ref)
        r = await http.post(
            f"/visits/{visit}/complete", json=completion(school, teacher), headers=me
        )
        assert r.status_code == 200, r.text
        (case,) = r.json()["case_ids"]
        record = await http.get(f"/visits/{visit}/record", headers=me)
        assert record.status_code == 200, record.text
        (suggestion,) = [s["suggestion_id"] for s in record.json()["parent_suggestions"]]
        await eventually(
            lambda: http.get(f"/visits/{visit}", headers=me),
            lambda got: got.status_code == 200,
            what="the visit on the board",
        )

        d, s = school.district, school.school_id
        callers: dict[str, dict[str, str]] = {
            "ht:own": me,
            "ht:class": bearer("head_teacher", d, s, c2),
            "pr:school": bearer("principal", d, f"{d}999"),
            "pr:district": bearer("principal", OTHER_DISTRICT, f"{OTHER_DISTRICT}001"),
            "cm:own": bearer("committee_member", d, s),
            "cm:class": bearer("committee_member", d, s, c2),
            "op:own": bearer("operator", d),
            "op:district": bearer("operator", OTHER_DISTRICT),
            "police": bearer("police", d),
        }
        rules = {
            "vis": "visit.read",
            "rec": "visit.read_notes",
            "sug": "suggestion.read",
            "act": "visit.read_notes",
            "inb": "family_inbox.read",
            "cnf": "visit.confirm",
            "fam": "visit.record",
            "fac": "followup.manage",
            "fcl": "followup.manage",
        }
        today = "2026-01-05"

        def request(column: str, v: str, c: str) -> tuple[str, str, dict[str, Any]]:
            return {
                "vis": ("GET", f"/visits/{v}", {}),
                "rec": ("GET", f"/visits/{v}/record", {}),
                "sug": ("GET", f"/visits/{v}/suggestions/{suggestion}", {}),
                "act": ("GET", f"/followups/{c}/actions", {}),
                "inb": ("GET", "/family-inbox", {"params": {"visit_id": v}}),
                "cnf": ("POST", f"/visits/{v}/confirm", {}),
                "fam": ("POST", f"/visits/{v}/family-code", {}),
                "fac": (
                    "POST",
                    f"/followups/{c}/actions",
                    {"json": {"taken_on": today, "description": "谈话"}},
                ),
                "fcl": (
                    "POST",
                    f"/followups/{c}/close",
                    {"json": {"outcome": "resolved", "closed_on": today}},
                ),
            }[column]

        header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
        wrong: list[str] = []
        for label, *codes in rows:
            for column, code in zip(header[1:], codes, strict=True):
                if code == ".":
                    continue
                method, path, kwargs = request(column, visit, case)
                real = await http.request(method, path, headers=callers[label], **kwargs)
                cell = f"{column} {method} {path} as {label}:"
                want = {"Y": 200, "N": 404, "R": 403}[code]
                if real.status_code != want:
                    wrong.append(f"{cell} expected {want}, got {real.status_code} {real.text}")
                    continue
                if code == "Y":
                    continue
                random = uuid.uuid4().hex
                method, path, kwargs = request(column, random, random)
                missing = await http.request(method, path, headers=callers[label], **kwargs)
                seen = (real.status_code, real.headers.get("content-type"), real.json())
                same = (missing.status_code, missing.headers.get("content-type"), missing.json())
                if seen != same:
                    wrong.append(f"{cell} {seen} ≠ for a random id {same}")
                if seen[1] != PROBLEM:
                    wrong.append(f"{cell} not problem+json: {seen[1]}")
                if code == "R" and seen[2].get("rule") != rules[column]:
                    wrong.append(f"{cell} a 403 naming {seen[2].get('rule')!r}")
                if visit in real.text or case in real.text:
                    wrong.append(f"{cell} echoes the id: {real.text}")
        assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)
