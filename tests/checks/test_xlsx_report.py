"""validate --format xlsx: the report as a workbook in CORE's sheet layout, read back with openpyxl."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from daybreak_sdtm.cli import main

PILOT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cdiscpilot01"


@pytest.mark.skipif(not PILOT.is_dir(), reason="the CDISC pilot package (../shared/reference) is not here")
def test_the_workbook_holds_every_finding_in_cores_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(PILOT, pkg)
    book_path, json_path = tmp_path / "report.xlsx", tmp_path / "report.json"
    main(["validate", str(pkg), "--format", "xlsx", "-o", str(book_path), "-q"])
    main(["validate", str(pkg), "--format", "json", "-o", str(json_path), "-q"])
    findings = json.loads(json_path.read_text(encoding="utf-8"))["findings"]
    book = openpyxl.load_workbook(book_path, read_only=True)
    assert book.sheetnames == [
        "Conformance Details",
        "Dataset Details",
        "Issue Summary",
        "Issue Details",
        "Rules Report",
    ]
    rows = list(book["Issue Details"].iter_rows(values_only=True))
    header, details = rows[0], rows[1:]
    assert header[:5] == ("Check", "CORE-ID", "CDISC RuleID", "FDA RuleID", "Message")
    assert len(details) == len(findings)
    first = dict(zip(header, details[0], strict=True))
    assert first["Check"] == findings[0]["rule"] and first["Message"] == findings[0]["message"]
    seriousness = next(dict(zip(header, row, strict=True)) for row in details if row[0] == "DB203")
    from daybreak_sdtm.checks import CHECKS

    implements = CHECKS["DB203"].implements
    assert (seriousness["CORE-ID"], seriousness["CDISC RuleID"], seriousness["FDA RuleID"]) == (
        ", ".join(implements.core),
        ", ".join(implements.cdisc),
        ", ".join(implements.fda),
    )
    assert "CORE-000022" in seriousness["CORE-ID"] and "CG0041" in seriousness["CDISC RuleID"]
    assert first["Fingerprint"] == findings[0]["fingerprint"]
    rules = {r[0]: r for r in list(book["Rules Report"].iter_rows(values_only=True))[1:]}

    assert set(rules) == set(CHECKS) and rules["DB701"][3:6] == (
        "CORE-000505",
        "CG0285",
        "TRC1734c, SD1115, SD2232, SD2247",
    )
    capsys.readouterr()
    assert main(["validate", str(pkg), "--format", "xlsx"]) == 3
    assert "give the file with -o FILE" in capsys.readouterr().err


def test_convert_publishes_the_workbook_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--out", str(out), "--xlsx-report", "-q"]) == 0
    book = openpyxl.load_workbook(out / "validation.xlsx", read_only=True)
    summary = json.loads((out / "validation.json").read_text(encoding="utf-8"))["summary"]
    details = list(book["Issue Details"].iter_rows(values_only=True))[1:]
    assert len(details) == summary["total"]
    datasets = {row[0] for row in list(book["Dataset Details"].iter_rows(values_only=True))[1:]}
    assert {"DM", "DS", "AE"} <= {str(d).upper() for d in datasets}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "validation.xlsx" in json.dumps(manifest)
    plain = tmp_path / "plain"
    assert main(["convert", "--out", str(plain), "-q"]) == 0
    assert not (plain / "validation.xlsx").exists()
