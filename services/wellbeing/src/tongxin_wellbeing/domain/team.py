"""The school's wellbeing team (seed 004: 健康副校长、校医、心理教师 协同) and its gaps.

A school shows up when it has no health vice-principal, no school doctor, no psychology teacher
or no counselling room (心理辅导室; district target: every school).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

TEAM_ROLES = ("health_vp", "school_doctor", "psych_teacher")


@dataclass(frozen=True, slots=True)
class TeamMember:
    staff_ref: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Team:
    school_id: str
    has_counselling_room: bool
    members: dict[str, list[str]] = field(default_factory=dict)  # role → staff_refs
    gaps: list[str] = field(default_factory=list)  # missing_<role>, no_counselling_room


def team_of(school_id: str, has_counselling_room: bool, staff: Iterable[TeamMember]) -> Team:
    members: dict[str, list[str]] = {role: [] for role in TEAM_ROLES}
    for s in staff:
        for role in s.roles:
            if role in members:
                members[role].append(s.staff_ref)
    gaps = [f"missing_{role}" for role in TEAM_ROLES if not members[role]]
    if not has_counselling_room:
        gaps.append("no_counselling_room")
    return Team(school_id, has_counselling_room, {r: sorted(v) for r, v in members.items()}, gaps)
