"""The school's wellbeing team and the district's gaps, over real HTTP, from the roster the
registry publishes on Kafka (the wellbeing worker's read model)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Bearer
from tests.support.servers import serving
from tests.support.services import settings_for, worker_of
from tests.support.waiting import eventually
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_platform.auth import TokenVerifier
from tongxin_platform.kafka import TopicSpec, ensure_topics, event_topic_config
from tongxin_platform.testing import Infra
from tongxin_registry.config import RegistrySettings
from tongxin_registry.entrypoints.api import create_app as registry_app
from tongxin_wellbeing.bootstrap import SERVICE
from tongxin_wellbeing.entrypoints.api import create_app as wellbeing_app

pytestmark = pytest.mark.integration

D, S1, S2 = "330106", "330106001", "330106002"
SPEC = DemoSpec(
    schools=2, classes_per_school=1, students_per_class=2, school_doctors=1, counselling_rooms=1
)


async def test_the_team_and_the_gaps_of_a_district_show_from_the_roster(
    infra: Infra,
    kafka: str,
    unique: str,
    database_name: str,
    registry_settings: RegistrySettings,
    registry_worker: None,
    verifier: TokenVerifier,
    bearer: Bearer,
) -> None:
    own, visits = f"test-{unique}-wellbeing.events", f"test-{unique}-visits.events"
    await ensure_topics(kafka, [TopicSpec(t, 3, event_topic_config()) for t in (own, visits)])
    settings = settings_for(
        SERVICE,
        infra,
        database_name=f"{database_name}_wellbeing",
        topics={"wellbeing": own, "registry": registry_settings.topic, "visits": visits},
    )
    students, staff = demo_roster(SPEC)
    officer = bearer("bureau_officer", D)
    async with (
        serving(registry_app(registry_settings, verifier)) as registry_url,
        httpx.AsyncClient(base_url=registry_url, timeout=30) as registry,
        worker_of(SERVICE, settings),
        serving(wellbeing_app(settings, verifier)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        for kind, body in (("students", students), ("staff", staff)):
            r = await registry.post(f"/imports/{kind}", content=body.encode(), headers=officer)
            assert r.status_code == 200, r.text

        async def gaps() -> dict[str, object]:
            r = await http.get(f"/districts/{D}/team-gaps", headers=officer)
            return dict(r.json()) if r.status_code == 200 else {}

        # Both schools, and the second one's missing doctor (its staff come after the students).
        seen = await eventually(
            gaps,
            lambda g: g.get("schools") == 2 and len(g.get("schools_with_gaps") or []) == 1,
            timeout=60,
            what="the roster in wellbeing's read model",
        )
        assert seen["counselling_rooms"] == 1
        assert seen["counselling_room_share"] == 0.5
        assert seen["counselling_room_target_met"] is False
        assert seen["schools_with_gaps"] == [
            {"school_id": S2, "gaps": ["missing_school_doctor", "no_counselling_room"]}
        ]

        first = await http.get(f"/schools/{S1}/team", headers=bearer("health_vp", D, S1))
        assert first.status_code == 200, first.text
        team = first.json()
        assert team["gaps"] == []
        assert all(len(team["members"][r]) == 1 for r in ("health_vp", "school_doctor"))

        # A head teacher is not on the team's page; another school's team is out of scope;
        # an unknown school is a 404; all problem+json.
        head = bearer("head_teacher", D, S1, f"{S1}-01")
        for path, who, status in (
            (f"/schools/{S1}/team", head, 403),
            (f"/schools/{S2}/team", bearer("psych_teacher", D, S1), 403),
            (f"/schools/{D}999/team", officer, 404),
            ("/districts/330108/team-gaps", bearer("bureau_officer", "330108"), 200),
            (f"/districts/{D}/team-gaps", bearer("bureau_officer", "330108"), 403),
        ):
            r = await http.get(path, headers=who)
            assert r.status_code == status, (path, r.text)
            if status >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
