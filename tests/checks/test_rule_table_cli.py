"""The rule table end to end: `daybreak-sdtm validate` on a small package written to disk, its
JSON and xlsx reports read back, and `explain` / `list-checks` naming the table's CORE ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "daybreak_sdtm", *args], capture_output=True, text=True, env=env, check=False
    )


def _write(folder: Path, name: str, frame: pd.DataFrame) -> None:
    pyreadstat.write_xport(frame, str(folder / f"{name.lower()}.xpt"), table_name=name, file_format_version=5)


def test_validate_reports_each_core_rule_of_the_table_on_its_record(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    # Variables in SDTMIG's order (CORE-000852). S1 has no arm and no ARMNRS (CORE-000045 and CORE-000046 both at ARMNRS of its record);
    # S2 was consented after the first dose (CORE-000658) and has AGE without AGEU (CORE-000189).
    _write(
        pkg,
        "DM",
        pd.DataFrame(
            {
                "STUDYID": ["X1", "X1"],
                "DOMAIN": ["DM", "DM"],
                "USUBJID": ["X1-S1", "X1-S2"],
                "SUBJID": ["S1", "S2"],
                "RFXSTDTC": ["", "2024-02-01"],
                "RFICDTC": ["2024-01-01", "2024-02-03"],
                "AGE": [30.0, 41.0],
                "AGEU": ["YEARS", ""],
                "ARMCD": ["", "A"],
                "ARM": ["", "Drug A"],
                "ARMNRS": ["", ""],
            }
        ),
    )
    report = tmp_path / "report.json"
    done = _cli("validate", str(pkg), "--format", "json", "-o", str(report), "-q")
    assert done.returncode == 1, done.stderr  # ExitStatus.FINDINGS: errors, at --fail-on error
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    table = {(f["core"], f["rule"], f["variable"], f["usubjid"], f["severity"]) for f in findings if f["core"]}
    assert table == {
        ("CORE-000045", "DB205", "ARMNRS", "X1-S1", "error"),
        ("CORE-000046", "DB205", "ARMNRS", "X1-S1", "error"),
        ("CORE-000658", "DB412", "RFICDTC", "X1-S2", "warning"),
        ("CORE-000189", "DB205", "AGEU", "X1-S2", "error"),
    }
    armnrs = [f for f in findings if f["core"] in ("CORE-000045", "CORE-000046")]
    assert armnrs[0]["fingerprint"] != armnrs[1]["fingerprint"]  # two rules of one check, one record
    assert all(f["message"].startswith(f"{f['core']}: ") for f in findings if f["core"])

    book = tmp_path / "report.xlsx"
    _cli("validate", str(pkg), "--format", "xlsx", "-o", str(book), "-q")
    sheet = openpyxl.load_workbook(book)["Issue Details"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    ids = {
        tuple(r[header.index(c)] or "" for c in ("CORE-ID", "CDISC RuleID", "FDA RuleID"))
        for r in rows[1:]
        if r[header.index("Check")] in ("DB205", "DB412")
    }
    assert ids == {
        ("CORE-000045", "CG0517", ""),
        ("CORE-000046", "CG0519", ""),
        ("CORE-000658", "", "FB3412"),
        ("CORE-000189", "CG0665", ""),
    }


def test_explain_and_list_checks_name_the_rows_of_the_table() -> None:
    explained = _cli("explain", "DB205")
    assert explained.returncode == 0
    assert "CORE-000045" in explained.stdout and "CG0517" in explained.stdout
    listed = _cli("list-checks")
    assert "DB114" in listed.stdout and "structure.core_rules" in listed.stdout
