"""The shipped instruments score as published — PHQ-9 (Kroenke, Spitzer & Williams 2001) and GAD-7
(Spitzer, Kroenke, Williams & Löwe 2006) — at every band's boundary totals and, for any answers,
as an oracle written here from the papers; a self-harm item answered above 0 is high risk
whatever the total; a district's own definition is checked before it is accepted."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin_contracts.events.wellbeing import Band, InstrumentDefined, RiskFlag
from tongxin_wellbeing.application.screening import builtin_instruments
from tongxin_wellbeing.domain.errors import WellbeingError
from tongxin_wellbeing.domain.instruments import (
    DefineInstrument,
    Instrument,
    check,
    current,
    decide_define,
    from_definition,
    score,
)

# --- the oracle: the papers' cut-points, written out independently of the JSON files --------

# Kroenke 2001, table 3 / text: 5, 10, 15, 20 are the cut-points for mild, moderate, moderately
# severe and severe depression (totals 0–27).
PHQ9_CUTS = [
    (0, "minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "moderately_severe"),
    (20, "severe"),
]
# Spitzer 2006: 5, 10, 15 for mild, moderate and severe anxiety (totals 0–21).
GAD7_CUTS = [(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")]
# The service's policy (the brief): which bands flag, and how.
PHQ9_FLAGS = {"moderate": "elevated", "moderately_severe": "elevated", "severe": "high"}
GAD7_FLAGS = {"moderate": "elevated", "severe": "high"}


def oracle_band(cuts: list[tuple[int, str]], total: int) -> str:
    label = cuts[0][1]
    for low, name in cuts:
        if total >= low:
            label = name
    return label


def oracle_risk(instrument_id: str, answers: list[int]) -> str | None:
    if instrument_id == "phq9":
        if (
            answers[8] > 0
        ):  # item 9: thoughts that you would be better off dead or of hurting yourself
            return "high"
        return PHQ9_FLAGS.get(oracle_band(PHQ9_CUTS, sum(answers)))
    return GAD7_FLAGS.get(oracle_band(GAD7_CUTS, sum(answers)))


def answers_for(total: int, items: int, *, avoid_item: int | None = None) -> list[int]:
    """Answers (0–3) that add up to ``total``, leaving ``avoid_item`` (1-based) at 0."""
    out = [0] * items
    rest = total
    for i in range(items):
        if avoid_item is not None and i == avoid_item - 1:
            continue
        out[i] = min(3, rest)
        rest -= out[i]
    assert rest == 0, (total, items, avoid_item)
    return out


def PHQ9() -> Instrument:  # noqa: N802
    return builtin_instruments()["phq9"]


def GAD7() -> Instrument:  # noqa: N802
    return builtin_instruments()["gad7"]


# --- the shipped definitions ----------------------------------------------------------------


def test_the_shipped_instruments_are_json_files_in_the_package_loaded_at_use() -> None:
    folder = files("tongxin_wellbeing") / "instruments"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    assert names == ["gad7.json", "phq9.json"]
    for name in names:
        data = json.loads((folder / name).read_text("utf-8"))
        assert from_definition(data) == builtin_instruments()[data["instrument_id"]]


def test_importing_the_service_reads_no_instrument_file() -> None:
    code = (
        "import tongxin_wellbeing.entrypoints.api, tongxin_wellbeing.entrypoints.worker\n"
        "from tongxin_wellbeing.application.screening import builtin_instruments\n"
        "print(builtin_instruments.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


def test_phq9_has_nine_items_scored_0_to_3_with_item_9_the_self_harm_item() -> None:
    phq9 = PHQ9()
    assert (phq9.items, phq9.max_answer, phq9.max_total) == (9, 3, 27)
    assert phq9.self_harm_items == (9,)
    assert [(b.label, b.low, b.high) for b in phq9.bands] == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("moderately_severe", 15, 19),
        ("severe", 20, 27),
    ]


def test_gad7_has_seven_items_scored_0_to_3_and_no_self_harm_item() -> None:
    gad7 = GAD7()
    assert (gad7.items, gad7.max_answer, gad7.max_total) == (7, 3, 21)
    assert gad7.self_harm_items == ()
    assert [(b.label, b.low, b.high) for b in gad7.bands] == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("severe", 15, 21),
    ]


# --- boundary totals of every band ----------------------------------------------------------

PHQ9_BOUNDARIES = [
    (0, "minimal", None),
    (4, "minimal", None),
    (5, "mild", None),
    (9, "mild", None),
    (10, "moderate", RiskFlag.elevated),
    (14, "moderate", RiskFlag.elevated),
    (15, "moderately_severe", RiskFlag.elevated),
    (19, "moderately_severe", RiskFlag.elevated),
    (20, "severe", RiskFlag.high),
    (27, "severe", RiskFlag.high),
]
GAD7_BOUNDARIES = [
    (0, "minimal", None),
    (4, "minimal", None),
    (5, "mild", None),
    (9, "mild", None),
    (10, "moderate", RiskFlag.elevated),
    (14, "moderate", RiskFlag.elevated),
    (15, "severe", RiskFlag.high),
    (21, "severe", RiskFlag.high),
]


@pytest.mark.parametrize(("total", "band", "risk"), PHQ9_BOUNDARIES)
def test_a_phq9_total_at_a_band_boundary_falls_in_the_published_band(
    total: int, band: str, risk: RiskFlag | None
) -> None:
    # Item 9 left at 0 where the total allows it (24 from the other eight items at most).
    answers = answers_for(total, 9, avoid_item=9 if total <= 24 else None)
    result = score(PHQ9(), answers)
    assert (result.total, result.band) == (total, band)
    if answers[8] == 0:
        assert result.risk == risk
        assert not result.self_harm


@pytest.mark.parametrize(("total", "band", "risk"), GAD7_BOUNDARIES)
def test_a_gad7_total_at_a_band_boundary_falls_in_the_published_band(
    total: int, band: str, risk: RiskFlag | None
) -> None:
    result = score(GAD7(), answers_for(total, 7))
    assert (result.total, result.band, result.risk) == (total, band, risk)


# --- any answers: the oracle ----------------------------------------------------------------


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_scores_any_answers_as_the_oracle_does(answers: list[int]) -> None:
    result = score(PHQ9(), answers)
    assert result.total == sum(answers)
    assert result.band == oracle_band(PHQ9_CUTS, sum(answers))
    assert (result.risk.value if result.risk else None) == oracle_risk("phq9", answers)
    assert result.self_harm == (answers[8] > 0)


@given(st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_gad7_scores_any_answers_as_the_oracle_does(answers: list[int]) -> None:
    result = score(GAD7(), answers)
    assert result.total == sum(answers)
    assert result.band == oracle_band(GAD7_CUTS, sum(answers))
    assert (result.risk.value if result.risk else None) == oracle_risk("gad7", answers)
    assert not result.self_harm


# --- the self-harm rule ---------------------------------------------------------------------


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_any_answer_above_0_on_phq9_item_9_is_high_risk_whatever_the_total(item9: int) -> None:
    answers = [0] * 8 + [item9]  # total 1–3: the minimal band
    result = score(PHQ9(), answers)
    assert result.band == "minimal"
    assert result.risk is RiskFlag.high
    assert result.self_harm


def test_item_9_at_0_raises_no_flag_on_a_minimal_total() -> None:
    result = score(PHQ9(), [1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert (result.band, result.risk, result.self_harm) == ("minimal", None, False)


# --- answers are checked --------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 8, 10])
def test_the_wrong_number_of_answers_is_refused_naming_answers(count: int) -> None:
    with pytest.raises(WellbeingError) as refused:
        score(PHQ9(), [0] * count)
    assert (refused.value.field, refused.value.rule) == ("answers", "answer_count")


@pytest.mark.parametrize(("position", "value"), [(0, 4), (3, -1), (8, 7)])
def test_an_answer_out_of_range_is_refused_naming_answers_n(position: int, value: int) -> None:
    answers = [1] * 9
    answers[position] = value
    with pytest.raises(WellbeingError) as refused:
        score(PHQ9(), answers)
    assert (refused.value.field, refused.value.rule) == (f"answers.{position}", "answer_range")


# --- a district's own definition ------------------------------------------------------------


def band(label: str, low: int, high: int, flag: RiskFlag | None = None) -> Band:
    return Band(label=label, low=low, high=high, flag=flag)


def defining(**over: object) -> DefineInstrument:
    fields: dict[str, object] = {
        "district": "330106",
        "instrument_id": "district-mood",
        "title": "District mood check",
        "items": 4,
        "max_answer": 2,
        "bands": (
            band("low", 0, 3),
            band("some", 4, 5, RiskFlag.elevated),
            band("many", 6, 8, RiskFlag.high),
        ),
        "self_harm_items": (4,),
        "builtin_ids": frozenset({"phq9", "gad7"}),
    }
    fields.update(over)
    return DefineInstrument(**fields)  # type: ignore[arg-type]


def test_a_district_defines_its_own_instrument_at_revision_1() -> None:
    [e] = decide_define(defining(), [])
    assert isinstance(e, InstrumentDefined)
    assert (e.district, e.instrument_id, e.revision, e.items, e.max_answer) == (
        "330106",
        "district-mood",
        1,
        4,
        2,
    )
    assert e.self_harm_items == [4]


def test_a_revision_replaces_the_previous_definition() -> None:
    first = decide_define(defining(), [])
    bands = (band("low", 0, 4), band("high", 5, 8, RiskFlag.high))
    [revised] = decide_define(defining(bands=bands), first)
    assert isinstance(revised, InstrumentDefined)
    assert revised.revision == 2
    now = current([*first, revised])
    assert now is not None
    assert (now.revision, now.bands) == (2, bands)
    assert score(now, [1, 1, 1, 0]).band == "low"
    assert score(now, [2, 2, 1, 0]).risk is RiskFlag.high


def test_the_same_definition_again_revises_nothing() -> None:
    first = decide_define(defining(), [])
    assert decide_define(defining(), first) == []


def test_a_district_cannot_take_a_shipped_instruments_id() -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_define(defining(instrument_id="phq9"), [])
    assert (refused.value.field, refused.value.rule) == ("instrument_id", "builtin_instrument")


@pytest.mark.parametrize(
    ("bands", "field", "rule"),
    [
        ((band("a", 1, 3), band("b", 4, 8)), "bands.0.low", "bands_contiguous"),
        ((band("a", 0, 3), band("b", 5, 8)), "bands.1.low", "bands_contiguous"),
        ((band("a", 0, 3), band("b", 3, 8)), "bands.1.low", "bands_contiguous"),
        ((band("a", 0, 3), band("b", 4, 7)), "bands.1.high", "bands_cover_total"),
        ((band("a", 0, 3), band("b", 4, 9)), "bands.1.high", "bands_cover_total"),
        ((band("a", 0, 3), band("a", 4, 8)), "bands.1.label", "band_labels_unique"),
        ((band("a", 0, 8), band("b", 9, 8)), "bands.1.high", "bands_contiguous"),
        ((), "bands", "bands_contiguous"),
    ],
)
def test_bands_must_run_contiguously_from_0_to_items_times_max_answer(
    bands: tuple[Band, ...], field: str, rule: str
) -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_define(defining(bands=bands), [])
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_a_band_whose_high_is_below_its_low_is_refused() -> None:
    with pytest.raises(WellbeingError) as refused:
        check(
            Instrument("x", "X", 1, 4, 2, (band("a", 0, 3), band("b", 4, 3), band("c", 4, 8)), ())
        )
    assert (refused.value.field, refused.value.rule) == ("bands.1.high", "bands_contiguous")


@pytest.mark.parametrize(("items", "position"), [((0,), 0), ((5,), 0), ((2, 2), 1), ((1, 9), 1)])
def test_self_harm_items_must_be_items_of_the_instrument(
    items: tuple[int, ...], position: int
) -> None:
    with pytest.raises(WellbeingError) as refused:
        decide_define(defining(self_harm_items=items), [])
    assert (refused.value.field, refused.value.rule) == (
        f"self_harm_items.{position}",
        "self_harm_item_in_range",
    )


def test_a_definition_file_that_is_not_one_is_refused_naming_the_rule() -> None:
    with pytest.raises(WellbeingError) as refused:
        from_definition({"instrument_id": "x", "title": "X"})
    assert refused.value.rule == "instrument_definition"
