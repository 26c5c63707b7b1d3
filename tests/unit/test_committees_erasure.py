"""Why the committees service has no shredding reaction (DESIGN.md §4): the registry's
``SubjectErased`` names a student, and nothing committees keeps is a student's — no event of its
contract has a field that can name one, so there is no key of a student here to delete. What it
seals belongs to a school, a district or a guardian (``school-<id>``, ``district-<code>``,
``guardian-<ref>``); the registry has no event erasing a guardian yet."""

from __future__ import annotations

from tongxin_committees.bootstrap import SERVICE
from tongxin_contracts.events import committees
from tongxin_contracts.events.registry import SubjectErased


def test_no_committees_event_has_a_field_that_can_name_a_student() -> None:
    fields = {
        f"{event.__name__}.{name}"
        for event in committees.EVENTS
        for name in event.model_fields
        if "student" in name or "pupil" in name or "child" in name
    }
    assert not fields


def test_the_committees_service_does_not_react_to_a_students_erasure() -> None:
    reacting = [r.name for r in SERVICE.reactions if r.handles(SubjectErased.ce_type())]
    assert reacting == []
