"""The demo screening campaign (心阳光), played through the wellbeing API by ``tongxin seed``.

For each school of the demo district: the year's campaign bound to the physical examination,
offered to every enrolled student; most guardians consent, a few refuse, a few do not answer;
consented students are screened with PHQ-9 (and some with GAD-7), a few flagged, and one
student answers the self-harm item. That flag proposes the student for the attention list; the
head teacher, the psychology teacher and the health vice-principal sign off; the plan gets its
first monthly review. Two crisis referrals go to the district's specialist hospital: the hospital
acknowledges one in time; the other is left to escalate at its deadline
(``WELLBEING_REFERRAL_ACK_SECONDS``). Training and a psychology class per class are recorded.
A school with a campaign already is left as it is. Answers are synthetic.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from rich.table import Table

from tongxin_cli.console import err
from tongxin_cli.demo import DemoSpec
from tongxin_cli.demo_http import Demo, DemoActor, Headers, play_demo, until
from tongxin_platform.auth import Role

CHINA = timezone(timedelta(hours=8))
COLUMNS = ["school", "enrolled", "offered", "consented", "refused", "screened", "flagged"]
COLUMNS += ["listed", "referrals (in time/escalated/awaiting)", "team gaps"]


def school_year_of(day: Any) -> str:
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def answers(rng: random.Random, items: int, high: bool = False) -> list[int]:
    """Synthetic answers (0–3): most children answer 0 or 1; ``high`` ones more."""
    weights = (30, 40, 20, 10) if high else (70, 25, 4, 1)
    return rng.choices(range(4), weights, k=items)


class CampaignPlayer(DemoActor):
    def __init__(self, wellbeing: httpx.Client, registry: httpx.Client, district: str, seed: int):
        now = datetime.now(CHINA)
        super().__init__(wellbeing, registry, district, now.date(), "wellbeing", "demo-wb-")
        self.wellbeing, self.now, self.seed = wellbeing, now, seed
        self.year = school_year_of(self.today)
        self.hospital = f"hosp-{district}-01"
        self.tally: dict[str, Counter[str]] = {}

    def coverage(self, school: str) -> Any:
        r = self.wellbeing.get(
            f"/schools/{school}/campaigns/{self.year}/coverage",
            headers=self.who(Role.principal, school),
        )
        return r.json() if r.status_code == 200 else None

    def ready(self, school: str, students: int) -> Any:
        """The school's team once wellbeing's read model holds its whole roster (the district's
        coverage lists every school, with or without a campaign)."""
        officer = self.who(Role.bureau_officer)
        cov = self.wellbeing.get(f"/districts/{self.district}/screening-coverage", headers=officer)
        team = self.wellbeing.get(
            f"/schools/{school}/team", headers=self.who(Role.health_vp, school)
        )
        if cov.status_code != 200 or team.status_code != 200:
            return None
        row: dict[str, Any] = next(
            (r for r in cov.json()["schools"] if r["school_id"] == school), {}
        )
        return team.json() if row.get("enrolled", 0) >= students else None

    def summary(self, schools: list[str]) -> Table:
        """Each school's coverage, the listed count, referrals in time and the team's gaps."""
        officer = self.who(Role.bureau_officer)
        title = f"screening campaign {self.year} (心阳光)"
        grid = Table(*COLUMNS, title=title, title_justify="left")
        gaps = self.get(f"/districts/{self.district}/team-gaps", officer)
        gap_of = {g["school_id"]: ", ".join(g["gaps"]) for g in gaps["schools_with_gaps"]}
        sla = self.get(f"/districts/{self.district}/referral-sla", officer)
        sla_of = {s["school_id"]: s for s in sla["schools"]}
        for school in schools:
            cov = self.coverage(school) or {}
            count = self.get(f"/schools/{school}/attention/count", self.who(Role.principal, school))
            cells = [str(cov.get(k, "?")) for k in COLUMNS[1:6]]
            cells += [str(cov.get("flagged", "–")), str(count.get("listed", "?"))]
            r = sla_of.get(school, {})
            keys = ("referred", "acknowledged_in_time", "escalated", "awaiting")
            cells.append("{} ({}/{}/{})".format(*(r.get(k, 0) for k in keys)))
            grid.add_row(school, *cells, gap_of.get(school, "none"))
        return grid

    def play_school(self, school: str, team: dict[str, Any]) -> None:
        rng = random.Random(f"{self.seed}-{school}")
        self.tally.setdefault(school, Counter())
        members = team["members"]
        psych, vp = members["psych_teacher"][0], members["health_vp"][0]
        me = self.who(Role.psych_teacher, school, sub=psych)
        exam = {"exam_from": str(self.today - timedelta(days=7)), "exam_to": str(self.today)}
        body = {"school_year": self.year, "instruments": ["phq9", "gad7"], **exam}
        self.post(f"/schools/{school}/campaigns", me, body, key=f"campaign-{school}")
        self.post(f"/schools/{school}/campaigns/{self.year}/offers", me, key=f"offer-{school}")
        classes = self.get(f"/schools/{school}/classes", self.who(Role.principal, school), True)
        flagged: list[tuple[str, str]] = []  # (student_ref, class_id)
        self_harm: tuple[str, str] | None = None
        for c in classes:
            cid = c["class_id"]
            kids = self.get(f"/classes/{cid}/students", self.who(Role.principal, school), True)
            for kid in kids:
                ref, roll = kid["student_ref"], rng.random()
                if roll < 0.03:
                    continue  # no answer from the family yet
                decision = "refused" if roll < 0.07 else "consented"
                consent = {"school_year": self.year, "decision": decision, "given_by": "guardian"}
                consent["guardian_ref"] = kid["guardians"][0]["guardian_ref"]
                self.post(f"/students/{ref}/consents", me, consent, key=f"consent-{ref}")
                if decision == "refused":
                    continue
                high = rng.random() < 0.04
                items = answers(rng, 9, high)
                if self_harm is None:
                    items, self_harm = [1, 1, 0, 1, 0, 0, 0, 0, 1], (ref, cid)  # item 9 above 0
                else:
                    items[8] = 0
                screen = {"school_year": self.year, "instrument_id": "phq9", "answers": items}
                result = self.post(f"/students/{ref}/screenings", me, screen, key=f"phq9-{ref}")
                if rng.random() < 0.3:
                    gad = screen | {"instrument_id": "gad7", "answers": answers(rng, 7, high)}
                    self.post(f"/students/{ref}/screenings", me, gad, key=f"gad7-{ref}")
                if result.get("risk"):
                    flagged.append((ref, cid))
        assert self_harm is not None
        heads = {c["class_id"]: c.get("head_teacher_ref") for c in classes}
        self.list_student(school, *self_harm, heads[self_harm[1]], psych, vp)
        self.refer(school, me, self_harm[0], acknowledge=True)
        others = [f for f in flagged if f[0] != self_harm[0]]
        if others:
            self.refer(school, me, others[0][0], acknowledge=False)
        self.train(school, me, classes, team)

    def list_student(
        self, school: str, ref: str, cid: str, head: str | None, psych: str, vp: str
    ) -> None:
        """The self-harm flag proposed the student (a reaction); the three sign off."""
        team_view = self.who(Role.psych_teacher, school, sub=psych)

        def proposal() -> str | None:
            view = self.get(f"/schools/{school}/attention", team_view)
            pending = [p for p in view.get("proposals", []) if p["student_ref"] == ref]
            return str(pending[0]["proposal_id"]) if pending else None

        proposal_id = until(f"the attention-list proposal at {school}", proposal, 60)
        signers: list[tuple[Role, tuple[str, ...], str]] = [
            (Role.psych_teacher, (school,), psych),
            (Role.health_vp, (school,), vp),
        ]
        if head:
            signers.insert(0, (Role.head_teacher, (school, cid), head))
        for role, scope, sub in signers:
            path = f"/students/{ref}/attention/proposals/{proposal_id}/sign-offs"
            self.post(
                path, self.who(role, *scope, sub=sub), {"role": role.value}, f"sign-{ref}-{role}"
            )

        def listed() -> bool:
            view = self.get(f"/schools/{school}/attention", team_view)
            return any(s["student_ref"] == ref for s in view.get("listed", []))

        until(f"the listing at {school}", listed, 60)
        review = {
            "month": f"{self.today:%Y-%m}",
            "emotional_state": "情绪较前稳定，睡眠改善。",
            "interventions": "每周一次个别辅导；与家长约定每日沟通。",
            "next_step": "下周与家长面谈，继续个别辅导。",
        }
        self.post(f"/students/{ref}/plan/reviews", team_view, review, f"review-{ref}")
        self.tally[school].update(listed=1)

    def refer(self, school: str, me: Headers, ref: str, *, acknowledge: bool) -> None:
        body = {"hospital_id": self.hospital, "note": "筛查提示高风险，已与家长沟通。"}
        made = self.post(f"/students/{ref}/referrals", me, body, key=f"refer-{ref}")
        self.tally[school].update(referrals=1)
        if acknowledge:
            hospital = self.who(Role.hospital, sub="demo-clinician", org=self.hospital)
            path = f"/referrals/{made['referral_id']}/acknowledgement"
            self.post(path, hospital, key=f"ack-{made['referral_id']}")
        else:
            err().print(
                f"referral {made['referral_id']} at {school} is left unacknowledged: it "
                f"escalates at {made['acknowledge_by']} (WELLBEING_REFERRAL_ACK_SECONDS)"
            )

    def train(self, school: str, me: Headers, classes: list[Any], team: dict[str, Any]) -> None:
        heads = [c["head_teacher_ref"] for c in classes if c.get("head_teacher_ref")]
        staff = heads + team["members"]["psych_teacher"]
        sessions = [
            ("crisis_identification", staff, 0),
            ("classroom_emotion_module", heads, 0),
            ("parent_session", [], 60),
        ]
        for n, (topic, refs, parents) in enumerate(sessions):
            body: dict[str, Any] = {"school_year": self.year, "topic": topic}
            body |= {"held_on": str(self.today), "staff_refs": refs, "parent_count": parents}
            self.post(f"/schools/{school}/trainings", me, body, key=f"train-{school}-{n}")
        for c in classes:
            body = {"school_year": self.year, "class_id": c["class_id"], "kind": "psychology_class"}
            body |= {"held_on": str(self.today)}
            self.post(f"/schools/{school}/class-sessions", me, body, key=f"class-{c['class_id']}")


def play_demo_campaign(
    wellbeing_url: str,
    registry_url: str,
    district: str,
    *,
    spec: DemoSpec | None = None,
    seed: int = 7,
    wait: float = 90.0,
) -> None:
    """Play the demo screening campaign at every school of ``spec``; print what was played."""
    spec = spec or DemoSpec(district=district)
    students = spec.classes_per_school * spec.students_per_class
    campaign: Demo[CampaignPlayer] = Demo(
        service="wellbeing",
        span="campaign",
        playing="playing the screening campaign (心阳光)…",
        player=lambda wellbeing, registry: CampaignPlayer(wellbeing, registry, district, seed),
        waiting_for="the roster of {school} in wellbeing",
        ready=lambda p, school: p.ready(school, students),
        played=lambda p, school: (p.coverage(school) or {}).get("offered"),
        already="a campaign",
        play=lambda p, school, team, _: p.play_school(school, team),
        summary=CampaignPlayer.summary,
        acts_as="many staff members",
    )
    play_demo(campaign, wellbeing_url, registry_url, district, spec, wait)
