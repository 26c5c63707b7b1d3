"""The carers' model (pairings, care files, contacts: from registry + safety) and the rules of
the carers' page: whose pairings a caller reads, the contact due next, the parents' contact."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.support.agencies_fold import CannedPool, fold_rows, one_by_one
from tongxin_agencies.application.carers_views import (
    carer_filter,
    carers_page,
    contact_days,
    contacts_list,
    next_contact_due,
    pairing_status,
    pairings_list,
    parents_contact_stale,
)
from tongxin_agencies.application.views import ViewContext
from tongxin_agencies.config import AgenciesSettings
from tongxin_agencies.projections.carers import CARERS
from tongxin_contracts.base import Sealed
from tongxin_contracts.events.registry import CareGroup, StudentTransferred
from tongxin_contracts.events.safety import (
    CareContactLogged,
    CareFileClosed,
    CareFileHandedOver,
    CareFileOpened,
    CareNoticeRecorded,
    CarerAccepted,
    CarerDeclined,
    CarerKind,
    CarerPaired,
    CarerReleased,
    ContactMode,
    EntrustedRelation,
    FileClosedReason,
    FileSource,
    ParentContactRecorded,
    RiskLevel,
    RiskLevelSet,
)
from tongxin_platform.auth import Principal, Role
from tongxin_platform.http import ProblemError

D, S, KID = "d1", "s1", "stu-1"
SETTINGS = AgenciesSettings()
DAY = date(2026, 11, 1)


def base(**more: Any) -> dict[str, Any]:
    return {"district": D, "school_id": S, "student_ref": KID, **more}


OPENED = CareFileOpened(
    **base(
        class_id="c1",
        source=FileSource.categorised,
        care_groups=[CareGroup.left_behind],
        opened_on=date(2026, 9, 5),
    )
)


def paired(pid: str, kind: CarerKind, carer: str) -> CarerPaired:
    return CarerPaired(
        **base(
            pairing_id=pid,
            kind=kind,
            carer_ref=carer,
            org="org",
            paired_on=date(2026, 9, 6),
            paired_by="p1",
        )
    )


def accepted(pid: str, kind: CarerKind, on: date = date(2026, 9, 8)) -> CarerAccepted:
    return CarerAccepted(**base(pairing_id=pid, kind=kind, accepted_on=on))


def contact(pid: str, on: date) -> CareContactLogged:
    return CareContactLogged(
        **base(pairing_id=pid, kind=CarerKind.community, contact_on=on, mode=ContactMode.phone)
    )


# --- the model --------------------------------------------------------------------------------


def test_a_pairing_records_its_carer_kind_file_and_acceptance() -> None:
    ca = CarerKind.civil_affairs
    rows = fold_rows(CARERS, [OPENED, paired("p1", ca, "ca-1")], [accepted("p1", ca)])
    p = rows["pairings"][("p1",)]
    assert (p["carer_ref"], p["kind"], p["student_ref"]) == ("ca-1", "civil_affairs", KID)
    assert (p["paired_on"], p["accepted_on"]) == (date(2026, 9, 6), date(2026, 9, 8))
    assert rows["care_files"][(S, KID)]["care_groups"] == ["left_behind"]


def test_declined_and_released_pairings_keep_their_days() -> None:
    wf, co = CarerKind.womens_federation, CarerKind.community
    declined = CarerDeclined(
        **base(pairing_id="p2", kind=wf, reason="caseload_full", declined_on=date(2026, 9, 9))
    )
    released = CarerReleased(**base(pairing_id="p3", kind=co, released_on=date(2026, 10, 1)))
    rows = fold_rows(
        CARERS, [OPENED, paired("p2", wf, "wf-1"), paired("p3", co, "cw-1")], [declined, released]
    )
    assert rows["pairings"][("p2",)]["declined_on"] == date(2026, 9, 9)
    assert rows["pairings"][("p3",)]["released_on"] == date(2026, 10, 1)


def test_the_file_keeps_its_latest_risk_level_and_notice_and_every_parents_contact_day() -> None:
    risk = RiskLevelSet(**base(level=RiskLevel.high, set_on=date(2026, 9, 10), set_by="p1"))
    notice = CareNoticeRecorded(
        **base(
            relation=EntrustedRelation.grandparent,
            notice_on=date(2026, 9, 11),
            entrusted=Sealed(subject=KID, key_id="k", nonce="n", ciphertext="c"),
        )
    )
    parents = [
        ParentContactRecorded(**base(contact_on=date(2026, 10, d), mode=ContactMode.video))
        for d in (20, 3)
    ]
    rows = fold_rows(CARERS, [OPENED, risk, notice], parents[:1], parents[1:])
    f = rows["care_files"][(S, KID)]
    assert (f["risk_level"], f["notice_relation"]) == ("high", "grandparent")
    assert sorted(k[2] for k in rows["parent_contacts"]) == [date(2026, 10, 3), date(2026, 10, 20)]


def test_a_closed_or_handed_over_file_records_the_day_it_ended() -> None:
    closed = CareFileClosed(**base(reason=FileClosedReason.other, closed_on=date(2026, 10, 9)))
    handed = CareFileHandedOver(
        **base(to_school_id="s2", to_district=D, to_class_id=None, handed_over_on=date(2026, 10, 9))
    )
    assert fold_rows(CARERS, [OPENED, closed])["care_files"][(S, KID)]["closed_how"] == (
        "closed:other"
    )
    f = fold_rows(CARERS, [OPENED, handed])["care_files"][(S, KID)]
    assert (f["closed_on"], f["closed_how"]) == (date(2026, 10, 9), "handed_over")


def test_contacts_are_kept_per_pairing_and_day() -> None:
    days = [date(2026, 9, 20), date(2026, 9, 20), date(2026, 10, 2)]
    rows = fold_rows(CARERS, [contact("p1", d) for d in days])
    assert sorted(rows["contacts"]) == [("p1", date(2026, 9, 20)), ("p1", date(2026, 10, 2))]


def test_a_transfer_moves_the_student_to_the_new_class() -> None:
    moved = StudentTransferred(
        district=D,
        school_id=S,
        student_ref=KID,
        class_id="c2",
        from_school_id=S,
        from_class_id="c1",
    )
    assert fold_rows(CARERS, [moved])["students"][(KID,)]["class_id"] == "c2"


def test_the_carers_model_reads_no_wellbeing_and_stores_no_note_or_entrusted_person() -> None:
    assert set(CARERS.sources) == {"registry", "safety"}
    columns = re.findall(r"[(,]\s*([a-z_]+) [a-z]", CARERS.ddl())
    assert "carer_ref" in columns
    assert [c for c in columns if re.search(r"note|entrusted|reason|band|attention", c)] == []


def test_a_rebuild_event_by_event_gives_the_rows_of_one_batch() -> None:
    co = CarerKind.community
    events = [OPENED, paired("p1", co, "cw-1"), accepted("p1", co), contact("p1", DAY)]
    assert one_by_one(CARERS, events) == fold_rows(CARERS, events)


# --- whose pairings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        (Role.civil_affairs, "civil_affairs"),
        (Role.womens_federation, "womens_federation"),
        (Role.community_worker, "community"),
    ],
)
def test_an_agencys_carer_reads_their_own_pairings_of_their_kind(role: Role, kind: str) -> None:
    f = carer_filter(Principal("me", role, D), {"carer_ref": "someone-else"})
    assert (f.carer_ref, f.kinds, f.school_id, f.district) == ("me", (kind,), None, D)


def test_a_head_teacher_reads_their_schools_school_pairings_where_they_are_the_carer() -> None:
    f = carer_filter(Principal("t1", Role.head_teacher, D, S, "c1"), {})
    assert (f.carer_ref, f.kinds, f.school_id) == ("t1", ("school",), S)
    with pytest.raises(ProblemError) as e:
        carer_filter(Principal("t1", Role.principal, D), {})
    assert e.value.status == 403


def test_an_auditor_names_the_carer() -> None:
    auditor = Principal("aud", Role.auditor, D)
    with pytest.raises(ProblemError) as e:
        carer_filter(auditor, {})
    assert (e.value.status, e.value.extra["field"]) == (422, "carer_ref")
    assert carer_filter(auditor, {"carer_ref": "cw-1"}).carer_ref == "cw-1"


# --- contacts due -----------------------------------------------------------------------------


def prow(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "pairing_id": "p1",
        "carer_ref": "cw-1",
        "kind": "community",
        "school_id": S,
        "school_name": "One",
        "class_id": "c1",
        "student_ref": KID,
        "paired_on": date(2026, 9, 6),
        "accepted_on": date(2026, 9, 8),
        "declined_on": None,
        "released_on": None,
        "opened_on": date(2026, 9, 5),
        "closed_on": None,
        "risk_level": None,
        "care_groups": [],
        "notice_relation": None,
        "notice_on": None,
        "parents_contact_on": None,
        "last_contact": None,
    }
    return r | over


def test_the_risk_level_sets_the_contact_rhythm_low_when_none_was_set() -> None:
    assert contact_days(SETTINGS, None) == SETTINGS.contact_days_low == 30
    assert contact_days(SETTINGS, "medium") == 14
    assert contact_days(SETTINGS, "high") == 7


def test_the_next_contact_is_due_after_the_last_contact_or_else_the_acceptance() -> None:
    assert next_contact_due(prow(), SETTINGS, DAY) == date(2026, 10, 8)
    assert next_contact_due(
        prow(last_contact=date(2026, 10, 30), risk_level="high"), SETTINGS, DAY
    ) == (date(2026, 11, 6))
    assert next_contact_due(prow(accepted_on=None), SETTINGS, DAY) is None


def test_a_contact_past_its_due_day_is_overdue_and_a_pending_pairing_never_is() -> None:
    assert "overdue" in pairing_status(prow(), SETTINGS, DAY)
    assert "overdue" not in pairing_status(prow(last_contact=date(2026, 10, 20)), SETTINGS, DAY)
    assert pairing_status(prow(accepted_on=None), SETTINGS, DAY) == {"all", "pending"}


def test_declined_released_or_closed_pairings_are_no_longer_shown() -> None:
    for over in (
        {"declined_on": date(2026, 9, 7)},
        {"released_on": date(2026, 10, 1)},
        {"closed_on": date(2026, 10, 1)},
        {"paired_on": date(2026, 12, 1)},
    ):
        assert pairing_status(prow(**over), SETTINGS, DAY) == set()
    assert pairing_status(prow(closed_on=date(2026, 12, 1)), SETTINGS, DAY) != set()


def test_a_left_behind_childs_parents_contact_is_stale_after_the_settings_days() -> None:
    lb = {"care_groups": ["left_behind"]}
    assert parents_contact_stale(prow(), SETTINGS, DAY) is None
    assert parents_contact_stale(prow(**lb), SETTINGS, DAY) is True
    assert (
        parents_contact_stale(prow(**lb, parents_contact_on=date(2026, 10, 28)), SETTINGS, DAY)
        is False
    )
    assert (
        parents_contact_stale(prow(**lb, parents_contact_on=date(2026, 10, 20)), SETTINGS, DAY)
        is True
    )


# --- the providers, on canned rows ------------------------------------------------------------


def ctx(who: Principal, pool: CannedPool, **params: str) -> ViewContext:
    now = datetime(2026, 11, 1, 4, tzinfo=UTC)
    return ViewContext(pool, SETTINGS, who, params, DAY, now)


WORKER = Principal("cw-1", Role.community_worker, D)


async def test_the_carers_page_counts_the_callers_pairings_and_links_to_them() -> None:
    rows = [
        prow(),
        prow(pairing_id="p2", accepted_on=None),
        prow(pairing_id="p3", care_groups=["left_behind"], last_contact=date(2026, 10, 25)),
    ]
    pool = CannedPool({"carers.pairings": rows})
    page = await carers_page(ctx(WORKER, pool))
    figures = {f.key: f.value for f in page.panels[0].figures}
    assert figures == {"pairings": 3, "pending": 1, "contacts_overdue": 1, "parents_stale": 1}
    link = page.panels[0].figures[2].link
    assert link == "/lists/carers.pairings?status=overdue"
    due = page.panels[0].tables[0].rows[0][7]
    assert (due.value, due.meets) == (date(2026, 10, 8), False)
    assert pool.asked[0][:4] == ("cw-1", ["community"], None, D)


async def test_a_pairing_of_another_carer_is_not_found() -> None:
    with pytest.raises(ProblemError) as e:
        await contacts_list(ctx(WORKER, CannedPool({}), pairing_id="p9"))
    assert (e.value.status, e.value.extra["field"]) == (404, "pairing_id")


async def test_roles_that_may_not_read_pairings_are_refused_naming_the_rule() -> None:
    for role in (Role.police, Role.hospital, Role.bureau_officer, Role.psych_teacher):
        with pytest.raises(ProblemError) as e:
            await pairings_list(ctx(Principal("x", role, D, S), CannedPool({})))
        assert (e.value.status, e.value.extra["rule"]) == (403, "carers.read")


async def test_a_list_filters_by_status_and_refuses_an_unknown_one() -> None:
    pool = CannedPool({"carers.pairings": [prow(), prow(pairing_id="p2", accepted_on=None)]})
    listed = await pairings_list(ctx(WORKER, pool, status="pending"))
    assert len(listed.rows) == 1
    with pytest.raises(ProblemError) as e:
        await pairings_list(ctx(WORKER, pool, status="mine"))
    assert (e.value.status, e.value.extra["field"]) == (422, "status")


async def test_an_auditors_links_repeat_the_carer_they_asked_for() -> None:
    auditor = Principal("aud", Role.auditor, D)
    pool = CannedPool({"carers.pairings": [prow()]})
    page = await carers_page(ctx(auditor, pool, carer_ref="cw-1"))
    assert page.panels[0].figures[0].link == "/lists/carers.pairings?status=all&carer_ref=cw-1"
    assert pool.asked[0][:4] == (
        "cw-1",
        ["school", "community", "civil_affairs", "womens_federation"],
        None,
        D,
    )
