"""CDISC Dataset-JSON v1.1 files (.json, and NDJSON: .ndjson) from the one table model, and back.

A file holds one dataset: its metadata (name, label, the define's ItemGroupDef and ItemDef
OIDs, each column's data type, length and key sequence) and its records as arrays in column
order, null for a missing value. The JSON file is written record by record (constant memory
whatever the dataset's size); the NDJSON file is the same metadata on its first line and one
record per line. Character variables are "string" with the XPT width as their length; numeric
ones "integer" when every value is whole, else "double". Reading a file back gives the same
``Dataset`` an XPT file gives (``dataset.read_dataset``); ``dataset.differences`` compares two.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm import __version__
from daybreak_sdtm.dataset import Dataset

VERSION = "1.1.0"
_ROWS_PER_CHUNK = 10_000


def _data_type(values: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(values):
        return "string"
    finite = values.to_numpy(dtype="float64")
    finite = finite[~np.isnan(finite)]
    whole = bool(np.all(finite == np.round(finite))) and bool(np.all(np.abs(finite) < 2**53))
    return "integer" if whole else "double"


def metadata(
    ds: Dataset,
    created: dt.datetime,
    *,
    study_oid: str = "",
    metadata_version_oid: str = "",
    define_href: str = "",
    keys: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything of a Dataset-JSON v1.1 file but its rows, in the order the specification lists it."""
    stamp = created.replace(microsecond=0).isoformat()
    columns = []
    for col in ds.frame.columns:
        column: dict[str, Any] = {
            "itemOID": f"IT.{ds.name}.{col}",
            "name": col,
            "label": ds.labels.get(col, "") or col,
            "dataType": _data_type(ds.frame[col]),
        }
        if column["dataType"] == "string":
            column["length"] = max(int(ds.widths.get(col, 1)), 1)
        if col in keys:
            column["keySequence"] = list(keys).index(col) + 1
        columns.append(column)
    meta: dict[str, Any] = {
        "datasetJSONCreationDateTime": stamp,
        "datasetJSONVersion": VERSION,
        "fileOID": f"DAYBREAK-SDTM.{study_oid or 'STUDY'}.{ds.name}",
        "dbLastModifiedDateTime": stamp,
        "originator": "daybreak-sdtm",
        "sourceSystem": {"name": "daybreak-sdtm", "version": __version__},
    }
    if study_oid:
        meta["studyOID"] = study_oid
    if metadata_version_oid:
        meta["metaDataVersionOID"] = metadata_version_oid
    if define_href:
        meta["metaDataRef"] = define_href
    meta |= {
        "itemGroupOID": f"IG.{ds.name}",
        "records": len(ds.frame),
        "name": ds.name,
        "label": ds.label or ds.name,
        "columns": columns,
    }
    return meta


def _rows(ds: Dataset, types: Sequence[str]) -> Iterator[str]:
    """Each record as a JSON array, in chunks of columns turned into Python values once."""
    frame = ds.frame
    for start in range(0, len(frame), _ROWS_PER_CHUNK):
        part = frame.iloc[start : start + _ROWS_PER_CHUNK]
        columns: list[list[Any]] = []
        for col, kind in zip(frame.columns, types, strict=True):
            values = part[col]
            if kind == "string":
                columns.append([v if v != "" else None for v in values.astype(object).tolist()])
            elif kind == "integer":
                columns.append([None if math.isnan(v) else int(v) for v in values.astype("float64").tolist()])
            else:
                columns.append([None if math.isnan(v) else v for v in values.astype("float64").tolist()])
        for row in zip(*columns, strict=True):
            yield json.dumps(list(row), ensure_ascii=False, allow_nan=False)


def write_dataset_json(
    ds: Dataset, path: Path, created: dt.datetime, *, ndjson: bool = False, **meta_args: Any
) -> None:
    """Write one dataset as Dataset-JSON v1.1: ``path`` ends .json (or .ndjson with ``ndjson``)."""
    meta = metadata(ds, created, **meta_args)
    types = [c["dataType"] for c in meta["columns"]]
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        if ndjson:
            fh.write(json.dumps(meta, ensure_ascii=False) + "\n")
            for row in _rows(ds, types):
                fh.write(row + "\n")
            return
        head = json.dumps({**meta, "rows": []}, ensure_ascii=False, indent=1)
        fh.write(head[: head.rindex("[]")] + "[")
        for i, row in enumerate(_rows(ds, types)):
            fh.write(("\n  " if i == 0 else ",\n  ") + row)
        fh.write("\n ]\n}\n")
