"""EDC date formats: declared patterns, partial dates, two-digit years, 12-hour clocks, no guessing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm.cli import main
from daybreak_sdtm.date_formats import (
    DateFormatError,
    compile_format,
    matching_formats,
    parse_dates,
    parse_times,
)
from daybreak_sdtm.derive.dates import compute_iso_date
from daybreak_sdtm.derive.registry import RowProblems
from daybreak_sdtm.resources import default_export_dir, default_study_dir
from tests.helpers import edited_study


def iso(pattern: str, *values: str, pivot: int = 2026) -> list[str]:
    parsed = parse_dates(pd.Series(list(values), dtype=object), compile_format(pattern), pivot)
    assert not parsed.bad.any() and not parsed.impossible.any(), list(values)
    return parsed.iso.tolist()


@pytest.mark.parametrize(
    ("pattern", "values", "expected"),
    [
        (
            "DD-MMM-YYYY",
            ["05-MAR-2026", "5-mar-2026", "UN-MAR-2026", "UN-UNK-1978", "05-UNK-2026", ""],
            ["2026-03-05", "2026-03-05", "2026-03", "1978", "2026", ""],
        ),
        ("DD-MMM-YY", ["05-Mar-26", "17-Jun-45"], ["2026-03-05", "1945-06-17"]),
        (
            "MM/DD/YYYY",
            ["03/04/2025", "3/4/2025", "UN/UN/2025", "03/UN/2025", "03//2025"],
            ["2025-03-04", "2025-03-04", "2025", "2025-03", "2025-03"],
        ),
        ("DD/MM/YYYY", ["03/04/2025", "31/12/1999"], ["2025-04-03", "1999-12-31"]),
        ("YYYY-MM-DD", ["2025-03-04", "2025-03-UN"], ["2025-03-04", "2025-03"]),
        ("M/D/YY", ["3/4/25", "12/31/99"], ["2025-03-04", "1999-12-31"]),
        ("DD.MM.YYYY", ["04.03.2025"], ["2025-03-04"]),
        ("DDMMMYYYY", ["04MAR2025"], ["2025-03-04"]),
    ],
)
def test_patterns_read_edc_dates(pattern: str, values: list[str], expected: list[str]) -> None:
    assert iso(pattern, *values) == expected


def test_iso_text_is_always_read() -> None:
    assert iso("MM/DD/YYYY", "2025-03-04", "2025-03", "2025") == ["2025-03-04", "2025-03", "2025"]


def test_two_digit_years_end_at_the_pivot() -> None:
    assert iso("DD-MMM-YY", "01-JAN-26", "01-JAN-27", pivot=2026) == ["2026-01-01", "1927-01-01"]
    assert iso("DD-MMM-YY", "01-JAN-27", pivot=2030) == ["2027-01-01"]


def test_impossible_and_malformed_dates_are_flagged() -> None:
    parsed = parse_dates(
        pd.Series(["31/02/2025", "13/01/2025", "2025-13-01", "March 3"], dtype=object),
        compile_format("MM/DD/YYYY"),
        2026,
    )
    assert parsed.impossible.tolist() == [True, True, True, False]  # no 31 February, no month 13
    assert parsed.bad.tolist() == [False, False, False, True]


def test_ambiguous_values_name_every_format_they_fit() -> None:
    assert {"MM/DD/YYYY", "DD/MM/YYYY"} <= set(matching_formats("03/04/2025"))
    assert "MM/DD/YYYY" not in matching_formats("13/04/2025")
    with pytest.raises(RowProblems) as exc:
        compute_iso_date(pd.Series(["05-MAR-2026", "03/04/2025"]), "AESTDAT")
    assert exc.value.positions.tolist() == [1]
    assert "not a date in the format DD-MMM-YYYY" in exc.value.message
    assert "MM/DD/YYYY or DD/MM/YYYY" in exc.value.message


@pytest.mark.parametrize("pattern", ["DD-MM", "DD-MM-YYYY-YY", "MM-MMM-YYYY-DD", "YYYY", "hello"])
def test_unusable_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(DateFormatError):
        compile_format(pattern)


def test_times_with_seconds_and_twelve_hour_clocks() -> None:
    text, bad = parse_times(
        pd.Series(
            ["09:30", "9:30", "14:05:09", "9:05 PM", "12:00 am", "12:30pm", "", "25:00", "13:00 PM", "noon"],
            dtype=object,
        )
    )
    assert text.tolist()[:7] == ["09:30", "09:30", "14:05:09", "21:05", "00:00", "12:30", ""]
    assert bad.tolist() == [False] * 7 + [True] * 3


def _to_us_dates(text: str) -> str:
    """DD-MMM-YYYY dates of a CSV rewritten as MM/DD/YYYY, unknown parts kept as UN."""
    months = {
        m: f"{i:02d}"
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
        )
    }

    def one(match: re.Match[str]) -> str:
        day, month, year = match.groups()
        return f"{months.get(month, 'UN')}/{day}/{year}"

    return re.sub(r"\b(\d{2}|UN)-([A-Z]{3})-(\d{4})\b", one, text)


def test_a_study_in_us_dates_converts_to_the_same_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study, export = tmp_path / "study", tmp_path / "export"
    shutil.copytree(default_study_dir(), study)
    shutil.copytree(default_export_dir(), export)
    for csv in export.glob("*.csv"):
        csv.write_text(_to_us_dates(csv.read_text(encoding="utf-8")), encoding="utf-8")
    assert "/UN/" in (export / "dm.csv").read_text(encoding="utf-8")  # partial birth dates are in the test
    study_yaml = study / "study.yaml"
    text = study_yaml.read_text(encoding="utf-8")
    study_yaml.write_text(text.replace("export:\n", "export:\n  date_format: MM/DD/YYYY\n", 1), encoding="utf-8")
    args = ["convert", "--study", str(study), "--timestamp", "2026-01-01T00:00:00"]
    assert main([*args, "--export", str(export), "--out", str(tmp_path / "us")]) == 0
    assert (
        main(
            [
                "convert",
                "--study",
                str(default_study_dir()),
                "--timestamp",
                "2026-01-01T00:00:00",
                "--export",
                str(default_export_dir()),
                "--out",
                str(tmp_path / "ref"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    for xpt in (tmp_path / "ref").glob("*.xpt"):
        assert (tmp_path / "us" / xpt.name).read_bytes() == xpt.read_bytes(), xpt.name


def test_a_date_format_is_checked_at_its_spec_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = "derivation: derive_iso8601, source: AESTDAT"
    study, ae = edited_study(tmp_path, "ae.yaml", old, old + ", format: DD-MM")
    assert main(["lint", str(study)]) == 3
    out = capsys.readouterr().out
    assert f"{ae.as_posix()}:" in out and "date format 'DD-MM' has no year" in out
