"""Labels edited in a spec workbook (or an imported define.xml) are the labels of the data files too.

A dataset label and a variable label imported into the study's metadata file are written to the
XPT header, to the Dataset-JSON file and to define.xml alike (read back with pyreadstat, json and
lxml); a label an XPT file cannot hold (over 40 characters, not ASCII) is refused at its sheet, row
and column, exit status 3, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api, cli
from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.spec import load_study
from tests.define.conftest import TIMESTAMP, text, xp
from tests.define.test_spec_workbook import find, rows

DATASET_LABEL = "Adverse Events of the Daybreak-01 study"
VARIABLE_LABEL = "Adverse Event Verbatim Term"  # SDTMIG: Reported Term for the Adverse Event


def relabel(source: Path, target: Path, dataset: str, variable: str) -> None:
    book = openpyxl.load_workbook(source)
    find(book["Datasets"], Dataset="AE")["Label"].value = dataset
    find(book["Variables"], Dataset="AE", Variable="AETERM")["Label"].value = variable
    book.save(target)


def test_imported_labels_are_the_labels_of_xpt_json_and_define(exported: Path, study: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    relabel(exported, edited, DATASET_LABEL, VARIABLE_LABEL)
    api.spec_import(edited, study)
    out = tmp_path / "pkg"
    api.convert(study_dir=study, out_dir=out, timestamp=TIMESTAMP, formats=("xpt", "json"))

    _, meta = pyreadstat.read_xport(str(out / "ae.xpt"), metadataonly=True)
    assert meta.file_label == DATASET_LABEL
    assert meta.column_names_to_labels["AETERM"] == VARIABLE_LABEL
    assert meta.column_names_to_labels["AEDECOD"] == "Dictionary-Derived Term"  # not edited: SDTMIG's

    doc = json.loads((out / "ae.json").read_text(encoding="utf-8"))
    assert doc["label"] == DATASET_LABEL
    assert {c["name"]: c["label"] for c in doc["columns"]}["AETERM"] == VARIABLE_LABEL

    define = etree.parse(str(out / "define.xml"))
    assert text(xp(define, "//odm:ItemGroupDef[@OID='IG.AE']")[0]) == DATASET_LABEL
    assert text(xp(define, "//odm:ItemDef[@OID='IT.AE.AETERM']")[0]) == VARIABLE_LABEL

    # validate's define check finds the data and the define agreeing.
    report = api.validate(out).report
    assert not [f for f in report.findings if f.rule == "DB501"]


def test_import_from_a_package_with_edited_labels_keeps_them(exported: Path, study: Path, tmp_path: Path) -> None:
    """The package's XPT files hold the edited labels: an import against it still records them as edits."""
    edited = tmp_path / "edited.xlsx"
    relabel(exported, edited, DATASET_LABEL, VARIABLE_LABEL)
    api.spec_import(edited, study)
    first = (study / "metadata.yaml").read_text(encoding="utf-8")
    out = tmp_path / "pkg"
    api.convert(study_dir=study, out_dir=out, timestamp=TIMESTAMP)
    again = tmp_path / "again.xlsx"
    api.spec_export(again, study, package_dir=out)
    assert find(openpyxl.load_workbook(again)["Datasets"], Dataset="AE")["Label"].value == DATASET_LABEL
    api.spec_import(again, study, package_dir=out)
    assert (study / "metadata.yaml").read_text(encoding="utf-8") == first


@pytest.mark.parametrize(
    ("sheet", "label", "problem"),
    [
        ("Variables", "A" * 41, "is 41 characters: an XPT v5 label holds at most 40"),
        ("Datasets", "Événements indésirables", "holds non-ASCII characters (Éé): an XPT v5 label is ASCII"),
    ],
)
def test_labels_an_xpt_file_cannot_hold_are_refused(
    exported: Path,
    study: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sheet: str,
    label: str,
    problem: str,
) -> None:
    key = {"Dataset": "AE", "Variable": "AETERM"} if sheet == "Variables" else {"Dataset": "AE"}
    row = next(i for i, r in enumerate(rows(exported, sheet), 2) if all(r[k] == v for k, v in key.items()))
    column = "D" if sheet == "Variables" else "B"
    bad = tmp_path / "bad.xlsx"
    book = openpyxl.load_workbook(exported)
    find(book[sheet], **key)["Label"].value = label
    book.save(bad)
    status = cli.main(["spec", "import", str(bad), "--study", str(study)])
    assert status == 3
    err = capsys.readouterr().err
    assert f"sheet {sheet}, row {row}, column Label ({column}{row}): {label!r} {problem}" in err
    assert not (study / "metadata.yaml").exists()


def test_a_metadata_file_with_a_label_too_long_for_xpt_is_a_spec_error(study: Path) -> None:
    (study / "metadata.yaml").write_text(f"variables:\n  AE.AETERM: {{label: {'B' * 45}}}\n", encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_study(study)
    assert "metadata.yaml:2:22: variables.AE.AETERM.label: " in str(caught.value)
    assert "is 45 characters" in str(caught.value)
