"""The datasets of a written package, read back from its XPT (or Dataset-JSON) files for ``define --package``."""

from __future__ import annotations

from pathlib import Path

from daybreak_sdtm.checks.package import PackageError, dataset_sources, read_files
from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.define.model import DefineError


def read_package(package_dir: Path) -> tuple[Dataset, ...]:
    """Every dataset of a package folder (its .xpt, else Dataset-JSON file, with the parts of a
    dataset split over a size limit), ordered by file name."""
    if not package_dir.is_dir():
        raise DefineError(f"{package_dir}: package folder not found")
    try:
        sources = dataset_sources(package_dir)
        if not sources:
            raise DefineError(
                f"{package_dir}: no dataset files (.xpt, .json, .ndjson); run `daybreak-sdtm convert` first"
            )
        return tuple(read_files(files) for files in sources)
    except PackageError as exc:
        raise DefineError(str(exc)) from None
