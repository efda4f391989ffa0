"""write/xpt.py: XPT v5 files written with SDTMIG labels and the lengths of the values, read back with
pyreadstat; every FDA limit (names, labels, ASCII, 200 bytes) reported before anything is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from daybreak_sdtm.dataset import dataset_of, text_width
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, read_standards
from daybreak_sdtm.write.xpt import write_xpt, xpt_frame, xpt_problems

CREATED = dt.datetime(2026, 3, 5, 9, 30, 7, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def _ae() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["S1", "S1"],
            "DOMAIN": ["AE", "AE"],
            "USUBJID": ["S1-001", "S1-002"],
            "AESEQ": [1.0, 2.0],
            "AETERM": ["Headache", "Fatigue after the first cycle"],
            "AESTDY": [3.0, None],
        }
    )


def test_written_file_reads_back_with_labels_lengths_and_values(tmp_path: Path, standards: Standards) -> None:
    path = tmp_path / "ae.xpt"
    write_xpt(dataset_of("AE", _ae(), standards), path, CREATED)
    frame, meta = pyreadstat.read_xport(str(path))
    assert meta.table_name == "AE" and meta.file_label == "Adverse Events"
    assert meta.column_names == ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AESTDY"]
    assert meta.column_names_to_labels["AETERM"] == "Reported Term for the Adverse Event"
    assert meta.column_names_to_labels["AESTDY"] == "Study Day of Start of Adverse Event"
    widths = meta.variable_storage_width
    assert (widths["AETERM"], widths["USUBJID"], widths["DOMAIN"]) == (29, 6, 2)  # the longest value present
    assert widths["AESEQ"] == 8  # numbers are 8-byte floats
    assert frame["AETERM"].tolist() == ["Headache", "Fatigue after the first cycle"]
    assert frame["AESEQ"].tolist() == [1.0, 2.0] and frame["AESTDY"].iloc[0] == 3.0 and pd.isna(frame["AESTDY"].iloc[1])


def test_the_header_stamp_is_the_creation_time_given(tmp_path: Path, standards: Standards) -> None:
    first, second = tmp_path / "a.xpt", tmp_path / "b.xpt"
    write_xpt(dataset_of("AE", _ae(), standards), first, CREATED)
    write_xpt(dataset_of("AE", _ae(), standards), second, CREATED)
    data = first.read_bytes()
    assert data == second.read_bytes()  # the same inputs, the same bytes
    assert data.count(b"05MAR26:09:30:07") >= 2  # created and modified, in the library and member headers


def test_a_dataset_not_in_sdtmig_is_labelled_by_its_name_and_supp_by_its_parent(
    tmp_path: Path, standards: Standards
) -> None:
    supp = pd.DataFrame({"STUDYID": ["S1"], "RDOMAIN": ["AE"], "QNAM": ["AETRTEM"], "QVAL": ["Y"]})
    path = tmp_path / "suppae.xpt"
    write_xpt(dataset_of("SUPPAE", supp, standards), path, CREATED)
    _, meta = pyreadstat.read_xport(str(path))
    assert meta.file_label == "Supplemental Qualifiers for AE"
    assert meta.column_names_to_labels["QNAM"] == "Qualifier Variable Name"


def test_a_sound_dataset_has_no_problems(standards: Standards) -> None:
    assert xpt_problems(dataset_of("AE", _ae(), standards)) == []


def test_every_limit_broken_is_reported_with_its_record(standards: Standards) -> None:
    frame = _ae()
    frame.loc[1, "AETERM"] = "Céphalée"
    frame.loc[0, "AETERM"] = "x" * 201
    frame["AELONGNAME"] = ["", ""]
    problems = xpt_problems(dataset_of("AE", frame, standards))
    assert problems == [
        "AE.AETERM row 1 USUBJID=S1-001: value '" + "x" * 201 + "' is longer than 200 bytes",
        "AE.AETERM row 2 USUBJID=S1-002: value 'Céphalée' is not ASCII",
        "AE.AELONGNAME: variable name must be at most 8 letters, digits or _",
    ]


def test_dataset_name_and_labels_beyond_the_limits(standards: Standards) -> None:
    frame = pd.DataFrame({"STUDYID": ["S1"]})
    assert xpt_problems(dataset_of("LONGNAME9", frame, standards)) == [
        "LONGNAME9: dataset name must be at most 8 letters, digits or _"
    ]
    custom = standards.with_custom_domain("XZ", "Findings", "A label of exactly forty-one characters..")
    assert xpt_problems(dataset_of("XZ", frame, custom)) == [
        "XZ: dataset label 'A label of exactly forty-one characters..' longer than 40 characters or not ASCII"
    ]


def test_200_bytes_are_counted_in_utf8(standards: Standards) -> None:
    frame = _ae()
    frame.loc[0, "AETERM"] = "x" * 200  # at the limit: allowed
    assert xpt_problems(dataset_of("AE", frame, standards)) == []
    assert text_width(pd.Series(["é" * 3, "abc"])) == 6 and text_width(pd.Series([], dtype=object)) == 1


def test_the_written_form_holds_text_as_str_and_numbers_as_float64() -> None:
    frame = pd.DataFrame({"A": pd.Series(["x", None, "x"], dtype="str"), "N": pd.Series([1, 2, 3], dtype="int64")})
    out = xpt_frame(frame)
    assert out["N"].dtype == "float64" and out["A"].dtype == object
    assert out["A"].tolist() == ["x", "", "x"] and out["A"].iloc[0] is out["A"].iloc[2]  # one str per distinct value
