"""A home visit's parent suggestions go round the real stack: visits completes a visit with two
suggestions (``VisitCompleted`` on visits' topic) → committees' reaction receives two items on
the school's home-visit channel, due on the day visits set, with no text (the item links to
visits' suggestion); the same record delivered again adds nothing → the school answers one →
visits reads ``ParentFeedbackAnswered`` from committees' topic and shows that suggestion
answered (decision, day, on time) and the other not, in the visit and in its record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.committees_school import CommitteesEnv, committees_env_fixture
from tests.support.servers import serving
from tests.support.services import worker_of
from tests.support.visits import set_up_school
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec
from tongxin_committees.domain.feedback import item_id_for_suggestion
from tongxin_contracts.calendar import CHINA
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.eventstore import now_utc
from tongxin_visits.bootstrap import SERVICE as VISITS
from tongxin_visits.config import VisitsSettings
from tongxin_visits.entrypoints.api import create_app as visits_app

pytestmark = pytest.mark.integration
__all__ = ["committees_env_fixture"]

# The visits school: a district of its own beside the committees test district.
SPEC = DemoSpec(district="330108", schools=1, classes_per_school=1, students_per_class=3)


def completion(recorder: str, role: str) -> dict[str, Any]:
    return {
        "visitors": [{"staff_ref": recorder, "role": role}],
        "mode": "in_home",
        "started_at": (now_utc() - timedelta(hours=2)).astimezone(CHINA).isoformat(),
        "duration_minutes": 45,
        "goals_covered": ["student_performance", "family_situation", "parent_opinions"],
        "findings": [{"category": "physical_health"}],
        "parent_suggestions": [
            {"topic": "safety", "text": "放学路口希望有老师值守"},
            {"topic": "teaching", "text": "希望多一些课外阅读"},
        ],
        "notes": "家长愿意配合学校。",
        "integrity_attested": True,
    }


async def test_a_visits_suggestions_become_items_and_the_answer_shows_on_the_visit(
    committees_env: CommitteesEnv,
    visits_settings: VisitsSettings,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> None:
    async with committees_env.world() as s:
        # Each reads the other's topic of this test: visits committees' answers, committees
        # visits' completed visits.
        vs = visits_settings
        assert vs.committees_topic == s.settings.topic
        assert s.settings.topic_of("visits") == vs.topic
        async with (
            worker_of(VISITS, vs),
            serving(visits_app(vs, verifier)) as visits_url,
            httpx.AsyncClient(base_url=visits_url, timeout=30) as visits,
        ):
            school = await set_up_school(s.registry, visits, bearer, SPEC)
            class_id, teacher = sorted(school.head_teachers.items())[0]
            pupil = next(p for p in school.pupils if p.class_id == class_id)
            me = school.as_staff(teacher)
            r = await visits.post(
                "/visits",
                json={"student_ref": pupil.ref, "planned_for": str(now_utc().date())},
                headers=me,
            )
            assert r.status_code == 200, r.text
            visit_id = r.json()["visit_id"]
            r = await visits.post(
                f"/visits/{visit_id}/schedule",
                json={"appointment_at": now_utc().isoformat(), "mode": "in_home"},
                headers=me,
            )
            assert r.status_code == 200, r.text
            r = await visits.post(
                f"/visits/{visit_id}/complete", json=completion(teacher, "head_teacher"), headers=me
            )
            assert r.status_code == 200, r.text
            record = (await visits.get(f"/visits/{visit_id}/record", headers=me)).json()
            suggestions = {x["suggestion_id"]: x for x in record["parent_suggestions"]}
            assert len(suggestions) == 2
            assert all(x["answered"] is None for x in suggestions.values())

            # committees: two items on the home-visit channel, due on visits' answer_due.
            async def items() -> list[dict[str, Any]]:
                rows = await s.pool.fetch(
                    "SELECT item_id, suggestion_id, channel, due_on, received_by, school_id"
                    " FROM committees.feedback_items WHERE visit_id = $1",
                    visit_id,
                )
                return [dict(x) for x in rows]

            found = await eventually(items, lambda rows: len(rows) == 2, what="two items")
            for row in found:
                sg = suggestions[row["suggestion_id"]]
                assert row["item_id"] == item_id_for_suggestion(row["suggestion_id"])
                assert (row["channel"], row["received_by"]) == ("home_visit", "visits")
                assert str(row["due_on"]) == sg["answer_due"]
                assert row["school_id"] == school.school_id

            # The same VisitCompleted delivered again: still one item per suggestion.
            await s.redeliver("VisitCompleted", visit_id, vs.topic)
            await s.caught_up("committees.visit_suggestions", vs.topic)
            received = await s.pool.fetchval(
                "SELECT count(*) FROM events WHERE event_type LIKE '%ParentFeedbackReceived%'"
                " AND stream_id = ANY($1::text[])",
                [f"feedback-{row['item_id']}" for row in found],
            )
            assert received == 2

            # The item links to visits' suggestion; its text is not here.
            principal = school.as_staff(school.principal)
            first, second = sorted(suggestions)
            item_id = item_id_for_suggestion(first)
            item = await s.http.get(f"/feedback/{item_id}", headers=principal)
            assert item.status_code == 200, item.text
            assert item.json()["text"] is None
            assert item.json()["suggestion"] == {
                "service": "visits",
                "path": f"/visits/{visit_id}/suggestions/{first}",
            }
            linked = await visits.get(item.json()["suggestion"]["path"], headers=principal)
            assert linked.status_code == 200, linked.text
            assert linked.json()["text"] == suggestions[first]["text"]

            # The school answers the first; visits shows it answered, the second not.
            r = await s.http.post(
                f"/feedback/{item_id}/answer",
                json={"decision": "adopted", "answer": "已安排老师在路口值守"},
                headers=principal,
            )
            assert r.status_code == 200, r.text
            assert r.json()["on_time"] is True

            async def shown() -> list[dict[str, Any]]:
                v = await visits.get(f"/visits/{visit_id}", headers=me)
                answered: list[dict[str, Any]] = v.json()["suggestions_answered"]
                return answered

            [answered] = await eventually(shown, bool, what="the answer on the visit")
            assert answered["suggestion_id"] == first
            assert answered["decision"] == "adopted"
            assert answered["on_time"] is True
            assert answered["answered_on"] == str(now_utc().astimezone(CHINA).date())
            assert "answer" not in answered
            record = (await visits.get(f"/visits/{visit_id}/record", headers=me)).json()
            by_id = {x["suggestion_id"]: x for x in record["suggestions_answered"]}
            assert by_id[first]["answered"] is True
            assert by_id[first]["decision"] == "adopted"
            assert by_id[second] == {"suggestion_id": second, "answered": False}
            shown_record = {x["suggestion_id"]: x["answered"] for x in record["parent_suggestions"]}
            assert shown_record[second] is None
            assert shown_record[first]["decision"] == "adopted"
