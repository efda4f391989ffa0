"""The datasets of a written package, read back from its XPT (or Dataset-JSON) files for ``define --package``."""

from __future__ import annotations

from pathlib import Path

from daybreak_sdtm.checks.package import dataset_files
from daybreak_sdtm.dataset import Dataset, read_dataset
from daybreak_sdtm.define.model import DefineError


def read_package(package_dir: Path) -> tuple[Dataset, ...]:
    """Every dataset of a package folder (its .xpt, else Dataset-JSON file), ordered by file name."""
    if not package_dir.is_dir():
        raise DefineError(f"{package_dir}: package folder not found")
    paths = dataset_files(package_dir)
    if not paths:
        raise DefineError(f"{package_dir}: no dataset files (.xpt, .json, .ndjson); run `daybreak-sdtm convert` first")
    return tuple(read_dataset(p) for p in paths)
