"""The generated district covers what the agencies' tests need: every KPI of the layout brief
met by one school and missed by another (computed by the independent figures), valid events
only, the same world for the same seed."""

from __future__ import annotations

from tests.support.agencies_expected import KPIS, expected, meets, value_of
from tests.support.agencies_world import Publisher, generate


def test_every_judged_kpi_is_met_by_a_school_and_missed_by_another() -> None:
    world = generate()
    figures = expected(world)
    for kpi in KPIS:
        judged = {meets(kpi, figures.schools[s.school_id][kpi]) for s in world.schools}
        if kpi == "attention_list":
            assert judged == {None}
        else:
            assert judged == {True, False}, kpi


def test_the_same_seed_makes_the_same_world_and_another_seed_other_details() -> None:
    a, b, c = generate(seed=1), generate(seed=1), generate(seed=2)
    assert [e.model_dump() for e in a.events] == [e.model_dump() for e in b.events]
    assert [e.model_dump() for e in a.events] != [e.model_dump() for e in c.events]


def test_a_larger_district_keeps_its_cases() -> None:
    world = generate(schools=4, classes=4, students=10)
    figures = expected(world)
    assert len(world.schools_of("330106")) == 4
    assert value_of(figures.schools["330106002"]["followups_overdue"]) == 3
    assert value_of(figures.schools["330106004"]["visit_coverage"]) != 1.0


def test_published_records_carry_the_stream_versions_a_relay_would() -> None:
    world = generate()
    publisher = Publisher("unused:9092", {s: f"t-{s}" for s in world.by_service()})
    records = [publisher.record(e, world.now) for e in world.events[:40]]
    first = dict(records[0][3])
    assert records[0][0] == "t-registry"
    assert first["ce_type"] == world.events[0].ce_type().encode()
    assert first["ce_streamversion"] == b"1"
    # every stream counts its own versions from 1
    streams = [r[1] for r in records]
    versions = [int(dict(r[3])["ce_streamversion"]) for r in records]
    for n, (key, version) in enumerate(zip(streams, versions, strict=True)):
        assert version == streams[:n].count(key) + 1
    assert max(versions) > 1
