"""SAS transport (XPT v5) files through pyreadstat, within the FDA Technical Conformance Guide limits.

Names over 8 characters, labels over 40, values over 200 bytes and non-ASCII text are reported
before anything is written: nothing is truncated or transliterated silently.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.text import non_ascii, text_byte_lengths, text_objects

MAX_NAME, MAX_LABEL, MAX_VALUE_BYTES = 8, 40, 200
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# The header's creation and modification stamps, e.g. 25NOV26:12:33:33.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


def xpt_problems(ds: Dataset) -> list[str]:
    """Every way a dataset breaks XPT v5 / FDA limits: names, labels, value bytes, ASCII.

    Values are judged once per distinct value (``Dataset.positions_where``), then named by record.
    """
    name = ds.name
    problems = []
    if len(name) > MAX_NAME or not _NAME.match(name):
        problems.append(f"{name}: dataset name must be at most {MAX_NAME} letters, digits or _")
    if len(ds.label) > MAX_LABEL or not ds.label.isascii():
        problems.append(f"{name}: dataset label {ds.label!r} longer than {MAX_LABEL} characters or not ASCII")
    frame = ds.frame
    usubjid = frame["USUBJID"] if "USUBJID" in frame.columns else None
    for col in frame.columns:
        label = ds.labels.get(col, "")
        if len(col) > MAX_NAME or not _NAME.match(col):
            problems.append(f"{name}.{col}: variable name must be at most {MAX_NAME} letters, digits or _")
        if len(label) > MAX_LABEL or not label.isascii():
            problems.append(f"{name}.{col}: label {label!r} longer than {MAX_LABEL} characters or not ASCII")
        if pd.api.types.is_numeric_dtype(frame[col]):
            continue
        bad_text = ds.per_value(col, non_ascii)
        too_long = ds.per_value(col, lambda values: text_byte_lengths(values) > MAX_VALUE_BYTES)
        text = frame[col]
        for pos in np.flatnonzero(bad_text | too_long).tolist():  # only the offending values
            who = f" USUBJID={usubjid.iat[pos]}" if usubjid is not None else ""
            why = "is not ASCII" if bad_text[pos] else f"is longer than {MAX_VALUE_BYTES} bytes"
            problems.append(f"{name}.{col} row {pos + 1}{who}: value {text.iat[pos]!r} {why}")
    return problems


def write_xpt(ds: Dataset, path: Path, created: dt.datetime) -> None:
    """Write one dataset as XPT v5 with its label, variable labels and a fixed creation stamp."""
    import pyreadstat

    labels: dict[str, str | None] = {col: ds.labels.get(col) or col for col in ds.frame.columns}
    pyreadstat.write_xport(
        xpt_frame(ds.frame),
        str(path),
        file_label=ds.label,
        column_labels=labels,
        table_name=ds.name,
        file_format_version=5,
    )
    _stamp(path, created)


def xpt_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as pyreadstat writes it fastest: numbers as float64, text as Python ``str`` objects.

    pyreadstat 1.3 iterates rows through narwhals; object columns of ``str`` are about three times
    faster to iterate than pandas' Arrow-backed ``str`` dtype, and write the same bytes.
    """
    columns = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values):
            columns[col] = values.astype("float64")
        elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
            columns[col] = values  # already str objects
        else:
            columns[col] = pd.Series(text_objects(values), index=frame.index, dtype=object)
    return pd.DataFrame(columns, index=frame.index)


_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD"


def _stamp(path: Path, created: dt.datetime) -> None:
    """Replace the writer's wall-clock stamps so that the same inputs give the same bytes.

    The stamps live in the header, before the observations; a stamp has a fixed width, so the
    header is rewritten in place and the records (most of the file) are neither read nor copied.
    """
    # Month names spelled here, not by strftime's %b, which follows the locale.
    month = _MONTHS[created.month - 1]
    stamp = f"{created.day:02d}{month}{created.year % 100:02d}:{created:%H:%M:%S}".encode("ascii")
    with path.open("r+b") as fh:
        head = b""
        while True:  # the header grows with the variables (140 bytes each): read until it ends
            chunk = fh.read(1 << 16)
            head += chunk
            header_end = head.find(_OBS_HEADER)
            if header_end >= 0 or not chunk:
                break
        if header_end < 0:
            header_end = len(head)
        old = head[:header_end]
        new = _STAMP.sub(stamp, old)
        if len(new) != len(old):  # cannot happen (fixed-width stamps); never corrupt a file trying
            raise ValueError(f"{path}: XPT header stamp of unexpected width")
        fh.seek(0)
        fh.write(new)
