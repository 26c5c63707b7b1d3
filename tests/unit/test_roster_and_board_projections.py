"""The registry's roster and the visits board, folded from realistic event sequences into the
in-memory tables: the rows a reader sees, whether the events come in one batch, one at a time
or in pairs; events a projection does not handle change nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tongxin_contracts import IntegrationEvent, Sealed, default_registry
from tongxin_contracts.events.registry import (
    AgeBand,
    CareGroup,
    ClassOpened,
    ErasureReason,
    Guardian,
    LeaveReason,
    SchoolRegistered,
    SchoolStage,
    StaffAssigned,
    StaffRole,
    StudentCategorised,
    StudentEnrolled,
    StudentLeft,
    StudentTransferred,
    SubjectErased,
)
from tongxin_contracts.events.visits import (
    CancelReason,
    ConfirmedBy,
    FollowUpActionRecorded,
    FollowUpClosed,
    FollowUpOpened,
    FollowUpOutcome,
    Measure,
    MonthlyFigures,
    MonthlyVisitReportSubmitted,
    ParentSuggestion,
    Referral,
    StudentTextShredded,
    SuggestionTopic,
    VisitCancelled,
    VisitCompleted,
    VisitConfirmed,
    VisitGoal,
    VisitMode,
    Visitor,
    VisitPlanned,
    VisitRulesSet,
    VisitScheduled,
)
from tongxin_platform.memory import MemoryDatabase, MemoryTables
from tongxin_platform.projection import Projection
from tongxin_registry.projections.roster import ROSTER
from tongxin_visits.projections.board import BOARD

D, SCHOOL, OTHER_SCHOOL = "330106", "sch_1", "sch_2"
NOW = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
ENROLLED_ON = date(2026, 9, 1)
GUARDIANS = [
    Guardian(guardian_ref="gdn_mum", relation="mother"),
    Guardian(guardian_ref="gdn_gran", relation="grandmother"),
]
HEAD = Visitor(staff_ref="stf_head", role=StaffRole.head_teacher)
CO = Visitor(staff_ref="stf_co", role=StaffRole.subject_teacher)


def sealed(subject: str) -> Sealed:
    return Sealed(subject=subject, key_id="key-1", nonce="bm9uY2U", ciphertext="Y2lwaGVy")


def as_json(value: Any) -> Any:
    """A jsonb value as a reader decodes it (the fake keeps a column's default as a value)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


Tables = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
BATCHINGS = {
    "one batch": lambda events: [events],
    "one event at a time": lambda events: [[e] for e in events],
    "in pairs": lambda events: [events[i : i + 2] for i in range(0, len(events), 2)],
}


async def read(projection: Projection, batches: Sequence[Sequence[IntegrationEvent]]) -> Tables:
    """What a reader finds after each batch was folded and written, in order."""
    tables = MemoryTables(MemoryDatabase(default_registry()), projection.tables)
    for batch in batches:
        await projection.write(tables, projection.schema, projection.fold(batch))
    return {name: dict(tables.rows(projection.schema, name)) for name in projection.tables}


async def folded_every_way(projection: Projection, events: list[IntegrationEvent]) -> Tables:
    """The rows after ``events``; the same however they are cut into batches."""
    results = {how: await read(projection, cut(events)) for how, cut in BATCHINGS.items()}
    first = results["one batch"]
    for how, result in results.items():
        assert result == first, f"{how} differs from one batch"
    return first


# --- the roster -----------------------------------------------------------------------------


def school() -> SchoolRegistered:
    return SchoolRegistered(
        district=D,
        school_id=SCHOOL,
        school_name="西湖区第一小学",
        stage=SchoolStage.primary,
        has_counselling_room=True,
    )


def class_opened(class_id: str, name: str, head: str | None = "stf_head") -> ClassOpened:
    return ClassOpened(
        district=D,
        school_id=SCHOOL,
        class_id=class_id,
        class_name=name,
        grade=3,
        school_year="2026-2027",
        head_teacher_ref=head,
    )


def enrolled(ref: str, class_id: str = "c1") -> StudentEnrolled:
    return StudentEnrolled(
        district=D,
        school_id=SCHOOL,
        student_ref=ref,
        class_id=class_id,
        age_band=AgeBand.under_14,
        age_band_on=ENROLLED_ON,
        guardians=GUARDIANS,
        personal=sealed(ref),
    )


def roster_history() -> list[IntegrationEvent]:
    return [
        school(),
        class_opened("c1", "三年级1班"),
        class_opened("c2", "三年级2班", head=None),
        enrolled("stu_1"),
        enrolled("stu_2"),
        StudentTransferred(
            district=D,
            school_id=SCHOOL,
            student_ref="stu_1",
            class_id="c2",
            from_school_id=SCHOOL,
            from_class_id="c1",
        ),
        StudentCategorised(
            district=D,
            school_id=SCHOOL,
            student_ref="stu_1",
            groups=sealed("stu_1"),
            in_special_group=True,
            care_groups=[CareGroup.left_behind],
        ),
        StudentLeft(
            district=D, school_id=SCHOOL, student_ref="stu_1", reason=LeaveReason.moved_away
        ),
        StaffAssigned(
            district=D,
            school_id=SCHOOL,
            staff_ref="stf_head",
            roles=[StaffRole.head_teacher, StaffRole.subject_teacher],
            class_ids=["c1"],
            personal=sealed("stf_head"),
        ),
        SubjectErased(
            district=D,
            school_id=SCHOOL,
            student_ref="stu_2",
            reason=ErasureReason.data_subject_request,
            erased_by_role="operator",
        ),
    ]


async def test_the_roster_shows_a_student_enrolled_transferred_categorised_and_gone() -> None:
    rows = await folded_every_way(ROSTER, roster_history())
    student = rows["students"][("stu_1",)]
    assert {k: v for k, v in student.items() if k not in ("guardians", "personal")} == {
        "student_ref": "stu_1",
        "district": D,
        "school_id": SCHOOL,
        "class_id": "c2",
        "age_band": "under_14",
        "age_band_on": ENROLLED_ON,
        "status": "left:moved_away",
        "groups": sealed("stu_1").model_dump_json(),  # sealed, as it travels
        "in_special_group": True,
        "care_groups": ["left_behind"],
        "erased": False,
    }
    assert json.loads(student["guardians"]) == [g.model_dump() for g in GUARDIANS]
    assert Sealed.model_validate_json(student["personal"]) == sealed("stu_1")


async def test_an_erased_student_keeps_no_personal_data_nor_guardians_in_the_roster() -> None:
    rows = await folded_every_way(ROSTER, roster_history())
    erased = rows["students"][("stu_2",)]
    assert erased["erased"] is True
    assert erased["personal"] is None
    assert json.loads(erased["guardians"]) == []
    assert (erased["status"], erased["class_id"]) == ("enrolled", "c1")


async def test_the_roster_shows_schools_classes_and_staff_as_registered() -> None:
    rows = await folded_every_way(ROSTER, roster_history())
    assert rows["schools"] == {
        (SCHOOL,): {
            "school_id": SCHOOL,
            "district": D,
            "school_name": "西湖区第一小学",
            "stage": "primary",
            "has_counselling_room": True,
        }
    }
    assert {k: (c["class_name"], c["head_teacher_ref"]) for k, c in rows["classes"].items()} == {
        ("c1",): ("三年级1班", "stf_head"),
        ("c2",): ("三年级2班", None),
    }
    staff = rows["staff"][("stf_head",)]
    assert (staff["roles"], staff["class_ids"]) == (["head_teacher", "subject_teacher"], ["c1"])
    assert Sealed.model_validate_json(staff["personal"]) == sealed("stf_head")


async def test_a_registration_received_again_leaves_one_row_with_the_latest_data() -> None:
    renamed = school().model_copy(update={"school_name": "西湖区第一实验小学"})
    rows = await folded_every_way(ROSTER, [school(), renamed])
    assert [s["school_name"] for s in rows["schools"].values()] == ["西湖区第一实验小学"]


# --- the board -------------------------------------------------------------------------------


def planned(visit_id: str) -> VisitPlanned:
    return VisitPlanned(
        district=D,
        school_id=SCHOOL,
        visit_id=visit_id,
        class_id="c1",
        student_ref="stu_1",
        planned_by="stf_head",
        planned_for=date(2026, 10, 20),
    )


def completed() -> VisitCompleted:
    return VisitCompleted(
        district=D,
        school_id=SCHOOL,
        visit_id="v1",
        class_id="c1",
        student_ref="stu_1",
        recorded_by="stf_head",
        visitors=[HEAD, CO],
        mode=VisitMode.in_home,
        started_at=NOW - timedelta(hours=3),  # 07:00 in Beijing, 23:00 UTC the day before
        duration_minutes=50,
        goals_covered=[VisitGoal.family_situation, VisitGoal.student_performance],
        findings=sealed("stu_1"),
        referrals=[Referral.wellbeing],
        followup_case_ids=["case_1"],
        parent_suggestions=[
            ParentSuggestion(
                suggestion_id="sug_1",
                topic=SuggestionTopic.teaching,
                text=sealed("stu_1"),
                answer_due=date(2026, 10, 29),
            )
        ],
        notes=sealed("stu_1"),
        integrity_attested=True,
    )


def case(event: type[Any], **fields: Any) -> Any:
    return event(district=D, school_id=SCHOOL, case_id="case_1", **fields)


def figures(completed: int) -> MonthlyFigures:
    zero = dict.fromkeys(MonthlyFigures.model_fields, 0)
    return MonthlyFigures(**{**zero, "visits_completed": completed})


def report(revision: int, n: int) -> MonthlyVisitReportSubmitted:
    return MonthlyVisitReportSubmitted(
        district=D,
        school_id=SCHOOL,
        month="2026-10",
        revision=revision,
        figures=figures(n),
        submitted_by="stf_principal",
        submitted_at=NOW + timedelta(days=revision),
        due_date=date(2026, 10, 30),
        late=False,
    )


def rules_set() -> VisitRulesSet:
    return VisitRulesSet(
        district=D,
        in_home_per_year=2,
        head_teacher_per_semester=1,
        special_group_in_home_per_semester=2,
        principal_students_per_year=5,
        middle_leader_students_per_year=10,
        report_due_day=25,
        followup_due_days=20,
        suggestion_answer_days=7,
        set_by="officer-1",
    )


def board_history() -> list[IntegrationEvent]:
    return [
        school(),
        class_opened("c1", "三年级1班"),
        enrolled("stu_1"),
        planned("v1"),
        VisitScheduled(
            district=D,
            school_id=SCHOOL,
            visit_id="v1",
            appointment_at=NOW + timedelta(days=1),
            mode=VisitMode.online,
            scheduled_by="stf_head",
        ),
        completed(),
        case(
            FollowUpOpened,
            visit_id="v1",
            class_id="c1",
            student_ref="stu_1",
            measure=Measure.learning_support,
            detail=sealed("stu_1"),
            owner_ref="stf_co",
            opened_on=date(2026, 10, 15),
            due_date=date(2026, 11, 14),
        ),
        VisitConfirmed(
            district=D,
            school_id=SCHOOL,
            visit_id="v1",
            confirmed_by=ConfirmedBy.co_visitor,
            confirmer_ref="stf_co",
        ),
        # Recorded out of order: the later action first.
        case(
            FollowUpActionRecorded,
            action_id="a2",
            recorded_by="stf_co",
            taken_on=date(2026, 10, 18),
            description=sealed("stu_1"),
        ),
        case(
            FollowUpActionRecorded,
            action_id="a1",
            recorded_by="stf_co",
            taken_on=date(2026, 10, 16),
            description=sealed("stu_1"),
        ),
        case(
            FollowUpClosed,
            outcome=FollowUpOutcome.resolved,
            closed_by="stf_co",
            closed_on=date(2026, 10, 25),
        ),
        planned("v2"),
        VisitCancelled(
            district=D,
            school_id=SCHOOL,
            visit_id="v2",
            reason=CancelReason.family_declined,
            cancelled_by="stf_head",
        ),
        report(1, 3),
        report(2, 4),
        rules_set(),
    ]


async def test_a_visit_planned_scheduled_completed_and_confirmed_reads_as_done_and_vouched() -> (
    None
):
    rows = await folded_every_way(BOARD, board_history())
    visit = rows["visits"][("v1",)]
    assert json.loads(visit.pop("visitors")) == [
        {"staff_ref": "stf_head", "role": "head_teacher"},
        {"staff_ref": "stf_co", "role": "subject_teacher"},
    ]
    assert visit == {
        "visit_id": "v1",
        "district": D,
        "school_id": SCHOOL,
        "class_id": "c1",
        "student_ref": "stu_1",
        "status": "completed",
        "planned_by": "stf_head",
        "planned_for": date(2026, 10, 20),
        "appointment_at": NOW + timedelta(days=1),
        "mode": "in_home",  # the visit took place at home, though scheduled online
        "recorded_by": "stf_head",
        "visitor_refs": ["stf_head", "stf_co"],
        "started_at": NOW - timedelta(hours=3),
        "visit_date": date(2026, 10, 15),  # China time
        "duration_minutes": 50,
        "goals": ["family_situation", "student_performance"],
        "referrals": ["wellbeing"],
        "followup_case_ids": ["case_1"],
        "suggestions": 1,
        "confirmed": True,
        "confirmed_by": "co_visitor",
        "cancel_reason": None,
    }


async def test_a_cancelled_visit_reads_as_cancelled_with_its_reason() -> None:
    rows = await folded_every_way(BOARD, board_history())
    visit = rows["visits"][("v2",)]
    assert (visit["status"], visit["cancel_reason"], visit["confirmed"]) == (
        "cancelled",
        "family_declined",
        False,
    )
    assert (visit["visit_date"], visit["visitor_refs"], visit["referrals"]) == (None, [], [])


async def test_a_follow_up_counts_its_actions_keeps_the_latest_action_date_and_closes() -> None:
    rows = await folded_every_way(BOARD, board_history())
    assert rows["followups"][("case_1",)] == {
        "case_id": "case_1",
        "district": D,
        "school_id": SCHOOL,
        "class_id": "c1",
        "student_ref": "stu_1",
        "visit_id": "v1",
        "measure": "learning_support",
        "owner_ref": "stf_co",
        "opened_on": date(2026, 10, 15),
        "due_date": date(2026, 11, 14),
        "status": "closed",
        "actions": 2,
        "last_action_on": date(2026, 10, 18),
        "outcome": "resolved",
        "closed_on": date(2026, 10, 25),
    }


async def test_an_open_follow_up_with_two_actions_reads_as_open() -> None:
    history = [e for e in board_history() if not isinstance(e, FollowUpClosed)]
    case_row = (await folded_every_way(BOARD, history))["followups"][("case_1",)]
    assert (case_row["status"], case_row["actions"], case_row["last_action_on"]) == (
        "open",
        2,
        date(2026, 10, 18),
    )
    assert (case_row["outcome"], case_row["closed_on"]) == (None, None)


async def test_a_resubmitted_report_reads_as_its_second_revision() -> None:
    rows = await folded_every_way(BOARD, board_history())
    assert list(rows["reports"]) == [(SCHOOL, "2026-10")]
    row = rows["reports"][(SCHOOL, "2026-10")]
    assert (row["revision"], row["submitted_at"]) == (2, NOW + timedelta(days=2))
    assert MonthlyFigures.model_validate_json(row["figures"]) == figures(4)


async def test_rules_set_by_a_district_read_as_its_rules() -> None:
    rows = await folded_every_way(BOARD, board_history())
    assert json.loads(rows["rules"][(D,)]["rules"]) == {
        "in_home_per_year": 2,
        "head_teacher_per_semester": 1,
        "special_group_in_home_per_semester": 2,
        "principal_students_per_year": 5,
        "middle_leader_students_per_year": 10,
        "report_due_day": 25,
        "followup_due_days": 20,
        "suggestion_answer_days": 7,
    }


async def test_the_boards_roster_follows_enrolment_leaving_return_and_erasure() -> None:
    left = StudentLeft(district=D, school_id=SCHOOL, student_ref="stu_1", reason=LeaveReason.other)
    back = StudentTransferred(
        district=D,
        school_id=OTHER_SCHOOL,
        student_ref="stu_1",
        class_id="c9",
        from_school_id=SCHOOL,
        from_class_id="c1",
    )
    erased = SubjectErased(
        district=D,
        school_id=OTHER_SCHOOL,
        student_ref="stu_1",
        reason=ErasureReason.retention_expired,
        erased_by_role="operator",
    )
    student = ("stu_1",)
    history: list[IntegrationEvent] = [enrolled("stu_1")]
    seen = (await folded_every_way(BOARD, history))["students"][student]
    assert (seen["enrolled"], seen["guardian_refs"]) == (True, ["gdn_mum", "gdn_gran"])
    seen = (await folded_every_way(BOARD, [*history, left]))["students"][student]
    assert seen["enrolled"] is False
    seen = (await folded_every_way(BOARD, [*history, left, back]))["students"][student]
    assert (seen["enrolled"], seen["school_id"], seen["class_id"]) == (True, OTHER_SCHOOL, "c9")
    seen = (await folded_every_way(BOARD, [*history, left, back, erased]))["students"][student]
    assert seen["guardian_refs"] == []
    assert seen["enrolled"] is True


# --- what a projection does not handle ------------------------------------------------------

SHREDDED = StudentTextShredded(
    district=D, student_ref="stu_1", erasure_event_id="evt-1", key_existed=True
)


def test_events_of_types_a_projection_does_not_handle_fold_into_no_change() -> None:
    assert not ROSTER.fold([planned("v1"), completed(), SHREDDED, rules_set()])
    assert not BOARD.fold([SHREDDED])
    assert not ROSTER.handles(VisitPlanned.ce_type())
    assert not BOARD.handles(StudentTextShredded.ce_type())
    assert ROSTER.handles(StudentEnrolled.ce_type())
    assert BOARD.handles(StudentEnrolled.ce_type())


@pytest.mark.parametrize(
    ("projection", "history", "noise"),
    [
        (ROSTER, roster_history, [SHREDDED, planned("v9"), rules_set()]),
        (BOARD, board_history, [SHREDDED]),
    ],
    ids=["roster", "board"],
)
async def test_unhandled_events_among_handled_ones_leave_the_same_rows(
    projection: Projection, history: Any, noise: list[IntegrationEvent]
) -> None:
    events = history()
    assert not projection.fold(noise)
    mixed = [e for pair in zip(events, noise * len(events), strict=False) for e in pair]
    assert len(mixed) == 2 * len(events)
    assert await read(projection, [mixed]) == await read(projection, [events])


# --- events released before v2, still on the topics -----------------------------------------


def test_the_roster_and_the_board_handle_the_v1_events_still_on_the_topics() -> None:
    for ce_type in (
        "cn.tongxin.registry.StudentEnrolled.v1",
        "cn.tongxin.registry.StudentCategorised.v1",
    ):
        assert ROSTER.handles(ce_type)
        assert BOARD.handles(ce_type)
    assert BOARD.handles("cn.tongxin.visits.VisitCompleted.v1")
    assert BOARD.handles("cn.tongxin.visits.FollowUpOpened.v1")


async def test_a_v1_enrolment_and_categorisation_still_make_a_special_student_on_a_board() -> None:
    registry = default_registry()
    v1_enrolled = registry.decode(
        "cn.tongxin.registry.StudentEnrolled.v1",
        {
            **enrolled("stu_9").model_dump(mode="json", exclude={"age_band", "age_band_on"}),
            "birth_date": "2017-03-02",
        },
    )
    v1_categorised = registry.decode(
        "cn.tongxin.registry.StudentCategorised.v1",
        {"district": D, "school_id": SCHOOL, "student_ref": "stu_9", "groups": ["migrant"]},
    )
    rows = await folded_every_way(BOARD, [v1_enrolled, v1_categorised])
    assert rows["students"][("stu_9",)]["in_special_group"] is True
    roster = await folded_every_way(ROSTER, [v1_enrolled, v1_categorised])
    student = roster["students"][("stu_9",)]
    assert (student["age_band"], student["groups"], student["in_special_group"]) == (
        None,
        None,
        True,
    )
