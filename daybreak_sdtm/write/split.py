"""Datasets over an agency's file size limit, also written split in record order into smaller XPT files.

FDA's Study Data Technical Conformance Guide (section 3.3.2, Dataset Size) caps a dataset file
at 5 GB: a larger dataset is submitted split into files under the limit, named after the dataset
and numbered (``lb1.xpt``, ``lb2.xpt``), in a folder ``split/`` beside the whole dataset. Every
part has the variables, labels and lengths of the whole dataset, so that appending the parts in
order gives it back.

An XPT v5 file's size follows from its variables, record length and records (80-byte header
records, a 140-byte NAMESTR per variable, then the observations, each section padded to 80
bytes), so the parts are decided before anything is written, not by trial.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.dataset import SPLIT_FOLDER, Dataset, Part, part_file
from daybreak_sdtm.errors import DaybreakError, WriteError
from daybreak_sdtm.read_xpt import XPT_BLOCK, xpt_size
from daybreak_sdtm.text import text_byte_lengths
from daybreak_sdtm.write.xpt import write_xpt

_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}
_UNITS |= {"KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str | int) -> int:
    """A size in bytes from ``5GB``, ``20KB``, ``1.5 GiB`` or a number of bytes (GB = 1000**3, GiB = 1024**3)."""
    if isinstance(text, int):
        number, unit = float(text), ""
    else:
        match = _SIZE.match(text)
        if match is None or match.group(2).upper() not in _UNITS:
            raise DaybreakError(
                f"--max-dataset-size {text!r}: not a size; give a number with B, KB, MB, GB or TB (or KiB, MiB, GiB)"
            )
        number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * _UNITS[unit])
    if size <= 0:
        raise DaybreakError(f"--max-dataset-size {text!r}: must be more than 0 bytes")
    return size


def record_length(ds: Dataset) -> int:
    """The bytes of one record of a dataset's XPT file: the sum of its variables' widths."""
    return sum(int(ds.widths[col]) for col in ds.frame.columns)


def part_ranges(ds: Dataset, limit: int) -> list[tuple[int, int]]:
    """The record ranges ``[start, stop)`` of the parts of a dataset whose XPT file would be over
    ``limit`` bytes, as many as needed and as even as records allow; [] when the file fits."""
    records, variables, length = len(ds.frame), len(ds.frame.columns), record_length(ds)
    if xpt_size(variables, length, records) <= limit:
        return []
    room = (limit - xpt_size(variables, length, 0)) // XPT_BLOCK * XPT_BLOCK
    per_part = room // length if room > 0 else 0
    if per_part < 1:
        raise WriteError(
            f"{ds.name}: no XPT file of at most {limit} bytes holds one of its records "
            f"({xpt_size(variables, length, 1)} bytes with the headers); raise --max-dataset-size"
        )
    count = math.ceil(records / per_part)
    size = math.ceil(records / count)
    return [(start, min(start + size, records)) for start in range(0, records, size)]


def write_parts(ds: Dataset, folder: Path, created: dt.datetime, ranges: Sequence[tuple[int, int]]) -> tuple[Part, ...]:
    """Write records ``[start, stop)`` of each of ``ranges`` (``part_ranges``) as the dataset's parts
    into ``folder/split/``, and return them; () for no ranges."""
    if not ranges:
        return ()
    (folder / SPLIT_FOLDER).mkdir(exist_ok=True)
    lengths = _value_lengths(ds)
    parts = []
    for number, (start, stop) in enumerate(ranges, 1):
        file = part_file(ds.name, number)
        write_xpt(_part(ds, lengths, start, stop), folder / file, created)
        parts.append(Part(file, start + 1, stop - start))
    return tuple(parts)


def _value_lengths(ds: Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every char variable, its codes (``Dataset.codes``) and the byte length of each distinct
    value: a part's lengths are ``lengths[codes[start:stop]]``, and no text is measured twice."""
    lengths = {}
    for col in ds.frame.columns:
        if not pd.api.types.is_numeric_dtype(ds.frame[col]):
            codes, table = ds.codes(col)
            lengths[col] = (codes, text_byte_lengths(pd.Series(table, dtype=object)))
    return lengths


def _part(ds: Dataset, lengths: dict[str, tuple[np.ndarray, np.ndarray]], start: int, stop: int) -> Dataset:
    """Records ``[start, stop)`` of a dataset, each char variable holding one value as wide as the
    whole dataset's (padded with blanks, which XPT stores anyway), so the part has its widths."""
    columns = {}
    for col in ds.frame.columns:
        values = ds.frame[col].iloc[start:stop].reset_index(drop=True)
        if col in lengths:
            codes, distinct = lengths[col]
            values = _as_wide(values, distinct[codes[start:stop]], int(ds.widths[col]))
        columns[col] = values
    return Dataset(ds.name, pd.DataFrame(columns), ds.label, ds.labels, ds.widths)


def _as_wide(values: pd.Series, lengths: np.ndarray, width: int) -> pd.Series:
    """``values`` of a char variable with the first of its longest padded with blanks to ``width``
    bytes, unless one is that wide already (``lengths``: the byte length of each value)."""
    if not len(lengths) or int(lengths.max()) >= width:
        return values
    at = int(np.argmax(lengths))
    widened = values.to_numpy(dtype=object, copy=True)
    widened[at] = f"{widened[at]}{' ' * (width - int(lengths[at]))}"
    return pd.Series(widened, dtype=object)
