"""SARIF 2.1.0 from lint and validate: valid against the OASIS schema, each finding at its spec line or dataset file."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from daybreak_sdtm import __version__
from daybreak_sdtm.checks import CHECKS
from daybreak_sdtm.cli import main
from daybreak_sdtm.findings import BaselineChange, Finding, Report, Severity
from daybreak_sdtm.report.sarif import SRCROOT, artifact_location, render_sarif, spec_location
from daybreak_sdtm.resources import default_export_dir, default_study_dir
from daybreak_sdtm.spec import load_study
from tests.helpers import SARIF_SCHEMA, sarif_log

TS = ["--timestamp", "2026-10-01T00:00:00"]
LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def only_run(log: dict[str, Any]) -> dict[str, Any]:
    """The one run of a log, whose results name their rules by id and index."""
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "daybreak-sdtm" and driver["version"] == __version__
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    return run


def test_the_vendored_schema_is_the_oasis_sarif_2_1_0_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


@pytest.fixture
def broken_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int, int]:
    """The bundled mapping copied into the working directory (tmp_path), one derivation misspelt:
    (its ae.yaml as a relative path, the line and column of the misspelt name)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(default_study_dir(), "study")
    ae = Path("study/ae.yaml")
    lines = ae.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines) if text.lstrip().startswith("AESER:"))
    lines[line] = lines[line].replace("assign_ct", "asign_ct")
    ae.write_text("".join(lines), encoding="utf-8")
    return ae, line + 1, lines[line].index("asign_ct") + 1


def test_lint_sarif_puts_a_spec_problem_at_its_line_and_column(
    broken_study: tuple[Path, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    ae, line, col = broken_study
    assert main(["lint", "study", "--format", "sarif", "-o", "lint.sarif"]) == 3
    out = capsys.readouterr().out
    assert f"{ae.as_posix()}:{line}:{col}: AESER.derivation: unknown derivation 'asign_ct'" in out  # as in text
    run = only_run(sarif_log(Path("lint.sarif").read_text(encoding="utf-8")))
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["LINT001", "LINT002"]
    assert rules[0]["defaultConfiguration"] == {"level": "error"} and rules[0]["shortDescription"]["text"]
    [result] = run["results"]
    assert result["ruleId"] == "LINT001" and result["level"] == "error"
    assert result["message"]["text"].startswith("AESER.derivation: unknown derivation 'asign_ct'")
    [location] = result["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "study/ae.yaml", "uriBaseId": SRCROOT},
        "region": {"startLine": line, "startColumn": col},
    }


def test_lint_sarif_to_stdout_and_the_counts_on_stderr(
    broken_study: tuple[Path, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", "study", "--format", "sarif"]) == 3
    captured = capsys.readouterr()
    run = only_run(sarif_log(captured.out))
    assert [r["ruleId"] for r in run["results"]] == ["LINT001"]
    assert "1 problem(s) in study" in captured.err


def test_lint_sarif_of_sound_specs_has_no_results(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--format", "sarif"]) == 0
    captured = capsys.readouterr()
    assert only_run(sarif_log(captured.out))["results"] == [] and "specs OK" in captured.err


def test_lint_values_sarif_puts_a_raw_value_at_the_spec_entry_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(default_study_dir(), "study")
    shutil.copytree(default_export_dir(), "export")
    ae = Path("export/ae.csv")
    lines = ae.read_text(encoding="utf-8").splitlines(keepends=True)
    date = lines[1].split(",")[lines[0].split(",").index("AESTDAT")]
    lines[1] = lines[1].replace(date, "31-FEB-2025", 1)
    ae.write_text("".join(lines), encoding="utf-8")
    assert main(["lint", "study", "--export", "export", "--values", "--format", "sarif", "-o", "v.sarif"]) == 3
    run = only_run(sarif_log(Path("v.sarif").read_text(encoding="utf-8")))
    [result] = run["results"]
    assert result["ruleId"] == "LINT002"
    assert result["message"]["text"] == (
        "AE.AESTDTC: not a calendar date: '31-FEB-2025' [ae.csv record 1 column AESTDAT]"
    )
    domain = load_study(Path("study")).domain("AE")
    variable = domain.variable("AESTDTC") if domain is not None else None
    assert variable is not None
    where = variable.where
    [location] = result["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "study/ae.yaml", "uriBaseId": SRCROOT}
    assert location["physicalLocation"]["region"] == {"startLine": where.line, "startColumn": where.col}
    assert location["logicalLocations"] == [{"name": "AESTDTC", "fullyQualifiedName": "AE.AESTDTC", "kind": "variable"}]


@pytest.fixture(scope="module")
def aged_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package converted (--fail-on never) from the bundled export with one subject aged 150:
    an error of DM.AGE (DB106) and a protocol rule broken (DB601, at its line of study.yaml)."""
    root = tmp_path_factory.mktemp("sarif")
    export = root / "export"
    shutil.copytree(default_export_dir(), export)
    dm = export / "dm.csv"
    lines = dm.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    cells = lines[2].rstrip("\r\n").split(",")
    cells[header.index("AGE")] = "150"
    lines[2] = ",".join(cells) + "\n"
    dm.write_text("".join(lines), encoding="utf-8")
    out = root / "pkg"
    assert main(["convert", "--export", str(export), "--out", str(out), "--fail-on", "never", "-q", *TS]) == 0
    return out


def test_validate_sarif_points_at_the_dataset_file_and_the_protocol_line(
    aged_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(aged_package.parent)
    assert main(["validate", "pkg", "--format", "sarif", "-o", "v.sarif", "-q"]) == 1  # errors, --fail-on error
    run = only_run(sarif_log(Path("v.sarif").read_text(encoding="utf-8")))
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(CHECKS)
    for rule in rules:
        assert rule["defaultConfiguration"]["level"] == LEVELS[str(CHECKS[rule["id"]].severity)]
        assert rule["name"] == CHECKS[rule["id"]].name and rule["shortDescription"]["text"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert {"DB106", "DB601"} <= set(by_rule)

    age = by_rule["DB106"]
    assert age["level"] == "error" and "DM.AGE row 2 USUBJID=" in age["message"]["text"]
    [location] = age["locations"]
    assert location["physicalLocation"] == {"artifactLocation": {"uri": "pkg/dm.xpt", "uriBaseId": SRCROOT}}
    assert location["logicalLocations"] == [{"name": "AGE", "fullyQualifiedName": "DM.AGE", "kind": "variable"}]
    assert age["properties"]["row"] == 2 and age["partialFingerprints"]

    # The protocol rule is at its line in the copy of study.yaml the package carries, the dataset beside it.
    rule = next(r for r in load_study(Path("pkg/mapping")).protocol_checks if r.id == "ELIG-AGE")
    protocol = by_rule["DB601"]
    [location] = protocol["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "pkg/mapping/study.yaml", "uriBaseId": SRCROOT},
        "region": {"startLine": rule.where.line, "startColumn": rule.where.col},
    }
    [related] = protocol["relatedLocations"]
    assert related["physicalLocation"] == {"artifactLocation": {"uri": "pkg/dm.xpt", "uriBaseId": SRCROOT}}

    for result in run["results"]:  # every other finding is at the file of its dataset
        if "relatedLocations" not in result:
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri == f"pkg/{result['properties']['dataset'].lower()}.xpt"


def test_validate_sarif_exit_status_follows_fail_on(aged_package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(aged_package), "--format", "sarif", "--fail-on", "never", "-q"]) == 0
    results = only_run(sarif_log(capsys.readouterr().out))["results"]  # to stdout without -o
    assert any(r["level"] == "error" for r in results)


def test_sarif_writer_baseline_dispositions_and_paths(tmp_path: Path) -> None:
    found = Finding("DB201", Severity.WARNING, "AE", "EPOCH", 3, "not in codelist", fingerprint="aa")
    excused = dataclasses.replace(
        Finding("DB305", Severity.NOTE, "DM", "ACTARMCD", 1, "arm differs", fingerprint="bb"),
        disposition="explained",
        explanation="Protocol amendment 2.",
    )
    package = Finding("DB702", Severity.ERROR, "", "", None, "no define.xml")
    report = dataclasses.replace(
        Report.of([found, excused, package], ["AE", "DM"]),
        files={"AE": "pkg/ae.xpt", "": "pkg"},
        baseline=BaselineChange(frozenset({"aa"}), frozenset({"bb"}), ()),
    )
    results = {r["ruleId"]: r for r in only_run(sarif_log(render_sarif(report, tmp_path)))["results"]}
    assert results["DB201"]["baselineState"] == "new" and "suppressions" not in results["DB201"]
    assert results["DB305"]["baselineState"] == "unchanged"
    assert results["DB305"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "explained: Protocol amendment 2."}
    ]
    assert results["DB305"]["locations"] == [  # DM's file is not known: the package's folder, DM named
        {
            "physicalLocation": {"artifactLocation": {"uri": "pkg/", "uriBaseId": SRCROOT}},
            "logicalLocations": [{"name": "ACTARMCD", "fullyQualifiedName": "DM.ACTARMCD", "kind": "variable"}],
        }
    ]
    assert results["DB702"]["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "pkg/", "uriBaseId": SRCROOT}}}
    ]
    outside = tmp_path.parent / "elsewhere" / "ae.xpt"
    assert artifact_location(str(outside), tmp_path) == {"uri": outside.as_uri()}
    assert spec_location("my study/ae.yaml:12:5 AE.AESTDTC", tmp_path) == {
        "artifactLocation": {"uri": "my%20study/ae.yaml", "uriBaseId": SRCROOT},
        "region": {"startLine": 12, "startColumn": 5},
    }
