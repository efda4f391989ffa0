"""The validate, convert --fail-on, lint, explain and list-checks commands: exit codes and reports read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from daybreak_sdtm.checks import CHECKS
from daybreak_sdtm.cli import main
from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.resources import default_export_dir, default_study_dir
from daybreak_sdtm.spec.protocol import load_protocol
from tests.browser import chromium_path, dump_dom
from tests.helpers import edited_study

TS = ["--timestamp", "2026-10-01T00:00:00"]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "sdtm"
    assert main(["convert", "--out", str(out), *TS]) == 0
    return out


@pytest.fixture(scope="module")
def old_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled export with one subject aged 150 (impossible, and outside the protocol's 18-70)."""
    export = tmp_path_factory.mktemp("export") / "export"
    shutil.copytree(default_export_dir(), export)
    dm = export / "dm.csv"
    lines = dm.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    cells = lines[2].rstrip("\r\n").split(",")
    cells[header.index("AGE")] = "150"
    lines[2] = ",".join(cells) + "\n"
    dm.write_text("".join(lines), encoding="utf-8")
    return export


def test_validate_clean_exit_0_and_json(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert main(["validate", str(package), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) == {"findings", "rules", "summary"}
    # The manifest names the study, so its epochs and value-level codelists apply: nothing to report.
    assert doc["summary"]["error"] == 0 and doc["summary"]["warning"] == 0 and doc["findings"] == []


def test_validate_without_the_study_reports_sponsor_terms_as_warnings(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    (copy / "manifest.json").unlink()
    out = tmp_path / "report.json"
    assert main(["validate", str(copy), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["error"] == 0 and doc["summary"]["warning"] == len(doc["findings"]) > 0
    assert set(doc["findings"][0]) >= {
        "rule",
        "severity",
        "dataset",
        "variable",
        "row",
        "usubjid",
        "seq",
        "value",
        "message",
    }
    epoch = [f for f in doc["findings"] if f["variable"] == "EPOCH"]
    assert epoch and {f["rule"] for f in epoch} == {"DB201"}


def _without_variable(package: Path, tmp_path: Path, dataset: str, variable: str) -> Path:
    """A copy of the package whose dataset lacks one variable (labels and name kept)."""
    import pyreadstat

    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    path = copy / f"{dataset.lower()}.xpt"
    frame, meta = pyreadstat.read_xport(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    frame = frame.drop(columns=[variable])
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=meta.file_label,
        table_name=meta.table_name,
        column_labels={c: labels[c] for c in frame.columns},
        file_format_version=5,
    )
    from daybreak_sdtm import api

    api.define(package_dir=copy)  # described anew: the old define would disagree with the data (DB501)
    return copy


def test_validate_fail_on_warning_exit_1_and_junit(package: Path, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    package = _without_variable(package, tmp_path, "DM", "ARMNRS")  # an Expected variable: a warning
    assert main(["validate", str(package), "--fail-on", "warning", "--format", "junit", "-o", str(out)]) == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and int(root.get("failures", "0")) >= 1
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert {"DM", "AE", "SUPPAE"} <= set(suites)
    failed = [c.get("name") for c in suites["DM"].iter("testcase") if c.find("failure") is not None]
    assert failed == ["DB103 structure.expected_variables_present"]
    failure = next(c for c in suites["DM"].iter("testcase") if c.find("failure") is not None).find("failure")
    assert failure is not None and (failure.text or "").startswith(
        "DB103 implements CDISC CG0016; CORE CORE-000334; FDA SD0057\n"
    )
    assert len(list(suites["AE"].iter("testcase"))) == len(CHECKS)


def test_validate_unusable_input_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing")]) == 3
    (tmp_path / "bad.xpt").write_text("not a transport file", encoding="ascii")
    assert main(["validate", str(tmp_path)]) == 3
    assert "not a readable SAS transport" in capsys.readouterr().err


def test_validate_usage_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", ".", "--fail-on", "sometimes"])
    assert exc.value.code == 2


def test_convert_stops_on_findings_and_publishes_nothing(
    old_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--export", str(old_export), "--out", str(out), *TS]) == 1
    assert not out.exists()
    text = capsys.readouterr().out
    # The finding names the raw record and the spec line that produced the value.
    assert "DB106 structure.value_in_range: 1 error(s); DM 1" in text.splitlines()
    line = next(x for x in text.splitlines() if "DB106 error:" in x)
    assert "DB106 error: DM.AGE row" in line and line.endswith("[dm.csv record 2]")
    assert line.startswith((default_study_dir() / "dm.yaml").as_posix() + ":")


def test_convert_fail_on_never_publishes_with_report(old_export: Path, tmp_path: Path) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--export", str(old_export), "--out", str(out), "--fail-on", "never", *TS]) == 0
    doc = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    ages = [f for f in doc["findings"] if f["variable"] == "AGE"]
    assert {f["rule"] for f in ages} == {"DB106", "DB601"}
    assert all(f["source"] == "dm.csv record 2" and f["value"] == "150" for f in ages)
    spec = {f["rule"]: f["spec"] for f in ages}
    assert "/dm.yaml:" in spec["DB106"] and "/study.yaml:" in spec["DB601"]  # variable's line; protocol rule's line
    assert (out / "validation.html").is_file() and (out / "dm.xpt").is_file()


def test_explain_and_list_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "DB201"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("DB201 ct.value_in_codelist") and "SDTMIG 3.4 section 4.3" in text
    assert "Implements:\n  FDA rules: CT2001, CT2002, CT2004, CT2005\n" in text
    assert main(["explain", "DB601"]) == 0
    assert "Implements:\n  no published counterpart: a rule of the study's protocol" in capsys.readouterr().out
    assert main(["explain", "DB999"]) == 3
    assert main(["list-checks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CHECKS)
    assert lines[0].endswith("[CG0014 CORE-000355 SD0056]") and any(
        x.endswith("[no published counterpart]") for x in lines
    )


def test_lint_bundled_specs_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 0


def test_lint_reports_file_line_col(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    ae = study / "ae.yaml"
    ae.write_text(
        ae.read_text(encoding="utf-8").replace(
            "AESER: {derivation: assign_ct, source: AESER}", "AESER: {derivation: asign_ct, source: AESER}"
        ),
        encoding="utf-8",
    )
    assert main(["lint", str(study), "--export", str(default_export_dir())]) == 3
    out = capsys.readouterr().out
    assert f"{ae.as_posix()}:" in out and "unknown derivation 'asign_ct'" in out


def test_protocol_mistakes_are_spec_errors_with_positions(tmp_path: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(
        "protocol_checks:\n  - id: A\n    value: {variable: DMAGE, min: eighteen}\n"
        "  - id: B\n    count: {domain: EX}\n    range: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as exc:
        load_protocol(study)
    text = str(exc.value)
    assert f"{study.as_posix()}:3:" in text and "expected DOMAIN.VARIABLE" in text and "expected a number" in text
    assert f"{study.as_posix()}:6:5" in text and "unknown key 'range'" in text


def test_help_and_lint_are_fast() -> None:
    """`--help` must not import pandas or great-expectations."""
    code = (
        "import sys; from daybreak_sdtm.cli import build_parser; build_parser(); "
        "assert 'great_expectations' not in sys.modules and 'pandas' not in sys.modules"
    )
    done = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_html_report_renders_in_headless_chromium(package: Path, tmp_path: Path) -> None:
    chromium_path()
    assert (package / "validation.html").is_file()
    page = tmp_path / "report.html"
    seeded = _without_variable(package, tmp_path, "DM", "ARMNRS")
    assert (
        main(["validate", str(seeded), "--study", str(default_study_dir()), "--format", "html", "-o", str(page)]) == 0
    )
    dom = dump_dom(page)
    assert '<table id="summary">' in dom and '<table id="findings">' in dom
    assert "DB103" in dom and 'href="#DB103"' in dom and 'id="DB103"' in dom
    assert "0 error(s)" in dom


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "AGE: {derivation: assign_no_ct, source: AGE}",
            "AGE: {derivation: hardcode_no_ct, value: adult}",
            "'adult' is not a number, but AGE is Num in SDTMIG",
        ),
        (
            "DMDY: {derivation: derive_study_day, date: DMDTC}",
            "DMDY: {derivation: derive_study_day, date: SEX}",
            "DM.SEX is not an ISO 8601 date variable",
        ),
        # Every parameter a derivation declares as a date variable is checked, not only the study day's.
        (
            "RFXSTDTC: {derivation: derive_subject_first, variable: EX.EXSTDTC}",
            "RFXSTDTC: {derivation: derive_subject_first, variable: EX.EXTRT}",
            "EX.EXTRT is not an ISO 8601 date variable",
        ),
        # Terms are checked wherever a derivation declares that a parameter writes one.
        (
            "AGEU: {derivation: hardcode_ct, value: YEARS}",
            "AGEU: {derivation: hardcode_ct, value: YRS}",
            "'YRS' is not a submission value of non-extensible codelist AGEU",
        ),
    ],
)
def test_lint_type_mismatches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    dm = study / "dm.yaml"
    text = dm.read_text(encoding="utf-8")
    assert old in text
    dm.write_text(text.replace(old, new), encoding="utf-8")
    assert main(["lint", str(study)]) == 3
    out = capsys.readouterr().out
    assert f"{dm.as_posix()}:" in out and message in out


def test_lint_reads_the_raw_columns_a_template_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study, ex = edited_study(
        tmp_path, "ex.yaml", 'template: "{FOLDER}-{TRT}-D{DAY}"', 'template: "{FOLDR}-{TRT}-D{DAY}"'
    )
    assert main(["lint", str(study), "--export", str(default_export_dir())]) == 3
    out = capsys.readouterr().out
    assert f"{ex.as_posix()}:" in out and "raw column 'FOLDR' not in form 'ex'" in out


def test_validate_declared_sdtmig(package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The package's define.xml declares SDTMIG 3.4; --sdtmig 3.2 says the package follows 3.2,
    # which is checked against the bundled 3.4 metadata: stderr, JSON and HTML say so.
    out = tmp_path / "report.json"
    assert main(["validate", str(package), "--sdtmig", "3.2", "--format", "json", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (
        "standards: declared SDTMIG 3.2; checked against SDTMIG 3.4 metadata, CT 2025-03-28 (SDTMIG 3.2 from --sdtmig)"
        in err
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["standards"] == "declared SDTMIG 3.2; checked against SDTMIG 3.4 metadata, CT 2025-03-28"
    page = tmp_path / "report.html"
    assert main(["validate", str(package), "--sdtmig", "3.2", "--format", "html", "-o", str(page)]) == 0
    assert "Checked against: declared SDTMIG 3.2; checked against SDTMIG 3.4 metadata" in page.read_text(
        encoding="utf-8"
    )
    assert main(["validate", str(package)]) == 0
    assert "standards: SDTMIG 3.4, CT 2025-03-28 (SDTMIG 3.4 declared in define.xml)" in capsys.readouterr().err


def test_validate_sdtmig_of_a_define_2_0(package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Define-XML 2.0 declares the IG on MetaDataVersion (def:StandardName, def:StandardVersion).
    copy = tmp_path / "pkg"
    copy.mkdir()
    shutil.copyfile(package / "dm.xpt", copy / "dm.xpt")
    (copy / "define.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
        'xmlns:def="http://www.cdisc.org/ns/def/v2.0"><Study OID="S"><MetaDataVersion OID="M" Name="M" '
        'def:DefineVersion="2.0.0" def:StandardName="SDTM-IG" def:StandardVersion="3.3">'
        '<ItemGroupDef OID="IG.DM" Name="DM" SASDatasetName="DM"/></MetaDataVersion></Study></ODM>',
        encoding="utf-8",
    )
    main(["validate", str(copy), "-q"])
    assert "standards: declared SDTMIG 3.3; checked against SDTMIG 3.4 metadata" in capsys.readouterr().err


def test_validate_sdtmig_not_known_is_a_usage_error(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(package), "--sdtmig", "3.1.2"])
    assert (
        exc.value.code == 2 and "invalid choice: '3.1.2' (choose from '3.2', '3.3', '3.4')" in capsys.readouterr().err
    )


def test_cli_knows_the_versions_the_checks_know() -> None:
    from daybreak_sdtm import cli
    from daybreak_sdtm.checks.versions import KNOWN_SDTMIG

    assert cli.KNOWN_SDTMIG == KNOWN_SDTMIG
