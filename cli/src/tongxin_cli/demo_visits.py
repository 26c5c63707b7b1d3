"""The demo semester of home visits (家访), played through the visits API by ``tongxin seed``.

Head teachers visit most of their class, mostly in the home; a colleague who came along or the
family (one-time code) confirms most visits, a few stay unconfirmed or are cancelled; findings
open follow-up cases, some acted on and closed; each principal leads six visits, then submits
last month's report. A seed makes the same semester; visits lie between the semester's start and
now (China time). A school that has visits already is left as it is.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import httpx
from rich.progress import Progress
from rich.table import Table

from tongxin_cli.console import err, fail, out
from tongxin_cli.demo import DemoSpec
from tongxin_cli.demo_http import DemoActor, Headers, until
from tongxin_platform.auth import Role

CHINA = timezone(timedelta(hours=8))
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
Team = list[tuple[str, str]]  # (staff_ref, role the visitor came in)
MODES, MODE_WEIGHTS = ("in_home", "online", "phone"), (78, 12, 10)
MINUTES = {"in_home": (40, 90), "online": (25, 45), "phone": (15, 30)}
GOALS = ["student_performance", "family_situation", "motivation", "parent_opinions"]
GOALS += ["policy_and_safety_education"]
MEASURES = {"family_hardship": "hardship_assistance", "learning_difficulty": "learning_support"}
MEASURES |= {"family_education": "family_education_guidance"}
MEASURES |= {"mental_health": "mental_health_counselling"}
SUGGESTIONS = [("safety", "放学时校门口车多，建议加强护导。"), ("teaching", "希望多推荐课外书目。")]
SUGGESTIONS += [("class_building", "希望班级多组织亲子活动。")]
NOTES = ["家长配合，孩子作息规律。", "祖辈带养，约定每周电话沟通。"]
NOTES += ["孩子爱画画，鼓励参加社团。"]
# Who comes along with the head teacher (another head teacher comes as a subject teacher).
ALONG = {"principal": 2, "middle_leader": 4, "psych_teacher": 2, "subject_teacher": 3}
COLUMNS = ["school", "visits", "confirmed", "co-visitor/family", "unconfirmed", "cancelled"]
COLUMNS += ["booked", "cases", "closed", "suggestions", "report"]
COLUMNS += ["head teacher", "in-home", "principal", "middle leader"]
PLAYED = ["visits", "confirmed", "by_co_visitor/by_family", "unconfirmed", "cancelled"]
PLAYED += ["scheduled", "cases", "closed", "suggestions"]


def semester_start(today: date) -> date:
    if today.month >= 9:
        return date(today.year, 9, 1)
    return date(today.year - 1, 9, 1) if today.month == 1 else date(today.year, 2, 1)


def previous_month(today: date) -> str:
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


class Player(DemoActor):
    def __init__(self, visits: httpx.Client, registry: httpx.Client, district: str, seed: int):
        now = datetime.now(CHINA)
        super().__init__(visits, registry, district, now.date(), "visits", "demo-")
        self.visits, self.now, self.seed = visits, now, seed
        self.rng = random.Random(seed)
        self.tally: dict[str, Counter[str]] = {}

    def ready(self, school: str, classes: int, students: int) -> Any:
        """(staff, classes) once the registry's read model and the visits board, which both
        follow registry.events, hold the school's roster."""
        who = self.who(Role.principal, school)
        staff = self.visits.get(f"/schools/{school}/staff", headers=who)
        cov = self.visits.get(f"/schools/{school}/coverage", headers=who)
        rows = self.registry.get(f"/schools/{school}/classes", headers=who)
        if any(r.status_code != 200 for r in (staff, cov, rows)) or len(rows.json()) < classes:
            return None
        heads = sum("head_teacher" in s["roles"] for s in staff.json())
        enrolled = sum(c["enrolled"] for c in rows.json())
        full = min(enrolled, cov.json()["school"]["students"]) >= students
        return (staff.json(), rows.json()) if full and heads >= classes else None

    def played(self, school: str) -> bool:
        """Whether the school has visits; if so, submit last month's report unless it is."""
        r = self.visits.get(
            f"/schools/{school}/visits?limit=1", headers=self.who(Role.principal, school)
        )
        if r.status_code != 200 or not r.json():
            return False
        staff = self.get(f"/schools/{school}/staff", self.who(Role.principal, school))
        boss = next(s["staff_ref"] for s in staff if "principal" in s["roles"])
        self.submit(school, self.who(Role.principal, school, sub=boss))  # in case it was cut short
        return True

    def on_board(self, school: str, confirmed: int) -> bool:
        """Whether the board (it follows visits.events) shows what was played at ``school``."""
        who, month = self.who(Role.principal, school), previous_month(self.today)
        path = f"/schools/{school}/visits?status=completed&confirmed=true&limit=5000"
        report = self.get(f"/schools/{school}/reports/{month}", who)
        return len(self.get(path, who)) >= confirmed and report["status"] == "submitted"

    def plan(self, me: Headers, ref: str, day: date, key: str) -> str:
        body = {"student_ref": ref, "planned_for": str(day)}
        return str(self.post("/visits", me, body, key=f"plan-{key}-{ref}")["visit_id"])

    def visit(self, kid: Any, team: Team, me: Headers, mode: str, key: str) -> str:
        """Plan and record a visit that took place; act on and close some of its cases."""
        rng, start = self.rng, semester_start(self.today)
        day = start + timedelta(days=rng.randrange(max(1, (self.today - start).days)))
        hour = rng.randint(9, 16) if day.weekday() >= 5 else rng.randint(18, 20)
        at = datetime(day.year, day.month, day.day, hour, rng.choice((0, 30)), tzinfo=CHINA)
        at = min(at, self.now - timedelta(hours=2))  # never in the future
        visit_id = self.plan(me, kid["student_ref"], at.date() - timedelta(rng.randint(1, 7)), key)
        findings: list[dict[str, str]] = []
        if rng.random() < 0.12 or (kid["in_special_group"] and rng.random() < 0.4):
            category = rng.choice(sorted(MEASURES))
            findings.append({"category": category, "measure": MEASURES[category]})
        elif rng.random() < 0.1:
            findings.append({"category": rng.choice(("physical_health", "safety", "other"))})
        said = [{"topic": t, "text": x} for t, x in [rng.choice(SUGGESTIONS)] if rng.random() < 0.2]
        body: dict[str, Any] = {"visitors": [{"staff_ref": s, "role": r} for s, r in team]}
        body |= {"mode": mode, "started_at": at.isoformat(), "integrity_attested": True}
        body |= {"duration_minutes": rng.randint(*MINUTES[mode]), "findings": findings}
        body |= {"goals_covered": sorted(rng.sample(GOALS, rng.randint(2, 5)))}
        notes = {"notes": rng.choice(NOTES)} if rng.random() < 0.3 else {}
        body |= {"parent_suggestions": said, **notes}
        cases = self.post(f"/visits/{visit_id}/complete", me, body, f"done-{visit_id}")["case_ids"]
        tally = self.tally[kid["school_id"]]
        tally.update(visits=1, suggestions=len(said), cases=len(cases))
        for case in (c for c in cases if rng.random() < 0.6):
            taken_on = min(self.today, at.date() + timedelta(rng.randint(1, 14)))
            action = {"taken_on": str(taken_on), "description": "与家长沟通，制定并落实帮扶计划。"}
            self.post(f"/followups/{case}/actions", me, action, f"act-{case}")
            if rng.random() < 0.5:
                outcome = rng.choice(("resolved", "referred"))
                end = {"outcome": outcome, "closed_on": str(self.today)}
                self.post(f"/followups/{case}/close", me, end, f"close-{case}")
                tally.update(closed=1)
        return visit_id

    def confirm(self, visit_id: str, school: str, co: tuple[str, str] | None, me: Headers) -> None:
        """By the co-visitor ``co`` (staff_ref, role), or else by the family's one-time code."""
        if co is not None:
            who = self.who(Role(co[1]), school, sub=co[0])
            self.post(f"/visits/{visit_id}/confirm", who, key=f"ok-{visit_id}")
            self.tally[school].update(confirmed=1, by_co_visitor=1)
            return
        self.post(f"/visits/{visit_id}/family-code", me, key=f"code-{visit_id}")
        inbox = self.get(f"/family-inbox?visit_id={visit_id}", self.who(Role.operator))
        code = re.search(r"\d{6}", inbox[-1]["message"]) if inbox else None
        if code is None:
            fail(f"no family code for visit {visit_id} in the family inbox")
        self.post(f"/visits/{visit_id}/family-confirmation", {}, {"code": code.group()})
        self.tally[school].update(confirmed=1, by_family=1)

    def play_school(self, school: str, classes: list[Any], staff: list[Any], bar: Progress) -> None:
        rng = self.rng = random.Random(f"{self.seed}-{school}")
        tally = self.tally.setdefault(school, Counter())
        role_of = {r: s["staff_ref"] for s in staff for r in s["roles"]}
        teachers = [s for s in staff if "head_teacher" in s["roles"]]
        heads = {c: s["staff_ref"] for s in teachers for c in s["class_ids"]}
        task, everyone = bar.add_task(school, total=sum(c["enrolled"] for c in classes) + 6), []
        for c in classes:
            cid, head = c["class_id"], heads[c["class_id"]]
            me = self.who(Role.head_teacher, school, cid, sub=head)
            kids = self.get(f"/classes/{cid}/students", me, registry=True)
            everyone += kids
            seen = round(len(kids) * 0.7)
            for n, kid in enumerate(rng.sample(kids, len(kids))):
                bar.advance(task)
                if n < seen:
                    mode = (
                        "in_home"
                        if kid["in_special_group"]
                        else rng.choices(MODES, MODE_WEIGHTS)[0]
                    )
                    role = rng.choices(list(ALONG), list(ALONG.values()))[0]
                    others = [h for k, h in heads.items() if k != cid]
                    co = (rng.choice(others) if role == "subject_teacher" else role_of[role], role)
                    along, how = rng.random() < 0.55, rng.random()
                    team = [(head, "head_teacher"), *([co] if along else [])]
                    visit_id = self.visit(kid, team, me, mode, "ht")
                    if how < (0.95 if along else 0.9):
                        self.confirm(visit_id, school, co if along else None, me)
                    else:
                        tally.update(unconfirmed=1)
                elif n < seen + 2:  # the family declined, or could not be reached
                    vid = self.plan(me, kid["student_ref"], self.today - timedelta(n), "ht")
                    why = {"reason": rng.choice(("family_declined", "family_unreachable"))}
                    self.post(f"/visits/{vid}/cancel", me, why, f"cancel-{vid}")
                    tally.update(cancelled=1)
                elif n < seen + 4:  # booked for the coming days
                    day = self.today + timedelta(days=n - seen)
                    vid = self.plan(me, kid["student_ref"], day, "ht")
                    when = {"appointment_at": f"{day}T19:00:00+08:00", "mode": "in_home"}
                    self.post(f"/visits/{vid}/schedule", me, when, f"when-{vid}")
                    tally.update(scheduled=1)
        # 校长带头: the principal visits six families with their head teacher, who confirms.
        boss_ref = role_of["principal"]
        boss = self.who(Role.principal, school, sub=boss_ref)
        firsts = sorted(everyone, key=lambda k: (not k["in_special_group"], k["student_ref"]))[:3]
        for kid in firsts + rng.sample([k for k in everyone if k not in firsts], 3):
            bar.advance(task)
            head = heads[kid["class_id"]]
            team = [(boss_ref, "principal"), (head, "head_teacher")]
            visit_id = self.visit(kid, team, boss, "in_home", "p")
            self.confirm(visit_id, school, (head, "head_teacher"), boss)
            tally.update(by_principal=1)
        self.submit(school, boss)

    def submit(self, school: str, boss: Headers) -> None:
        month = previous_month(self.today)
        path = f"/schools/{school}/reports/{month}"
        if self.get(path, boss)["status"] != "submitted":
            self.post(f"{path}/submit", boss, key=f"report-{school}-{month}")


def play_demo_semester(
    visits_url: str,
    registry_url: str,
    district: str,
    *,
    spec: DemoSpec | None = None,
    seed: int = 7,
    wait: float = 90.0,
) -> None:
    """Play the demo semester of every school of the demo roster ``spec`` (as ``tongxin seed``
    imports it); print what was played and each school's coverage."""
    spec = spec or DemoSpec(district=district)
    console = out()
    if os.environ.get("TONGXIN_TOKEN"):
        console.print("visits demo skipped: it acts as many staff members (TONGXIN_TOKEN is set)")
        return
    with (
        httpx.Client(base_url=visits_url, timeout=TIMEOUT) as visits,
        httpx.Client(base_url=registry_url, timeout=TIMEOUT) as registry,
    ):
        p = Player(visits, registry, district, seed)
        try:
            visits.get("/health")
        except httpx.ConnectError:  # e.g. seeding a registry alone
            err().print(f"[yellow]no visits service at {visits_url}: no home visits played[/]")
            return
        officer = p.who(Role.bureau_officer)
        schools = [f"{district}{n:03d}" for n in range(1, spec.schools + 1)]  # as demo.py
        size = (spec.classes_per_school, spec.classes_per_school * spec.students_per_class)
        with Progress(console=err(), transient=True) as bar:
            for school in schools:
                if p.played(school):
                    console.print(f"{school}: has visits already (the demo semester was played)")
                    continue
                what = f"the roster of {school} in the registry and on the visits board"
                staff, classes = until(what, partial(p.ready, school, *size), wait)
                p.play_school(school, classes, staff, bar)
        for school in schools:  # the board follows visits.events
            probe = partial(p.on_board, school, p.tally.get(school, Counter())["confirmed"])
            until(f"the visits of {school} on the board", probe, wait)
        month = previous_month(p.today)
        reports = p.get(f"/districts/{district}/reports/{month}", officer)
        cover = p.get(f"/districts/{district}/coverage", officer)
        console.print(table(p.tally, cover, {r["school_id"]: r["state"] for r in reports}, month))


def table(
    tally: dict[str, Counter[str]], cover: list[Any], reports: dict[str, str], month: str
) -> Table:
    """What this run played, then each school's coverage (only confirmed visits count)."""
    title = f"home visits (家访) played; report of {month}; coverage: done/students, done/quota"
    grid = Table(*COLUMNS, title=title, title_justify="left")
    for s in cover:
        t, n, quota = tally.get(s["school_id"], Counter()), s["students"], {"principal": "–"}
        quota |= {x["role"]: f"{x['done']}/{x['required']}" for x in s["staff"]}
        cells = ["/".join(str(t[k]) for k in c.split("/")) if t else "–" for c in PLAYED]
        cells += [reports.get(s["school_id"], "?"), f"{s['head_teacher_semester']['done']}/{n}"]
        cells += [f"{s['in_home_year']['done']}/{n}", quota["principal"]]
        grid.add_row(s["school_id"], *cells, quota.get("middle_leader", "–"))
    return grid
