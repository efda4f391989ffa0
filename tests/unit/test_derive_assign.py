"""Copy, recode and set values; identifiers and --SEQ; subject-level lookups."""

from __future__ import annotations

import pytest

from daybreak_sdtm.derive import RowProblems, VarRef
from daybreak_sdtm.derive.assign import (
    assign_ct,
    assign_no_ct,
    derive_common_ct,
    derive_flag,
    derive_if_any,
    derive_template,
)
from daybreak_sdtm.derive.keys import derive_seq, derive_usubjid
from daybreak_sdtm.derive.subject import (
    derive_arm,
    derive_subject_exists,
    derive_subject_first,
    derive_subject_last,
    derive_subject_value,
)
from daybreak_sdtm.standards import Codelist, Term
from tests.helpers import make_ctx

SEX = Codelist(
    "C66731",
    "Sex",
    "SEX",
    False,
    (
        Term("C20197", "M", ("Male",), "Male"),
        Term("C16576", "F", ("Female",), "Female"),
        Term("C17998", "U", ("Unknown",), "Unknown"),
    ),
)
ACN = Codelist(
    "C66767",
    "Action Taken with Study Treatment",
    "ACN",
    False,
    (
        Term("C49503", "DOSE NOT CHANGED"),
        Term("C49501", "DRUG INTERRUPTED"),
        Term("C48660", "NOT APPLICABLE"),
        Term("C49502", "DRUG WITHDRAWN"),
        Term("X", "MULTIPLE"),
    ),
)


def test_assign_no_ct_trims_and_keeps_text() -> None:
    ctx = make_ctx("AE", raw={"T": ["  nausea ", "", "NA"]})
    assert assign_no_ct(ctx, source="T").tolist() == ["nausea", "", "NA"]


def test_assign_no_ct_map_refuses_unmapped_values() -> None:
    ctx = make_ctx("EX", raw={"P": ["Induction", "Maintenance", "Other", ""]})
    with pytest.raises(RowProblems) as err:
        assign_no_ct(ctx, source="P", map={"Induction": "INDUCTION", "Maintenance": "MAINTENANCE"})
    assert err.value.positions.tolist() == [2]
    assert err.value.values == ["Other"]


def test_assign_ct_matches_synonyms_case_insensitively() -> None:
    ctx = make_ctx("DM", raw={"SEX": ["Male", "female", "F", ""]})
    assert assign_ct(ctx, source="SEX", codelist=SEX).tolist() == ["M", "F", "F", ""]


def test_assign_ct_map_wins_over_ct() -> None:
    ctx = make_ctx("DM", raw={"SEX": ["Man", "Woman"]})
    assert assign_ct(ctx, source="SEX", codelist=SEX, map={"Man": "M", "Woman": "F"}).tolist() == ["M", "F"]


def test_assign_ct_reports_unknown_codes_with_their_rows() -> None:
    ctx = make_ctx("DM", raw={"SEX": ["Male", "X", "Female", "Intersex"]})
    with pytest.raises(RowProblems) as err:
        assign_ct(ctx, source="SEX", codelist=SEX)
    assert err.value.positions.tolist() == [1, 3]
    assert err.value.values == ["X", "Intersex"]
    assert "C66731" in err.value.message


def test_template_is_blank_when_a_placeholder_is_blank() -> None:
    ctx = make_ctx("EX", raw={"C": ["1", ""], "T": ["TIS", "GEM"]})
    assert derive_template(ctx, template="CYCLE {C} {T}").tolist() == ["CYCLE 1 TIS", ""]


def test_flag_and_if_any() -> None:
    ctx = make_ctx("DM", raw={"D": ["01-JAN-2026", ""], "A": ["Related", "Not related"], "B": ["", ""]})
    assert derive_flag(ctx, source="D").tolist() == ["Y", ""]
    assert derive_if_any(
        ctx, sources=["A", "B"], equals="Related", then="RELATED", otherwise="NOT RELATED"
    ).tolist() == ["RELATED", "NOT RELATED"]


def test_common_ct_gives_multiple_only_when_drugs_differ() -> None:
    ctx = make_ctx(
        "AE",
        raw={
            "A": ["Dose not changed", "Drug interrupted", "Not applicable", "Not applicable"],
            "B": ["Dose not changed", "Dose not changed", "Drug withdrawn", "Not applicable"],
        },
    )
    result = derive_common_ct(ctx, sources=["A", "B"], codelist=ACN, several="MULTIPLE", ignore="NOT APPLICABLE")
    assert result.tolist() == ["DOSE NOT CHANGED", "MULTIPLE", "DRUG WITHDRAWN", "NOT APPLICABLE"]


def test_usubjid_joins_study_and_subject() -> None:
    ctx = make_ctx("DM", raw={"SUBJECT": ["101-001", ""]})
    assert derive_usubjid(ctx).tolist() == ["S1-101-001", ""]


def test_seq_numbers_records_per_subject_in_key_order() -> None:
    ctx = make_ctx(
        "AE",
        sdtm={
            "USUBJID": ["A", "B", "A", "A"],
            "AEDECOD": ["Nausea", "Rash", "Anaemia", "Nausea"],
            "AESTDTC": ["2026-02-01", "2026-01-01", "2026-03-01", "2026-01-01"],
        },
        keys=("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
    )
    assert derive_seq(ctx).tolist() == [3.0, 1.0, 1.0, 2.0]


def test_subject_first_and_last_ignore_blanks_and_compare_dates() -> None:
    ex = {
        "USUBJID": ["A", "A", "A", "B"],
        "EXSTDTC": ["2026-01-08", "2026-01-01T09:30", "", "2026-02-01"],
        "EXCAT": ["I", "I", "I", "M"],
    }
    ctx = make_ctx("DM", sdtm={"USUBJID": ["A", "B", "C"]}, others={"EX": ex})
    assert derive_subject_first(ctx, variable=VarRef("EX", "EXSTDTC")).tolist() == [
        "2026-01-01T09:30",
        "2026-02-01",
        "",
    ]
    assert derive_subject_last(ctx, variable=VarRef("EX", "EXSTDTC")).tolist() == ["2026-01-08", "2026-02-01", ""]
    assert derive_subject_first(ctx, variable=VarRef("EX", "EXSTDTC"), filter={"EXCAT": ("M",)}).tolist() == [
        "",
        "2026-02-01",
        "",
    ]


def test_subject_value_maps_and_refuses_conflicts() -> None:
    rs = {
        "USUBJID": ["A", "A", "B"],
        "RSTESTCD": ["OVRLRESP"] * 3,
        "VISIT": ["POST", "WK9", "POST"],
        "RSSTRESC": ["PR", "PD", "CR"],
    }
    ctx = make_ctx("DM", sdtm={"USUBJID": ["A", "B", "C"]}, others={"RS": rs})
    post = {"VISIT": ("POST",)}
    assert derive_subject_value(
        ctx, variable=VarRef("RS", "RSSTRESC"), filter=post, map={"PR": "RT", "CR": "NORT"}
    ).tolist() == ["RT", "NORT", ""]
    with pytest.raises(RowProblems) as err:
        derive_subject_value(ctx, variable=VarRef("RS", "RSSTRESC"))
    assert "conflicting" in err.value.message
    assert err.value.positions.tolist() == [0]


def test_subject_exists_and_arm() -> None:
    ctx = make_ctx("DM", sdtm={"USUBJID": ["A", "B"], "ACTARMCD": ["A", "Z"]}, others={"PR": {"USUBJID": ["B"]}})
    assert derive_subject_exists(ctx, domain="PR", then="RT", otherwise="NORT").tolist() == ["NORT", "RT"]
    with pytest.raises(RowProblems) as err:
        derive_arm(ctx, armcd=VarRef("DM", "ACTARMCD"))
    assert err.value.values == ["Z"]
