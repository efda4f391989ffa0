"""Read the datasets of a written package back from its XPT files, as the define describes them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from daybreak_sdtm.define.model import DefineError, PackageDataset


def read_xpt_dataset(path: Path) -> PackageDataset:
    """One XPT file: its records, labels and the storage width of every variable.

    Character values come back as text with missing values as ``""``; numeric ones as float64.
    """
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except Exception as exc:  # pyreadstat raises its own ReadstatError and plain OSErrors
        raise DefineError(f"{path}: cannot read the XPT file ({exc})") from None
    columns: dict[str, pd.Series] = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values):
            columns[col] = values.astype("float64")
        else:
            columns[col] = values.fillna("").astype(str).astype(object)
    data = pd.DataFrame(columns, index=frame.index)
    labels = {col: (meta.column_names_to_labels.get(col) or "") for col in frame.columns}
    widths = {col: int(meta.variable_storage_width[col]) for col in frame.columns}
    name = (meta.table_name or path.stem).upper()
    return PackageDataset(name=name, label=meta.file_label or "", frame=data, labels=labels, widths=widths,
                          file=path.name)


def read_package(package_dir: Path) -> tuple[PackageDataset, ...]:
    """Every ``*.xpt`` dataset of a package folder, ordered by file name."""
    if not package_dir.is_dir():
        raise DefineError(f"{package_dir}: package folder not found")
    paths = sorted(p for p in package_dir.iterdir() if p.suffix.lower() == ".xpt" and p.is_file())
    if not paths:
        raise DefineError(f"{package_dir}: no .xpt files; run `daybreak-sdtm convert` first")
    return tuple(read_xpt_dataset(p) for p in paths)
