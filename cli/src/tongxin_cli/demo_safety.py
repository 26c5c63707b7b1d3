"""The demo term of child safety (护平安), played through the safety API by ``tongxin seed``.

For each school of the demo district: the care files the roster's care groups opened (the
safety worker's reaction) are paired with their four carers — the head teacher, the child's
community, the district's civil affairs and women's federation; one women's-federation carer
declines, so that file misses a kind. Risk levels are set, every accepted carer is in contact,
the parents' notice and contacts are recorded for most left-behind children. A guard post at the
gate has two weeks of morning and afternoon shifts (completed, one missed, one unrecorded, the
coming days pending); the legal and fire vice-principals are appointed, law lessons given; a fire
inspection finds two hazards, a re-inspection closes one and the other is overdue; a market
regulation inspection of the food shops finds one. At the first school: an incident reported in
time, one that must be reported left unreported (it escalates after
``SAFETY_REPORT_LIMIT_SECONDS``), an accident, and a referral to the guidance committee, decided.
A school with a guard post already is left as it is. Everything is synthetic.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any

import httpx
from rich.table import Table

from tongxin_cli.console import err
from tongxin_cli.demo import DemoSpec, demo_roster
from tongxin_cli.demo_http import Demo, DemoActor, play_demo, until
from tongxin_platform.auth import Role

CHINA = timezone(timedelta(hours=8))
CARE_GROUPS = {"left_behind", "orphan_or_unsupported"}
AGENCY_ROLE = {
    "community": Role.community_worker,
    "civil_affairs": Role.civil_affairs,
    "womens_federation": Role.womens_federation,
}
AHEAD = 14  # the ledger is also shown as it will stand two weeks on, when contacts fall due
COLUMNS = ["school", "care files", "complete", "missing a kind", f"contacts overdue in {AHEAD} d"]
COLUMNS += ["guard shifts done", "law hours", "hazards open/overdue", "incidents (late/escalating)"]


def care_children(spec: DemoSpec) -> dict[str, int]:
    """Per school, the children of the roster in a care group: the files to wait for."""
    students, _ = demo_roster(spec)
    counts: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(students)):
        if set(row["special_groups"].split(";")) & CARE_GROUPS:
            counts[row["school_id"]] = counts.get(row["school_id"], 0) + 1
    return counts


def school_days(today: date, n: int) -> list[date]:
    """The last ``n`` weekdays before ``today``, oldest first."""
    days: list[date] = []
    day = today
    while len(days) < n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


class TermPlayer(DemoActor):
    def __init__(self, safety: httpx.Client, registry: httpx.Client, district: str) -> None:
        super().__init__(safety, registry, district, datetime.now(CHINA).date(), "safety")
        self.orgs = {"civil_affairs": f"mz-{district}", "womens_federation": f"fl-{district}"}

    def ledger(self, school: str, at_least: int) -> list[dict[str, Any]] | None:
        r = self.service.get(
            f"/schools/{school}/care-ledger", headers=self.who(Role.principal, school)
        )
        files = r.json().get("files", []) if r.status_code == 200 else []
        return list(files) if len(files) >= at_least else None

    def sees(self, ref: str, who: dict[str, str]) -> bool:
        return self.service.get(f"/students/{ref}/care-file", headers=who).status_code == 200

    def played(self, school: str) -> bool:
        posts = self.get(f"/schools/{school}/guard-posts", self.who(Role.principal, school))
        return bool(posts["posts"])

    def play_school(self, school: str, files: list[dict[str, Any]], first: bool) -> None:
        me = self.who(Role.principal, school)
        classes = self.get(f"/schools/{school}/classes", me, registry=True)
        heads = {c["class_id"]: c["head_teacher_ref"] for c in classes}
        files = sorted(files, key=lambda f: str(f["student_ref"]))
        for n, f in enumerate(files):
            self.care_for(school, f, heads[f["class_id"]], n)
        self.guard(school, me, heads[classes[0]["class_id"]], classes[0]["class_id"])
        self.vice_principals(school, me, heads[classes[0]["class_id"]], first)
        self.inspect(school, me)
        if first:
            self.incidents(school, me, files, heads)

    def care_for(self, school: str, f: dict[str, Any], head: str, n: int) -> None:
        ref, cid = f["student_ref"], f["class_id"]
        me = self.who(Role.principal, school)
        community = f"community-{self.district}-{n % 3 + 1:02d}"
        carers = [("school", head, school), ("community", f"sq-{community}", community)]
        carers += [(k, f"carer-{o}", o) for k, o in self.orgs.items()]
        made = {}
        for kind, carer, org in carers:
            body = {"kind": kind, "carer_ref": carer, "org": org}
            path = f"/students/{ref}/care-file/pairings"
            made[kind] = self.post(path, me, body, f"pair-{ref}-{kind}")["pairing_id"]
        for kind, carer, org in carers:
            path = f"/students/{ref}/care-file/pairings/{made[kind]}"
            who = (
                self.who(Role.head_teacher, school, cid, sub=head)
                if kind == "school"
                else self.who(AGENCY_ROLE[kind], sub=carer, org=org)
            )
            # A carer finds the file once safety's read model holds the pairing.
            until(f"the file paired to {carer}", partial(self.sees, ref, who), 60)
            if n == 0 and kind == "womens_federation":
                body = {"reason": "caseload_full"}
                self.post(f"{path}/decline", who, body, f"decline-{ref}")
                continue
            self.post(f"{path}/acceptance", who, {}, f"accept-{ref}-{kind}")
            contact = {"pairing_id": made[kind], "contact_on": str(self.today)}
            contact |= {"mode": "home_visit" if kind != "civil_affairs" else "phone"}
            self.post(f"/students/{ref}/care-file/contacts", who, contact, f"contact-{ref}-{kind}")
        level = "high" if n % 4 == 0 else "medium" if n % 4 == 1 else "low"
        self.post(f"/students/{ref}/care-file/risk", me, {"level": level}, f"risk-{ref}")
        if "left_behind" in f["care_groups"]:
            if n % 3:
                body = {
                    "relation": "grandparent",
                    "notice_on": str(self.today - timedelta(days=30)),
                }
                body |= {"entrusted_name": "（演示）祖母", "entrusted_contact": "（演示）"}
                self.post(f"/students/{ref}/care-file/notice", me, body, f"notice-{ref}")
            if n % 4 != 3:
                body = {"contact_on": str(self.today - timedelta(days=n % 5)), "mode": "video"}
                self.post(f"/students/{ref}/care-file/parent-contacts", me, body, f"parents-{ref}")

    def guard(self, school: str, me: dict[str, str], staff: str, cid: str) -> None:
        kids = self.get(f"/classes/{cid}/students", me, registry=True)
        volunteer = kids[0]["guardians"][0]["guardian_ref"]
        police = self.who(Role.police, sub=f"pol-{school}")
        where = {"place": "school_gate", "police_station": f"ps-{self.district}-01"}
        where |= {"established_on": str(self.today - timedelta(days=30))}
        post = self.post(f"/schools/{school}/guard-posts", me, where, f"post-{school}")["post_id"]
        guards = [{"kind": "police", "ref": f"pol-{school}"}, {"kind": "staff", "ref": staff}]
        guards.append({"kind": "parent_volunteer", "ref": volunteer})
        days = school_days(self.today, 10)
        ahead = [self.today + timedelta(days=d) for d in range(1, 4)]
        for n, day in enumerate(days + ahead):
            for period in ("morning", "afternoon"):
                body: dict[str, Any] = {"on": str(day), "period": period, "guards": guards}
                key = f"shift-{school}-{day}-{period}"
                shift = self.post(f"/guard-posts/{post}/shifts", police, body, key)["shift_id"]
                if day >= self.today or (n == 3 and period == "afternoon"):
                    continue  # to come, or nobody recorded it
                if n == 6 and period == "morning":
                    why = {"reason": "weather"}
                    self.post(f"/guard-shifts/{shift}/miss", police, why, f"miss-{shift}")
                    continue
                done = {"guards_present": ["police", "staff", "parent_volunteer"]}
                self.post(f"/guard-shifts/{shift}/completion", police, done, f"done-{shift}")

    def vice_principals(self, school: str, me: dict[str, str], staff: str, first: bool) -> None:
        start = str(self.today - timedelta(days=60))
        legal = {"post": "legal", "appointee_ref": f"fz-{school}", "from_org": "procuratorate"}
        fire = {"post": "fire", "appointee_ref": f"xf-{school}", "from_org": "fire_rescue"}
        for body in (legal, fire):
            path = f"/schools/{school}/vice-principals"
            self.post(path, me, body | {"appointed_on": start}, f"vp-{school}-{body['post']}")
        year = f"{self.today.year if self.today.month >= 9 else self.today.year - 1}"
        year += f"-{int(year) + 1}"
        hours = (2.0, 2.0) if first else (1.5,)  # the second school is short of its 4 hours
        for n, h in enumerate(hours):
            day = self.today - timedelta(days=7 * (n + 1))
            lesson = {"school_year": year, "given_on": str(day), "hours": h}
            self.post(f"/schools/{school}/law-lessons", me, lesson, f"law-{school}-{n}")
        path = f"/schools/{school}/fire-safety-contacts"
        self.post(path, me, {"staff_ref": staff}, f"fire-contact-{school}")

    def inspect(self, school: str, me: dict[str, str]) -> None:
        day = self.today - timedelta(days=20)
        body: dict[str, Any] = {
            "kind": "fire",
            "inspector": "fire_rescue",
            "inspected_on": str(day),
        }
        body["hazards"] = [
            {"severity": "general", "owner": "school", "rectify_by": str(day + timedelta(days=7))},
            {
                "severity": "major",
                "owner": "property_owner",
                "rectify_by": str(day + timedelta(days=14)),
            },
        ]
        body["hazards"][0]["detail"] = "（演示）安全出口堆放杂物"
        made = self.post(f"/schools/{school}/inspections", me, body, f"fire-{school}")
        again = {
            "kind": "fire",
            "inspector": "fire_rescue",
            "inspected_on": str(day + timedelta(days=6)),
        }
        again |= {"reinspection_of": made["inspection_id"], "rectified": made["hazard_ids"][:1]}
        self.post(f"/schools/{school}/inspections", me, again, f"refire-{school}")
        market = self.who(Role.market_regulation, sub=f"sj-{self.district}")
        shop: dict[str, Any] = {"kind": "food_shops"}
        shop["inspected_on"] = str(self.today - timedelta(days=3))
        shop["hazards"] = [
            {
                "severity": "general",
                "owner": "shop_operator",
                "rectify_by": str(self.today + timedelta(days=7)),
            }
        ]
        self.post(f"/schools/{school}/inspections", market, shop, f"shops-{school}")

    def incidents(
        self, school: str, me: dict[str, str], files: list[dict[str, Any]], heads: dict[str, str]
    ) -> None:
        a, b, c = files[0], files[1 % len(files)], files[2 % len(files)]
        now = datetime.now(CHINA)
        head = self.who(Role.head_teacher, school, a["class_id"], sub=heads[a["class_id"]])
        body: dict[str, Any] = {
            "category": "unexplained_injury",
            "student_refs": [a["student_ref"]],
        }
        body |= {"occurred_at": (now - timedelta(hours=1)).isoformat(), "account": "（演示）"}
        told = self.post(f"/schools/{school}/incidents", head, body, f"incident-{school}-1")
        body = {"departments": ["police", "civil_affairs", "education"]}
        path = f"/incidents/{told['incident_id']}/mandatory-report"
        self.post(path, head, body, f"report-{school}-1")
        body = {"category": "physical_abuse", "student_refs": [b["student_ref"]]}
        body |= {"occurred_at": now.isoformat()}
        left = self.post(f"/schools/{school}/incidents", me, body, f"incident-{school}-2")
        err().print(
            f"incident {left['incident_id']} at {school} must be reported and is left "
            f"unreported: it escalates at {left['report_due_at']} (SAFETY_REPORT_LIMIT_SECONDS)"
        )
        body = {"category": "accident", "student_refs": [c["student_ref"]]}
        body |= {"occurred_at": now.isoformat()}
        self.post(f"/schools/{school}/incidents", me, body, f"incident-{school}-3")
        body = {"misbehaviour": "gang_fighting"}
        referral = self.post(
            f"/students/{c['student_ref']}/guidance-referrals", me, body, f"guidance-{school}"
        )
        committee = self.who(Role.guidance_committee, sub=f"zmjy-{self.district}")
        members = ["political_legal", "education", "justice", "police", "psychologist"]
        body = {"decision": "school_guidance", "members_present": members}
        path = f"/guidance-referrals/{referral['referral_id']}/decision"
        self.post(path, committee, body, f"decision-{school}")

    def caught_up(self, schools: list[str]) -> bool:
        """Whether safety's read model holds what was played at ``schools`` (its last steps:
        the law lessons and the inspections)."""
        officer, d = self.who(Role.bureau_officer), self.district
        vps = self.get(f"/districts/{d}/vice-principal-figures", officer)["schools"]
        hazards = self.get(f"/districts/{d}/hazard-figures", officer)["schools"]
        hours = {s["school_id"]: s.get("law_hours") or 0 for s in vps}
        reported = {s["school_id"]: s.get("reported", 0) for s in hazards}
        return all(hours.get(s, 0) > 0 and reported.get(s, 0) >= 3 for s in schools)

    def summary(self, schools: list[str]) -> Table:
        officer = self.who(Role.bureau_officer)
        d, later = self.district, self.today + timedelta(days=AHEAD)
        care = {
            s["school_id"]: s for s in self.get(f"/districts/{d}/care-figures", officer)["schools"]
        }
        ahead = self.get(f"/districts/{d}/care-figures?as_of={later}", officer)["schools"]
        due = {s["school_id"]: s["contacts_overdue"] for s in ahead}
        shifts = {
            s["school_id"]: s for s in self.get(f"/districts/{d}/guard-figures", officer)["schools"]
        }
        vps = self.get(f"/districts/{d}/vice-principal-figures", officer)["schools"]
        hours = {s["school_id"]: s.get("law_hours") for s in vps}
        hazards = {
            s["school_id"]: s
            for s in self.get(f"/districts/{d}/hazard-figures", officer)["schools"]
        }
        reports = self.get(f"/districts/{d}/mandatory-report-figures", officer)["schools"]
        incidents = {s["school_id"]: s for s in reports}
        grid = Table(*COLUMNS, title="a term of child safety (护平安)", title_justify="left")
        for s in schools:
            c, g, h, i = (
                care.get(s, {}),
                shifts.get(s, {}),
                hazards.get(s, {}),
                incidents.get(s, {}),
            )
            grid.add_row(
                s,
                str(c.get("files", "?")),
                str(c.get("complete", "?")),
                str(c.get("missing_a_kind", "?")),
                str(due.get(s, "?")),
                f"{g.get('completed', '?')}/{g.get('scheduled', '?')}",
                str(hours.get(s, "?")),
                f"{h.get('open', '?')}/{h.get('overdue', '?')}",
                f"{i.get('incidents', 0)} ({i.get('late', 0)}/{i.get('unreported', 0)})",
            )
        return grid


def play_demo_term(
    safety_url: str,
    registry_url: str,
    district: str,
    *,
    spec: DemoSpec | None = None,
    wait: float = 120.0,
) -> None:
    """Play the demo term of safety work at every school of ``spec``; print what was played."""
    spec = spec or DemoSpec(district=district)
    expected = care_children(spec)
    term: Demo[TermPlayer] = Demo(
        service="safety",
        span="term",
        playing="playing a term of child safety (护平安)…",
        player=lambda safety, registry: TermPlayer(safety, registry, district),
        waiting_for="the care files of {school} (the roster's care groups)",
        ready=lambda p, school: p.ledger(school, expected.get(school, 0)),
        played=TermPlayer.played,
        already="guard posts",
        play=lambda p, school, files, first: p.play_school(school, files, first=first),
        caught_up=("the term in safety's read model", TermPlayer.caught_up),
        summary=TermPlayer.summary,
    )
    play_demo(term, safety_url, registry_url, district, spec, wait)
