"""Rows deleted from a spec workbook: what a sponsor added goes, what the specs, the standards or the data give stays.

The metadata file is made anew from each import, so a sponsor's codelist term, value-level row,
method, comment or codelist deleted from the workbook is no longer in it; a variable, dataset or
value-level item of the specs is kept with a note naming its sheet and key, and a term the data
hold cannot be deleted from its codelist (exit status 3, nothing written).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from daybreak_sdtm import api, cli
from daybreak_sdtm.define.spec_import import ImportErrors
from daybreak_sdtm.spec import load_study
from tests.define.test_spec_workbook import find, rows


def delete_rows(ws: Any, keep: Callable[[dict[str, Any]], bool]) -> int:
    """Delete the rows of a worksheet for which ``keep`` is false; how many were deleted."""
    header = [c.value for c in ws[1]]
    gone = [
        row[0].row
        for row in ws.iter_rows(min_row=2)
        if not keep(dict(zip(header, (c.value for c in row), strict=False)))
    ]
    for number in reversed(gone):
        ws.delete_rows(number)
    return len(gone)


def sponsor_additions(source: Path, target: Path) -> None:
    """A term added to CL.NY, a new value-level row with its where clause, method, comment and a
    sponsor codelist of its own."""
    book = openpyxl.load_workbook(source)
    ny = find(book["Codelists"], ID="CL.NY", Term="Y")
    header = [c.value for c in book["Codelists"][1]]
    added = {h: ny[h].value for h in header} | {"Order": 99, "Term": "U", "Decoded Value": "Unknown"}
    added["NCI Term Code"] = None
    book["Codelists"].append([added.get(h) for h in header])
    for term, decode in (("Y", "Of child-bearing potential"), ("N", "Not of child-bearing potential")):
        row = {"ID": "CL.DM.CBP", "Name": "Child-bearing potential", "Data Type": "text", "Order": 1 + (term == "N")}
        book["Codelists"].append([(row | {"Term": term, "Decoded Value": decode}).get(h) for h in header])
    book["Methods"].append(["MT.DM.AGE.F", "Algorithm to derive DM.AGE (female)", "Computation", "Years at consent"])
    book["Comments"].append(["COM.DM.AGE.F", "Asked of female subjects only"])
    book["WhereClauses"].append(["WC.DM.AGE.SEX_F", "DM", "SEX", "EQ", "F"])
    vl_header = [c.value for c in book["ValueLevel"][1]]
    new = {"Order": 1, "Dataset": "DM", "Variable": "AGE", "Where Clause": "WC.DM.AGE.SEX_F"}
    new |= {"Label": "Age of female subjects", "Data Type": "integer", "Length": 2, "Mandatory": "No"}
    new |= {"Origin": "Derived", "Source": "Sponsor", "Method": "MT.DM.AGE.F", "Comment": "COM.DM.AGE.F"}
    new |= {"Codelist": "CL.DM.CBP"}
    book["ValueLevel"].append([new.get(column) for column in vl_header])
    book.save(target)


SPONSOR_KEYS = ("CL.DM.CBP", "MT.DM.AGE.F", "COM.DM.AGE.F", "WC.DM.AGE.SEX_F", "Unknown")


def test_rows_a_sponsor_added_and_deletes_are_deleted(exported: Path, study: Path, tmp_path: Path) -> None:
    added = tmp_path / "added.xlsx"
    sponsor_additions(exported, added)
    result = api.spec_import(added, study)
    assert (result.value_level, result.methods, result.comments, result.codelists) == (1, 1, 1, 2)
    text = (study / "metadata.yaml").read_text(encoding="utf-8")
    assert all(key in text for key in SPONSOR_KEYS)

    again = tmp_path / "again.xlsx"
    api.spec_export(again, study)  # the workbook as the sponsor now has it, additions included
    book = openpyxl.load_workbook(again)
    assert delete_rows(book["ValueLevel"], lambda r: r["Where Clause"] != "WC.DM.AGE.SEX_F") == 1
    assert delete_rows(book["WhereClauses"], lambda r: r["ID"] != "WC.DM.AGE.SEX_F") == 1
    assert delete_rows(book["Methods"], lambda r: r["ID"] != "MT.DM.AGE.F") == 1
    assert delete_rows(book["Comments"], lambda r: r["ID"] != "COM.DM.AGE.F") == 1
    assert delete_rows(book["Codelists"], lambda r: r["ID"] != "CL.DM.CBP") == 2
    assert delete_rows(book["Codelists"], lambda r: (r["ID"], r["Term"]) != ("CL.NY", "U")) == 1
    deleted = tmp_path / "deleted.xlsx"
    book.save(deleted)
    result = api.spec_import(deleted, study)
    assert result.notes == ()
    text = (study / "metadata.yaml").read_text(encoding="utf-8")
    assert not [key for key in SPONSOR_KEYS if key in text]
    metadata = load_study(study).metadata
    assert metadata is not None and metadata.empty
    # The workbook exported now is the one the specs give, as before the additions.
    final = tmp_path / "final.xlsx"
    api.spec_export(final, study)
    for sheet in ("ValueLevel", "WhereClauses", "Methods", "Comments", "Codelists"):
        assert rows(final, sheet) == rows(exported, sheet), sheet


def test_rows_of_the_specs_deleted_are_kept_with_a_note(
    exported: Path, study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_vl = rows(exported, "ValueLevel")[0]
    book = openpyxl.load_workbook(exported)
    assert delete_rows(book["Variables"], lambda r: (r["Dataset"], r["Variable"]) != ("AE", "AETERM")) == 1
    assert delete_rows(book["ValueLevel"], lambda r: r["Where Clause"] != first_vl["Where Clause"]) == 1
    deleted = tmp_path / "deleted.xlsx"
    book.save(deleted)
    status = cli.main(["spec", "import", str(deleted), "--study", str(study)])
    assert status == 0
    err = capsys.readouterr().err
    assert (
        "note: Variables: 1 row(s) of the define are not in deleted.xlsx, not deleted: a variable the domain spec, "
        "SDTMIG or the data give is kept (remove it from the domain spec): AE.AETERM"
    ) in err
    vl_key = f"{first_vl['Dataset']}.{first_vl['Variable']} where {first_vl['Where Clause']}"
    assert "note: ValueLevel: 1 row(s) of the define are not in deleted.xlsx, not deleted: " in err
    assert vl_key in err
    metadata = load_study(study).metadata
    assert metadata is not None and metadata.empty  # nothing to edit: the define keeps both rows
    again = tmp_path / "again.xlsx"
    api.spec_export(again, study)
    assert [r for r in rows(again, "Variables") if (r["Dataset"], r["Variable"]) == ("AE", "AETERM")]


def test_a_term_the_data_hold_cannot_be_deleted(
    exported: Path, study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.load_workbook(exported)
    assert delete_rows(book["Codelists"], lambda r: (r["ID"], r["Term"]) != ("CL.NY", "N")) == 1
    deleted = tmp_path / "deleted.xlsx"
    book.save(deleted)
    row = next(i for i, r in enumerate(rows(deleted, "Codelists"), 2) if r["ID"] == "CL.NY")
    with pytest.raises(ImportErrors) as caught:
        api.spec_import(deleted, study)
    (line,) = [p for p in caught.value.lines() if "CL.NY" in p]
    assert f"sheet Codelists, row {row}, column Term (" in line
    assert "codelist CL.NY: term(s) 'N' (" in line and "the data hold them" in line
    assert cli.main(["spec", "import", str(deleted), "--study", str(study)]) == 3
    assert "codelist CL.NY: term(s) 'N'" in capsys.readouterr().err
    assert not (study / "metadata.yaml").exists()
