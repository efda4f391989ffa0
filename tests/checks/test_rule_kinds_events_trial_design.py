"""The operators and kinds the EVENTS, INTERVENTIONS and TRIAL DESIGN rows of the rule table added
(daybreak_sdtm/checks/rule_kinds.py), on the edge cases their rows' examples do not all reach."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from daybreak_sdtm.checks import CheckContext
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.rule_kinds import KINDS, OPERATORS, Condition, Hit, ParamValue, Rule, Scope, Table
from daybreak_sdtm.checks.rule_table import rule_of
from daybreak_sdtm.dataset import dataset_of
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, read_standards
from tests.helpers import frame_of_records


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def table(standards: Standards, name: str, datasets: dict[str, list[dict[str, Any]]]) -> Table:
    """The Table of dataset ``name`` in a package of the given datasets."""
    pkg = Package({n: dataset_of(n, frame_of_records(records), standards) for n, records in datasets.items()})
    ds = pkg.get(name)
    assert ds is not None
    return Table(pkg, ds, CheckContext(standards))


def rule(kind: str, **params: ParamValue) -> Rule:
    return Rule("CORE-000001", (), (), Severity.ERROR, Scope(), kind, params, "m", KINDS[kind].check)


def hits(kind: str, t: Table, **params: ParamValue) -> list[Hit]:
    return list(KINDS[kind].fn(t, rule(kind, **params)))


def test_absent_holds_on_every_record_of_a_dataset_without_the_variable(standards: Standards) -> None:
    t = table(standards, "DS", {"DS": [{"USUBJID": "S1", "DSCAT": "X"}, {"USUBJID": "S2", "DSCAT": "Y"}]})
    assert OPERATORS["absent"].fn(t, "DSSCAT", None).tolist() == [True, True]
    assert OPERATORS["absent"].fn(t, "--CAT", None).tolist() == [False, False]


def test_not_integer_reads_numbers_and_text(standards: Standards) -> None:
    t = table(standards, "TA", {"TA": [{"TAETORD": v} for v in (1, 2.5, None, 3.0)]})
    assert np.asarray(OPERATORS["not_integer"].fn(t, "TAETORD", None)).tolist() == [False, True, False, False]
    t = table(standards, "TS", {"TS": [{"TSVAL": v} for v in ("12", "1.5", "", "twelve")]})
    assert np.asarray(OPERATORS["not_integer"].fn(t, "TSVAL", None)).tolist() == [False, True, False, True]


def test_one_value_needs_two_records_that_all_hold_the_value(standards: Standards) -> None:
    same = table(standards, "MH", {"MH": [{"MHCAT": "GENERAL"}, {"MHCAT": "GENERAL"}, {"MHCAT": "GENERAL"}]})
    [hit] = hits("one_value", same, variable="MHCAT")
    assert hit.rows is None and hit.variable == "MHCAT" and hit.detail == "every record holds GENERAL"
    blank = table(standards, "MH", {"MH": [{"MHCAT": ""}, {"MHCAT": ""}]})
    assert hits("one_value", blank, variable="MHCAT") == []
    chosen = (Condition("MHTERM", "not_equal_to", "X"),)
    mixed = table(standards, "MH", {"MH": [{"MHTERM": "A", "MHCAT": "G"}, {"MHTERM": "X", "MHCAT": "H"}]})
    assert hits("one_value", mixed, variable="MHCAT") == []
    assert hits("one_value", mixed, variable="MHCAT", when=chosen) == []  # one record selected: no grouping to judge


def test_unique_for_counts_blank_values_as_values(standards: Standards) -> None:
    te = table(
        standards,
        "TE",
        {
            "TE": [
                {"ETCD": "TRT", "TESTRL": "First dose", "TEENRL": "", "TEDUR": "P2W"},
                {"ETCD": "TRT", "TESTRL": "First dose", "TEENRL": "Last dose", "TEDUR": "P2W"},
                {"ETCD": "SCRN", "TESTRL": "Consent", "TEENRL": "", "TEDUR": "P2W"},
                {"ETCD": "SCRN", "TESTRL": "Consent", "TEENRL": "", "TEDUR": "P2W"},
            ]
        },
    )
    [hit] = hits("unique_for", te, variables=("TESTRL", "TEENRL", "TEDUR"), each="ETCD")
    assert hit.rows is not None and hit.rows.tolist() == [0, 1] and hit.variable == "ETCD"
    assert hit.detail == ["2 different combinations of TESTRL, TEENRL, TEDUR"] * 2


def test_numbered_without_gaps_reads_a_number_missing_from_the_dataset_as_blank(standards: Standards) -> None:
    ts = table(
        standards,
        "TS",
        {"TS": [{"TSVAL": "a", "TSVAL1": "b", "TSVAL3": "d"}, {"TSVAL": "a", "TSVAL1": "", "TSVAL3": ""}]},
    )
    [hit] = hits("numbered_without_gaps", ts, variable="TSVAL1")
    assert hit.rows is not None and hit.rows.tolist() == [0] and hit.variable == "TSVAL2"
    assert hit.detail == "TSVAL3 is given"


def test_not_after_latest_takes_the_latest_selected_date_of_each_subject(standards: Standards) -> None:
    datasets = {
        "DS": [
            {"USUBJID": "S1", "DSCAT": "DISPOSITION EVENT", "DSSTDTC": "2024-01-31"},
            {"USUBJID": "S1", "DSCAT": "DISPOSITION EVENT", "DSSTDTC": "2024-03-01T10:00"},
            {"USUBJID": "S1", "DSCAT": "OTHER EVENT", "DSSTDTC": "2024-06-01"},
            {"USUBJID": "S1", "DSCAT": "DISPOSITION EVENT", "DSSTDTC": "not a date"},
        ],
        "AE": [
            {"USUBJID": "S1", "AESTDTC": "2024-03-01"},  # equal at the precision both have
            {"USUBJID": "S1", "AESTDTC": "2024-03-01T11:00"},
            {"USUBJID": "S1", "AESTDTC": "2024-05-15"},
            {"USUBJID": "S2", "AESTDTC": "2024-05-15"},
        ],
    }
    ae = table(standards, "AE", datasets)
    params: dict[str, ParamValue] = {"variable": "AESTDTC", "dataset": "DS", "values_of": "DSSTDTC"}
    only = (Condition("DSCAT", "equal_to", "DISPOSITION EVENT"),)
    [hit] = hits("not_after_latest", ae, **params, other_when=only)
    assert hit.rows is not None and hit.rows.tolist() == [1, 2]
    assert hit.detail == ["latest DSSTDTC 2024-03-01T10:00"] * 2
    assert hits("not_after_latest", table(standards, "AE", {"AE": datasets["AE"]}), **params) == []


NULL_FLAVORS = ("PINF", "unk", "Not Applicable", "NA", "asked but unknown")
VALUES = ("PLACEBO", "N", "P65Y", "NATIONAL", "OTHER DRUG")


@pytest.mark.parametrize(("value", "is_null_flavor"), [(v, True) for v in NULL_FLAVORS] + [(v, False) for v in VALUES])
def test_the_null_flavors_of_the_ts_rows_are_iso_21090s_codes_and_names(
    value: str, is_null_flavor: bool, standards: Standards
) -> None:
    row = rule_of("CORE-000787")
    assert row is not None
    pattern = next(c for c in row.conditions("when") if c.operator == "matches")
    other = rule_of("CORE-000041")
    assert other is not None and other.conditions("then")[0].operand == pattern.operand  # the same list in both rows
    t = table(standards, "TS", {"TS": [{"TSVAL": value}]})
    assert np.asarray(OPERATORS["matches"].fn(t, "TSVAL", pattern.operand)).tolist() == [is_null_flavor]


def test_parent_record_follows_idvar_to_the_dataset_the_supp_name_follows(standards: Standards) -> None:
    supp = [
        {"USUBJID": "S1", "RDOMAIN": "LB", "IDVAR": "LBSEQ", "IDVARVAL": "1", "QNAM": "LBX", "QVAL": "a"},
        {"USUBJID": "S1", "RDOMAIN": "LB", "IDVAR": "LBSEQ", "IDVARVAL": "2", "QNAM": "LBX", "QVAL": "b"},
        {"USUBJID": "S1", "RDOMAIN": "LB", "IDVAR": "", "IDVARVAL": "", "QNAM": "LBX", "QVAL": "c"},
        {"USUBJID": "S1", "RDOMAIN": "LB", "IDVAR": "LBGRPID", "IDVARVAL": "G1", "QNAM": "LBX", "QVAL": "d"},
        {"USUBJID": "S1", "RDOMAIN": "LB", "IDVAR": "LBSEQ", "IDVARVAL": "2", "QNAM": "LBY", "QVAL": "e"},
    ]
    lbch = [{"USUBJID": "S1", "LBSEQ": 1, "LBTESTCD": "ALB"}, {"USUBJID": "S1", "LBSEQ": 2, "LBTESTCD": "GLUC"}]
    t = table(standards, "SUPPLBCH", {"SUPPLBCH": supp, "LBCH": lbch})
    when = (Condition("QNAM", "equal_to", "LBX"),)
    then = (Condition("LBTESTCD", "equal_to", "ALB"),)
    [hit] = hits("parent_record", t, when=when, then=then, variable="QVAL")
    assert hit.rows is not None and hit.rows.tolist() == [1] and hit.variable == "QVAL"
    alone = table(standards, "SUPPLBCH", {"SUPPLBCH": supp})
    assert hits("parent_record", alone, when=when, then=then, variable="QVAL") == []
