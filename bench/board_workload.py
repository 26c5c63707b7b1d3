"""A semester of home visits for part of the imported roster: the visits topic the board replays.

Recorded through ``VisitsService`` in the bench process (no HTTP), as a school would: each visit
is planned by the class's head teacher, completed with another head teacher of the school as
co-visitor (mode, duration, goals, findings, a parent's suggestion and notes sealed as the API
seals them; about one finding in eight has a measure and opens a follow-up case, half of those get
an action recorded), and confirmed by the co-visitor (nine in ten; the rest stay unconfirmed).
The students, classes and head teachers are read off the registry's own events (the imports
left them in its event store), so the visits reference the roster the board also replays.

The visits database's outbox is then relayed to the run's visits topic. Bounded by a count and a
time limit (the visits recorded when the time runs out are the workload).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench.common import CpuMeter, clock, postgres_backends
from tongxin_contracts.events.registry import ClassOpened, StudentEnrolled
from tongxin_contracts.events.visits import (
    FindingCategory,
    Measure,
    SuggestionTopic,
    VisitGoal,
    VisitMode,
    Visitor,
)
from tongxin_platform.outbox import OutboxRelay
from tongxin_platform.settings import service_database_url

MODES = (VisitMode.in_home, VisitMode.online, VisitMode.phone)
MODE_WEIGHTS = (78, 12, 10)
MINUTES = {VisitMode.in_home: (40, 90), VisitMode.online: (25, 45), VisitMode.phone: (15, 30)}
MEASURES = {
    FindingCategory.family_hardship: Measure.hardship_assistance,
    FindingCategory.learning_difficulty: Measure.learning_support,
    FindingCategory.family_education: Measure.family_education_guidance,
    FindingCategory.mental_health: Measure.mental_health_counselling,
}
SUGGESTIONS = (
    (SuggestionTopic.safety, "放学时校门口车多，建议加强护导。"),
    (SuggestionTopic.teaching, "希望多推荐课外书目。"),
    (SuggestionTopic.class_building, "希望班级多组织亲子活动。"),
)
NOTES = ("家长配合，孩子作息规律。", "祖辈带养，约定每周电话沟通。", "孩子爱画画，鼓励参加社团。")
CONCURRENCY = 16  # visits recorded side by side (teachers of different classes)


@dataclass(frozen=True)
class Kid:
    student_ref: str
    district: str
    school_id: str
    class_id: str
    head_teacher: str
    co_visitor: str  # the head teacher of another class of the same school


async def roster_sample(registry_url: str, visits: int, seed: int = 11) -> list[Kid]:
    """``visits`` students (one visit each), spread over every class with a head teacher."""
    conn = await asyncpg.connect(registry_url)
    try:
        classes = await conn.fetch(
            "SELECT payload FROM events WHERE event_type = $1", ClassOpened.ce_type()
        )
        students = await conn.fetch(
            "SELECT payload FROM events WHERE event_type = $1 ORDER BY position",
            StudentEnrolled.ce_type(),
        )
    finally:
        await conn.close()
    heads: dict[str, str] = {}
    by_school: dict[str, list[str]] = {}
    for r in classes:
        c = json.loads(bytes(r["payload"]))
        if c.get("head_teacher_ref"):
            heads[c["class_id"]] = c["head_teacher_ref"]
            by_school.setdefault(c["school_id"], []).append(c["head_teacher_ref"])
    rng = random.Random(seed)
    kids = []
    for r in students:
        s = json.loads(bytes(r["payload"]))
        head = heads.get(s["class_id"])
        others = [t for t in by_school.get(s["school_id"], []) if t != head]
        if head is None or not others:
            continue
        kids.append(
            Kid(
                s["student_ref"],
                s["district"],
                s["school_id"],
                s["class_id"],
                head,
                rng.choice(others),
            )
        )
    rng.shuffle(kids)
    return kids[:visits]


def completion(kid: Kid, rng: random.Random, now: datetime) -> tuple[Any, date]:
    """A completion as a head teacher records it (and the day the visit was planned for)."""
    from tongxin_visits.application.visits import Completion, FindingNote

    started = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(2, 8))
    mode = rng.choices(MODES, MODE_WEIGHTS)[0]
    findings: list[FindingNote] = []
    if rng.random() < 0.12:
        category = rng.choice(sorted(MEASURES))
        findings.append(FindingNote(category, MEASURES[category]))
    elif rng.random() < 0.1:
        findings.append(
            FindingNote(rng.choice((FindingCategory.physical_health, FindingCategory.safety)))
        )
    said = tuple(rng.sample(SUGGESTIONS, 1)) if rng.random() < 0.2 else ()
    goals = frozenset(rng.sample(list(VisitGoal), rng.randint(2, 5)))
    c = Completion(
        visitors=(
            Visitor(staff_ref=kid.head_teacher, role="head_teacher"),
            Visitor(staff_ref=kid.co_visitor, role="subject_teacher"),
        ),
        mode=mode,
        started_at=started,
        duration_minutes=rng.randint(*MINUTES[mode]),
        goals=goals,
        findings=tuple(findings),
        suggestions=said,
        notes=rng.choice(NOTES) if rng.random() < 0.3 else None,
        integrity_attested=True,
    )
    return c, (started - timedelta(days=rng.randint(1, 7))).date()


async def record_visits(service: Any, kids: list[Kid], time_limit: float) -> dict[str, Any]:
    """Plan, complete and (mostly) confirm one visit per kid, ``CONCURRENCY`` at a time."""
    tally: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    rules: dict[str, Any] = {}
    queue = list(reversed(kids))
    deadline = clock() + time_limit
    now = datetime.now(UTC)

    async def one(kid: Kid, rng: random.Random) -> None:
        if kid.district not in rules:
            rules[kid.district] = await service.reports.rules(kid.district)
        c, planned_for = completion(kid, rng, now)
        visit_id = await service.visits.plan(
            district=kid.district,
            school_id=kid.school_id,
            class_id=kid.class_id,
            student_ref=kid.student_ref,
            planned_by=kid.head_teacher,
            planned_for=planned_for,
        )
        events = await service.visits.complete(visit_id, kid.head_teacher, c, rules[kid.district])
        tally.update(visits=1, suggestions=len(c.suggestions), notes=int(c.notes is not None))
        for e in events:
            if e.name == "FollowUpOpened":
                tally.update(cases=1)
                if rng.random() < 0.5:
                    await service.ledger.record_action(
                        e.case_id,
                        kid.head_teacher,
                        (c.started_at + timedelta(days=1)).date(),
                        "与家长沟通，制定并落实帮扶计划。",
                    )
                    tally.update(actions=1)
        if rng.random() < 0.9:
            await service.visits.confirm(visit_id, kid.co_visitor)
            tally.update(confirmed=1)

    async def worker(n: int) -> None:
        rng = random.Random(f"visits-{n}")
        while queue and clock() < deadline:
            kid = queue.pop()
            try:
                await one(kid, rng)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the rest goes on
                errors[f"{type(exc).__name__}: {exc}"[:200]] += 1

    start = clock()
    await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    elapsed = clock() - start
    return {
        **{k: float(v) for k, v in tally.items()},
        "seconds": elapsed,
        "visits_per_second": tally["visits"] / elapsed if elapsed else 0.0,
        "errors": dict(errors),
        "timed_out": float(bool(queue)),
    }


async def relay_all(service: str, url: str, kafka: str, time_limit: float) -> dict[str, float]:
    """Relay a database's whole outbox to Kafka (set-up, not a measure: its rate is a note)."""
    conn = await asyncpg.connect(url)
    try:
        total = int(await conn.fetchval("SELECT count(*) FROM outbox"))
        relay = OutboxRelay(service=service, database_url=url, bootstrap=kafka)
        start = clock()
        task = asyncio.create_task(relay.run())
        try:
            while clock() - start < time_limit and not task.done():
                if relay.stats.published >= total:
                    break
                await asyncio.sleep(0.05)
        finally:
            relay.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 30)
        elapsed = clock() - start
        left = int(await conn.fetchval("SELECT count(*) FROM outbox"))
    finally:
        await conn.close()
    return {"events": float(relay.stats.published), "seconds": elapsed, "outbox_left": float(left)}


async def generate(
    server_url: str,
    kafka: str,
    registry_url: str,
    database: str,
    topic: str,
    registry_topic: str,
    visits: int,
    time_limit: float,
) -> dict[str, Any]:
    """Record the visits into the run's visits database and relay them to ``topic``."""
    from tongxin_visits.bootstrap import bootstrap as visits_bootstrap
    from tongxin_visits.config import VisitsSettings

    kids = await roster_sample(registry_url, visits)
    settings = VisitsSettings(
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        DATABASE_URL=server_url,
        database_name=database,
        topic=topic,
        registry_topic=registry_topic,
    )
    v = await visits_bootstrap(settings)
    meter = CpuMeter({"server": postgres_backends(database)})
    try:
        meter.start()
        recorded = await record_visits(v.service, kids, time_limit)
        recorded.update(meter.stop())
        recorded["events"] = float(await v.pool.fetchval("SELECT count(*) FROM outbox"))
    finally:
        await v.close()
    url = service_database_url(server_url, database)
    relayed = await relay_all("visits", url, kafka, time_limit)
    return {"students_sampled": len(kids), "recorded": recorded, "relayed": relayed}
