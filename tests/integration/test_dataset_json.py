"""CDISC Dataset-JSON v1.1: convert --format writes .json/.ndjson valid by odmlib's model, holding what the XPT holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree
from odmlib.dataset_json_1_1.model import DatasetJSON

from daybreak_sdtm.cli import main
from daybreak_sdtm.dataset import differences, read_dataset

STAMP = "2026-10-01T00:00:00"


@pytest.fixture(scope="module")
def every_format(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("formats") / "pkg"
    assert (
        main(["convert", "--out", str(out), "-q", "--timestamp", STAMP, "--format", "xpt,json", "--format", "ndjson"])
        == 0
    )
    return out


def _document(path: Path) -> dict:
    if path.suffix == ".ndjson":
        first, *rows = path.read_text(encoding="utf-8").splitlines()
        return {**json.loads(first), "rows": [json.loads(r) for r in rows]}
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_dataset_in_every_format_holds_the_same_records(every_format: Path) -> None:
    xpts = sorted(every_format.glob("*.xpt"))
    assert len(xpts) == 17
    for xpt in xpts:
        base = read_dataset(xpt)
        for suffix in (".json", ".ndjson"):
            other = read_dataset(xpt.with_suffix(suffix))
            assert differences(base, other) == [], (xpt.name, suffix)


def test_files_are_dataset_json_1_1(every_format: Path) -> None:
    for path in sorted(every_format.glob("*.json")) + sorted(every_format.glob("*.ndjson")):
        if path.name in ("validation.json", "reconciliation.json", "manifest.json"):
            continue
        doc = _document(path)
        model = DatasetJSON.from_dict(doc)  # odmlib refuses missing required keys, wrong types and values
        assert model.datasetJSONVersion == "1.1.0" and doc["records"] == len(doc["rows"])
        assert doc["itemGroupOID"] == f"IG.{doc['name']}" and doc["metaDataRef"] == "define.xml"
        assert all(len(row) == len(doc["columns"]) for row in doc["rows"])
    dm = _document(every_format / "dm.json")
    columns = {c["name"]: c for c in dm["columns"]}
    assert columns["USUBJID"] == {
        "itemOID": "IT.DM.USUBJID",
        "name": "USUBJID",
        "label": "Unique Subject Identifier",
        "dataType": "string",
        "length": len("DAYBREAK-01-101-001"),  # the XPT width: the longest value
        "keySequence": 2,
    }
    assert columns["AGE"]["dataType"] == "integer" and "length" not in columns["AGE"]
    ages = [row[list(columns).index("AGE")] for row in dm["rows"]]
    assert all(isinstance(a, int) for a in ages)
    # A blank text value is null, as the specification has it, not "".
    armnrs = list(columns).index("ARMNRS")
    assert {row[armnrs] for row in dm["rows"]} == {None}


def test_the_itemoids_are_the_defines(every_format: Path) -> None:
    define = etree.parse(str(every_format / "define.xml"))
    item_oids = set(define.xpath("//*[local-name()='ItemDef']/@OID"))
    group_oids = set(define.xpath("//*[local-name()='ItemGroupDef']/@OID"))
    doc = _document(every_format / "ae.json")
    assert doc["itemGroupOID"] in group_oids
    assert {c["itemOID"] for c in doc["columns"]} <= item_oids


def test_a_json_only_package_converts_validates_and_is_described_by_its_define(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pkg"
    assert main(["convert", "--out", str(out), "-q", "--timestamp", STAMP, "--format", "json"]) == 0
    assert not list(out.glob("*.xpt")) and (out / "ts.json").is_file() and (out / "dm.json").is_file()
    define = etree.parse(str(out / "define.xml"))
    hrefs = define.xpath("//*[local-name()='leaf']/@*[local-name()='href']")
    assert "ae.json" in hrefs and not [h for h in hrefs if h.endswith(".xpt")]
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_an_unknown_format_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--out", str(tmp_path / "pkg"), "--format", "xpt,sas7bdat"]) == 3
    assert "--format: sas7bdat: give xpt, json and/or ndjson" in capsys.readouterr().err
    assert not (tmp_path / "pkg").exists()


def test_formats_that_disagree_refuse_the_package(every_format: Path, tmp_path: Path) -> None:
    import shutil

    from daybreak_sdtm.api import same_in_every_format
    from daybreak_sdtm.errors import WriteError

    for name in ("dm.xpt", "dm.json"):
        shutil.copy(every_format / name, tmp_path / name)
    doc = _document(tmp_path / "dm.json")
    doc["rows"][3][[c["name"] for c in doc["columns"]].index("SEX")] = "U"
    (tmp_path / "dm.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(WriteError, match=r"dm\.xpt vs dm\.json: SEX: record 4 holds"):
        same_in_every_format(tmp_path, [read_dataset(tmp_path / "dm.xpt")], ("xpt", "json"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not a readable Dataset-JSON file"),
        ('{"datasetJSONVersion": "1.1.0"}', "not a Dataset-JSON file (no name and columns)"),
        (
            '{"name": "DM", "records": 2, "columns": [{"name": "A", "dataType": "string"}], "rows": [["x"]]}',
            "says 2 records but holds 1",
        ),
        (
            '{"name": "DM", "records": 1, "columns": [{"name": "A", "dataType": "string"}], "rows": [["x", "y"]]}',
            "record 1 does not have the 1 columns",
        ),
    ],
)
def test_a_broken_dataset_json_file_is_named(tmp_path: Path, text: str, problem: str) -> None:
    from daybreak_sdtm.dataset import DatasetFileError

    path = tmp_path / "dm.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetFileError, match=re.escape(problem)) as caught:
        read_dataset(path)
    assert str(path) in str(caught.value)
