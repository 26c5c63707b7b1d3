"""Training and classes of seed 004 (心阳光): who was trained in what, which classes had a
psychology class or group counselling, and the coverage a school and its district see.

Seed 004: crisis identification (危机识别) for head and psychology teachers, the classroom
emotion module (课堂情绪模块) for every subject teacher, sessions for parents (家长课堂), and
psychology classes (心理健康课) and group counselling (团体辅导) for every class. Attendees are
staff of the school (its roster); parents come as a count, never by name.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from tongxin_contracts import IntegrationEvent
from tongxin_contracts.events.wellbeing import (
    ClassSessionHeld,
    ClassSessionKind,
    TrainingRecorded,
    TrainingTopic,
)
from tongxin_wellbeing.domain.calendar import china_date, school_year_of
from tongxin_wellbeing.domain.errors import WellbeingError

# Who each staff topic is for (roster roles): the denominators of the coverage.
TARGETS: dict[TrainingTopic, frozenset[str]] = {
    TrainingTopic.crisis_identification: frozenset({"head_teacher", "psych_teacher"}),
    # "every subject teacher": a head teacher teaches a subject too
    TrainingTopic.classroom_emotion_module: frozenset({"subject_teacher", "head_teacher"}),
}
MAX_PARENTS = 100_000  # one session: a whole school's parents at most, never more


@dataclass(frozen=True, slots=True)
class RecordTraining:
    district: str
    school_id: str
    school_year: str
    training_id: str
    topic: TrainingTopic
    held_on: date
    staff_refs: tuple[str, ...]
    parent_count: int
    school_staff: frozenset[str]  # the roster's staff of the school, as the command saw it


@dataclass(frozen=True, slots=True)
class HoldClassSession:
    district: str
    school_id: str
    school_year: str
    session_id: str
    class_id: str
    kind: ClassSessionKind
    held_on: date
    school_classes: frozenset[str]  # the roster's classes of the school


def _check_day(held_on: date, school_year: str, now: datetime) -> None:
    if school_year_of(held_on) != school_year:
        raise WellbeingError(
            f"{held_on} is not in the school year {school_year}",
            field="held_on",
            rule="held_within_school_year",
        )
    if held_on > china_date(now):
        raise WellbeingError(
            f"{held_on} has not come yet: record what was held",
            field="held_on",
            rule="held_not_in_future",
        )


def _seen(history: Iterable[IntegrationEvent], ident: str) -> bool:
    return any(
        (isinstance(e, TrainingRecorded) and e.training_id == ident)
        or (isinstance(e, ClassSessionHeld) and e.session_id == ident)
        for e in history
    )


def decide_training(
    cmd: RecordTraining, history: list[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """A training session of the school's year; the same session twice is recorded once."""
    if _seen(history, cmd.training_id):
        return []
    _check_day(cmd.held_on, cmd.school_year, now)
    attendees = tuple(dict.fromkeys(cmd.staff_refs))  # each once, in the order given
    for n, ref in enumerate(attendees):
        if ref not in cmd.school_staff:
            raise WellbeingError(
                f"{ref} is not on the staff of school {cmd.school_id}",
                field=f"staff_refs.{n}",
                rule="attendee_on_school_staff",
            )
    if cmd.topic is TrainingTopic.parent_session:
        if cmd.parent_count < 1:
            raise WellbeingError(
                "a parent session counts the parents who came (at least one)",
                field="parent_count",
                rule="parent_session_counts_parents",
            )
        if cmd.parent_count > MAX_PARENTS:
            raise WellbeingError(
                f"more than {MAX_PARENTS} parents in one session",
                field="parent_count",
                rule="parent_count_plausible",
            )
    else:
        if not attendees:
            raise WellbeingError(
                f"a {cmd.topic.value} training names the staff who attended",
                field="staff_refs",
                rule="staff_training_has_attendees",
            )
        if cmd.parent_count:
            raise WellbeingError(
                f"parents are counted at parent sessions, not at {cmd.topic.value}",
                field="parent_count",
                rule="parents_only_at_parent_sessions",
            )
    return [
        TrainingRecorded(
            district=cmd.district,
            school_id=cmd.school_id,
            school_year=cmd.school_year,
            training_id=cmd.training_id,
            topic=cmd.topic,
            held_on=cmd.held_on,
            staff_refs=list(attendees),
            parent_count=cmd.parent_count,
        )
    ]


def decide_class_session(
    cmd: HoldClassSession, history: list[IntegrationEvent], now: datetime
) -> list[IntegrationEvent]:
    """A psychology class or a group counselling session for one class of the school."""
    if _seen(history, cmd.session_id):
        return []
    _check_day(cmd.held_on, cmd.school_year, now)
    if cmd.class_id not in cmd.school_classes:
        raise WellbeingError(
            f"{cmd.class_id} is not a class of school {cmd.school_id}",
            field="class_id",
            rule="class_of_school",
        )
    return [
        ClassSessionHeld(
            district=cmd.district,
            school_id=cmd.school_id,
            school_year=cmd.school_year,
            session_id=cmd.session_id,
            class_id=cmd.class_id,
            kind=cmd.kind,
            held_on=cmd.held_on,
        )
    ]


# --- coverage ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicCoverage:
    """Of the staff a topic is for: how many, how many trained, who is not yet (pseudonyms)."""

    topic: str
    target_roles: list[str]
    staff: int
    trained: int
    share: float | None  # None: the school has no one the topic is for
    not_trained: list[str]


@dataclass(frozen=True, slots=True)
class Coverage:
    school_id: str
    school_year: str
    crisis_identification: TopicCoverage
    classroom_emotion_module: TopicCoverage
    parent_sessions: int
    parents: int
    classes: int
    classes_with_psychology_class: int
    classes_with_group_counselling: int
    classes_with_sessions: int  # at least one psychology class or group counselling
    classes_without_sessions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Training:
    topic: TrainingTopic
    staff_refs: tuple[str, ...]
    parent_count: int


def _topic(
    topic: TrainingTopic, staff: Mapping[str, Collection[str]], trained: set[str]
) -> TopicCoverage:
    roles = TARGETS[topic]
    target = sorted(ref for ref, held in staff.items() if roles & set(held))
    done = [ref for ref in target if ref in trained]
    return TopicCoverage(
        topic=topic.value,
        target_roles=sorted(roles),
        staff=len(target),
        trained=len(done),
        share=len(done) / len(target) if target else None,
        not_trained=[ref for ref in target if ref not in trained],
    )


def coverage(
    school_id: str,
    school_year: str,
    staff: Mapping[str, Collection[str]],
    trainings: Iterable[Training],
    classes: Iterable[str],
    sessions: Iterable[tuple[str, ClassSessionKind]],
) -> Coverage:
    """The school's year: ``staff`` is its roster (staff_ref → roles), ``trainings`` and
    ``sessions`` (class_id, kind) what was held that year. Staff trained elsewhere or no longer
    on the roster do not count; a class counts once however many sessions it had."""
    trained: dict[TrainingTopic, set[str]] = {t: set() for t in TrainingTopic}
    parent_sessions = parents = 0
    for t in trainings:
        trained[t.topic].update(t.staff_refs)
        if t.topic is TrainingTopic.parent_session:
            parent_sessions += 1
            parents += t.parent_count
    all_classes = sorted(set(classes))
    kinds: dict[str, set[ClassSessionKind]] = {c: set() for c in all_classes}
    for class_id, kind in sessions:
        if class_id in kinds:
            kinds[class_id].add(kind)
    return Coverage(
        school_id=school_id,
        school_year=school_year,
        crisis_identification=_topic(
            TrainingTopic.crisis_identification,
            staff,
            trained[TrainingTopic.crisis_identification],
        ),
        classroom_emotion_module=_topic(
            TrainingTopic.classroom_emotion_module,
            staff,
            trained[TrainingTopic.classroom_emotion_module],
        ),
        parent_sessions=parent_sessions,
        parents=parents,
        classes=len(all_classes),
        classes_with_psychology_class=sum(
            1 for k in kinds.values() if ClassSessionKind.psychology_class in k
        ),
        classes_with_group_counselling=sum(
            1 for k in kinds.values() if ClassSessionKind.group_counselling in k
        ),
        classes_with_sessions=sum(1 for k in kinds.values() if k),
        classes_without_sessions=[c for c, k in kinds.items() if not k],
    )


@dataclass(frozen=True, slots=True)
class DistrictTotals:
    """The district's schools added up: staff trained of staff each topic is for, parent
    sessions and parents, classes with and without a psychology class or group counselling."""

    schools: int
    crisis_identification_staff: int
    crisis_identification_trained: int
    crisis_identification_share: float | None
    classroom_emotion_module_staff: int
    classroom_emotion_module_trained: int
    classroom_emotion_module_share: float | None
    parent_sessions: int
    parents: int
    classes: int
    classes_with_sessions: int
    classes_without_sessions: int


def district_totals(schools: Iterable[Coverage]) -> DistrictTotals:
    rows = list(schools)

    def share(trained: int, staff: int) -> float | None:
        return trained / staff if staff else None

    ci_staff = sum(c.crisis_identification.staff for c in rows)
    ci_trained = sum(c.crisis_identification.trained for c in rows)
    em_staff = sum(c.classroom_emotion_module.staff for c in rows)
    em_trained = sum(c.classroom_emotion_module.trained for c in rows)
    classes = sum(c.classes for c in rows)
    with_sessions = sum(c.classes_with_sessions for c in rows)
    return DistrictTotals(
        schools=len(rows),
        crisis_identification_staff=ci_staff,
        crisis_identification_trained=ci_trained,
        crisis_identification_share=share(ci_trained, ci_staff),
        classroom_emotion_module_staff=em_staff,
        classroom_emotion_module_trained=em_trained,
        classroom_emotion_module_share=share(em_trained, em_staff),
        parent_sessions=sum(c.parent_sessions for c in rows),
        parents=sum(c.parents for c in rows),
        classes=classes,
        classes_with_sessions=with_sessions,
        classes_without_sessions=classes - with_sessions,
    )
