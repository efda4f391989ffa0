"""No raw record is lost without a word: empty forms, exclusions, missing forms, joins, unpivots.

An empty dataset is not written (FDA wants no empty datasets), but it is warned about, shown in
the convert summary, counted in reconciliation.json and described in define.xml with
def:HasNoData="Yes" (and no def:leaf).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from daybreak_sdtm.cli import main
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.write.define_xml import validate_define
from tests.robustness.conftest import Workspace

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"
NOT_WRITTEN = " is empty and is not written (define.xml describes it with def:HasNoData)"


def reconciliation(ws: Workspace) -> dict:
    return json.loads((ws.out / "reconciliation.json").read_text(encoding="utf-8"))


def domain_line(ws: Workspace, name: str) -> dict:
    return next(d for d in reconciliation(ws)["domains"] if d["domain"] == name)


def item_group(ws: Workspace, name: str) -> etree._Element:
    root = etree.parse(str(ws.out / "define.xml")).getroot()
    return next(g for g in root.iter(f"{ODM}ItemGroupDef") if g.get("Name") == name)


def comment_text(ws: Workspace, oid: str) -> str:
    root = etree.parse(str(ws.out / "define.xml")).getroot()
    comment = next(c for c in root.iter(f"{DEF}CommentDef") if c.get("OID") == oid)
    return comment.findtext(f"{ODM}Description/{ODM}TranslatedText")


def assert_described_without_data(ws: Workspace, name: str) -> None:
    group = item_group(ws, name)
    assert group.get(f"{DEF}HasNoData") == "Yes"
    assert group.get(f"{DEF}ArchiveLocationID") is None
    assert group.find(f"{DEF}leaf") is None
    assert len(group.findall(f"{ODM}ItemRef")) > 3  # the variables the spec maps are still described
    validate_define((ws.out / "define.xml").read_bytes())  # Define-XML 2.1 schema


def no_data_groups(define: bytes) -> list[str]:
    """The datasets a define.xml describes with def:HasNoData="Yes" (not its variables without values)."""
    root = etree.fromstring(define)
    return sorted(g.get("Name") for g in root.iter(f"{ODM}ItemGroupDef") if g.get(f"{DEF}HasNoData") == "Yes")


def summary_row(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.split()[:1] == [name])


def test_a_form_with_a_header_and_no_records(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    path = ws.export / "ae.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    rc, err, out = ws.convert(capsys)
    assert rc == 0, err
    assert err == [f"warning: ae.csv has no records: AE{NOT_WRITTEN}"]
    assert not (ws.out / "ae.xpt").exists() and not (ws.out / "suppae.xpt").exists()
    assert (ws.out / "dm.xpt").is_file()
    assert re.fullmatch(r"AE\s+0\s+-\s+not written: ae\.csv has no records", summary_row(out, "AE"))
    assert re.fullmatch(r"SUPPAE\s+0\s+-\s+not written: AE has no records", summary_row(out, "SUPPAE"))

    ae = domain_line(ws, "AE")
    assert (ae["source_records"], ae["records"], ae["not_written"]) == (0, 0, "ae.csv has no records")
    supp = next(s for s in reconciliation(ws)["supplemental"] if s["dataset"] == "SUPPAE")
    assert (supp["records"], supp["not_written"]) == (0, "AE has no records")
    form = next(f for f in reconciliation(ws)["forms"] if f["form"] == "ae")
    assert (form["file"], form["records"]) == ("ae.csv", 0)
    assert reconciliation(ws)["balanced"] is True

    assert_described_without_data(ws, "AE")
    assert_described_without_data(ws, "SUPPAE")
    assert comment_text(ws, "COM.AE").endswith("No records: ae.csv has no records; the dataset is not submitted.")
    assert "ae.xpt" not in (ws.out / "define.xml").read_text(encoding="utf-8")
    assert "suppae.xpt" not in json.loads((ws.out / "manifest.json").read_text(encoding="utf-8"))["files"]

    # validate does not mind the absent datasets the define describes as having no data
    assert main(["validate", str(ws.out)]) == 0
    assert "DB501" not in capsys.readouterr().out
    assert main(["validate", str(ws.out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [] and "AE" not in report["summary"]["datasets"]

    # the define regenerated from the package's files says the same
    before = (ws.out / "define.xml").read_bytes()
    assert main(["define", "--study", str(ws.study), "--package", str(ws.out)]) == 0
    capsys.readouterr()
    assert_described_without_data(ws, "AE")
    assert no_data_groups(before) == no_data_groups((ws.out / "define.xml").read_bytes()) == ["AE", "SUPPAE"]


def test_a_domain_whose_every_record_is_excluded(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ws.study / "ae.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "  form: ae\n",
            '  form: ae\n  exclude:\n    - when: {STUDY: DAYBREAK-01}\n      reason: "entered in error"\n',
        ),
        encoding="utf-8",
    )
    records = len(ws.form("ae"))
    rc, err, out = ws.convert(capsys)
    assert rc == 0, err
    why = f"all {records} records of ae.csv are excluded by the spec (entered in error)"
    assert err == [f"warning: {why}: AE{NOT_WRITTEN}"]
    assert not (ws.out / "ae.xpt").exists()
    assert re.fullmatch(rf"AE\s+0\s+-\s+not written: {re.escape(why)}", summary_row(out, "AE"))
    ae = domain_line(ws, "AE")
    assert ae["excluded"] == [{"reason": "entered in error", "records": records}]
    assert (ae["records"], ae["source_records_not_used"], ae["not_written"], ae["balanced"]) == (0, records, why, True)
    assert_described_without_data(ws, "AE")


def test_a_missing_form_is_an_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (ws.export / "ae.csv").unlink()
    rc, err, _ = ws.convert(capsys)
    assert rc == 3
    assert err == [f"error: {ws.export}: raw form 'ae' not found (looked for ae.csv, ae.sas7bdat, ae.xpt)"]
    assert not ws.out.exists()


def test_a_missing_form_the_study_lists_as_not_collected(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (ws.export / "ae.csv").unlink()
    study = ws.study / "study.yaml"
    study.write_text(
        study.read_text(encoding="utf-8") + "\nforms_not_collected:\n"
        '  ae: "no adverse events by the data cut-off; the EDC exports no empty form"\n',
        encoding="utf-8",
    )
    rc, err, out = ws.convert(capsys)
    assert rc == 0, err
    why = "form 'ae' is not in the export (forms_not_collected: no adverse events by the data cut-off; the EDC exports no empty form)"
    assert err == [
        "warning: form 'ae' is not in the export; study.yaml lists it under forms_not_collected: "
        "no adverse events by the data cut-off; the EDC exports no empty form",
        f"warning: {why}: AE{NOT_WRITTEN}",
    ]
    assert not (ws.out / "ae.xpt").exists()
    assert re.fullmatch(rf"AE\s+0\s+-\s+not written: {re.escape(why)}", summary_row(out, "AE"))
    form = next(f for f in reconciliation(ws)["forms"] if f["form"] == "ae")
    assert (form["file"], form["records"]) == (None, 0)
    assert form["missing"].startswith("forms_not_collected: no adverse events")
    assert domain_line(ws, "AE")["not_written"] == why
    assert_described_without_data(ws, "AE")


def test_a_missing_form_the_study_does_not_map(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # A form the study lists under forms_not_mapped (the quality-of-life page, say) that the export lacks.
    why = "Quality of life questionnaires, analysed outside this package"
    study = ws.study / "study.yaml"
    study.write_text(study.read_text(encoding="utf-8") + f'\nforms_not_mapped:\n  qol: "{why}"\n', encoding="utf-8")
    assert load_study(ws.study).forms_not_mapped["qol"] == why
    rc, err, _ = ws.convert(capsys)
    assert rc == 0, err
    assert err == [f"warning: form 'qol' is not in the export; study.yaml lists it under forms_not_mapped: {why}"]
    form = next(f for f in reconciliation(ws)["forms"] if f["form"] == "qol")
    assert (form["file"], form["records"], form["missing"]) == (None, 0, f"forms_not_mapped: {why}")


def test_a_joined_record_without_a_subject_is_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("death", 1, "SUBJECT", "")
    rc, err, _ = ws.convert(capsys)
    assert rc == 3
    assert err == [
        "error: death.csv record 1 column SUBJECT: no subject; the DM spec joins form 'death' by subject, "
        "so this record would be lost"
    ]
    assert not ws.out.exists()


def test_a_source_record_that_gives_no_record_is_counted(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ex = ws.form("ex")
    for col in ("TIS_YN", "GEM1_YN", "GEM8_YN", "CIS_YN"):
        ex.loc[2, col] = "No"  # record 3: no drug given that cycle, so no EX record
    ws.save("ex", ex)
    rc, err, _ = ws.convert(capsys)
    assert rc == 0, err
    line = domain_line(ws, "EX")
    assert line["source_records_not_used"] == 1
    assert line["balanced"] and line["candidate_records"] == line["records"] + sum(
        e["records"] for e in line["excluded"]
    )
    lineage = (ws.out / "lineage.csv").read_text(encoding="utf-8").splitlines()
    assert not any(row.startswith("EX,") and row.endswith(",ex.csv,3") for row in lineage)


def test_the_bundled_conversion_writes_every_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "not written" not in captured.out and captured.err == ""
    data = json.loads((tmp_path / "out" / "reconciliation.json").read_text(encoding="utf-8"))
    assert all(d["not_written"] is None for d in data["domains"] + data["supplemental"])
    assert no_data_groups((tmp_path / "out" / "define.xml").read_bytes()) == []


def test_a_form_not_collected_needs_a_reason(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    study = ws.study / "study.yaml"
    study.write_text(study.read_text(encoding="utf-8") + '\nforms_not_collected:\n  ae: ""\n', encoding="utf-8")
    line = ws.line_of("study.yaml", '  ae: ""')
    rc, err, _ = ws.convert(capsys)
    assert rc == 3
    assert err == [
        f"error: {ws.study.as_posix()}/study.yaml:{line}:3: forms_not_collected: "
        "give the reason form 'ae' may be missing from the export"
    ]
