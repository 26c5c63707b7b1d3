"""One child, one file (一人一档), given the file's past events and an injected ``now``: opened
once whatever opens it (the roster's groups change it, a closed file opens afresh), paired with
four kinds of carer that count only once accepted (declined or released: missing again), the
risk level changed only with a reason, contacts by the carer on an accepted pairing, the
parents' notice and contacts for a left-behind child, concerns once per key and assessed once,
the hand-over releasing the school carer (every carer across districts) and the closing
releasing every carer. Then the reactions' commands on the in-memory unit of work (no events
the second time) and the read model folded in memory agreeing with the file's own fold."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.events.registry import CareGroup
from tongxin_contracts.events.safety import (
    CareConcernAssessed,
    CareConcernRaised,
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareGroupsChanged,
    CareNoticeRecorded,
    CarerAccepted,
    CarerDeclined,
    CarerKind,
    CarerPaired,
    CarerReleased,
    ConcernOutcome,
    ConcernSource,
    ContactMode,
    DeclineReason,
    EntrustedRelation,
    FileClosedReason,
    FileSource,
    ParentContactRecorded,
    RiskLevel,
    RiskLevelSet,
)
from tongxin_platform.commands import Writer
from tongxin_platform.domain import ConflictError, NotAllowedError, NotFoundError
from tongxin_platform.memory import MemoryDatabase, MemoryTables, MemoryTransactions
from tongxin_safety.application.file_queries import facts_of
from tongxin_safety.application.files import CareFiles
from tongxin_safety.config import SafetySettings
from tongxin_safety.domain.errors import SafetyError
from tongxin_safety.domain.files import (
    Actor,
    AssessConcern,
    Child,
    CloseFile,
    FileCommand,
    HandOver,
    LogContact,
    OpenFile,
    PairCarer,
    RaiseConcern,
    RecordNotice,
    RecordParentContact,
    ReleasePairing,
    RespondToPairing,
    SetRisk,
    concern_id_for,
    decide_file,
    fold,
)
from tongxin_safety.domain.ledger import missing_kinds
from tongxin_safety.projections.read_model import SAFETY

D, SCHOOL, OTHER_SCHOOL, STUDENT = "330106", "330106001", "330106002", "stu_1"
NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in China, Monday 12 October 2026
TODAY = date(2026, 10, 12)
CHILD = Child(STUDENT, D, SCHOOL, f"{SCHOOL}-01")
LEFT_BEHIND = (CareGroup.left_behind,)
SEALED = Sealed(subject=STUDENT, key_id="k1", nonce="bm9uY2U", ciphertext="c2VhbGVk")

TEACHER, LEADER = "staff_t01", "staff_p"
COMMUNITY, CIVIL, WOMEN = "carer_c", "carer_m", "carer_w"
ORGS = {
    CarerKind.school: SCHOOL,
    CarerKind.community: "village-dongshan",
    CarerKind.civil_affairs: "mz-330106",
    CarerKind.womens_federation: "fl-330106",
}
CARERS = {
    CarerKind.school: TEACHER,
    CarerKind.community: COMMUNITY,
    CarerKind.civil_affairs: CIVIL,
    CarerKind.womens_federation: WOMEN,
}


def actor_of(kind: CarerKind) -> Actor:
    """The carer as their token speaks: staff have no agency kind."""
    if kind is CarerKind.school:
        return Actor(TEACHER)
    return Actor(CARERS[kind], kind, ORGS[kind])


def run(history: list[IntegrationEvent], cmd: FileCommand, at: datetime = NOW) -> list[Any]:
    return decide_file(STUDENT, cmd, fold(history), at)


def then(history: list[IntegrationEvent], cmd: FileCommand, at: datetime = NOW) -> list[Any]:
    """Decide and append to ``history``; answer the new events."""
    events = run(history, cmd, at)
    history.extend(events)
    return events


def opened(groups: tuple[CareGroup, ...] = LEFT_BEHIND) -> list[IntegrationEvent]:
    history: list[IntegrationEvent] = []
    then(history, OpenFile(CHILD, FileSource.categorised, groups))
    return history


def pair(history: list[IntegrationEvent], kind: CarerKind, pid: str | None = None) -> str:
    pid = pid or f"p-{kind.value}"
    school = SCHOOL if kind is CarerKind.school else None
    then(history, PairCarer(pid, kind, CARERS[kind], ORGS[kind], LEADER, school))
    return pid


def paired_and_accepted(kinds: tuple[CarerKind, ...] = tuple(CarerKind)) -> list[IntegrationEvent]:
    history = opened()
    for kind in kinds:
        pid = pair(history, kind)
        then(history, RespondToPairing(pid, actor_of(kind), accept=True))
    return history


# --- one file per child ---------------------------------------------------------------------------


def test_the_roster_s_care_groups_open_the_file_once() -> None:
    history = opened()
    (e,) = history
    assert isinstance(e, CareFileOpened)
    assert (e.source, e.care_groups, e.opened_on, e.class_id) == (
        FileSource.categorised,
        [CareGroup.left_behind],
        TODAY,
        CHILD.class_id,
    )
    assert run(history, OpenFile(CHILD, FileSource.categorised, LEFT_BEHIND)) == []
    assert run(history, OpenFile(CHILD, FileSource.hardship_followup)) == []
    assert run(history, OpenFile(CHILD, FileSource.by_hand, (), None, LEADER)) == []


def test_the_roster_changing_the_groups_of_an_open_file_appends_care_groups_changed() -> None:
    history = opened()
    both = (CareGroup.orphan_or_unsupported, CareGroup.left_behind)
    (e,) = run(history, OpenFile(CHILD, FileSource.categorised, both))
    assert isinstance(e, CareGroupsChanged)
    assert e.care_groups == sorted(both)
    (gone,) = run(history, OpenFile(CHILD, FileSource.categorised, ()))
    assert isinstance(gone, CareGroupsChanged)
    assert gone.care_groups == []


def test_a_hardship_follow_up_opens_a_file_and_the_roster_without_groups_opens_none() -> None:
    assert run([], OpenFile(CHILD, FileSource.categorised, ())) == []
    (e,) = run([], OpenFile(CHILD, FileSource.hardship_followup, (), date(2026, 10, 1)))
    assert isinstance(e, CareFileOpened)
    assert (e.source, e.care_groups, e.opened_on) == (
        FileSource.hardship_followup,
        [],
        date(2026, 10, 1),
    )


def test_a_closed_file_is_opened_again_as_a_new_file_without_its_old_carers_or_risk() -> None:
    history = paired_and_accepted()
    then(history, SetRisk(RiskLevel.high, LEADER))
    then(history, CloseFile(FileClosedReason.no_longer_in_need, TODAY))
    (e,) = then(history, OpenFile(CHILD, FileSource.categorised, LEFT_BEHIND))
    assert isinstance(e, CareFileOpened)
    state = fold(history)
    assert state.is_open
    assert state.risk is None
    assert missing_kinds(facts_of(STUDENT, state)) == list(CarerKind)


# --- pairing with four kinds ----------------------------------------------------------------------


def test_a_kind_counts_only_once_the_carer_accepted() -> None:
    history = opened()
    pid = pair(history, CarerKind.community)
    assert CarerKind.community in fold(history).missing_kinds
    (e,) = then(history, RespondToPairing(pid, actor_of(CarerKind.community), accept=True))
    assert isinstance(e, CarerAccepted)
    assert e.accepted_on == TODAY
    assert fold(history).missing_kinds == [
        CarerKind.school,
        CarerKind.civil_affairs,
        CarerKind.womens_federation,
    ]


def test_a_declined_pairing_leaves_the_kind_missing_and_another_carer_can_be_paired() -> None:
    history = opened()
    pid = pair(history, CarerKind.civil_affairs)
    with pytest.raises(SafetyError) as no_reason:
        run(history, RespondToPairing(pid, actor_of(CarerKind.civil_affairs), accept=False))
    assert no_reason.value.rule == "reason_required"
    (e,) = then(
        history,
        RespondToPairing(
            pid, actor_of(CarerKind.civil_affairs), False, DeclineReason.caseload_full
        ),
    )
    assert isinstance(e, CarerDeclined)
    assert e.reason is DeclineReason.caseload_full
    assert CarerKind.civil_affairs in fold(history).missing_kinds
    assert pair(history, CarerKind.civil_affairs, "p-2") == "p-2"


def test_a_released_pairing_leaves_the_kind_missing_again() -> None:
    history = paired_and_accepted()
    assert fold(history).missing_kinds == []
    (e,) = then(history, ReleasePairing("p-womens_federation"))
    assert isinstance(e, CarerReleased)
    assert fold(history).missing_kinds == [CarerKind.womens_federation]
    with pytest.raises(ConflictError) as again:
        run(history, ReleasePairing("p-womens_federation"))
    assert again.value.rule == "pairing_open"


def test_at_most_one_open_pairing_per_kind() -> None:
    history = opened()
    pair(history, CarerKind.community)
    with pytest.raises(ConflictError) as second:
        pair(history, CarerKind.community, "p-2")
    assert (second.value.field, second.value.rule) == ("kind", "one_pairing_per_kind")


def test_a_school_carer_is_staff_of_the_child_s_school_and_an_agency_carer_names_an_org() -> None:
    history = opened()
    with pytest.raises(SafetyError) as elsewhere:
        run(history, PairCarer("p", CarerKind.school, TEACHER, "", LEADER, OTHER_SCHOOL))
    assert elsewhere.value.rule == "school_carer_of_school"
    with pytest.raises(SafetyError) as unknown:
        run(history, PairCarer("p", CarerKind.school, "nobody", "", LEADER, None))
    assert unknown.value.rule == "school_carer_of_school"
    (e,) = run(history, PairCarer("p", CarerKind.school, TEACHER, "whatever", LEADER, SCHOOL))
    assert isinstance(e, CarerPaired)
    assert e.org == SCHOOL
    with pytest.raises(SafetyError) as no_org:
        run(history, PairCarer("p", CarerKind.community, COMMUNITY, "", LEADER))
    assert (no_org.value.field, no_org.value.rule) == ("org", "org_required")


@pytest.mark.parametrize(
    "actor",
    [
        Actor(LEADER, leader=True),  # a leader does not accept for the carer
        Actor("carer_x", CarerKind.community, ORGS[CarerKind.community]),  # another person
        Actor(COMMUNITY, CarerKind.community, "village-xishan"),  # another organisation
        Actor(COMMUNITY, CarerKind.civil_affairs, ORGS[CarerKind.community]),  # another kind
        Actor(COMMUNITY),  # as a member of staff
    ],
)
def test_only_the_paired_carer_accepts(actor: Actor) -> None:
    history = opened()
    pid = pair(history, CarerKind.community)
    with pytest.raises(NotAllowedError) as refused:
        run(history, RespondToPairing(pid, actor, accept=True))
    assert refused.value.rule == "own_pairing_only"


def test_a_pairing_is_answered_once() -> None:
    history = paired_and_accepted((CarerKind.community,))
    with pytest.raises(ConflictError) as again:
        run(history, RespondToPairing("p-community", actor_of(CarerKind.community), accept=True))
    assert again.value.rule == "respond_once"
    with pytest.raises(NotFoundError) as missing:
        run(history, RespondToPairing("p-none", actor_of(CarerKind.community), accept=True))
    assert missing.value.rule == "pairing_exists"


# --- risk level -----------------------------------------------------------------------------------


def test_the_first_level_and_a_review_need_no_reason_but_a_change_does() -> None:
    history = opened()
    (first,) = then(history, SetRisk(RiskLevel.low, LEADER))
    assert isinstance(first, RiskLevelSet)
    assert first.previous is None
    (review,) = then(history, SetRisk(RiskLevel.low, LEADER), NOW + timedelta(days=100))
    assert review.previous is RiskLevel.low
    assert review.set_on == TODAY + timedelta(days=100)
    with pytest.raises(SafetyError) as refused:
        run(history, SetRisk(RiskLevel.high, LEADER))
    assert (refused.value.field, refused.value.rule) == ("reason", "reason_required")
    (change,) = run(history, SetRisk(RiskLevel.high, LEADER, SEALED))
    assert (change.level, change.previous, change.reason) == (RiskLevel.high, RiskLevel.low, SEALED)


# --- contacts -------------------------------------------------------------------------------------


def test_the_carer_logs_a_contact_on_an_accepted_pairing_and_a_leader_may_record_it() -> None:
    history = opened()
    pid = pair(history, CarerKind.community)
    contact = LogContact(pid, actor_of(CarerKind.community), TODAY, ContactMode.home_visit)
    with pytest.raises(SafetyError) as not_yet:
        run(history, contact)
    assert not_yet.value.rule == "pairing_accepted"
    then(history, RespondToPairing(pid, actor_of(CarerKind.community), accept=True))
    (e,) = then(history, contact)
    assert isinstance(e, CareContactLogged)
    assert (e.kind, e.contact_on, e.mode) == (CarerKind.community, TODAY, ContactMode.home_visit)
    (by_leader,) = run(
        history, LogContact(pid, Actor(LEADER, leader=True), TODAY, ContactMode.phone)
    )
    assert by_leader.pairing_id == pid
    with pytest.raises(NotAllowedError) as other:
        run(history, LogContact(pid, actor_of(CarerKind.civil_affairs), TODAY, ContactMode.phone))
    assert other.value.rule == "own_pairing_only"


def test_a_contact_is_not_in_the_future_nor_before_the_pairing() -> None:
    history = paired_and_accepted((CarerKind.school,))
    tomorrow = LogContact("p-school", Actor(TEACHER), TODAY + timedelta(days=1), ContactMode.phone)
    with pytest.raises(SafetyError) as future:
        run(history, tomorrow)
    assert (future.value.field, future.value.rule) == ("contact_on", "not_future")
    before = LogContact("p-school", Actor(TEACHER), TODAY - timedelta(days=1), ContactMode.phone)
    with pytest.raises(SafetyError) as early:
        run(history, before)
    assert early.value.rule == "contact_after_pairing"


def test_the_last_contact_is_the_latest_day_whatever_the_order_they_are_logged_in() -> None:
    history = opened()
    then(history, PairCarer("p", CarerKind.school, TEACHER, "", LEADER, SCHOOL), NOW)
    then(history, RespondToPairing("p", Actor(TEACHER), accept=True))
    later = NOW + timedelta(days=10)
    then(
        history,
        LogContact("p", Actor(TEACHER), TODAY + timedelta(days=9), ContactMode.phone),
        later,
    )
    then(
        history,
        LogContact("p", Actor(TEACHER), TODAY + timedelta(days=2), ContactMode.phone),
        later,
    )
    p = fold(history).pairing("p")
    assert p is not None
    assert p.last_contact_on == TODAY + timedelta(days=9)


# --- the parents' notice and contacts -------------------------------------------------------------


def test_the_parents_notice_and_contacts_are_for_a_left_behind_child() -> None:
    history = opened()
    (notice,) = then(history, RecordNotice(EntrustedRelation.grandparent, TODAY, SEALED))
    assert isinstance(notice, CareNoticeRecorded)
    assert notice.relation is EntrustedRelation.grandparent
    (contact,) = then(history, RecordParentContact(TODAY, ContactMode.video))
    assert isinstance(contact, ParentContactRecorded)
    state = fold(history)
    assert (state.notice_on, state.parent_contact_on) == (TODAY, TODAY)
    unsupported = opened((CareGroup.orphan_or_unsupported,))
    with pytest.raises(SafetyError) as refused:
        run(unsupported, RecordParentContact(TODAY, ContactMode.video))
    assert (refused.value.field, refused.value.rule) == ("care_groups", "left_behind_only")
    with pytest.raises(SafetyError) as future:
        run(history, RecordNotice(EntrustedRelation.grandparent, TODAY + timedelta(1), SEALED))
    assert future.value.rule == "not_future"


# --- concerns -------------------------------------------------------------------------------------


def test_a_concern_is_raised_once_per_key_and_assessed_once() -> None:
    history = opened()
    cid = concern_id_for(STUDENT, "visit-9")
    raise_it = RaiseConcern(cid, ConcernSource.visit, "visit-9", None, SEALED)
    (e,) = then(history, raise_it)
    assert isinstance(e, CareConcernRaised)
    assert e.visit_id == "visit-9"
    assert e.raised_on == TODAY
    assert run(history, raise_it) == [], "the same key is the same concern"
    (a,) = then(history, AssessConcern(cid, ConcernOutcome.monitored, LEADER))
    assert isinstance(a, CareConcernAssessed)
    with pytest.raises(ConflictError) as twice:
        run(history, AssessConcern(cid, ConcernOutcome.monitored, LEADER))
    assert twice.value.rule == "assess_once"
    with pytest.raises(NotFoundError) as missing:
        run(history, AssessConcern("nope", ConcernOutcome.monitored, LEADER))
    assert missing.value.rule == "concern_exists"


def test_without_an_open_file_the_reactions_commands_do_nothing_and_the_others_are_refused() -> (
    None
):
    cid = concern_id_for(STUDENT, "visit-9")
    assert run([], RaiseConcern(cid, ConcernSource.visit, "visit-9")) == []
    assert run([], HandOver(OTHER_SCHOOL, D, None, TODAY)) == []
    assert run([], CloseFile(FileClosedReason.left_school, TODAY)) == []
    with pytest.raises(NotFoundError) as refused:
        run([], SetRisk(RiskLevel.low, LEADER))
    assert (refused.value.field, refused.value.rule) == ("student_ref", "care_file_open")


# --- hand-over and closing ------------------------------------------------------------------------


def test_a_transfer_in_the_district_releases_only_the_school_carer() -> None:
    history = paired_and_accepted()
    events = then(history, HandOver(OTHER_SCHOOL, D, f"{OTHER_SCHOOL}-03", TODAY))
    assert [type(e) for e in events] == [CarerReleased, CareFileHandedOver]
    assert events[0].kind is CarerKind.school
    assert events[0].school_id == SCHOOL
    assert events[1].school_id == SCHOOL
    assert events[1].to_school_id == OTHER_SCHOOL
    state = fold(history)
    assert (state.school_id, state.class_id) == (OTHER_SCHOOL, f"{OTHER_SCHOOL}-03")
    assert state.missing_kinds == [CarerKind.school]
    assert run(history, HandOver(OTHER_SCHOOL, D, None, TODAY)) == [], "there already"
    (risk,) = run(history, SetRisk(RiskLevel.low, LEADER))
    assert risk.school_id == OTHER_SCHOOL, "later events carry the receiving school"


def test_a_move_to_another_district_releases_every_carer() -> None:
    history = paired_and_accepted()
    events = then(history, HandOver("110101001", "110101", None, TODAY))
    assert [type(e) for e in events] == [CarerReleased] * 4 + [CareFileHandedOver]
    assert fold(history).missing_kinds == list(CarerKind)


def test_closing_releases_every_open_carer_once() -> None:
    history = paired_and_accepted((CarerKind.school, CarerKind.community))
    pair(history, CarerKind.civil_affairs)  # proposed, not yet answered
    then(history, ReleasePairing("p-community"))
    events = then(history, CloseFile(FileClosedReason.left_school, TODAY))
    assert [(type(e), getattr(e, "pairing_id", None)) for e in events] == [
        (CarerReleased, "p-school"),
        (CarerReleased, "p-civil_affairs"),
        (CareFileClosed, None),
    ]
    assert run(history, CloseFile(FileClosedReason.left_school, TODAY)) == []
    with pytest.raises(NotFoundError):
        run(history, SetRisk(RiskLevel.low, LEADER))


# --- the reactions' commands on the in-memory unit of work ----------------------------------------


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def care_files(db: MemoryDatabase) -> CareFiles:
    writer = Writer(MemoryTransactions(db), default_registry(), clock=Clock(NOW))
    return CareFiles(writer, pool=None, settings=SafetySettings())


async def test_each_reaction_command_appends_nothing_the_second_time() -> None:
    db = MemoryDatabase(default_registry())
    files = care_files(db)
    first = await files.open_file(CHILD, FileSource.categorised, LEFT_BEHIND, TODAY)
    assert [e.name for e in first] == ["CareFileOpened"]
    assert await files.open_file(CHILD, FileSource.categorised, LEFT_BEHIND, TODAY) == []
    raised = await files.raise_concern(
        STUDENT, ConcernSource.visit, "v-1", "v-1", detail="门口有陌生人徘徊"
    )
    assert [e.name for e in raised] == ["CareConcernRaised"]
    assert await files.raise_concern(CHILD, ConcernSource.visit, "v-1", "v-1") == []
    moved = await files.hand_over(STUDENT, OTHER_SCHOOL, D, None, TODAY)
    assert [e.name for e in moved] == ["CareFileHandedOver"]
    assert await files.hand_over(STUDENT, OTHER_SCHOOL, D, None, TODAY) == []
    closed = await files.close(STUDENT, FileClosedReason.left_school, TODAY)
    assert [e.name for e in closed] == ["CareFileClosed"]
    assert await files.close(STUDENT, FileClosedReason.left_school, TODAY) == []
    assert [e.name for e in db.published()] == [
        "CareFileOpened",
        "CareConcernRaised",
        "CareFileHandedOver",
        "CareFileClosed",
    ]
    detail = next(e for e in db.published() if isinstance(e, CareConcernRaised)).detail
    assert detail is not None
    assert "陌生人" not in detail.model_dump_json(), "sealed"


async def test_a_risk_change_s_reason_and_the_entrusted_carer_travel_sealed() -> None:
    db = MemoryDatabase(default_registry())
    files = care_files(db)
    await files.open_file(CHILD, FileSource.categorised, LEFT_BEHIND, TODAY)
    await files.set_risk(STUDENT, RiskLevel.low, None, LEADER)
    await files.set_risk(STUDENT, RiskLevel.high, "父母离异，祖母患病", LEADER)
    await files.record_notice(
        STUDENT, EntrustedRelation.grandparent, TODAY, "王秀英", "13800001111"
    )
    wire = " ".join(e.model_dump_json() for e in db.published())
    for clear in ("父母离异", "王秀英", "13800001111"):
        assert clear not in wire


# --- the read model agrees with the file's own fold -----------------------------------------------


def read_model_facts(history: list[IntegrationEvent]) -> dict[str, Any]:
    db = MemoryDatabase(default_registry())
    tables = MemoryTables(db, SAFETY.tables)
    tables.apply_changes("safety", SAFETY.fold(history))
    f = tables.rows("safety", "care_files")[(STUDENT,)]
    pairings = sorted(
        (p["pairing_id"], p["kind"], p["status"], p["accepted_on"], p["last_contact_on"])
        for p in tables.rows("safety", "care_pairings").values()
    )
    concerns = sum(c["outcome"] is None for c in tables.rows("safety", "care_concerns").values())
    return {
        "status": f["status"],
        "school_id": f["school_id"],
        "care_groups": list(f["care_groups"]),
        "risk": f["risk_level"],
        "risk_set_on": f["risk_set_on"],
        "notice_on": f["notice_on"],
        "parent_contact_on": f["parent_contact_on"],
        "pairings": pairings,
        "open_concerns": concerns,
    }


def fold_facts(history: list[IntegrationEvent]) -> dict[str, Any]:
    s = fold(history)
    return {
        "status": s.status,
        "school_id": s.school_id,
        "care_groups": [g.value for g in s.care_groups],
        "risk": s.risk.value if s.risk else None,
        "risk_set_on": s.risk_set_on,
        "notice_on": s.notice_on,
        "parent_contact_on": s.parent_contact_on,
        "pairings": sorted(
            (p.pairing_id, p.kind.value, p.status, p.accepted_on, p.last_contact_on)
            for p in s.pairings
        ),
        "open_concerns": sum(c.outcome is None for c in s.concerns),
    }


STEP = st.sampled_from(
    [
        "pair",
        "accept",
        "decline",
        "release",
        "risk",
        "contact",
        "notice",
        "parents",
        "concern",
        "assess",
        "hand_over",
        "close",
        "open",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(STEP, st.sampled_from(list(CarerKind)), st.integers(0, 40)), max_size=25))
def test_the_read_model_holds_what_the_file_s_fold_holds(
    steps: list[tuple[str, CarerKind, int]],
) -> None:
    history = opened()
    for n, (step, kind, days) in enumerate(steps):
        at = NOW + timedelta(days=days)
        state = fold(history)
        open_p = state.open_pairing(kind)
        cmd: FileCommand
        match step:
            case "pair":
                cmd = PairCarer(f"p{n}", kind, CARERS[kind], ORGS[kind], LEADER, SCHOOL)
            case "accept" | "decline" if open_p is not None:
                reason = None if step == "accept" else DeclineReason.other
                cmd = RespondToPairing(open_p.pairing_id, actor_of(kind), step == "accept", reason)
            case "release" if open_p is not None:
                cmd = ReleasePairing(open_p.pairing_id)
            case "contact" if open_p is not None:
                cmd = LogContact(
                    open_p.pairing_id, actor_of(kind), TODAY + timedelta(days), ContactMode.phone
                )
            case "risk":
                cmd = SetRisk(list(RiskLevel)[days % 3], LEADER, SEALED)
            case "notice":
                cmd = RecordNotice(EntrustedRelation.other, TODAY + timedelta(days // 2), SEALED)
            case "parents":
                cmd = RecordParentContact(TODAY + timedelta(days // 2), ContactMode.phone)
            case "concern":
                cmd = RaiseConcern(f"c{days % 5}", ConcernSource.staff)
            case "assess":
                cmd = AssessConcern(f"c{days % 5}", ConcernOutcome.monitored, LEADER)
            case "hand_over":
                cmd = HandOver(OTHER_SCHOOL if days % 2 else SCHOOL, D, None, TODAY)
            case "close":
                cmd = CloseFile(FileClosedReason.other, TODAY)
            case _:
                cmd = OpenFile(CHILD, FileSource.categorised, LEFT_BEHIND)
        with contextlib.suppress(SafetyError):  # a refusal changes nothing
            then(history, cmd, at)
    assert read_model_facts(history) == fold_facts(history)
