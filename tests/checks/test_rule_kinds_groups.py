"""The kinds and operators of the FINDINGS, RELATIONSHIP and several-class rows of the rule table,
tested on their own: what each judges, on which records, and what it leaves unjudged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from daybreak_sdtm.checks import CheckContext
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.rule_kinds import (
    KINDS,
    OPERATORS,
    Condition,
    Rule,
    Scope,
    Table,
    _parts,
)
from daybreak_sdtm.dataset import dataset_of
from daybreak_sdtm.date_formats import DATETIME
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, read_standards
from tests.helpers import frame_of_records


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def tables(standards: Standards, **datasets: list[dict[str, Any]]) -> dict[str, Table]:
    pkg = Package({name: dataset_of(name, frame_of_records(rows), standards) for name, rows in datasets.items()})
    ctx = CheckContext(standards)
    return {name: Table(pkg, ds, ctx) for name, ds in pkg.datasets.items()}


def op(table: Table, variable: str, name: str, operand: object = None) -> tuple[list[bool], list[bool]]:
    verdict = OPERATORS[name].fn(table, variable, operand)
    holds, judged = verdict if isinstance(verdict, tuple) else (verdict, np.ones(table.size, dtype=bool))
    return [bool(x) for x in holds], [bool(x) for x in judged]


def rule(kind: str, **params: Any) -> Rule:
    return Rule("CORE-000000", (), (), Severity.ERROR, Scope(), kind, params, "m", KINDS[kind].check)


def hits(table: Table, r: Rule) -> list[tuple[list[int] | None, str]]:
    return [(None if h.rows is None else h.rows.tolist(), h.variable) for h in KINDS[r.kind].fn(table, r)]


def test_absent_holds_on_every_record_of_a_dataset_without_the_variable(standards: Standards) -> None:
    t = tables(standards, MH=[{"MHTERM": "A"}, {"MHTERM": "B"}], CM=[{"CMTRT": "X", "CMSTAT": ""}])
    assert op(t["MH"], "--STAT", "absent")[0] == [True, True]
    assert op(t["CM"], "--STAT", "absent")[0] == [False]


def test_equal_in_number_forgives_a_doubles_rounding_not_a_shorter_value(standards: Standards) -> None:
    rows = [
        {"LBSTRESC": "0.3", "LBSTRESN": 0.1 + 0.2},
        {"LBSTRESC": "5.10", "LBSTRESN": 5.1},
        {"LBSTRESC": "56.7", "LBSTRESN": 56.724137931034484},
        {"LBSTRESC": "NEGATIVE", "LBSTRESN": None},
    ]
    holds, judged = op(tables(standards, LB=rows)["LB"], "--STRESN", "equal_in_number_to_variable", "--STRESC")
    assert holds == [True, True, False, False]
    assert judged == [True, True, True, False]


def test_not_one_of_takes_a_blank_for_none_of_them(standards: Standards) -> None:
    t = tables(standards, DM=[{"USUBJID": "1", "ETHNIC": ""}, {"USUBJID": "2", "ETHNIC": "HISPANIC OR LATINO"}])
    assert op(t["DM"], "ETHNIC", "not_one_of", ("HISPANIC OR LATINO",))[0] == [True, False]
    assert op(t["DM"], "ETHNIC", "not_in", ("HISPANIC OR LATINO",))[0] == [False, False]


def test_on_or_after_wants_the_date_known_to_be_so(standards: Standards) -> None:
    t = tables(
        standards,
        DM=[{"USUBJID": "S1", "RFICDTC": "2025-09-27"}],
        CM=[{"USUBJID": "S1", "CMSTDTC": d} for d in ("2025", "2025-09", "2025-10", "2025-09-27", "2025-09-26", "")],
    )
    holds, judged = op(t["CM"], "--STDTC", "on_or_after_variable", "DM.RFICDTC")
    assert holds == [False, False, True, True, False, False]
    assert judged == [True, True, True, True, True, False]


def test_a_subjects_dm_date_is_spread_to_each_record_by_its_subject(standards: Standards) -> None:
    t = tables(
        standards,
        DM=[{"USUBJID": "S1", "RFPENDTC": "2024-03-01T10:30"}, {"USUBJID": "S2", "RFPENDTC": "2024"}],
        VS=[{"USUBJID": u} for u in ("S2", "S1", "S3", "S1")],
    )
    parts = t["VS"].date_parts("DM.RFPENDTC").tolist()
    assert parts == [[2024, -1, -1, -1, -1, -1], [2024, 3, 1, 10, 30, -1], [-1] * 6, [2024, 3, 1, 10, 30, -1]]


@pytest.mark.parametrize(
    "values",
    [
        ["2024-03-01T10:30:15", "2024-03", "2024", "", "2024-13-01", "not a date", "2024-03-01T10", "2024---01"],
        ["1999-12-31", "2000-01-01T00:00"],
    ],
)
def test_date_parts_are_those_of_the_pattern_the_table_reads(values: list[str]) -> None:
    series = pd.Series(values, dtype=object)
    valid = series.str.fullmatch(DATETIME).fillna(False).astype(bool) & series.ne("")
    expected = np.full((len(values), 6), -1, dtype=np.int64)
    found = series[valid].str.extract(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?")
    expected[valid.to_numpy()] = found.apply(pd.to_numeric, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    assert _parts(series).tolist() == expected.tolist()


def test_at_most_one_within_groups_blank_values_together(standards: Standards) -> None:
    rows = [
        {"USUBJID": "S1", "LBTESTCD": "ALT", "LBCAT": "", "LBBLFL": "Y"},
        {"USUBJID": "S1", "LBTESTCD": "ALT", "LBCAT": "", "LBBLFL": "Y"},
        {"USUBJID": "S1", "LBTESTCD": "ALT", "LBCAT": "CHEMISTRY", "LBBLFL": "Y"},
        {"USUBJID": "S1", "LBTESTCD": "ALT", "LBCAT": "", "LBBLFL": ""},
    ]
    r = rule(
        "at_most_one_within",
        per=("USUBJID", "--TESTCD", "--CAT", "--SPEC"),
        when=(Condition("--BLFL", "equal_to", "Y"),),
        variable="--BLFL",
        optional=("--SPEC",),
    )
    assert hits(tables(standards, LB=rows)["LB"], r) == [([0, 1], "LBBLFL")]


def test_one_value_within_names_the_values_of_each_group(standards: Standards) -> None:
    rows = [
        {"LBTESTCD": "GLUC", "LBSTRESU": "mmol/L"},
        {"LBTESTCD": "GLUC", "LBSTRESU": "mg/dL"},
        {"LBTESTCD": "GLUC", "LBSTRESU": ""},
        {"LBTESTCD": "ALT", "LBSTRESU": "U/L"},
    ]
    r = rule("one_value_within", variable="--STRESU", within=("--TESTCD",))
    found = list(KINDS["one_value_within"].fn(tables(standards, LB=rows)["LB"], r))
    assert [(h.rows.tolist() if h.rows is not None else None, h.detail) for h in found] == [
        ([0, 1], ["values in the group: mg/dL, mmol/L"] * 2)
    ]


def test_one_to_one_within_groups(standards: Standards) -> None:
    rows = [
        {"QSCAT": "A", "QSTESTCD": "T1", "QSTEST": "One"},
        {"QSCAT": "B", "QSTESTCD": "T1", "QSTEST": "Uno"},
        {"QSCAT": "B", "QSTESTCD": "T2", "QSTEST": "Uno"},
        {"QSCAT": "A", "QSTESTCD": "T3", "QSTEST": ""},
    ]
    t = tables(standards, QS=rows)["QS"]
    assert hits(t, rule("one_to_one", variables=("--TESTCD", "--TEST"), within=("--CAT",))) == [([1, 2], "QSTESTCD")]
    assert hits(t, rule("one_to_one", variables=("--TESTCD", "--TEST"))) == [([0, 1, 2], "QSTESTCD")]


def test_refers_to_record_reads_the_parent_of_a_split_dataset_and_numbers_as_numbers(standards: Standards) -> None:
    t = tables(
        standards,
        LBCH=[{"USUBJID": "S1", "LBSEQ": 1}, {"USUBJID": "S2", "LBSEQ": 2}],
        LBHE=[{"USUBJID": "S1", "LBSEQ": 3}],
        SUPPLBCH=[
            {"RDOMAIN": "LB", "USUBJID": "S1", "IDVAR": "LBSEQ", "IDVARVAL": "1.0"},
            {"RDOMAIN": "LB", "USUBJID": "S1", "IDVAR": "LBSEQ", "IDVARVAL": "3"},  # LBHE's, not LBCH's
            {"RDOMAIN": "LB", "USUBJID": "S1", "IDVAR": "LBSEQ", "IDVARVAL": "2"},  # S2's
            {"RDOMAIN": "LB", "USUBJID": "S1", "IDVAR": "LBGRPID", "IDVARVAL": "G1"},  # no such variable
            {"RDOMAIN": "XY", "USUBJID": "S1", "IDVAR": "XYSEQ", "IDVARVAL": "1"},  # no such dataset
        ],
        RELREC=[
            {"RDOMAIN": "LB", "USUBJID": "S1", "IDVAR": "LBSEQ", "IDVARVAL": "3", "RELID": "R1"},
            {"RDOMAIN": "LB", "USUBJID": "", "IDVAR": "LBSEQ", "IDVARVAL": "2", "RELID": "R2"},
            {"RDOMAIN": "LB", "USUBJID": "", "IDVAR": "LBSEQ", "IDVARVAL": "9", "RELID": "R2"},
        ],
    )
    r = rule("refers_to_record", variable="IDVARVAL", names="IDVAR", domain="RDOMAIN", by=("USUBJID",))
    assert hits(t["SUPPLBCH"], r) == [([1, 2], "IDVARVAL")]
    assert hits(t["RELREC"], r) == [([2], "IDVARVAL")]


def test_a_custom_domain_s_prefixed_variables_start_with_its_domain(standards: Standards) -> None:
    custom = standards.with_custom_domain("XP", "Findings", "Example Findings")
    rows = [{"STUDYID": "S", "DOMAIN": "XP", "USUBJID": "1", "XPTESTCD": "A", "LBORRES": "1", "VISITNUM": 1}]
    t = tables(custom, XP=rows)["XP"]
    assert [(h.variable, h.detail) for h in KINDS["custom_domain_prefix"].fn(t, rule("custom_domain_prefix"))] == [
        ("LBORRES", "LBORRES does not start with XP")
    ]
    standard = tables(standards, LB=[{"DOMAIN": "LB", "LBTESTCD": "A", "VSORRES": "1"}])["LB"]
    assert hits(standard, rule("custom_domain_prefix")) == []


def test_names_sdtm_variable_knows_the_parent_domain_s_variables_and_its_class(standards: Standards) -> None:
    qnams = ["AEACNOTH", "AETRTEM", "AESTDY", "EPOCH", "AEORRES"]
    t = tables(standards, SUPPAE=[{"RDOMAIN": "AE", "QNAM": q} for q in qnams])["SUPPAE"]
    assert op(t, "QNAM", "names_sdtm_variable")[0] == [True, False, True, True, False]
