"""Read the datasets of a written package back from its XPT files, as the define describes them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from daybreak_sdtm.define.model import DefineError, PackageDataset
from daybreak_sdtm.read_xpt import read_xpt


def read_xpt_dataset(path: Path) -> PackageDataset:
    """One XPT file: its records, labels and the storage width of every variable.

    Character values come back as text with missing values as ``""``; numeric ones as float64.
    """
    data = read_xpt(path)
    frame = data.frame
    columns: dict[str, pd.Series] = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values):
            columns[col] = values.astype("float64")
        else:
            columns[col] = values.fillna("").astype(str).astype(object)
    labels = {col: data.labels.get(col, "") for col in frame.columns}
    widths = {col: int(data.widths[col]) for col in frame.columns}
    return PackageDataset(
        name=data.name,
        label=data.label,
        frame=pd.DataFrame(columns, index=frame.index),
        labels=labels,
        widths=widths,
        file=path.name,
    )


def read_package(package_dir: Path) -> tuple[PackageDataset, ...]:
    """Every ``*.xpt`` dataset of a package folder, ordered by file name."""
    if not package_dir.is_dir():
        raise DefineError(f"{package_dir}: package folder not found")
    paths = sorted(p for p in package_dir.iterdir() if p.suffix.lower() == ".xpt" and p.is_file())
    if not paths:
        raise DefineError(f"{package_dir}: no .xpt files; run `daybreak-sdtm convert` first")
    return tuple(read_xpt_dataset(p) for p in paths)
