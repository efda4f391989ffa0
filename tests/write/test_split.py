"""Datasets over the size limit: split in record order into XPT parts of the same variables and lengths."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api, cli
from daybreak_sdtm.checks.package import PackageError, read_package
from daybreak_sdtm.dataset import dataset_of
from daybreak_sdtm.errors import DaybreakError, WriteError
from daybreak_sdtm.read_xpt import xpt_layout, xpt_size
from daybreak_sdtm.write.define_xml import validate_define
from daybreak_sdtm.write.split import parse_size, part_ranges, record_length, write_parts
from daybreak_sdtm.write.xpt import write_xpt

TIMESTAMP = "2026-09-30T12:00:00+00:00"
LIMIT = 20_000  # 20KB: AE, EX and others of the sample are over it
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Daybreak-01 export converted with --max-dataset-size 20KB."""
    out = tmp_path_factory.mktemp("split") / "pkg"
    mp = pytest.MonkeyPatch()
    mp.delenv("SOURCE_DATE_EPOCH", raising=False)
    try:
        result = api.convert(out_dir=out, timestamp=TIMESTAMP, max_dataset_size="20KB")
    finally:
        mp.undo()
    assert result.published
    return out


def _parts(package: Path, stem: str) -> list[Path]:
    paths = list((package / "split").glob(f"{stem}[0-9]*.xpt"))
    return sorted(paths, key=lambda p: int(p.stem[len(stem) :]))


# ---- sizes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("records", "widths"), [(0, [1]), (1, [8]), (7, [8, 3, 8]), (101, [40, 8, 200, 1, 8])])
def test_xpt_size_is_the_written_size(tmp_path: Path, records: int, widths: list[int]) -> None:
    frame = pd.DataFrame(
        {f"V{i}": ["x" * w] * records if w != 8 else [float(i)] * records for i, w in enumerate(widths)}
    )
    path = tmp_path / "t.xpt"
    pyreadstat.write_xport(
        frame.astype({c: object for c in frame.columns if frame[c].dtype != float}),
        str(path),
        table_name="T",
        file_format_version=5,
    )
    assert path.stat().st_size == xpt_size(len(widths), sum(widths), records)
    assert xpt_layout(path).records == records


@pytest.mark.parametrize(
    ("text", "size"),
    [("5GB", 5 * 10**9), ("20KB", 20_000), ("1.5 GiB", int(1.5 * 1024**3)), ("512", 512), ("3mb", 3 * 10**6), (7, 7)],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "5 parsecs", "GB", "-1KB", "0"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(DaybreakError, match="--max-dataset-size"):
        parse_size(text)


def _dataset(records: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["S1"] * records,
            "USUBJID": [f"S1-{i:04d}" for i in range(records)],
            "AETERM": ["HEADACHE" if i % 7 else "A MUCH LONGER TERM THAN THE OTHERS" for i in range(records)],
            "AESEQ": [float(i + 1) for i in range(records)],
        }
    )


@pytest.mark.parametrize("limit", [1_500, 2_000, 5_000, 100_000])
def test_part_ranges_cover_every_record_in_order_under_the_limit(limit: int) -> None:
    ds = dataset_of("AE", _dataset(300))
    ranges = part_ranges(ds, limit)
    whole = xpt_size(len(ds.frame.columns), record_length(ds), len(ds.frame))
    if whole <= limit:
        assert ranges == []
        return
    assert ranges[0][0] == 0 and ranges[-1][1] == 300
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    for start, stop in ranges:
        assert xpt_size(len(ds.frame.columns), record_length(ds), stop - start) <= limit


def test_a_limit_below_one_record_is_refused() -> None:
    ds = dataset_of("AE", _dataset(30))
    with pytest.raises(WriteError, match="raise --max-dataset-size"):
        part_ranges(ds, xpt_size(4, record_length(ds), 1) - 1)


def test_parts_keep_the_widths_their_records_do_not_reach(tmp_path: Path) -> None:
    """The long AETERM is in record 1 only: every other part still has its width."""
    frame = _dataset(200)
    frame.loc[1:, "AETERM"] = "HEADACHE"
    ds = dataset_of("AE", frame)
    created = api.resolve_timestamp(TIMESTAMP)
    write_xpt(ds, tmp_path / "ae.xpt", created)
    parts = write_parts(ds, tmp_path, created, part_ranges(ds, 4_000))
    assert len(parts) > 2
    whole, meta = pyreadstat.read_xport(str(tmp_path / "ae.xpt"))
    pieces = []
    for part in parts:
        piece, piece_meta = pyreadstat.read_xport(str(tmp_path / part.file))
        assert piece_meta.variable_storage_width == meta.variable_storage_width
        assert (tmp_path / part.file).stat().st_size <= 4_000
        pieces.append(piece)
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)


# ---- the converted sample -------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ["ae", "ex"])
def test_parts_hold_every_record_in_order_with_identical_widths(package: Path, stem: str) -> None:
    whole, meta = pyreadstat.read_xport(str(package / f"{stem}.xpt"))
    assert (package / f"{stem}.xpt").stat().st_size > LIMIT
    paths = _parts(package, stem)
    assert len(paths) > 1
    pieces = []
    for path in paths:
        assert path.stat().st_size <= LIMIT
        piece, piece_meta = pyreadstat.read_xport(str(path))
        assert (piece_meta.table_name, piece_meta.file_label) == (meta.table_name, meta.file_label)
        assert piece_meta.column_names_to_labels == meta.column_names_to_labels
        assert piece_meta.variable_storage_width == meta.variable_storage_width
        pieces.append(piece)
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)


def test_datasets_under_the_limit_are_not_split(package: Path) -> None:
    assert (package / "dm.xpt").stat().st_size <= LIMIT
    assert not _parts(package, "dm")


def test_define_names_every_part_and_is_schema_valid(package: Path) -> None:
    xml = (package / "define.xml").read_bytes()
    validate_define(xml)
    doc = etree.fromstring(xml)
    group = doc.xpath("//odm:ItemGroupDef[@OID='IG.AE']", namespaces=NS)[0]
    assert group.xpath("def:leaf", namespaces=NS)[0].get(XLINK_HREF) == "ae.xpt"
    comment_oid = group.get(f"{{{NS['def']}}}CommentOID")
    comment = doc.xpath(f"//def:CommentDef[@OID='{comment_oid}']", namespaces=NS)[0]
    refs = [r.get("leafID") for r in comment.xpath("def:DocumentRef", namespaces=NS)]
    leaves = {leaf.get("ID"): leaf.get(XLINK_HREF) for leaf in doc.xpath("/odm:ODM//def:leaf", namespaces=NS)}
    assert [leaves[r] for r in refs] == [f"split/{p.name}" for p in _parts(package, "ae")]
    assert "records 1 to" in "".join(comment.itertext())


def test_define_of_the_package_read_back_is_the_same(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    api.define(package_dir=copy, timestamp=TIMESTAMP)
    assert (copy / "define.xml").read_bytes() == (package / "define.xml").read_bytes()


def test_manifest_and_reconciliation_cover_the_parts(package: Path) -> None:
    manifest = json.loads((package / "manifest.json").read_text())
    reconciliation = json.loads((package / "reconciliation.json").read_text())
    for path in _parts(package, "ae"):
        assert f"split/{path.name}" in manifest["files"]
    parts = reconciliation["split"]["AE"]
    assert [p["file"] for p in parts] == [f"split/{p.name}" for p in _parts(package, "ae")]
    assert parts[0]["first_record"] == 1
    assert sum(p["records"] for p in parts) == 246


def test_validate_reads_a_split_package_as_one_dataset_each(package: Path) -> None:
    result = api.validate(package)
    assert len(result.package.datasets) == 17
    assert not [f for f in result.report.findings if f.severity.name == "ERROR"]
    ae = result.package.datasets["AE"]
    assert [p.file for p in ae.parts] == [f"split/{p.name}" for p in _parts(package, "ae")]


def _parts_only(package: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    (copy / "ae.xpt").unlink()
    return copy


def test_a_dataset_is_read_from_its_parts_alone(package: Path, tmp_path: Path) -> None:
    copy = _parts_only(package, tmp_path)
    ae = read_package(copy).datasets["AE"]
    whole = read_package(package).datasets["AE"]
    pd.testing.assert_frame_equal(ae.frame, whole.frame)
    assert ae.widths == whole.widths and ae.href == "split/ae1.xpt"


def test_keys_and_seq_are_checked_across_the_parts(package: Path, tmp_path: Path) -> None:
    """Part 2 replaced by part 1: each part is unique on its own, the dataset is not."""
    copy = _parts_only(package, tmp_path)
    shutil.copyfile(copy / "split" / "ae1.xpt", copy / "split" / "ae2.xpt")
    findings = api.validate(copy).report.findings
    duplicated = {f.rule for f in findings if f.dataset == "AE" and f.rule.startswith("DB30")}
    assert "DB301" in duplicated


def test_parts_that_do_not_match_their_dataset_are_refused(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    shutil.copyfile(copy / "dm.xpt", copy / "split" / "ae3.xpt")
    with pytest.raises(PackageError, match="not a part of AE"):
        read_package(copy)
    (copy / "split" / "ae3.xpt").unlink()
    with pytest.raises(PackageError, match="a part is missing"):
        read_package(copy)


# ---- DB703: validate --max-dataset-size ------------------------------------------------------------


def _db703(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("DB703 warning")]


def test_a_split_package_is_not_flagged_at_its_limit(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["validate", str(package), "--max-dataset-size", "20KB", "-q"])
    assert status == 0
    assert _db703(capsys.readouterr().out) == []


def test_a_dataset_over_the_limit_without_its_parts_is_flagged(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    shutil.rmtree(copy / "split")
    over = sorted(p.name for p in copy.glob("*.xpt") if p.stat().st_size > LIMIT)
    assert "ae.xpt" in over and "dm.xpt" not in over
    args = ["--max-dataset-size", "20KB", "--fail-on", "warning", "--max-per-rule", "50", "-q"]
    status = cli.main(["validate", str(copy), *args])
    lines = _db703(capsys.readouterr().out)
    assert status == 1
    size = (copy / "ae.xpt").stat().st_size
    assert (
        f"DB703 warning: AE: ae.xpt is {size / 1000:.3g} KB, over the 20 KB limit, and is not split: "
        "write its records in parts under the limit in split/ (convert --max-dataset-size)"
    ) in lines
    assert len(lines) == len(over)
    # FDA's 5 GB, the default, is far above every file of the sample.
    assert not [f for f in api.validate(copy).report.findings if f.rule == "DB703"]


def test_a_part_define_xml_does_not_name_is_flagged(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    doc = etree.parse(str(copy / "define.xml"))
    (leaf,) = [x for x in doc.xpath("//def:leaf", namespaces=NS) if x.get(XLINK_HREF) == "split/ae2.xpt"]
    leaf.getparent().remove(leaf)
    doc.write(str(copy / "define.xml"), xml_declaration=True, encoding="UTF-8")
    findings = [f for f in api.validate(copy, max_dataset_size="20KB").report.findings if f.rule == "DB703"]
    assert [(f.dataset, f.message) for f in findings] == [
        ("AE", "split/ae2.xpt, a part of AE, is not named by a def:leaf of define.xml")
    ]


def test_a_part_over_the_limit_is_flagged(package: Path) -> None:
    """The parts were cut for 20KB: at 15KB each of them is over."""
    findings = [f for f in api.validate(package, max_dataset_size="15KB").report.findings if f.rule == "DB703"]
    ae = [f.message for f in findings if f.dataset == "AE"]
    assert ae and all(m.startswith("split/ae") and "a part of AE" in m and "over the 15 KB limit" in m for m in ae)
    assert not [m for m in ae if "not split" in m]
