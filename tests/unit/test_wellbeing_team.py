"""The school's wellbeing team (seed 004: 健康副校长、校医、心理教师) and the gaps that show."""

from __future__ import annotations

from tongxin_wellbeing.domain.team import TeamMember, team_of


def test_a_school_with_the_three_roles_and_a_counselling_room_has_no_gap() -> None:
    team = team_of(
        "s1",
        True,
        [
            TeamMember("hv", ("health_vp",)),
            TeamMember("doc", ("school_doctor",)),
            TeamMember("p2", ("psych_teacher",)),
            TeamMember("p1", ("psych_teacher", "subject_teacher")),
            TeamMember("t", ("head_teacher",)),
        ],
    )
    assert team.gaps == []
    assert team.members == {
        "health_vp": ["hv"],
        "school_doctor": ["doc"],
        "psych_teacher": ["p1", "p2"],
    }


def test_a_school_without_a_psychology_teacher_or_counselling_room_shows_both_gaps() -> None:
    team = team_of(
        "s2", False, [TeamMember("hv", ("health_vp",)), TeamMember("d", ("school_doctor",))]
    )
    assert team.gaps == ["missing_psych_teacher", "no_counselling_room"]


def test_a_school_with_no_staff_misses_every_role() -> None:
    assert team_of("s3", True, []).gaps == [
        "missing_health_vp",
        "missing_school_doctor",
        "missing_psych_teacher",
    ]
