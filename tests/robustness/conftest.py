"""A writable copy of the Daybreak-01 mapping and export for each bad-input case."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm.cli import main
from daybreak_sdtm.resources import default_export_dir, default_study_dir


@dataclass
class Workspace:
    """Study, export and output folders of one test, plus helpers to damage them."""

    study: Path
    export: Path
    out: Path

    def form(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.export / f"{name}.csv", dtype=str, keep_default_na=False)

    def save(self, name: str, frame: pd.DataFrame) -> None:
        frame.to_csv(self.export / f"{name}.csv", index=False, lineterminator="\n")

    def set_cell(self, name: str, row: int, column: str, value: str) -> None:
        """Set a value in a raw form; ``row`` is the 1-based record number."""
        frame = self.form(name)
        frame.loc[row - 1, column] = value
        self.save(name, frame)

    def line_of(self, spec: str, text: str) -> int:
        """1-based line of the first spec line containing ``text``."""
        lines = (self.study / spec).read_text(encoding="utf-8").splitlines()
        return next(i for i, line in enumerate(lines, start=1) if text in line)

    def convert(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], str]:
        """Run `convert`; return the exit code, stderr lines and stdout."""
        code = main(
            ["convert", "--study", str(self.study), "--export", str(self.export), "--out", str(self.out), *extra]
        )
        captured = capsys.readouterr()
        return code, captured.err.splitlines(), captured.out


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    study, export = tmp_path / "study", tmp_path / "export"
    shutil.copytree(default_study_dir(), study)
    shutil.copytree(default_export_dir(), export)
    return Workspace(study, export, tmp_path / "out")
