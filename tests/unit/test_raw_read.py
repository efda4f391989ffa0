"""Raw readers: text as exported, record numbers, and SAS transport/SAS7BDAT exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from daybreak_sdtm import api
from daybreak_sdtm.errors import RawDataError
from daybreak_sdtm.raw import READERS, SRC_FILE, SRC_ROW, read_form
from daybreak_sdtm.raw.read import _as_text
from daybreak_sdtm.resources import default_export_dir


def test_csv_values_are_text_never_guessed(tmp_path: Path) -> None:
    (tmp_path / "ae.csv").write_text('SUBJECT,ANSWER,TERM\n007,NA,"multi\nline"\n008,,x\n', encoding="utf-8")
    frame = read_form(tmp_path, "ae")
    assert frame["SUBJECT"].tolist() == ["007", "008"]
    assert frame["ANSWER"].tolist() == ["NA", ""]
    assert frame[SRC_ROW].tolist() == [1, 2]  # records, not lines: the quoted field spans two
    assert frame[SRC_FILE].tolist() == ["ae.csv", "ae.csv"]


def test_a_form_exported_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dm.csv").write_text("A\n1\n")
    (tmp_path / "dm.xpt").write_bytes(b"")
    with pytest.raises(RawDataError, match=r"form 'dm' is exported twice \(dm.csv, dm.xpt\); keep one"):
        read_form(tmp_path, "dm")


def test_duplicate_header_columns_are_refused(tmp_path: Path) -> None:
    (tmp_path / "dm.csv").write_text("A,B,A\n1,2,3\n")
    with pytest.raises(RawDataError, match=r"^dm.csv:1: duplicate column\(s\) A in the header$"):
        read_form(tmp_path, "dm")


def test_typed_sas_values_become_export_text() -> None:
    frame = pd.DataFrame(
        {
            "AGE": [52.0, np.nan, 48.5],
            "ICDAT": pd.to_datetime(["2025-10-09", None, "2026-01-31"]),
            "SEX": ["Male", None, "Female"],
        }
    )
    text = _as_text(frame)
    assert text["AGE"].tolist() == ["52", "", "48.5"]
    assert text["ICDAT"].tolist() == ["2025-10-09", "", "2026-01-31"]
    assert text["SEX"].tolist() == ["Male", "", "Female"]


def test_sas_formats_are_chosen_by_extension() -> None:
    assert READERS[".sas7bdat"].__name__ == "read_sas7bdat"
    assert READERS[".xpt"].__name__ == "read_xpt"


def test_an_unreadable_sas7bdat_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dm.sas7bdat").write_bytes(b"not a SAS dataset")
    with pytest.raises(RawDataError, match=r"^dm.sas7bdat: not a readable SAS7BDAT file"):
        read_form(tmp_path, "dm")


def test_an_xpt_export_converts_like_the_csv_one(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(default_export_dir(), export)
    dm = pd.read_csv(export / "dm.csv", dtype=str, keep_default_na=False)
    typed = dm.assign(AGE=dm["AGE"].astype(float), ICDAT=pd.to_datetime(dm["ICDAT"], format="%d-%b-%Y").dt.date)
    # Long EDC field names need the version 8 transport format.
    pyreadstat.write_xport(typed, str(export / "dm.xpt"), table_name="DM", file_format_version=8)
    (export / "dm.csv").unlink()
    from_xpt = api.convert(export_dir=export, out_dir=tmp_path / "a", timestamp="2026-10-01T00:00:00")
    from_csv = api.convert(out_dir=tmp_path / "b", timestamp="2026-10-01T00:00:00")
    a, b = from_xpt.build.tables["DM"].frame, from_csv.build.tables["DM"].frame
    pd.testing.assert_frame_equal(a, b)
    sources = from_xpt.build.tables["DM"].sources
    assert sources is not None and sources.files.iat[0] == "dm.xpt"


def test_undecodable_bytes_name_the_record_column_and_line(tmp_path: Path) -> None:
    (tmp_path / "ae.csv").write_bytes(b'SUBJECT,TERM,GRADE\n001,"two\nlines",1\n002,caf\xe9,2\n')
    with pytest.raises(
        RawDataError,
        match=r"^ae.csv record 2 column TERM \(line 4\): byte 0xe9 is not UTF-8 text; "
        r"declare the export's encoding",
    ):
        read_form(tmp_path, "ae")
    frame = read_form(tmp_path, "ae", "cp1252")
    assert frame["TERM"].tolist() == ["two\nlines", "caf\u00e9"]


def test_bytes_the_declared_encoding_cannot_decode_are_named(tmp_path: Path) -> None:
    (tmp_path / "ae.csv").write_bytes(b"SUBJECT,TERM\n001,\x81\n")  # 0x81 means nothing in Windows-1252
    with pytest.raises(
        RawDataError, match=r"^ae.csv record 1 column TERM \(line 2\): byte 0x81 is not Windows-1252 text"
    ):
        read_form(tmp_path, "ae", "cp1252")


def test_an_xpt_export_is_read_in_the_declared_encoding(tmp_path: Path) -> None:
    frame = pd.DataFrame({"SUBJECT": ["001", "002"], "TERM": ["cafe", "Zo~"]})
    path = tmp_path / "ae.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="AE", file_format_version=5)
    path.write_bytes(path.read_bytes().replace(b"Zo~", b"Zo\xe9"))
    with pytest.raises(
        RawDataError,
        match=r"^ae.xpt: TERM record 2: byte 0xe9 is not UTF-8 text; "
        r"declare the export's encoding with `export: encoding:`",
    ):
        read_form(tmp_path, "ae")
    assert read_form(tmp_path, "ae", "cp1252")["TERM"].tolist() == ["cafe", "Zo\u00e9"]
