"""Small functions of define/model.py: lengths, numeric types and OIDs as Define-XML 2.1 gives them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak_sdtm.define.model import (
    derivation_method,
    numeric_type,
    oid_part,
    text_length,
    text_value_type,
    text_values,
)
from daybreak_sdtm.derive import DERIVATIONS, VarRef
from daybreak_sdtm.derive.registry import Kind


def test_text_length_is_the_longest_value_in_utf8_bytes() -> None:
    assert text_length(pd.Series(["MILD", "MODERATE", None])) == 8
    assert text_length(pd.Series(["Céphalée", "abc"])) == 10  # two 2-byte letters: 8 characters, 10 bytes
    assert text_length(pd.Series(["", None])) == 1  # at least 1, as pyreadstat stores it
    assert text_length(pd.Series([], dtype=object)) == 1
    assert text_length(pd.Series(["ab", "abcd"], dtype="str")) == 4  # the mapping engine's Arrow-backed text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 12.0, -345.0, np.nan], ("integer", 3, None)),  # digits of the largest magnitude; the sign is not a digit
        ([2.75, 55.0, 0.005], ("float", 5, 3)),  # 2 whole digits + 3 decimals
        ([1.5, 100.25], ("float", 5, 2)),
        ([np.nan, np.nan], ("integer", 1, None)),  # nothing to measure
        ([0.0], ("integer", 1, None)),
    ],
)
def test_numeric_type_from_the_values(values: list[float], expected: tuple[str, int, int | None]) -> None:
    assert numeric_type(pd.Series(values, dtype="float64")) == expected


def test_numeric_type_of_an_integer_column() -> None:
    assert numeric_type(pd.Series([7, 2026], dtype="int64")) == ("integer", 4, None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["20", "-3", "155"], ("integer", 3, None)),
        (["2.75", "55", "-0.5"], ("float", 4, 2)),
        (["Y", "N"], ("text", 1, None)),
        (["Yes", "1.5"], ("text", 3, None)),
        (["é"], ("text", 2, None)),
        ([], ("text", 1, None)),
    ],
)
def test_text_value_type_of_a_qval(values: list[str], expected: tuple[str, int, int | None]) -> None:
    assert text_value_type(values) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TISLELIZUMAB", "TISLELIZUMAB"),
        ("mg/m2", "mg_m2"),
        ("  Gem + Cis (D1, D8) ", "Gem_Cis_D1_D8_"),
        ("2.75 Gy", "2.75_Gy"),
        ("", "_"),
        ("éé", "_"),
    ],
)
def test_oid_part_keeps_only_oid_safe_characters(text: str, expected: str) -> None:
    assert oid_part(text) == expected


def test_text_values_are_distinct_non_blank_in_order_of_first_appearance() -> None:
    assert text_values(pd.Series(["B", "", "A", "B", None, "C"], dtype=object)) == ["B", "A", "C"]
    assert text_values(pd.Series(["x", "y", "x"], dtype="str")) == ["x", "y"]


_SAMPLES = {
    Kind.RAW: "AESTDAT",
    Kind.RAWS: ["AEACN_TIS", "AEACN_GEM"],
    Kind.TEMPLATE: "CYCLE {CYCLE}",
    Kind.VAR: VarRef("AE", "AETERM"),
    Kind.VARS: [VarRef("AE", "AESTDTC"), VarRef("AE", "AEDECOD")],
    Kind.DATE_VAR: VarRef("DM", "RFSTDTC"),
    Kind.DATE_FORMAT: "MM/DD/YYYY",
    Kind.VALUE: "NOT DONE",
    Kind.NUMBER: "10",
    Kind.MAP: {"Yes": "Y", "No": "N"},
    Kind.WHERE: {"DSDECOD": ["DEATH"]},
    Kind.DOMAIN: "DS",
    Kind.FLAG: True,
}


@pytest.mark.parametrize("name", sorted(DERIVATIONS))
@pytest.mark.parametrize("optional", [False, True])
def test_every_derivation_has_a_method_sentence_without_calls(name: str, optional: bool) -> None:
    deriv = DERIVATIONS[name]
    params = {p: _SAMPLES.get(param.kind) for p, param in deriv.params.items() if param.required or optional}
    text = derivation_method(deriv, params, "AE")
    assert text.strip() and text == text.strip()
    assert "derive_" not in text and "[" not in text and "  " not in text, text
    assert not any(f"{{{p}}}" in text for p in deriv.params), text  # every parameter filled in


def test_a_method_sentence_fills_in_its_parameters() -> None:
    study_day = DERIVATIONS["derive_study_day"]
    assert derivation_method(study_day, {"date": VarRef("AE", "AEENDTC")}, "AE") == (
        "Study day of AEENDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0); blank when either date is partial"
    )
    first = DERIVATIONS["derive_subject_first"]
    params = {"variable": VarRef("EX", "EXSTDTC"), "filter": {"EXCAT": ["INDUCTION", "MAINTENANCE"], "EXTRT": ["TIS"]}}
    assert derivation_method(first, params, "DM") == (
        "The subject's earliest EX.EXSTDTC among the records where EXCAT in (INDUCTION, MAINTENANCE) and EXTRT = TIS"
    )
    exists = DERIVATIONS["derive_subject_exists"]
    assert derivation_method(exists, {"domain": "DS", "then": "Y", "otherwise": ""}, "DM") == (
        "Y for subjects with a record in DS, blank for the others"
    )
