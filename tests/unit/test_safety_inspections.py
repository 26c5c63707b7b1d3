"""Inspections and hazards (deliverable 3 of the safety service), in memory: given a school's
inspections, when one more is recorded (a re-inspection, perhaps), then these events (or this
refusal naming the rule); who may record and read which kind; what is open, overdue and
rectified on a day, and the figures per school and kind, counted by hand here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tongxin_contracts import IntegrationEvent, default_registry
from tongxin_contracts.events.safety import (
    HazardOwner,
    HazardRectified,
    HazardReported,
    HazardSeverity,
    InspectionCompleted,
    InspectionKind,
    Inspector,
    inspection_stream,
)
from tongxin_platform.auth import Role
from tongxin_platform.commands import Writer
from tongxin_platform.domain import DomainError
from tongxin_platform.memory import MemoryDatabase, MemoryTables, MemoryTransactions
from tongxin_safety.application.inspections import (
    HazardFound,
    Inspection,
    Inspections,
    recorder_of,
    school_subject,
)
from tongxin_safety.domain.inspections import (
    Hazard,
    HazardStatus,
    NewHazard,
    Recorder,
    RecordInspection,
    counts,
    decide_inspection,
    figures,
    inspector_for,
    readable_kinds,
    standing,
)
from tongxin_safety.projections.read_model import SAFETY

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China, 20 November 2026
DAY = date(2026, 11, 10)
SCHOOL, OTHER, DISTRICT = "330106001", "330106002", "330106"
K, A, Sev, Own = InspectionKind, Inspector, HazardSeverity, HazardOwner
SHOPS = {K.food_shops, K.stationery_shops}


def inspection(**over: Any) -> RecordInspection:
    base = RecordInspection(
        inspection_id="i1",
        district=DISTRICT,
        school_id=SCHOOL,
        kind=K.fire,
        inspector=A.school,
        inspected_on=DAY,
        inspected_by="staff-1",
        hazards=(
            NewHazard("h1", Sev.general, Own.school, date(2026, 11, 17)),
            NewHazard("h2", Sev.major, Own.property_owner, date(2026, 11, 30)),
        ),
    )
    return replace(base, **over)


def histories(*events: IntegrationEvent) -> dict[str, list[IntegrationEvent]]:
    out: dict[str, list[IntegrationEvent]] = {}
    for e in events:
        out.setdefault(e.aggregate_id(), []).append(e)
    return out


def refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.status, refused.value.field, refused.value.rule


FIRST = decide_inspection(inspection(), {}, NOW)


def reinspection(**over: Any) -> RecordInspection:
    fields: dict[str, Any] = {
        "inspection_id": "i2",
        "inspected_on": date(2026, 11, 18),
        "hazards": (),
        "reinspection_of": "i1",
        "rectified": ("h1", "h2"),
    }
    return inspection(**{**fields, **over})


# --- recording -------------------------------------------------------------------------------


def test_an_inspection_reports_each_hazard_with_its_owner_and_deadline_on_its_stream() -> None:
    done, h1, h2 = FIRST
    assert isinstance(done, InspectionCompleted)
    assert (done.kind, done.inspector, done.inspected_on, done.hazards_found) == (
        K.fire,
        A.school,
        DAY,
        2,
    )
    assert isinstance(h1, HazardReported)
    assert isinstance(h2, HazardReported)
    assert (h1.hazard_id, h1.severity, h1.owner, h1.rectify_by) == (
        "h1",
        Sev.general,
        Own.school,
        date(2026, 11, 17),
    )
    assert (h2.severity, h2.owner, h2.kind) == (Sev.major, Own.property_owner, K.fire)
    assert {e.aggregate_id() for e in FIRST} == {inspection_stream("i1")}


def test_an_inspection_without_hazards_is_recorded_clean() -> None:
    [done] = decide_inspection(inspection(hazards=()), {}, NOW)
    assert isinstance(done, InspectionCompleted)
    assert done.hazards_found == 0


def test_a_deadline_before_the_inspection_is_refused_naming_the_hazard() -> None:
    bad = (
        NewHazard("h1", Sev.general, Own.school, DAY),
        NewHazard("h2", Sev.general, Own.school, date(2026, 11, 9)),
    )
    assert refusal(lambda: decide_inspection(inspection(hazards=bad), {}, NOW)) == (
        422,
        "hazards.1.rectify_by",
        "rectify_by_not_before_inspection",
    )


def test_an_inspection_in_the_future_is_refused() -> None:
    later = inspection(inspected_on=date(2026, 11, 21), hazards=())
    assert refusal(lambda: decide_inspection(later, {}, NOW)) == (
        422,
        "inspected_on",
        "inspected_on_not_in_future",
    )


def test_the_same_inspection_is_not_recorded_twice() -> None:
    status, _field, rule = refusal(lambda: decide_inspection(inspection(), histories(*FIRST), NOW))
    assert (status, rule) == (409, "inspection_once")


# --- who records which kind ------------------------------------------------------------------


@pytest.mark.parametrize("kind", [K.fire, K.buildings, K.food_shops, K.stationery_shops])
def test_the_police_record_no_kind_but_order_and_traffic(kind: InspectionKind) -> None:
    cmd = inspection(kind=kind, inspector=A.police)
    assert refusal(lambda: decide_inspection(cmd, {}, NOW)) == (
        403,
        "kind",
        "police_inspect_order_and_traffic",
    )


def test_the_police_record_order_and_traffic() -> None:
    events = decide_inspection(inspection(kind=K.order_and_traffic, inspector=A.police), {}, NOW)
    assert isinstance(events[0], InspectionCompleted)
    assert events[0].inspector is A.police


@pytest.mark.parametrize("kind", [K.fire, K.buildings, K.order_and_traffic])
def test_market_regulation_records_no_kind_but_the_shops(kind: InspectionKind) -> None:
    cmd = inspection(kind=kind, inspector=A.market_regulation)
    assert refusal(lambda: decide_inspection(cmd, {}, NOW)) == (
        403,
        "kind",
        "market_regulation_inspects_shops",
    )


@pytest.mark.parametrize("kind", sorted(SHOPS))
def test_market_regulation_records_the_food_and_stationery_shops(kind: InspectionKind) -> None:
    events = decide_inspection(inspection(kind=kind, inspector=A.market_regulation), {}, NOW)
    assert isinstance(events[0], InspectionCompleted)


@pytest.mark.parametrize("kind", list(K))
@pytest.mark.parametrize("inspector", [A.school, A.education, A.fire_rescue, A.housing])
def test_the_school_and_the_bureau_record_any_kind(
    kind: InspectionKind, inspector: Inspector
) -> None:
    events = decide_inspection(inspection(kind=kind, inspector=inspector), {}, NOW)
    assert isinstance(events[0], InspectionCompleted)


def test_each_recorder_is_its_own_inspector_unless_it_names_one_it_may() -> None:
    assert inspector_for(Recorder.school, None) is A.school
    assert inspector_for(Recorder.school, A.fire_rescue) is A.fire_rescue
    assert inspector_for(Recorder.school, A.housing) is A.housing
    assert inspector_for(Recorder.school, A.education) is A.education
    assert inspector_for(Recorder.bureau, None) is A.education
    assert inspector_for(Recorder.bureau, A.market_regulation) is A.market_regulation
    assert inspector_for(Recorder.police, None) is A.police
    assert inspector_for(Recorder.market_regulation, None) is A.market_regulation


@pytest.mark.parametrize(
    ("recorder", "named"),
    [
        (Recorder.school, A.police),
        (Recorder.school, A.market_regulation),
        (Recorder.bureau, A.school),
        (Recorder.police, A.school),
        (Recorder.police, A.market_regulation),
        (Recorder.market_regulation, A.police),
        (Recorder.market_regulation, A.education),
    ],
)
def test_a_recorder_cannot_speak_for_an_agency_it_is_not(
    recorder: Recorder, named: Inspector
) -> None:
    assert refusal(lambda: inspector_for(recorder, named)) == (
        403,
        "inspector",
        "inspector_named_by_recorder",
    )


def test_roles_record_as_the_school_the_bureau_or_their_agency() -> None:
    assert recorder_of(Role.principal) is Recorder.school
    assert recorder_of(Role.middle_leader) is Recorder.school
    assert recorder_of(Role.bureau_officer) is Recorder.bureau
    assert recorder_of(Role.police) is Recorder.police
    assert recorder_of(Role.market_regulation) is Recorder.market_regulation
    assert recorder_of(Role.auditor) is None
    assert recorder_of(Role.fire_vp) is None


def test_market_regulation_reads_only_the_shop_kinds_and_the_others_every_kind() -> None:
    assert readable_kinds(Recorder.market_regulation) == SHOPS
    for reader in (Recorder.police, Recorder.school, Recorder.bureau, None):
        assert readable_kinds(reader) == set(K)


# --- re-inspection -----------------------------------------------------------------------


def test_a_reinspection_closes_the_hazards_it_lists_on_their_own_inspection() -> None:
    events = decide_inspection(reinspection(), histories(*FIRST), NOW)
    done, r1, r2 = events
    assert isinstance(done, InspectionCompleted)
    assert (done.inspection_id, done.reinspection_of, done.hazards_found) == ("i2", "i1", 0)
    assert isinstance(r1, HazardRectified)
    assert isinstance(r2, HazardRectified)
    assert done.aggregate_id() == inspection_stream("i2")
    assert r1.aggregate_id() == r2.aggregate_id() == inspection_stream("i1")
    assert (r1.hazard_id, r1.reinspection_id, r1.rectified_on) == ("h1", "i2", date(2026, 11, 18))
    # h1 was due on the 17th: late; h2 on the 30th: in time
    assert (r1.within_deadline, r2.within_deadline) == (False, True)


def test_a_hazard_rectified_on_its_deadline_is_within_it() -> None:
    cmd = reinspection(inspected_on=date(2026, 11, 17), rectified=("h1",))
    [_, r1] = decide_inspection(cmd, histories(*FIRST), NOW)
    assert isinstance(r1, HazardRectified)
    assert r1.within_deadline


def test_a_reinspection_may_report_new_hazards_and_leave_others_open() -> None:
    new = (NewHazard("h3", Sev.general, Own.school, date(2026, 12, 1)),)
    events = decide_inspection(reinspection(hazards=new, rectified=("h2",)), histories(*FIRST), NOW)
    assert [type(e) for e in events] == [InspectionCompleted, HazardReported, HazardRectified]
    assert [getattr(e, "hazard_id", None) for e in events] == [None, "h3", "h2"]


def test_a_hazard_of_an_earlier_inspection_in_the_chain_is_closed_by_a_later_reinspection() -> None:
    second = decide_inspection(reinspection(rectified=("h2",)), histories(*FIRST), NOW)
    third = inspection(
        inspection_id="i3",
        inspected_on=date(2026, 11, 19),
        hazards=(),
        reinspection_of="i2",
        rectified=("h1",),
    )
    [_, r1] = decide_inspection(third, histories(*FIRST, *second), NOW)
    assert isinstance(r1, HazardRectified)
    assert (r1.inspection_id, r1.reinspection_id) == ("i1", "i3")


def test_an_already_rectified_hazard_is_refused() -> None:
    second = decide_inspection(reinspection(rectified=("h1",)), histories(*FIRST), NOW)
    again = inspection(
        inspection_id="i3",
        hazards=(),
        reinspection_of="i1",
        rectified=("h1",),
        inspected_on=date(2026, 11, 19),
    )
    assert refusal(lambda: decide_inspection(again, histories(*FIRST, *second), NOW)) == (
        409,
        "rectified.0",
        "rectify_once",
    )


def test_an_unknown_hazard_is_refused_naming_its_place_in_the_list() -> None:
    cmd = reinspection(rectified=("h1", "nope"))
    assert refusal(lambda: decide_inspection(cmd, histories(*FIRST), NOW)) == (
        404,
        "rectified.1",
        "hazard_of_reinspected_inspection",
    )


def test_a_hazard_listed_twice_is_refused() -> None:
    cmd = reinspection(rectified=("h1", "h1"))
    assert refusal(lambda: decide_inspection(cmd, histories(*FIRST), NOW)) == (
        422,
        "rectified.1",
        "rectified_once_each",
    )


def test_a_reinspection_of_an_unknown_or_another_schools_inspection_is_not_found() -> None:
    assert refusal(lambda: decide_inspection(reinspection(), {}, NOW)) == (
        404,
        "reinspection_of",
        "reinspection_of_known_inspection",
    )
    theirs = decide_inspection(inspection(school_id=OTHER), {}, NOW)
    assert refusal(lambda: decide_inspection(reinspection(), histories(*theirs), NOW)) == (
        404,
        "reinspection_of",
        "reinspection_of_known_inspection",
    )


def test_an_inspection_of_a_kind_the_recorder_may_not_read_is_not_found_to_reinspect() -> None:
    shops = reinspection(
        kind=K.food_shops, inspector=A.market_regulation, readable=frozenset(SHOPS)
    )
    assert refusal(lambda: decide_inspection(shops, histories(*FIRST), NOW)) == (
        404,
        "reinspection_of",
        "reinspection_of_known_inspection",
    )


def test_a_reinspection_is_of_the_same_kind_and_not_before_the_inspection() -> None:
    assert refusal(
        lambda: decide_inspection(reinspection(kind=K.buildings), histories(*FIRST), NOW)
    ) == (422, "kind", "reinspection_same_kind")
    early = reinspection(inspected_on=date(2026, 11, 9))
    assert refusal(lambda: decide_inspection(early, histories(*FIRST), NOW)) == (
        422,
        "inspected_on",
        "reinspection_after_inspection",
    )


def test_rectified_hazards_need_a_reinspection() -> None:
    cmd = inspection(inspection_id="i2", hazards=(), rectified=("h1",))
    assert refusal(lambda: decide_inspection(cmd, histories(*FIRST), NOW)) == (
        422,
        "reinspection_of",
        "rectify_by_reinspection",
    )


# --- open, overdue, rectified on a day --------------------------------------------------------


def hazard(hid: str, **over: Any) -> Hazard:
    base = Hazard(
        hazard_id=hid,
        inspection_id="i1",
        school_id=SCHOOL,
        kind=K.fire,
        severity=Sev.general,
        owner=Own.school,
        reported_on=DAY,
        rectify_by=date(2026, 11, 17),
    )
    return replace(base, **over)


def test_a_hazard_is_open_until_its_deadline_and_overdue_the_day_after() -> None:
    h = hazard("h1")
    assert standing(h, date(2026, 11, 9)) is None  # not reported yet
    on_deadline = standing(h, date(2026, 11, 17))
    assert on_deadline is not None
    assert (on_deadline.status, on_deadline.overdue) == (HazardStatus.open, False)
    day_after = standing(h, date(2026, 11, 18))
    assert day_after is not None
    assert (day_after.status, day_after.days_overdue) == (HazardStatus.overdue, 1)
    assert day_after.shows_as(HazardStatus.open)
    assert day_after.shows_as(HazardStatus.overdue)
    assert not day_after.shows_as(HazardStatus.rectified)


def test_a_rectified_hazard_counts_as_rectified_from_its_reinspection_on() -> None:
    h = hazard("h1", rectified_on=date(2026, 11, 20), within_deadline=False)
    before = standing(h, date(2026, 11, 19))
    assert before is not None
    assert before.status is HazardStatus.overdue
    after = standing(h, date(2026, 11, 20))
    assert after is not None
    assert after.status is HazardStatus.rectified
    assert not after.shows_as(HazardStatus.open)


def test_the_figures_count_per_school_and_kind_and_in_all() -> None:
    as_of = date(2026, 11, 20)
    hazards = [
        hazard("a"),  # fire, overdue since the 17th
        hazard("b", severity=Sev.major, rectify_by=date(2026, 11, 30)),  # fire, open, major
        hazard("c", rectified_on=date(2026, 11, 15), within_deadline=True),  # fire, rectified
        hazard("d", kind=K.food_shops, rectified_on=date(2026, 11, 19), within_deadline=False),
        hazard("e", kind=K.food_shops, reported_on=date(2026, 11, 21)),  # after as_of: unseen
        hazard("f", school_id=OTHER, kind=K.order_and_traffic, rectify_by=date(2026, 11, 19)),
    ]
    got = figures([SCHOOL, OTHER, "330106003"], hazards, as_of)
    rows = {r["school_id"]: r for r in got["schools"]}
    zero = dict.fromkeys(
        ("reported", "open", "overdue", "open_major", "rectified", "rectified_late"), 0
    )
    mine = rows[SCHOOL]
    assert {k: mine[k] for k in zero} == {
        "reported": 4,
        "open": 2,
        "overdue": 1,
        "open_major": 1,
        "rectified": 2,
        "rectified_late": 1,
    }
    assert mine["kinds"]["fire"] == {
        **zero,
        "reported": 3,
        "open": 2,
        "overdue": 1,
        "open_major": 1,
        "rectified": 1,
    }
    assert mine["kinds"]["food_shops"] == {
        **zero,
        "reported": 1,
        "rectified": 1,
        "rectified_late": 1,
    }
    assert rows[OTHER]["kinds"]["order_and_traffic"] == {
        **zero,
        "reported": 1,
        "open": 1,
        "overdue": 1,
    }
    assert {k: rows["330106003"][k] for k in zero} == zero  # a school without hazards shows
    totals = got["totals"]
    assert {k: totals[k] for k in zero} == {
        "reported": 5,
        "open": 3,
        "overdue": 2,
        "open_major": 1,
        "rectified": 2,
        "rectified_late": 1,
    }


def test_the_figures_of_the_shop_kinds_leave_the_other_kinds_out() -> None:
    hazards = [hazard("a"), hazard("d", kind=K.stationery_shops)]
    got = figures([SCHOOL], hazards, date(2026, 11, 20), SHOPS)
    assert got["kinds"] == ["food_shops", "stationery_shops"]
    [row] = got["schools"]
    assert row["reported"] == 1
    assert set(row["kinds"]) == {"food_shops", "stationery_shops"}
    assert counts([], date(2026, 11, 20))["reported"] == 0


# --- the command on the in-memory unit of work, and the read model ----------------------------


def found(rectify_by: date, detail: str | None = None) -> HazardFound:
    return HazardFound(Sev.general, Own.shop_operator, rectify_by, detail)


async def test_a_reinspection_appends_to_both_streams_in_one_command_and_seals_the_detail() -> None:
    db = MemoryDatabase(default_registry())
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    inspections = Inspections(writer)
    detail = "无证经营的小卖部在校门口东侧"
    first = await inspections.record(
        Inspection(
            DISTRICT,
            SCHOOL,
            K.food_shops,
            Recorder.market_regulation,
            DAY,
            "mr-1",
            hazards=(found(date(2026, 11, 12), detail), found(date(2026, 11, 30))),
        )
    )
    done, h1, h2 = first
    assert isinstance(done, InspectionCompleted)
    assert done.inspector is A.market_regulation
    assert isinstance(h1, HazardReported)
    assert isinstance(h2, HazardReported)
    assert h1.detail is not None
    assert h1.detail.subject == school_subject(SCHOOL)
    assert h2.detail is None
    raw = b"".join(
        e.payload if isinstance(e.payload, bytes) else str(e.payload).encode() for e in db.stored()
    )
    assert detail.encode() not in raw
    async with MemoryTransactions(db).read() as uow:
        assert (await uow.keys.open(h1.detail))["text"] == detail

    second = await inspections.record(
        Inspection(
            DISTRICT,
            SCHOOL,
            K.food_shops,
            Recorder.school,
            date(2026, 11, 19),
            "staff-1",
            reinspection_of=done.inspection_id,
            rectified=(h1.hazard_id,),
        )
    )
    again, rect = second
    assert isinstance(again, InspectionCompleted)
    assert isinstance(rect, HazardRectified)
    assert again.inspector is A.school  # the school's own re-inspection of the shops
    assert rect.aggregate_id() == inspection_stream(done.inspection_id)
    assert rect.within_deadline is False
    assert [type(e) for e in db.published()] == [
        InspectionCompleted,
        HazardReported,
        HazardReported,
        InspectionCompleted,
        HazardRectified,
    ]

    tables = MemoryTables(db, SAFETY.tables)
    await SAFETY.write(tables, SAFETY.schema, SAFETY.fold(db.published()))
    hazards = tables.rows("safety", "hazards")
    assert hazards[(h1.hazard_id,)]["rectified_on"] == date(2026, 11, 19)
    assert hazards[(h1.hazard_id,)]["within_deadline"] is False
    assert hazards[(h1.hazard_id,)]["reinspection_id"] == again.inspection_id
    assert hazards[(h2.hazard_id,)]["rectified_on"] is None
    assert detail not in str(hazards[(h1.hazard_id,)]["detail"])
    rows = tables.rows("safety", "inspections")
    assert rows[(again.inspection_id,)]["reinspection_of"] == done.inspection_id
    assert rows[(done.inspection_id,)]["hazards_found"] == 2


async def test_a_police_inspection_of_the_fire_kind_appends_nothing() -> None:
    db = MemoryDatabase(default_registry())
    writer = Writer(MemoryTransactions(db), default_registry(), clock=lambda: NOW)
    with pytest.raises(DomainError) as refused:
        await Inspections(writer).record(
            Inspection(DISTRICT, SCHOOL, K.fire, Recorder.police, DAY, "police-1")
        )
    assert refused.value.rule == "police_inspect_order_and_traffic"
    assert db.published() == []
