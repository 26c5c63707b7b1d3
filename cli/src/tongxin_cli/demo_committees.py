"""The demo school year of committee work (家委会 · 家长学校), played through the committees API
by ``tongxin seed``.

For each school of the demo district: every channel of parents' voice gets its named handler
(专人管理); a class committee per class and a grade committee per grade are elected from the
guardians of their children; the school committee's first election leaves the last class
without a parent and is refused (the problem names the class), the second seats a parent of
every class; a member resigns and a by-election fills the seat. Feedback comes in through the
principal's mailbox, the hotline, the school committee and the bureau director's mailbox, and
from the home visits' parent suggestions (the committees worker turns each into an item): most
are answered on time, some late, and a few left open past their due day. A joint meeting, a
parent meeting per class (opinions collected before and after), an open week and a reception
day are held. The parent school, headed by the principal, holds its lectures, practice and
consultation sessions — the first school meets the teaching rule, the last falls short; the
district assesses the first a standard parent school, and appoints its family-education
coordinator. A school with a school committee already is left as it is. Everything is
synthetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from rich.table import Table

from tongxin_cli.console import out
from tongxin_cli.demo import DemoSpec
from tongxin_cli.demo_http import Demo, DemoActor, Headers, play_demo
from tongxin_platform.auth import Role

CHINA = timezone(timedelta(hours=8))
COLUMNS = ["school", "committees", "classes unrepresented", "vacancies"]
COLUMNS += ["feedback (on time/late/open/overdue)", "parent school (sessions/hours/activities)"]
COLUMNS += ["teaching rule", "standard", "open days", "coordinator"]


def school_year_start(day: date) -> date:
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


class YearPlayer(DemoActor):
    def __init__(self, committees: httpx.Client, registry: httpx.Client, district: str) -> None:
        super().__init__(committees, registry, district, datetime.now(CHINA).date(), "committees")
        self.start = school_year_start(self.today)
        self.year = f"{self.start.year}-{self.start.year + 1}"
        self.term_end = date(self.start.year + 1, 8, 31)

    def day(self, n: int) -> str:
        """The ``n``-th day of the school year, never after today."""
        return str(min(self.start + timedelta(days=n), self.today))

    def ready(self, school: str, classes: int) -> bool:
        """Whether committees' read model holds the school's roster (its classes)."""
        r = self.service.get(
            f"/schools/{school}/representation", headers=self.who(Role.principal, school)
        )
        return r.status_code == 200 and len(r.json().get("classes", [])) >= classes

    def played(self, school: str) -> bool:
        found = self.get(f"/schools/{school}/committees", self.who(Role.principal, school))
        return any(c["level"] == "school" for c in found["committees"])

    def play_school(self, school: str, first: bool) -> None:
        staff = self.get(f"/schools/{school}/staff", self.who(Role.principal, school), True)
        principal = next(s["staff_ref"] for s in staff if "principal" in s["roles"])
        leader = next(s["staff_ref"] for s in staff if "middle_leader" in s["roles"])
        me = self.who(Role.principal, school, sub=principal)
        classes = self.get(f"/schools/{school}/classes", me, registry=True)
        parents = {c["class_id"]: self.guardians(c["class_id"], me) for c in classes}
        heads = {c["class_id"]: c["head_teacher_ref"] for c in classes}
        self.handlers(school, me, principal, leader)
        self.class_committees(school, me, classes, parents, heads)
        chosen = self.school_committee(school, me, classes, parents)
        self.feedback(school, me, principal, leader, chosen)
        self.meetings(school, me, principal, classes, heads, chosen)
        self.parent_school(school, me, principal, leader, classes, first)

    def guardians(self, class_id: str, me: Headers) -> list[str]:
        kids = self.get(f"/classes/{class_id}/students", me, registry=True)
        return [k["guardians"][0]["guardian_ref"] for k in kids if k["guardians"]]

    def handlers(self, school: str, me: Headers, principal: str, leader: str) -> None:
        for channel, who in (
            ("principal_mailbox", principal),
            ("hotline", leader),
            ("committee", leader),
            ("home_visit", principal),
        ):
            body: dict[str, Any] = {"channel": channel, "handler_ref": who}
            self.post(f"/schools/{school}/feedback-handlers", me, body, f"h-{school}-{channel}")
        officer = self.who(Role.bureau_officer, sub=f"jyj-{self.district}")
        body = {"channel": "bureau_mailbox", "handler_ref": f"jyj-{self.district}"}
        self.post(f"/districts/{self.district}/feedback-handlers", officer, body, "h-bureau")

    def elect(
        self, committee: str, who: Headers, nominees: list[tuple[str, str]], key: str
    ) -> None:
        """Nominate ``nominees`` (guardian, class) and elect them, the first as chair."""
        for n, (guardian, class_id) in enumerate(nominees):
            body: dict[str, Any] = {
                "guardian_ref": guardian,
                "class_id": class_id,
                "name": f"（演示）家长{n + 1}",
            }
            self.post(f"/committees/{committee}/candidates", who, body, f"nom-{key}-{guardian}")
        members = [
            {"guardian_ref": g, "role": "chair" if n == 0 else "member"}
            for n, (g, _) in enumerate(nominees)
        ]
        body = {"elected_on": self.day(20), "members": members, "voters": 30 * len(nominees)}
        self.post(f"/committees/{committee}/election", who, body, f"elect-{key}")

    def form(self, school: str, me: Headers, body: dict[str, Any], key: str) -> str:
        body |= {"term_start": str(self.start), "term_end": str(self.term_end)}
        made = self.post(f"/schools/{school}/committees", me, body, f"form-{key}")
        committee: str = made["committee_id"]
        charter = {"articles": 18, "text": "（演示）家长委员会章程：宗旨、职责、组织、议事规则。"}
        self.post(f"/committees/{committee}/charter", me, charter, f"charter-{key}")
        return committee

    def class_committees(
        self,
        school: str,
        me: Headers,
        classes: list[dict[str, Any]],
        parents: dict[str, list[str]],
        heads: dict[str, str],
    ) -> None:
        for c in classes:
            cid = c["class_id"]
            head = self.who(Role.head_teacher, school, cid, sub=heads[cid])
            committee = self.form(school, me, {"level": "class", "class_id": cid, "seats": 3}, cid)
            self.elect(committee, head, [(g, cid) for g in parents[cid][:3]], cid)
        for grade in sorted({c["grade"] for c in classes}):
            mine = [c["class_id"] for c in classes if c["grade"] == grade]
            body: dict[str, Any] = {"level": "grade", "grade": grade, "seats": max(3, len(mine))}
            committee = self.form(school, me, body, f"{school}-g{grade}")
            nominees = [(_nth(parents[cid], 3 + n), cid) for n, cid in enumerate(_cycle(mine, 3))]
            self.elect(committee, me, nominees, f"{school}-g{grade}")

    def school_committee(
        self, school: str, me: Headers, classes: list[dict[str, Any]], parents: dict[str, list[str]]
    ) -> list[str]:
        """The school committee: a first election without the last class is refused; the
        second seats a parent of every class; a member resigns and a by-election fills the
        seat. Returns its committee id and its members' guardian refs."""
        ids = [c["class_id"] for c in classes]
        body: dict[str, Any] = {"level": "school", "seats": len(ids) + 1}
        committee = self.form(school, me, body, f"{school}-school")
        nominees = [(_nth(parents[cid], 6), cid) for cid in ids]
        nominees.append((_nth(parents[ids[0]], 7), ids[0]))
        for n, (guardian, cid) in enumerate(nominees):
            body = {"guardian_ref": guardian, "class_id": cid, "name": f"（演示）家长{n + 1}"}
            self.post(f"/committees/{committee}/candidates", me, body, f"nom-{school}-{n}")
        without_last = [g for g, cid in nominees if cid != ids[-1]]
        members = [
            {"guardian_ref": g, "role": "chair" if n == 0 else "member"}
            for n, g in enumerate(without_last)
        ]
        refused = self.service.post(
            f"/committees/{committee}/election",
            json={"elected_on": self.day(25), "members": members},
            headers=me | {"Idempotency-Key": f"{self.key_prefix}{self.today}-refused-{school}"},
        )
        problem = refused.json()
        if refused.status_code == 422:
            out().print(
                f"{school}: the school committee's first election was refused "
                f"({problem.get('rule')}): {problem.get('detail')}"
            )
        everyone = [{"guardian_ref": g, "role": "member"} for g, _ in nominees]
        everyone[0]["role"] = "chair"
        body = {"elected_on": self.day(26), "members": everyone, "voters": 420}
        self.post(f"/committees/{committee}/election", me, body, f"elect-{school}")
        leaving = nominees[-1][0]
        resign = {"reason": "moved_away"}
        path = f"/committees/{committee}/members/{leaving}/resignation"
        self.post(path, me, resign, f"resign-{school}")
        newcomer = _nth(parents[ids[0]], 8)
        body = {"guardian_ref": newcomer, "class_id": ids[0], "name": "（演示）补选家长"}
        self.post(f"/committees/{committee}/candidates", me, body, f"nom-by-{school}")
        body = {"held_on": self.day(75), "members": [{"guardian_ref": newcomer, "role": "member"}]}
        self.post(f"/committees/{committee}/by-election", me, body, f"by-{school}")
        return [committee, *[g for g, _ in nominees[:-1]]]

    def feedback(
        self, school: str, me: Headers, principal: str, leader: str, chosen: list[str]
    ) -> None:
        committee, chair = chosen[0], chosen[1]
        member = self.who(Role.committee_member, school, sub=chair)
        officer = self.who(Role.bureau_officer, sub=f"jyj-{self.district}")
        came: list[tuple[str, bool]] = []  # (item, answered today)
        for n, (channel, who, days_ago, answered) in enumerate(
            [
                ("principal_mailbox", me, 3, True),  # on time
                ("principal_mailbox", me, 40, False),  # left open: overdue
                ("hotline", me, 30, True),  # late
                ("hotline", me, 5, True),
                ("committee", member, 6, True),
                ("bureau_mailbox", officer, 20, False),  # overdue
            ]
        ):
            body: dict[str, Any] = {"channel": channel, "topic": "school_management"}
            body |= {"text": "（演示）家长建议：放学时段校门口交通拥堵，建议错峰放学。"}
            body |= {"received_on": str(max(self.start, self.today - timedelta(days=days_ago)))}
            if channel == "committee":
                body["committee_id"] = committee
            made = self.post(f"/schools/{school}/feedback", who, body, f"fb-{school}-{n}")
            came.append((made["item_id"], answered))
        answer = {"decision": "adopted", "answer": "（演示）学校已调整放学时间并安排护导。"}
        for item, answered in came:
            if answered:
                self.post(f"/feedback/{item}/answer", me, answer, f"ans-{item}")
        # The home visits' suggestions: every other one answered (the visit shows it).
        r = self.get(f"/schools/{school}/feedback?channel=home_visit&status=open", me)
        for n, item in enumerate(r["items"]):
            if n % 2 == 0:
                self.post(
                    f"/feedback/{item['item_id']}/answer", me, answer, f"ans-{item['item_id']}"
                )

    def meetings(
        self,
        school: str,
        me: Headers,
        principal: str,
        classes: list[dict[str, Any]],
        heads: dict[str, str],
        chosen: list[str],
    ) -> None:
        path = f"/schools/{school}/meetings"
        joint: dict[str, Any] = {
            "kind": "joint",
            "held_on": self.day(35),
            "committee_ids": [chosen[0]],
        }
        joint |= {"parents_attending": 7, "staff_attending": 5, "resolutions": 3}
        self.post(path, me, joint, f"joint-{school}")
        for c in classes:
            cid = c["class_id"]
            head = self.who(Role.head_teacher, school, cid, sub=heads[cid])
            body: dict[str, Any] = {
                "kind": "parent",
                "held_on": self.day(60),
                "scope": "class",
                "class_id": cid,
            }
            body |= {"families_invited": 40, "parents_attending": 36}
            body |= {"opinions_before": True, "opinions_after": cid != classes[-1]["class_id"]}
            self.post(path, head, body, f"pm-{cid}")
        week: dict[str, Any] = {"kind": "open_day", "held_on": self.day(75), "days": 5}
        week |= {"parents_attending": 180, "opinions_collected": 41}
        self.post(path, me, week, f"open-{school}")
        reception: dict[str, Any] = {
            "kind": "reception_day",
            "held_on": self.day(45),
            "families_received": 6,
        }
        reception |= {"received_by": [principal]}
        self.post(path, me, reception, f"reception-{school}")

    def parent_school(
        self,
        school: str,
        me: Headers,
        principal: str,
        leader: str,
        classes: list[dict[str, Any]],
        first: bool,
    ) -> None:
        teachers = [c["head_teacher_ref"] for c in classes[:2]]
        body: dict[str, Any] = {
            "head_ref": principal,
            "management": [principal, leader],
            "teachers": teachers,
        }
        body |= {"has_venue": True, "curriculum_units": 10, "curriculum": "（演示）家长课程十讲"}
        self.post(f"/schools/{school}/parent-school", me, body, f"ps-{school}")
        sessions = [
            ("term_start_lecture", 2.0, 5),
            ("lecture", 2.0, 30),
            ("lecture", 2.0, 55),
            ("practice", 1.5, 62),
            ("salon", 1.0, 70),
        ]
        if first:
            sessions += [("lecture", 2.0, 80), ("consultation", 1.0, 84)]
        for n, (kind, hours, day) in enumerate(sessions):
            body = {"kind": kind, "mode": "online" if n % 3 == 2 else "in_person"}
            body |= {"held_on": self.day(day), "class_hours": hours, "topic": "child_development"}
            body |= {"attendance": 120 + 10 * n}
            path = f"/schools/{school}/parent-school/sessions"
            self.post(path, me, body, f"session-{school}-{n}")
        if first:
            officer = self.who(Role.bureau_officer, sub=f"jyj-{self.district}")
            criteria = ["principal_heads", "management_committee", "venue", "teaching_staff"]
            criteria += ["curriculum", "teaching_plan_met", "records"]
            body = {"school_year": self.year, "standard": True, "criteria_met": criteria}
            path = f"/schools/{school}/parent-school/assessment"
            self.post(path, officer, body, f"assess-{school}")
            body = {"staff_ref": leader, "led_by": principal}
            path = f"/schools/{school}/family-education-coordinator"
            self.post(path, me, body, f"coordinator-{school}")

    def caught_up(self, schools: list[str]) -> bool:
        """Whether committees' read model holds what was played (its last step: sessions)."""
        officer = self.who(Role.bureau_officer)
        figures = self.get(f"/districts/{self.district}/parent-school-figures", officer)
        sessions = {s["school_id"]: s.get("taught_sessions", 0) for s in figures["schools"]}
        return all(sessions.get(s, 0) >= 3 for s in schools)

    def summary(self, schools: list[str]) -> Table:
        officer, d = self.who(Role.bureau_officer), self.district
        cf = self.by_school(f"/districts/{d}/committee-figures", officer)
        fb = self.by_school(f"/districts/{d}/feedback-figures", officer)
        ps = self.by_school(f"/districts/{d}/parent-school-figures", officer)
        mt = self.by_school(f"/districts/{d}/meeting-figures", officer)
        grid = Table(*COLUMNS, title=f"committee work {self.year} (家委会 · 家长学校)")
        for s in schools:
            c, f, p, m = cf.get(s, {}), fb.get(s, {}), ps.get(s, {}), mt.get(s, {})
            levels = c.get("committees") or {}
            grid.add_row(
                s,
                " / ".join(f"{k} {v}" for k, v in levels.items() if v) or "?",
                str(c.get("classes_unrepresented", "?")),
                str(c.get("vacancies", "?")),
                f"{f.get('on_time', '?')}/{f.get('late', '?')}/{f.get('open', '?')}/"
                f"{f.get('overdue', '?')}",
                f"{p.get('taught_sessions', '?')}/{p.get('taught_hours', '?')}/"
                f"{p.get('activities', '?')}",
                "met" if p.get("rule_met") else "not met",
                "yes" if p.get("assessed_standard") else "no",
                str(m.get("open_days", "?")),
                "yes" if p.get("coordinator") else "missing",
            )
        return grid

    def by_school(self, path: str, who: Headers) -> dict[str, dict[str, Any]]:
        return {s["school_id"]: s for s in self.get(path, who)["schools"]}


def _nth(items: list[str], n: int) -> str:
    """The ``n``-th item, counted round: a small class (the demo city's tiny ones) still gives
    distinct parents for a committee's few seats."""
    return items[n % len(items)]


def _cycle(items: list[str], n: int) -> Iterator[str]:
    """``n`` items taken round-robin from ``items``."""
    for i in range(n):
        yield items[i % len(items)]


def play_demo_year(
    committees_url: str,
    registry_url: str,
    district: str,
    *,
    spec: DemoSpec | None = None,
    wait: float = 120.0,
) -> None:
    """Play the demo year of committee work at every school of ``spec``; print the figures."""
    spec = spec or DemoSpec(district=district)
    classes = spec.classes_per_school
    year: Demo[YearPlayer] = Demo(
        service="committees",
        span="year",
        playing="playing a year of committee work (家委会 · 家长学校)…",
        player=lambda committees, registry: YearPlayer(committees, registry, district),
        waiting_for="the roster of {school} in committees",
        ready=lambda p, school: p.ready(school, classes),
        played=YearPlayer.played,
        already="a school committee",
        play=lambda p, school, _, first: p.play_school(school, first=first),
        caught_up=("the year in committees' read model", YearPlayer.caught_up),
        summary=YearPlayer.summary,
    )
    play_demo(year, committees_url, registry_url, district, spec, wait)
