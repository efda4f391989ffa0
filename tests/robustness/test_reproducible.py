"""The same inputs give the same bytes, with the creation time taken from SOURCE_DATE_EPOCH or --timestamp."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyreadstat
import pytest

from daybreak_sdtm import api
from daybreak_sdtm.cli import main


def _package_bytes(folder: Path) -> dict[str, bytes]:
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_source_date_epoch_fixes_every_timestamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    api.convert(out_dir=tmp_path / "a")
    api.convert(out_dir=tmp_path / "b", timestamp="2020-01-01T00:00:00")  # the environment wins
    a, b = _package_bytes(tmp_path / "a"), _package_bytes(tmp_path / "b")
    assert a == b and any(name.endswith(".xpt") for name in a)
    _, meta = pyreadstat.read_xport(str(tmp_path / "a" / "dm.xpt"), metadataonly=True)
    expected = dt.datetime.fromtimestamp(1790000000, tz=dt.UTC).replace(tzinfo=None)
    assert meta.creation_time == expected
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["created"] == "2026-09-21T14:13:20+00:00"


def test_timestamp_option_sets_the_creation_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert main(["convert", "--out", str(tmp_path / "p"), "--timestamp", "2026-10-01T08:00:00"]) == 0
    _, meta = pyreadstat.read_xport(str(tmp_path / "p" / "ae.xpt"), metadataonly=True)
    assert meta.creation_time == dt.datetime(2026, 10, 1, 8, 0, 0)


def test_bad_timestamps_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert main(["convert", "--out", str(tmp_path / "p"), "--timestamp", "yesterday"]) == 3
    assert capsys.readouterr().err.strip() == (
        "error: --timestamp 'yesterday' is not an ISO 8601 date-time (e.g. 2026-09-30T00:00:00)"
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    assert main(["convert", "--out", str(tmp_path / "p")]) == 3
    assert capsys.readouterr().err.strip() == "error: SOURCE_DATE_EPOCH='soon' is not a whole number of seconds"
    assert not (tmp_path / "p").exists()
