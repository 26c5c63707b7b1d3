"""Crisis referrals (1小时响应通道), given a referral's past events and an injected ``now``:
the team refers (the hospital's deadline, one GuardianNotified per guardian), the receiving
hospital acknowledges (in time or late) and resolves, and the deadline escalates — once, never
after an acknowledgement. Then the commands on the in-memory unit of work (the deadline row and
the guardians' notices commit with the events; the kit's deadline part escalates once under a
moved clock), the read model folded in memory, and the alerts' messages (no student in them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.wellbeing import (
    Bureau,
    CrisisReferred,
    GuardianNotified,
    ReferralAcknowledged,
    ReferralEscalated,
    ReferralOutcome,
    ReferralResolved,
    RiskFlag,
    ScreeningFlagged,
)
from tongxin_platform.commands import Writer
from tongxin_platform.deadlines import fire_due
from tongxin_platform.domain import ConflictError, NotFoundError
from tongxin_platform.memory import (
    MemoryDatabase,
    MemoryTables,
    MemoryTransactions,
    MemoryUnitOfWork,
)
from tongxin_platform.reaction import Reacting
from tongxin_wellbeing.application.referrals import (
    ACK_DEADLINE,
    REFERRAL_ACK,
    Referral,
    Referrals,
)
from tongxin_wellbeing.config import WellbeingSettings
from tongxin_wellbeing.domain.errors import WellbeingError
from tongxin_wellbeing.domain.referrals import (
    AcknowledgeReferral,
    EscalateReferral,
    MakeReferral,
    NotYetDueError,
    ReferralSettledError,
    ResolveReferral,
    compliance,
    decide_referral,
    fold,
    time_left,
)
from tongxin_wellbeing.projections.read_model import WELLBEING
from tongxin_wellbeing.reactions.alerts import ALERTS

D, SCHOOL, STUDENT, HOSPITAL, OTHER_HOSPITAL = "330106", "330106001", "stu_1", "hosp-7", "hosp-9"
REFERRED_AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NOTE = "自述近两周反复出现轻生念头"


def make(guardians: tuple[str, ...] = ("g_1", "g_2"), ack_seconds: int = 3600) -> MakeReferral:
    return MakeReferral("r1", D, SCHOOL, STUDENT, HOSPITAL, "psy_1", ack_seconds, guardians)


def referred(guardians: tuple[str, ...] = ("g_1", "g_2")) -> list[IntegrationEvent]:
    return decide_referral(make(guardians), fold([]), REFERRED_AT)


def given(*more: IntegrationEvent) -> list[IntegrationEvent]:
    return [*referred(), *more]


def acknowledged(at: datetime) -> list[IntegrationEvent]:
    return decide_referral(AcknowledgeReferral("r1", HOSPITAL), fold(given()), at)


# --- the deciders ------------------------------------------------------------------------------


def test_a_referral_gives_the_hospital_an_hour_and_tells_each_guardian() -> None:
    events = referred(("g_2", "g_1", "g_2"))
    first = events[0]
    assert isinstance(first, CrisisReferred)
    assert first.referred_at == REFERRED_AT
    assert first.acknowledge_by == REFERRED_AT + HOUR
    assert (first.hospital_id, first.referred_by, first.student_ref) == (HOSPITAL, "psy_1", STUDENT)
    notified = [e for e in events[1:] if isinstance(e, GuardianNotified)]
    assert [g.guardian_ref for g in notified] == ["g_1", "g_2"]  # each guardian once
    assert all(g.referral_id == "r1" and g.student_ref == STUDENT for g in notified)


def test_the_hospitals_time_to_acknowledge_is_the_setting() -> None:
    events = decide_referral(make(ack_seconds=900), fold([]), REFERRED_AT)
    assert isinstance(events[0], CrisisReferred)
    assert events[0].acknowledge_by == REFERRED_AT + timedelta(minutes=15)


def test_a_student_without_a_guardian_is_still_referred() -> None:
    assert [type(e) for e in referred(())] == [CrisisReferred]


def test_the_same_referral_is_not_made_twice() -> None:
    with pytest.raises(ConflictError) as refused:
        decide_referral(make(), fold(given()), REFERRED_AT)
    assert cast(WellbeingError, refused.value).rule == "referral_once"


def test_an_acknowledgement_within_the_hour_is_in_time() -> None:
    (ack,) = acknowledged(REFERRED_AT + timedelta(minutes=59))
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.within_deadline is True
    assert ack.acknowledged_at == REFERRED_AT + timedelta(minutes=59)


def test_an_acknowledgement_at_the_deadline_itself_is_in_time() -> None:
    (ack,) = acknowledged(REFERRED_AT + HOUR)
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.within_deadline is True


def test_an_acknowledgement_after_the_hour_is_late() -> None:
    (ack,) = acknowledged(REFERRED_AT + HOUR + timedelta(seconds=1))
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.within_deadline is False


def test_another_hospital_finds_no_such_referral() -> None:
    with pytest.raises(NotFoundError) as refused:
        decide_referral(AcknowledgeReferral("r1", OTHER_HOSPITAL), fold(given()), REFERRED_AT)
    assert cast(WellbeingError, refused.value).field == "referral_id"


def test_a_missing_referral_cannot_be_acknowledged() -> None:
    with pytest.raises(NotFoundError):
        decide_referral(AcknowledgeReferral("r1", HOSPITAL), fold([]), REFERRED_AT)


def test_a_referral_is_acknowledged_once() -> None:
    history = given(*acknowledged(REFERRED_AT + timedelta(minutes=5)))
    with pytest.raises(ConflictError) as refused:
        decide_referral(AcknowledgeReferral("r1", HOSPITAL), fold(history), REFERRED_AT + HOUR)
    assert cast(WellbeingError, refused.value).rule == "acknowledge_once"


def test_an_unacknowledged_referral_is_escalated_to_both_bureaus_after_the_deadline() -> None:
    at = REFERRED_AT + HOUR + timedelta(seconds=1)
    (esc,) = decide_referral(EscalateReferral("r1"), fold(given()), at)
    assert isinstance(esc, ReferralEscalated)
    assert esc.escalated_to == [Bureau.district_education, Bureau.district_health]
    assert (esc.escalated_at, esc.acknowledge_by, esc.hospital_id) == (
        at,
        REFERRED_AT + HOUR,
        HOSPITAL,
    )


def test_no_escalation_before_the_deadline() -> None:
    with pytest.raises(NotYetDueError) as refused:
        decide_referral(EscalateReferral("r1"), fold(given()), REFERRED_AT + timedelta(minutes=59))
    assert refused.value.rule == "escalate_after_deadline"


def test_a_referral_is_escalated_once() -> None:
    at = REFERRED_AT + 2 * HOUR
    history = given(*decide_referral(EscalateReferral("r1"), fold(given()), at))
    with pytest.raises(ReferralSettledError) as refused:
        decide_referral(EscalateReferral("r1"), fold(history), at)
    assert refused.value.rule == "escalate_once"


def test_an_acknowledged_referral_is_never_escalated() -> None:
    history = given(*acknowledged(REFERRED_AT + timedelta(minutes=30)))
    with pytest.raises(ReferralSettledError) as refused:
        decide_referral(EscalateReferral("r1"), fold(history), REFERRED_AT + 2 * HOUR)
    assert refused.value.rule == "escalate_unacked"


def test_a_hospital_may_still_acknowledge_late_after_the_escalation() -> None:
    esc = decide_referral(EscalateReferral("r1"), fold(given()), REFERRED_AT + 2 * HOUR)
    (ack,) = decide_referral(
        AcknowledgeReferral("r1", HOSPITAL), fold(given(*esc)), REFERRED_AT + 3 * HOUR
    )
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.within_deadline is False
    assert fold(given(*esc, ack)).status == "acknowledged"


def test_an_acknowledgement_after_the_escalation_is_late_whatever_its_clock_says() -> None:
    esc = decide_referral(EscalateReferral("r1"), fold(given()), REFERRED_AT + HOUR)
    (ack,) = decide_referral(
        AcknowledgeReferral("r1", HOSPITAL), fold(given(*esc)), REFERRED_AT + timedelta(minutes=50)
    )
    assert isinstance(ack, ReferralAcknowledged)
    assert ack.within_deadline is False


def test_a_referral_is_resolved_after_its_acknowledgement_once() -> None:
    resolve = ResolveReferral("r1", HOSPITAL, ReferralOutcome.admitted)
    with pytest.raises(WellbeingError) as refused:
        decide_referral(resolve, fold(given()), REFERRED_AT)
    assert refused.value.rule == "acknowledge_before_resolving"
    history = given(*acknowledged(REFERRED_AT + timedelta(minutes=5)))
    (res,) = decide_referral(resolve, fold(history), REFERRED_AT + 2 * HOUR)
    assert isinstance(res, ReferralResolved)
    assert res.outcome is ReferralOutcome.admitted
    assert str(res.resolved_on) == "2026-11-03"  # China date
    with pytest.raises(ConflictError):
        decide_referral(resolve, fold([*history, res]), REFERRED_AT + 3 * HOUR)
    with pytest.raises(NotFoundError):
        decide_referral(
            ResolveReferral("r1", OTHER_HOSPITAL, ReferralOutcome.admitted),
            fold(history),
            REFERRED_AT,
        )


def test_the_queue_shows_the_time_left_and_what_is_overdue() -> None:
    due = REFERRED_AT + HOUR
    assert time_left(due, False, REFERRED_AT + timedelta(minutes=45)) == (900, False)
    assert time_left(due, False, due) == (0, False)
    assert time_left(due, False, due + timedelta(minutes=2)) == (-120, True)
    assert time_left(due, True, due + timedelta(minutes=2)) == (None, False)


def test_compliance_counts_only_referrals_whose_deadline_is_decided() -> None:
    assert compliance(acknowledged_in_time=3, referred=5, awaiting=1) == 0.75
    assert compliance(acknowledged_in_time=0, referred=2, awaiting=2) is None
    assert compliance(acknowledged_in_time=0, referred=0, awaiting=0) is None


# --- the commands on the in-memory unit of work -----------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def commands(db: MemoryDatabase, clock: Clock) -> tuple[Referrals, Writer]:
    writer = Writer(MemoryTransactions(db), default_registry(), clock=clock)
    return Referrals(writer, WellbeingSettings(referral_ack_seconds=3600)), writer


def first(events: list[IntegrationEvent]) -> CrisisReferred:
    assert isinstance(events[0], CrisisReferred)
    return events[0]


def referral(note: str | None = NOTE) -> Referral:
    return Referral(D, SCHOOL, STUDENT, HOSPITAL, "psy_1", ("g_1", "g_2"), note)


async def test_a_referral_sets_its_deadline_and_tells_the_guardians_in_its_unit_of_work() -> None:
    db, clock = MemoryDatabase(default_registry()), Clock(REFERRED_AT)
    referrals, _ = commands(db, clock)
    made = first(await referrals.make(referral()))
    due = db.state.deadlines[(REFERRAL_ACK, made.referral_id)]
    assert due.due_at == made.acknowledge_by == REFERRED_AT + HOUR
    assert [type(e) for e in db.published()] == [CrisisReferred, GuardianNotified, GuardianNotified]
    notices = sorted(db.state.notices.values(), key=lambda n: n.key)
    assert [(n.channel, n.recipient) for n in notices] == [("guardian", "g_1"), ("guardian", "g_2")]
    for n in notices:
        shown = n.title + n.text + n.link
        assert STUDENT not in shown
        assert NOTE not in shown
        assert "心理教师" in n.text
        assert n.link.endswith(f"/referrals/{made.referral_id}")


async def test_the_note_travels_sealed() -> None:
    db = MemoryDatabase(default_registry())
    referrals, _ = commands(db, Clock(REFERRED_AT))
    await referrals.make(referral())
    raw = b"".join(
        e.payload if isinstance(e.payload, bytes) else str(e.payload).encode() for e in db.stored()
    )
    assert NOTE.encode() not in raw
    assert NOTE not in raw.decode("utf-8", "replace")
    first = db.published()[0]
    assert isinstance(first, CrisisReferred)
    assert first.note is not None
    async with MemoryTransactions(db).read() as uow:
        assert (await uow.keys.open(first.note))["text"] == NOTE


async def test_an_acknowledgement_cancels_the_deadline_so_nothing_escalates() -> None:
    db, clock = MemoryDatabase(default_registry()), Clock(REFERRED_AT)
    referrals, writer = commands(db, clock)
    made = first(await referrals.make(referral(None)))
    clock.now = REFERRED_AT + timedelta(minutes=40)
    events = await referrals.acknowledge(made.referral_id, HOSPITAL)
    assert isinstance(events[0], ReferralAcknowledged)
    assert events[0].within_deadline
    assert (REFERRAL_ACK, made.referral_id) not in db.state.deadlines
    clock.now = REFERRED_AT + 5 * HOUR
    fired = await fire_due([ACK_DEADLINE], MemoryTransactions(db), writer, clock.now)
    assert fired.fired == []
    assert not [e for e in db.published() if isinstance(e, ReferralEscalated)]


async def test_the_deadline_escalates_once_when_the_injected_clock_passes_it() -> None:
    db, clock = MemoryDatabase(default_registry()), Clock(REFERRED_AT)
    referrals, writer = commands(db, clock)
    made = first(await referrals.make(referral(None)))
    early = await fire_due(
        [ACK_DEADLINE], MemoryTransactions(db), writer, REFERRED_AT + timedelta(minutes=59)
    )
    assert early.fired == []
    clock.now = REFERRED_AT + HOUR + timedelta(seconds=5)
    for _ in range(3):  # later polls find nothing more to fire
        await fire_due([ACK_DEADLINE], MemoryTransactions(db), writer, clock.now)
    escalations = [e for e in db.published() if isinstance(e, ReferralEscalated)]
    assert len(escalations) == 1
    assert escalations[0].escalated_at == clock.now
    assert db.state.deadlines[(REFERRAL_ACK, made.referral_id)].fired_at == clock.now


async def test_a_deadline_that_finds_the_referral_settled_fires_without_escalating() -> None:
    """An acknowledgement that raced the poll: the handler has nothing to do, the row is done."""
    db, clock = MemoryDatabase(default_registry()), Clock(REFERRED_AT)
    referrals, writer = commands(db, clock)
    made = first(await referrals.make(referral(None)))
    clock.now = REFERRED_AT + timedelta(minutes=10)
    await referrals.acknowledge(made.referral_id, HOSPITAL)
    async with MemoryTransactions(db).begin() as uow:  # the row as a racing poll claimed it
        await uow.deadlines.set(REFERRAL_ACK, made.referral_id, REFERRED_AT + HOUR)
    fired = await fire_due([ACK_DEADLINE], MemoryTransactions(db), writer, REFERRED_AT + 2 * HOUR)
    assert (REFERRAL_ACK, made.referral_id) in fired.fired
    assert not [e for e in db.published() if isinstance(e, ReferralEscalated)]


# --- the read model ----------------------------------------------------------------------------


async def test_the_read_model_keeps_each_referrals_deadline_and_what_became_of_it() -> None:
    db = MemoryDatabase(default_registry())
    tables = MemoryTables(db, WELLBEING.tables)
    late = REFERRED_AT + 2 * HOUR
    events = given(
        *decide_referral(EscalateReferral("r1"), fold(given()), late),
    )
    events += decide_referral(AcknowledgeReferral("r1", HOSPITAL), fold(events), late)
    await WELLBEING.write(tables, WELLBEING.schema, WELLBEING.fold(events))
    row = tables.rows("wellbeing", "referrals")[("r1",)]
    assert row["acknowledge_by"] == REFERRED_AT + HOUR
    assert row["escalated_at"] == late
    assert row["within_deadline"] is False
    assert row["guardians_notified"] == 2
    assert row["hospital_id"] == HOSPITAL
    assert "note" not in row


# --- the alerts' messages ----------------------------------------------------------------------


def reacting(db: MemoryDatabase) -> Reacting:
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: REFERRED_AT)
    settings = WellbeingSettings(public_url="https://wellbeing.example.cn")
    return Reacting(MemoryUnitOfWork(db), writer, cast(Any, None), settings)


async def alert(db: MemoryDatabase, e: IntegrationEvent) -> None:
    await ALERTS.handlers[e.ce_type()](e, reacting(db))


async def test_an_escalation_alerts_the_district_with_the_school_and_a_link_only() -> None:
    db = MemoryDatabase(default_registry())
    (esc,) = decide_referral(EscalateReferral("r1"), fold(given()), REFERRED_AT + 2 * HOUR)
    await alert(db, esc)
    await alert(db, esc)  # the same trigger again: nothing new
    (notice,) = db.state.notices.values()
    assert (notice.channel, notice.district, notice.school, notice.recipient) == (
        "alert",
        D,
        SCHOOL,
        None,
    )
    assert notice.kind == "referral.escalated"
    assert notice.link == "https://wellbeing.example.cn/referrals/r1"
    assert SCHOOL in notice.text
    assert "区教育局" in notice.text
    assert "区卫健局" in notice.text
    assert STUDENT not in notice.title + notice.text + notice.link


def flag(risk: RiskFlag, band: str = "severe") -> ScreeningFlagged:
    return ScreeningFlagged(
        district=D,
        school_id=SCHOOL,
        student_ref=STUDENT,
        school_year="2026-2027",
        screening_id="scr_1",
        instrument_id="phq9",
        band=band,
        risk=risk,
    )


async def test_a_high_risk_flag_asks_the_psychology_teacher_and_health_vp_to_look() -> None:
    db = MemoryDatabase(default_registry())
    await alert(db, flag(RiskFlag.high, "moderately_severe"))
    (notice,) = db.state.notices.values()
    assert notice.kind == "screening.high_risk"
    assert "心理教师" in notice.text
    assert "健康副校长" in notice.text
    assert notice.link.endswith(f"/schools/{SCHOOL}/attention")
    shown = notice.title + notice.text + notice.link
    assert STUDENT not in shown
    assert "phq9" not in shown
    assert "moderately_severe" not in shown


async def test_an_elevated_flag_is_no_alert() -> None:
    db = MemoryDatabase(default_registry())
    await alert(db, flag(RiskFlag.elevated, "moderate"))
    assert db.state.notices == {}
