"""The CDISC pilot package (written by others, SDTMIG 3.2): split datasets, model-allowed variables, trial design."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.checks import CheckContext
from daybreak_sdtm.checks.package import read_package
from daybreak_sdtm.checks.run import validate_package
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards

PILOT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cdiscpilot01"
# Readable datasets covering each kind (ts.xpt holds Windows-1252 bytes and is left out here).
DATASETS = ("dm", "ae", "suppae", "ex", "lbch", "supplbch", "qsco", "sv", "se", "ta", "te", "tv", "ti", "relrec")


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list:
    if not PILOT.is_dir():
        pytest.skip("the shared CDISC pilot package is not beside the project")
    folder = tmp_path_factory.mktemp("pilot")
    for name in DATASETS:
        shutil.copyfile(PILOT / f"{name}.xpt", folder / f"{name}.xpt")
    std = read_standards(specs_dir(), "3.4", "2025-03-28")
    report = validate_package(read_package(folder), CheckContext(std), only=["DB104", "DB107", "DB111", "DB112", "DB303"])
    return list(report.findings)


def test_every_dataset_is_described(findings: list) -> None:
    # LBCH and QSCO are splits of LB and QS, SUPPLBCH a SUPP-- of one; TA, TE, TV, TI are trial design.
    assert [f for f in findings if f.rule == "DB111"] == []


def test_split_datasets_carry_their_domain_code(findings: list) -> None:
    assert [f for f in findings if f.rule == "DB107"] == []
    assert [f for f in findings if f.rule == "DB303"] == []  # SUPPLBCH records point into LBCH


def test_variables_the_class_allows_are_not_reported(findings: list) -> None:
    unknown = {(f.dataset, f.variable) for f in findings if f.rule == "DB112"}
    # AEDTC/AEDY (Events timing) and VISIT/VISITNUM in EX are model-allowed; SV's EPOCH is not
    # (SV is special-purpose, and SDTMIG 3.4 dropped it from SV's table).
    assert unknown == {("SV", "EPOCH")}
    assert [f for f in findings if f.rule == "DB104"] == []
