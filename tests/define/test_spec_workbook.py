"""spec export / spec import: the define's metadata as a spec workbook (P21 template layout) and back.

The workbooks are read back with openpyxl, define.xml with lxml: export -> import -> export is
identical cell by cell, a sponsor's edits reach define.xml after a conversion, bad workbooks are
refused with their sheet, row and column and write nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from lxml import etree

from daybreak_sdtm import api, cli
from daybreak_sdtm.define.spec_import import ImportErrors, read_define
from daybreak_sdtm.define.tables import SHEETS
from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.spec import load_study
from tests.define.conftest import NS, TIMESTAMP, text, xp

PILOT_DEFINE = Path("/work/shared/reference/cdiscpilot01/define.xml")


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's rows as openpyxl reads them back."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()


def rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    """One sheet's rows as {column: value}."""
    header, *body = cells(path)[sheet]
    return [dict(zip(header, row, strict=False)) for row in body]


def find(ws: Any, **match: str) -> dict[str, Any]:
    """The cells of the first row of an openpyxl worksheet whose columns hold ``match``."""
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        by_column = dict(zip(header, row, strict=False))
        if all(by_column[k].value == v for k, v in match.items()):
            return by_column
    raise KeyError(match)


def edit(source: Path, target: Path) -> None:
    """A sponsor's edits: labels, an origin with its method and comment, a method's text, a decode,
    and a new value-level item with its where clause."""
    book = openpyxl.load_workbook(source)
    find(book["Variables"], Dataset="AE", Variable="AETERM")["Label"].value = "Reported Adverse Event Term"
    age = find(book["Variables"], Dataset="DM", Variable="AGE")
    age["Origin"].value, age["Source"].value = "Derived", "Sponsor"
    age["Pages"].value = None  # a derived value cites no CRF page
    age["Method"].value, age["Comment"].value = "MT.DM.AGE", "COM.DM.AGE"
    book["Methods"].append(["MT.DM.AGE", "Algorithm to derive DM.AGE", "Computation", "Completed years at consent"])
    book["Comments"].append(["COM.DM.AGE", "As the EDC calculated it at informed consent"])
    find(book["Methods"], ID="MT.AE.AEACN")["Description"].value = "Edited: the action taken with study treatment"
    find(book["Datasets"], Dataset="AE")["Label"].value = "Adverse Events (sponsor)"
    find(book["Codelists"], ID="CL.NY", Term="Y")["Decoded Value"].value = "Yes (affirmed)"
    book["WhereClauses"].append(["WC.DM.AGE.SEX_F", "DM", "SEX", "EQ", "F"])
    header = [c.value for c in book["ValueLevel"][1]]
    new = {"Order": 1, "Dataset": "DM", "Variable": "AGE", "Where Clause": "WC.DM.AGE.SEX_F"}
    new |= {"Label": "Age of female subjects", "Data Type": "integer", "Length": 2, "Mandatory": "No"}
    new |= {"Origin": "Collected", "Source": "Investigator"}
    book["ValueLevel"].append([new.get(column) for column in header])
    book.save(target)


def test_export_writes_the_template_sheets_as_define_says(exported: Path, define_doc: etree._ElementTree) -> None:
    book = cells(exported)
    assert list(book) == list(SHEETS)
    for name, columns in SHEETS.items():
        assert book[name][0] == columns
    variables = rows(exported, "Variables")
    groups = xp(define_doc, "//odm:ItemGroupDef")
    assert [r["Dataset"] for r in rows(exported, "Datasets")] == [g.get("Name") for g in groups]
    assert len(variables) == len(xp(define_doc, "//odm:ItemGroupDef/odm:ItemRef"))
    aeterm = next(r for r in variables if (r["Dataset"], r["Variable"]) == ("AE", "AETERM"))
    item = xp(define_doc, "//odm:ItemDef[@OID='IT.AE.AETERM']")[0]
    assert aeterm["Label"] == text(item)
    assert aeterm["Length"] == int(item.get("Length"))
    assert aeterm["Origin"] == xp(item, "def:Origin/@Type")[0]
    assert len(rows(exported, "ValueLevel")) == len(xp(define_doc, "//def:ValueListDef/odm:ItemRef"))
    methods = {m.get("OID"): text(m) for m in xp(define_doc, "//odm:MethodDef")}
    assert {r["ID"]: r["Description"] for r in rows(exported, "Methods")} == methods
    codelists = {r["ID"] for r in rows(exported, "Codelists")} | {r["ID"] for r in rows(exported, "Dictionaries")}
    assert codelists == {c.get("OID") for c in xp(define_doc, "//odm:CodeList")}
    assert {r["ID"] for r in rows(exported, "Dictionaries")} == {"CL.ISO3166", "CL.MEDDRA"}


def test_an_unchanged_workbook_imports_no_edits(exported: Path, study: Path) -> None:
    result = api.spec_import(exported, study)
    assert result.path == study / "metadata.yaml"
    assert result.notes == ()
    loaded = load_study(study).metadata
    assert loaded is not None and loaded.empty


def test_edits_round_trip_and_reach_define_xml(exported: Path, study: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    edit(exported, edited)
    result = api.spec_import(edited, study)
    assert (result.datasets, result.variables, result.value_level, result.methods) == (1, 2, 1, 2)
    assert (result.comments, result.codelists) == (1, 1)
    first = (study / "metadata.yaml").read_text(encoding="utf-8")
    assert "Reported Adverse Event Term" in first

    again = tmp_path / "again.xlsx"
    api.spec_export(again, study)
    for sheet in ("Variables", "Datasets", "Methods", "Comments", "Codelists", "ValueLevel", "WhereClauses"):
        assert sorted(map(repr, cells(again)[sheet])) == sorted(map(repr, cells(edited)[sheet])), sheet
    # export -> import -> export: the same metadata file, the same workbook, cell by cell.
    api.spec_import(again, study)
    assert (study / "metadata.yaml").read_text(encoding="utf-8") == first
    third = tmp_path / "third.xlsx"
    api.spec_export(third, study)
    assert cells(third) == cells(again)

    out = tmp_path / "pkg"
    api.convert(study_dir=study, out_dir=out, timestamp=TIMESTAMP)
    doc = etree.parse(str(out / "define.xml"))
    assert text(xp(doc, "//odm:ItemDef[@OID='IT.AE.AETERM']")[0]) == "Reported Adverse Event Term"
    assert text(xp(doc, "//odm:ItemGroupDef[@OID='IG.AE']")[0]) == "Adverse Events (sponsor)"
    age = xp(doc, "//odm:ItemDef[@OID='IT.DM.AGE']")[0]
    assert xp(age, "def:Origin/@Type") == ["Derived"] and age.get(f"{{{NS['def']}}}CommentOID") == "COM.DM.AGE"
    assert xp(doc, "//odm:ItemGroupDef[@OID='IG.DM']/odm:ItemRef[@ItemOID='IT.DM.AGE']/@MethodOID") == ["MT.DM.AGE"]
    assert text(xp(doc, "//odm:MethodDef[@OID='MT.DM.AGE']")[0]) == "Completed years at consent"
    assert text(xp(doc, "//odm:MethodDef[@OID='MT.AE.AEACN']")[0]).startswith("Edited:")
    assert text(xp(doc, "//def:CommentDef[@OID='COM.DM.AGE']")[0]) == "As the EDC calculated it at informed consent"
    assert xp(doc, "//odm:CodeList[@OID='CL.NY']/odm:CodeListItem[@CodedValue='Y']/odm:Decode/odm:TranslatedText")[
        0
    ].text == ("Yes (affirmed)")
    assert xp(doc, "//def:ValueListDef[@OID='VL.DM.AGE']/odm:ItemRef/def:WhereClauseRef/@WhereClauseOID") == [
        "WC.DM.AGE.SEX_F"
    ]
    assert xp(doc, "//odm:ItemDef[@OID='IT.DM.AGE']/def:ValueListRef/@ValueListOID") == ["VL.DM.AGE"]
    assert (out / "mapping" / "metadata.yaml").is_file()  # the package carries its metadata


def test_define_xml_imports_like_a_workbook(package: Path, study: Path, tmp_path: Path) -> None:
    result = api.spec_import(package / "define.xml", study)
    assert (result.variables, result.methods, result.notes) == (0, 0, ())
    doc = etree.parse(str(package / "define.xml"))
    label = xp(doc, "//odm:ItemDef[@OID='IT.AE.AETERM']/odm:Description/odm:TranslatedText")[0]
    label.text = "Term as reported"
    xp(doc, "//odm:ItemDef[@OID='IT.AE.AETERM']/def:Origin")[0].set("Type", "Assigned")
    edited = tmp_path / "define.xml"
    doc.write(str(edited))
    result = api.spec_import(edited, study)
    assert result.variables == 1
    variable = load_study(study).metadata.variables[0]  # type: ignore[union-attr]
    assert (variable.edit.label, variable.edit.origin) == ("Term as reported", "Assigned")


@pytest.mark.skipif(not PILOT_DEFINE.is_file(), reason="the CDISC pilot package is not here")
def test_a_define_20_is_read_and_its_other_study_refused(study: Path) -> None:
    sheets = read_define(PILOT_DEFINE)
    doc = etree.parse(str(PILOT_DEFINE))
    ns = {"odm": NS["odm"], "def": "http://www.cdisc.org/ns/def/v2.0"}
    assert len(sheets["Datasets"]) == len(doc.xpath("//odm:ItemGroupDef", namespaces=ns))
    assert len(sheets["Variables"]) == len(doc.xpath("//odm:ItemGroupDef/odm:ItemRef", namespaces=ns))
    assert len(sheets["ValueLevel"]) == len(doc.xpath("//def:ValueListDef/odm:ItemRef", namespaces=ns))
    crf = [r for r in sheets["Variables"] if r.get("Origin") == "Collected"]
    assert crf and {r.get("Source") for r in crf} <= {"Investigator", "Vendor"}  # 2.0's CRF and eDT
    with pytest.raises(ImportErrors) as caught:
        api.spec_import(PILOT_DEFINE, study)
    assert any(
        ": ItemGroupDef CM, column Dataset" in line and "'CM' is not a dataset of the study" in line
        for line in caught.value.lines()
    )
    assert not (study / "metadata.yaml").exists()


def broken(source: Path, target: Path, how: str) -> None:
    book = openpyxl.load_workbook(source)
    if how == "sheet":
        del book["Methods"]
    elif how == "column":
        book["Variables"].cell(1, 5).value = "Datatype"
    elif how == "variable":
        find(book["Variables"], Dataset="AE", Variable="AETERM")["Variable"].value = "AETERMX"
    elif how == "origin":
        find(book["Variables"], Dataset="AE", Variable="AETERM")["Origin"].value = "CRF"
    book.save(target)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("sheet", "sheet Methods is missing"),
        ("column", "sheet Variables, column 'Datatype' (E1): unknown column; did you mean 'Data Type'?"),
        ("variable", "sheet Variables, row {row}, column Variable (C{row}): AE.AETERMX is not a variable of the study"),
        ("origin", "sheet Variables, row {row}, column Origin (M{row}): 'CRF' is not a Define-XML 2.1 origin type"),
    ],
)
def test_bad_workbooks_are_refused_with_their_place(
    exported: Path, study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, message: str
) -> None:
    row = next(
        i for i, r in enumerate(rows(exported, "Variables"), 2) if (r["Dataset"], r["Variable"]) == ("AE", "AETERM")
    )
    bad = tmp_path / "bad.xlsx"
    broken(exported, bad, how)
    status = cli.main(["spec", "import", str(bad), "--study", str(study)])
    assert status == 3
    assert message.format(row=row) in capsys.readouterr().err
    assert not (study / "metadata.yaml").exists()


def test_a_metadata_file_naming_an_unknown_variable_is_a_spec_error(study: Path, tmp_path: Path) -> None:
    (study / "metadata.yaml").write_text("variables:\n  AE.AETERMX: {label: Term}\n", encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        api.spec_export(tmp_path / "spec.xlsx", study)
    assert "metadata.yaml:2:3: AE.AETERMX: not a variable of the define" in str(caught.value)
    assert not (tmp_path / "spec.xlsx").exists()
