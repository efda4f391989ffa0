"""The datasets of a written package, read back from its XPT files for ``define --package``."""

from __future__ import annotations

from pathlib import Path

from daybreak_sdtm.dataset import Dataset, read_dataset
from daybreak_sdtm.define.model import DefineError


def read_package(package_dir: Path) -> tuple[Dataset, ...]:
    """Every ``*.xpt`` dataset of a package folder, ordered by file name (``dataset.read_dataset``)."""
    if not package_dir.is_dir():
        raise DefineError(f"{package_dir}: package folder not found")
    paths = sorted(p for p in package_dir.iterdir() if p.suffix.lower() == ".xpt" and p.is_file())
    if not paths:
        raise DefineError(f"{package_dir}: no .xpt files; run `daybreak-sdtm convert` first")
    return tuple(read_dataset(p) for p in paths)
