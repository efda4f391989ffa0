"""Every check's behaviour stated as data: tests/checks/cases/<ID>.yaml, one passing and one failing case at least.

A case gives small datasets as rows (numbers become Num variables, text Char), optional protocol
rules (loaded through the real ``protocol_checks:`` loader), the study's ``epochs:`` (EPOCH, dataset,
variable, how, where), the natural keys the study declares (``keys``), the SDTMIG version the package declares (``declared_sdtmig``), an optional
define.xml, optionally
``xpt:`` (the datasets are written as XPT files, ``replace`` swaps bytes in them, and they are read
back with the ``encoding`` given), the largest dataset file (``max_dataset_size``: ``1KB``; default 5GB), and the
findings the check must produce, as ``{dataset, variable, row}`` (row is the 1-based record, or
null for a dataset-level finding), with ``severity`` when the case is about it (then every expected
finding states it). Only findings of the case's check are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ruamel.yaml import YAML

from daybreak_sdtm.checks import CHECKS, CheckContext, validate_package
from daybreak_sdtm.checks.package import Package, package_of, read_package
from daybreak_sdtm.checks.registry import EpochRule
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.spec.protocol import load_protocol
from daybreak_sdtm.standards import Standards, read_standards
from daybreak_sdtm.write.split import parse_size
from tests.helpers import frame_of_records

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("DB*.yaml")):
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        params += [pytest.param(doc["check"], c, id=f"{doc['check']}-{c['id']}") for c in doc["cases"]]
    return params


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def _xpt_package(frames: dict[str, pd.DataFrame], spec: dict[str, Any], folder: Path) -> Package:
    """The datasets written as XPT files, with bytes replaced as the case says, and read back."""
    import pyreadstat

    folder.mkdir()
    for name, frame in frames.items():
        path = folder / f"{name.lower()}.xpt"
        pyreadstat.write_xport(frame, str(path), table_name=name, file_format_version=5)
        data = path.read_bytes()
        for text, hex_bytes in spec.get("replace", []):  # same length: the XPT layout is kept
            assert len(text.encode()) == len(bytes.fromhex(hex_bytes))
            data = data.replace(text.encode(), bytes.fromhex(hex_bytes))
        path.write_bytes(data)
    return read_package(folder, encoding=spec.get("encoding"))


def run_case(code: str, case: dict[str, Any], standards: Standards, tmp_path: Path) -> list[dict[str, Any]]:
    frames = {name: frame_of_records(rows) for name, rows in case["datasets"].items()}
    pkg = _xpt_package(frames, case["xpt"], tmp_path / "xpt") if "xpt" in case else package_of(frames)
    for name, labels in case.get("labels", {}).items():
        pkg.datasets[name].labels = dict(labels)
    protocol: tuple[Any, ...] = ()
    if "protocol" in case:
        study = tmp_path / "study.yaml"
        YAML().dump({"protocol_checks": case["protocol"]}, study)
        protocol = load_protocol(study)
    if "define" in case:
        pkg.define = tmp_path / "define.xml"
        pkg.define.write_text(case["define"], encoding="utf-8")
    epochs = tuple(
        EpochRule(
            e["EPOCH"],
            e["dataset"],
            e["variable"],
            e.get("how", "value"),
            {k: tuple(v) for k, v in e.get("where", {}).items()},
        )
        for e in case.get("epochs", [])
    )
    ctx = CheckContext(
        standards,
        protocol=protocol,
        studyid=case.get("studyid", ""),
        declared_terms={k: frozenset(v) for k, v in case.get("declared_terms", {}).items()},
        declared_sdtmig=case.get("declared_sdtmig", ""),
        epochs=epochs,
        keys={name: tuple(keys) for name, keys in case.get("keys", {}).items()},
        dictionaries={str(code): str(version) for code, version in case.get("dictionaries", {}).items()},
        max_dataset_size=parse_size(case.get("max_dataset_size", "5GB")),
    )
    report = validate_package(pkg, ctx, only=[code])
    return [
        {"dataset": f.dataset, "variable": f.variable, "row": f.row, "severity": str(f.severity)}
        for f in report.findings
        if f.rule == code
    ]


@pytest.mark.parametrize(("code", "case"), _load_cases())
def test_check_case(code: str, case: dict[str, Any], standards: Standards, tmp_path: Path) -> None:
    found = run_case(code, case, standards, tmp_path)
    expected = case["expect"]
    if not any("severity" in e for e in expected):  # a case states severities when they are its point
        found = [{k: v for k, v in f.items() if k != "severity"} for f in found]
    key = lambda d: (d["dataset"], d["variable"], -1 if d["row"] is None else d["row"])  # noqa: E731
    assert sorted(found, key=key) == sorted(expected, key=key)


@pytest.mark.parametrize("code", sorted(CHECKS))
def test_every_check_has_passing_and_failing_cases(code: str) -> None:
    path = CASES_DIR / f"{code}.yaml"
    assert path.exists(), f"add tests/checks/cases/{code}.yaml"
    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert doc["check"] == code
    assert any(not c["expect"] for c in doc["cases"]), f"{code}: add a passing case (expect: [])"
    assert any(c["expect"] for c in doc["cases"]), f"{code}: add a failing case"


def test_every_check_is_documented_and_cited() -> None:
    for code, item in CHECKS.items():
        assert item.doc.strip() and item.references, code
