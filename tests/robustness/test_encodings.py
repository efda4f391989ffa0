"""Text encodings: raw exports and XPT files are read in a declared encoding, and bytes that do
not decode are named (file, record, column or variable, bytes) with the option that declares it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from daybreak_sdtm.cli import main
from tests.robustness.conftest import Workspace

PILOT = Path("/work/shared/reference/cdiscpilot01")
DECLARE = (
    "declare the export's encoding with `export: encoding:` in study.yaml or `convert --encoding` "
    "(e.g. cp1252 for Windows-1252)"
)


def cp1252_export(ws: Workspace) -> None:
    """ae.csv re-encoded as Windows-1252, its record 2 holding an accented AETERM."""
    ws.set_cell("ae", 2, "AETERM", "naus\u00e9e")
    path = ws.export / "ae.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))


def transliterate_aeterm(ws: Workspace) -> None:
    spec = ws.study / "ae.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "AETERM: {derivation: assign_no_ct, source: AETERM}",
            "AETERM: {derivation: assign_no_ct, source: AETERM, transliterate: true}",
        ),
        encoding="utf-8",
    )


def declare_export_encoding(ws: Workspace, encoding: str) -> int:
    """Add ``encoding:`` to study.yaml's export section; returns its line."""
    study = ws.study / "study.yaml"
    text = study.read_text(encoding="utf-8")
    study.write_text(text.replace("export:\n", f"export:\n  encoding: {encoding}\n", 1), encoding="utf-8")
    return ws.line_of("study.yaml", f"  encoding: {encoding}")


def test_a_cp1252_export_without_a_declared_encoding_is_refused(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    cp1252_export(ws)
    rc, err, _ = ws.convert(capsys)
    assert rc == 3
    assert err == [f"error: ae.csv record 2 column AETERM (line 3): byte 0xe9 is not UTF-8 text; {DECLARE}"]
    assert not ws.out.exists()


def test_a_cp1252_export_declared_in_the_study_is_read(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    cp1252_export(ws)
    transliterate_aeterm(ws)
    declare_export_encoding(ws, "cp1252")
    rc, err, _ = ws.convert(capsys)
    assert rc == 0, err
    ae = pd.read_sas(ws.out / "ae.xpt", format="xport", encoding="ascii")
    assert "nausee" in set(ae.AETERM)  # decoded as the accented letter, then folded to ASCII


def test_convert_encoding_declares_the_export_encoding(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    cp1252_export(ws)
    transliterate_aeterm(ws)
    rc, err, _ = ws.convert(capsys, "--encoding", "windows-1252")
    assert rc == 0, err
    ae = pd.read_sas(ws.out / "ae.xpt", format="xport", encoding="ascii")
    assert "nausee" in set(ae.AETERM)


def test_convert_encoding_overrides_the_study(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    declare_export_encoding(ws, "cp1252")
    path = ws.export / "ae.csv"
    ws.set_cell("ae", 2, "AETERM", "\u00e9")  # saved as UTF-8: 0xc3 0xa9, which Windows-1252 reads as two letters
    rc, err, _ = ws.convert(capsys, "--encoding", "utf-8")
    assert rc == 3 and len(err) == 1
    assert "not ASCII text" in err[0] and "'\u00e9'" in err[0]  # one letter: read as UTF-8, not as the study says
    assert path.read_bytes().count(b"\xc3\xa9") == 1


def test_an_unknown_encoding_in_the_study_is_a_spec_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    line = declare_export_encoding(ws, "latin-9x")
    rc, err, _ = ws.convert(capsys)
    assert rc == 3
    assert err == [
        f"error: {ws.study.as_posix()}/study.yaml:{line}:13: export.encoding: unknown encoding 'latin-9x' "
        "(e.g. utf-8, cp1252, latin-1)"
    ]


def test_an_unknown_encoding_option_is_a_usage_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        ws.convert(capsys, "--encoding", "rot13")
    assert done.value.code == 2
    assert "argument --encoding: 'rot13' is not a text encoding" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["validate", str(ws.export), "--encoding", "nope"])
    assert done.value.code == 2


def _ts_package(folder: Path) -> Path:
    """A TS dataset written as XPT whose record 2 holds the Windows-1252 byte 0x92 (a right single quote)."""
    folder.mkdir()
    frame = pd.DataFrame(
        {
            "STUDYID": ["S1", "S1"],
            "DOMAIN": ["TS", "TS"],
            "TSSEQ": [1.0, 1.0],
            "TSPARMCD": ["TITLE", "INDIC"],
            "TSPARM": ["Trial Title", "Trial Disease/Condition Indication"],
            "TSVAL": ["A Study", "Alzheimer~s Disease"],
        }
    )
    path = folder / "ts.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="TS", file_format_version=5)
    path.write_bytes(path.read_bytes().replace(b"Alzheimer~s", b"Alzheimer\x92s"))
    return path


def _findings(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    rc = main(["validate", *args, "--format", "json"])
    return rc, json.loads(capsys.readouterr().out)["findings"]


def test_a_cp1252_xpt_is_read_as_windows_1252_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ts_package(tmp_path / "pkg")
    rc, findings = _findings(capsys, str(path.parent))
    assert rc == 1  # DB109: the character is not ASCII; the file was read
    db113 = [f for f in findings if f["rule"] == "DB113"]
    assert [(f["dataset"], f["variable"], f["row"], f["severity"]) for f in db113] == [("TS", "TSVAL", 2, "warning")]
    assert db113[0]["message"] == (
        f"{path.as_posix()}: TSVAL record 2: byte 0x92 is not UTF-8; read as Windows-1252 '\u2019' (U+2019) with the "
        "rest of the file; pass --encoding cp1252 (or the package's own encoding) to read it as such"
    )
    assert db113[0]["value"] == "Alzheimer\u2019s Disease"
    db109 = [f for f in findings if f["rule"] == "DB109"]
    assert [(f["variable"], f["row"], f["message"]) for f in db109] == [
        ("TSVAL", 2, "TSVAL value is not ASCII: '\u2019' (U+2019) at character 10")
    ]


def test_a_cp1252_xpt_with_its_encoding_declared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ts_package(tmp_path / "pkg")
    rc, findings = _findings(capsys, str(path.parent), "--encoding", "cp1252")
    assert rc == 1
    assert [f["rule"] for f in findings if f["rule"] in ("DB109", "DB113")] == ["DB109"]
    assert findings[[f["rule"] for f in findings].index("DB109")]["value"] == "Alzheimer\u2019s Disease"


def test_a_cp1252_xpt_read_as_declared_utf8_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ts_package(tmp_path / "pkg")
    assert main(["validate", str(path.parent), "--encoding", "utf-8"]) == 3
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: TSVAL record 2: byte 0x92 is not UTF-8 text; pass the package's own encoding with "
        "--encoding (e.g. cp1252 for Windows-1252)"
    ]


@pytest.mark.skipif(not (PILOT / "ts.xpt").is_file(), reason="the CDISC pilot package is not on this machine")
def test_the_cdisc_pilot_package_is_validated_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PILOT / "ts.xpt", tmp_path / "ts.xpt")
    rc, findings = _findings(capsys, str(tmp_path))
    assert rc == 1
    db113 = [f for f in findings if f["rule"] == "DB113"]
    assert len(db113) == 1 and db113[0]["row"] == 8 and "byte 0x92" in db113[0]["message"]
    assert "'\u2019' (U+2019)" in db113[0]["message"] and "--encoding cp1252" in db113[0]["message"]

    assert main(["validate", str(PILOT), "--format", "json"]) in (0, 1)  # findings, never unusable input
    report = json.loads(capsys.readouterr().out)
    expected = sorted(p.stem.upper() for p in PILOT.glob("*.xpt"))
    assert sorted(report["summary"]["datasets"]) == expected and "TS" in expected
