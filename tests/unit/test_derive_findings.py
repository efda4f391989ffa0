"""Findings in standard form: --STRESU/--STRESC/--STRESN by the study's unit conversions, --LOBXFL, --SEQ order."""

from __future__ import annotations

import math

import pytest

from daybreak_sdtm.derive import RowProblems, VarRef
from daybreak_sdtm.derive.findings import derive_lobxfl, derive_stresc, derive_stresn, derive_stresu, number_text
from daybreak_sdtm.derive.keys import derive_seq
from daybreak_sdtm.spec.model import UnitConversion
from tests.helpers import HERE, make_ctx, make_study

CONVERSIONS = (
    UnitConversion("LB", "kg", 0.45359237, HERE, decimals=1),
    UnitConversion("in", "cm", 2.54, HERE),
    UnitConversion("F", "C", 5 / 9, HERE, offset=-32 * 5 / 9, decimals=1),
    UnitConversion("mg/dL", "mmol/L", 0.0555, HERE, test="GLUC", decimals=2),
)
VS = {
    "USUBJID": ["S1-1"] * 6,
    "VSTESTCD": ["WEIGHT", "WEIGHT", "HEIGHT", "TEMP", "GLUC", "URINE"],
    "VSORRES": ["150", "70.5", "68", "98.6", "90", "NEGATIVE"],
    "VSORRESU": ["LB", "kg", "in", "F", "mg/dL", ""],
}
STANDARD = {"WEIGHT": "kg", "HEIGHT": "cm", "TEMP": "C", "GLUC": "mmol/L"}


def _ctx(sdtm: dict[str, list[str]]) -> object:
    return make_ctx("VS", sdtm=sdtm, study=make_study(unit_conversions=CONVERSIONS))


def _standard_frame() -> dict[str, list[str]]:
    ctx = _ctx(VS)
    units = derive_stresu(ctx, unit=VarRef("VS", "VSORRESU"), test=VarRef("VS", "VSTESTCD"), standard=STANDARD)
    return {**{k: list(v) for k, v in VS.items()}, "VSSTRESU": units.tolist()}


def test_standard_units_by_test_and_unitless_results_stay_unitless() -> None:
    assert _standard_frame()["VSSTRESU"] == ["kg", "kg", "cm", "C", "mmol/L", ""]


def test_results_converted_by_the_declared_conversions() -> None:
    frame = _standard_frame()
    args = dict(
        result=VarRef("VS", "VSORRES"),
        unit=VarRef("VS", "VSORRESU"),
        standard_unit=VarRef("VS", "VSSTRESU"),
        test=VarRef("VS", "VSTESTCD"),
    )
    stresc = derive_stresc(_ctx(frame), **args).tolist()
    stresn = derive_stresn(_ctx(frame), **args).tolist()
    # 150 LB = 68.04 kg (1 decimal declared), 70.5 kg as collected, 68 in = 172.72 cm, 98.6 F = 37.0 C,
    # glucose 90 mg/dL = 5.00 mmol/L (the conversion of GLUC), NEGATIVE copied and not numeric.
    assert stresc == ["68.0", "70.5", "172.72", "37.0", "5.00", "NEGATIVE"]
    assert stresn[:5] == pytest.approx([68.0, 70.5, 172.72, 37.0, 5.0])
    assert math.isnan(stresn[5])


def test_a_unit_with_no_declared_conversion_is_refused_with_its_records() -> None:
    frame = _standard_frame()
    frame["VSORRESU"] = ["g", "kg", "in", "F", "mg/dL", ""]  # grams: no g -> kg conversion declared
    frame["VSORRES"][2] = "tall"  # a non-numeric result in a unit to convert
    with pytest.raises(RowProblems) as caught:
        derive_stresc(
            _ctx(frame),
            result=VarRef("VS", "VSORRES"),
            unit=VarRef("VS", "VSORRESU"),
            standard_unit=VarRef("VS", "VSSTRESU"),
        )
    # Without test:, the conversion declared for GLUC alone does not apply either.
    assert caught.value.positions.tolist() == [0, 2, 4]
    assert caught.value.values == ["150 g -> kg", "tall in -> cm", "90 mg/dL -> mmol/L"]
    assert "unit_conversions:" in caught.value.message


def test_conversions_limited_to_a_test_do_not_apply_to_others() -> None:
    frame = {**_standard_frame(), "VSTESTCD": ["WEIGHT", "WEIGHT", "HEIGHT", "TEMP", "CHOL", "URINE"]}
    with pytest.raises(RowProblems) as caught:
        derive_stresn(
            _ctx(frame),
            result=VarRef("VS", "VSORRES"),
            unit=VarRef("VS", "VSORRESU"),
            standard_unit=VarRef("VS", "VSSTRESU"),
            test=VarRef("VS", "VSTESTCD"),
        )
    assert caught.value.positions.tolist() == [4]  # mg/dL -> mmol/L is declared for GLUC only


def test_number_text() -> None:
    assert [number_text(v) for v in (150.0, 68.0388555, 0.1 + 0.2, 1e-12)] == ["150", "68.0388555", "0.3", "1e-12"]
    assert number_text(5.0, 2) == "5.00"


def test_last_observation_before_exposure_per_subject_and_test() -> None:
    sdtm = {
        "USUBJID": ["S1-1", "S1-1", "S1-1", "S1-1", "S1-1", "S1-2", "S1-2"],
        "LBTESTCD": ["ALT", "ALT", "ALT", "AST", "AST", "ALT", "ALT"],
        "LBORRES": ["30", "32", "40", "", "20", "25", "27"],
        "LBDTC": ["2025-10-01", "2025-10-22", "2025-11-12", "2025-10-20", "2025-10-15", "2025-10-02", "2025-09-30"],
    }
    dm = {"USUBJID": ["S1-1", "S1-2"], "RFXSTDTC": ["2025-10-22T08:30", ""]}
    ctx = make_ctx("LB", sdtm=sdtm, others={"DM": dm})
    flags = derive_lobxfl(ctx, date=VarRef("LB", "LBDTC"), result=VarRef("LB", "LBORRES")).tolist()
    # S1-1 ALT: the sample of the day of the first dose (no time) counts as before it; AST: the
    # latest with a result (the later one has none); S1-2 was never exposed: no baseline.
    assert flags == ["", "Y", "", "", "Y", "", ""]


def test_seq_in_a_declared_order() -> None:
    sdtm = {"USUBJID": ["S1-1", "S1-1", "S1-2", "S1-1"], "AESTDTC": ["2026-03-01", "2025-11-02", "2025-12-01", ""]}
    ctx = make_ctx("AE", sdtm=sdtm)
    assert derive_seq(ctx, order_by=[VarRef("AE", "AESTDTC")]).tolist() == [3.0, 2.0, 1.0, 1.0]


def test_visits_by_their_windows_and_days_in_none_refused() -> None:
    from daybreak_sdtm.derive.dates import derive_visit_window
    from daybreak_sdtm.spec.model import TrialDesignSpec, VisitSpec

    visits = (
        VisitSpec(1, "SCREENING", "", HERE, -14, window=(-7, 13)),
        VisitSpec(2, "DAY 1", "", HERE, 1, window=(0, 0)),
        VisitSpec(3, "WEEK 4", "", HERE, 29, window=(-3, 3)),
        VisitSpec(9, "UNSCHEDULED", "", HERE),  # no day, no window: never chosen by date
    )
    study = make_study(trial_design=TrialDesignSpec(HERE, visits=visits))
    ctx = make_ctx("LB", sdtm={"LBDY": [-14.0, -1.0, 1.0, 26.0, 32.0, float("nan")]}, study=study)
    assert derive_visit_window(ctx, day=VarRef("LB", "LBDY")).tolist() == [
        "SCREENING",
        "SCREENING",
        "DAY 1",
        "WEEK 4",
        "WEEK 4",
        "",
    ]
    ctx = make_ctx("LB", raw={"VISIT": ["", "SCREENING"]}, sdtm={"LBDY": [float("nan"), float("nan")]}, study=study)
    assert derive_visit_window(ctx, day=VarRef("LB", "LBDY"), source="VISIT").tolist() == ["", "SCREENING"]
    ctx = make_ctx("LB", sdtm={"LBDY": [29.0, 15.0, 40.0]}, study=study)
    with pytest.raises(RowProblems) as caught:
        derive_visit_window(ctx, day=VarRef("LB", "LBDY"))
    assert caught.value.positions.tolist() == [1, 2] and caught.value.values == ["day 15", "day 40"]
