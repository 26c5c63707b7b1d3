"""The mechanism that decides who may do what, where. Each service declares its own actions and
role rules (a ``Policy``); this module knows no service.

A rule names the roles allowed an action. Then the scope: the resource (a district, school or
class) must lie inside the caller's scope — a head teacher's class, a principal's school, an
officer's district; a city-level token covers every district. Refusals say why; the HTTP edge
turns them into 403s naming the rule (never an empty answer that hides the refusal), except
that a record outside the caller's scope is answered like a missing one
(``tongxin_platform.http.locate``), so that nobody learns what exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from tongxin_platform.auth import Principal, Role

R = Role
# Every role a school's own staff can hold (DESIGN.md §1, registry).
SCHOOL_STAFF = frozenset(
    {
        R.principal,
        R.middle_leader,
        R.head_teacher,
        R.subject_teacher,
        R.psych_teacher,
        R.health_vp,
        R.school_doctor,
        R.legal_vp,
        R.fire_vp,
        R.family_education_coordinator,
    }
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a resource lives; ``None`` parts are not narrowed (e.g. a whole district)."""

    district: str | None = None
    school: str | None = None
    class_id: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


def in_scope(p: Principal, where: Scope) -> bool:
    if p.district is None:
        return True  # city level
    if where.district != p.district:
        return False
    if p.school is None:
        return True
    if where.school != p.school:
        return False
    return p.class_id is None or where.class_id == p.class_id


class Policy:
    """One service's rules: action → roles allowed, and the actions over a whole district's
    records, which a school- or class-level token is too narrow for."""

    def __init__(
        self, rules: Mapping[str, Collection[Role]], *, district_wide: Collection[str] = ()
    ) -> None:
        self.rules = {str(a): frozenset(roles) for a, roles in rules.items()}
        self.district_wide = frozenset(str(a) for a in district_wide)
        unknown = self.district_wide - set(self.rules)
        if unknown:
            raise ValueError(f"district-wide actions without a rule: {sorted(unknown)}")

    def __or__(self, other: Policy) -> Policy:
        clash = set(self.rules) & set(other.rules)
        if clash:
            raise ValueError(f"actions declared twice: {sorted(clash)}")
        return Policy(
            {**self.rules, **other.rules}, district_wide=self.district_wide | other.district_wide
        )

    def admits(self, p: Principal, action: str) -> Decision:
        """What can be decided from the caller alone (role, scope level): the HTTP edge asks
        this before it reads a request's body."""
        action = str(action)
        if p.role not in self.rules[action]:
            return Decision(False, f"role {p.role.value} may not {action}")
        if action in self.district_wide and p.school is not None:
            return Decision(
                False, f"{action} needs a district or city scope, not the caller's {p.level} scope"
            )
        return Decision(True)

    def authorize(self, p: Principal, action: str, where: Scope) -> Decision:
        action = str(action)
        if not (admitted := self.admits(p, action)).allowed:
            return admitted
        if not in_scope(p, where):
            return Decision(False, f"{action} outside the caller's {p.level} scope")
        return Decision(True)

    def roles(self, action: str) -> frozenset[Role]:
        return self.rules[str(action)]


# The platform's own actions: the API base serves every service's access log, its queued
# notifications (operators and auditors see what was delivered or failed; operators send a
# failed one again) and the development inbox of messages.
ACCESS_LOG_READ = "access_log.read"
NOTIFICATIONS_READ = "notifications.read"
NOTIFICATIONS_RETRY = "notifications.retry"
MESSAGE_INBOX_READ = "message_inbox.read"
PLATFORM_POLICY = Policy(
    {
        ACCESS_LOG_READ: {R.auditor},
        NOTIFICATIONS_READ: {R.operator, R.auditor},
        NOTIFICATIONS_RETRY: {R.operator},
        MESSAGE_INBOX_READ: {R.operator},
    },
    district_wide={ACCESS_LOG_READ, NOTIFICATIONS_READ, NOTIFICATIONS_RETRY, MESSAGE_INBOX_READ},
)
