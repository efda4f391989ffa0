"""Vectorised facts about text columns: UTF-8 byte lengths and non-ASCII values.

XPT v5 holds ASCII text of at most 200 bytes per value, and its character widths are byte
lengths; the mapping engine, the writer and the define all ask these questions of every value,
so they are answered by Arrow's C++ kernels rather than by a Python call per value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa


def text_array(values: pd.Series) -> pa.Array:
    """The values as text in one Arrow array (missing values null), without a Python object per value.

    Arrow-backed ``str`` columns, as the mapping engine makes them, are handed over without a copy.
    """
    import pyarrow as pa

    text = values if isinstance(values.dtype, pd.StringDtype) else values.astype(str)
    array = pa.array(text)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def text_byte_lengths(values: pd.Series) -> np.ndarray:
    """UTF-8 byte length of every value as text (0 for missing), computed in Arrow's C++ kernels."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.binary_length(text_array(values)), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def non_ascii(values: pd.Series) -> np.ndarray:
    """Where a value holds a character outside ASCII, computed in Arrow's C++ kernels."""
    import pyarrow.compute as pc

    ascii_ = pc.fill_null(pc.string_is_ascii(text_array(values)), True)
    return ~ascii_.to_numpy(zero_copy_only=False).astype(bool)


def text_objects(values: pd.Series) -> np.ndarray:
    """The values as an object array of ``str`` ("" for missing) holding one object per distinct value.

    ``astype(object)`` makes a Python string per record (about 60 bytes each); here every record
    points at its value's one string (8 bytes), which keeps a package of millions of records
    small in the object form that pyreadstat and the checks iterate fastest.
    """
    codes, table = text_codes(values)
    return table[codes]


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code into an object table of its distinct values as ``str``: ``table[codes]`` is the text.

    The table's last entry is "" and code -1 (a missing value) indexes it, so any per-value
    fact computed once on the table (a few thousand entries) is spread to every record by
    ``fact[codes]``, without touching a string per record.

    Returns:
        (codes, table): int64 codes aligned with ``values`` and the ``len(distinct) + 1`` table.
    """
    codes, uniques = pd.factorize(values.astype(str), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = np.asarray(uniques, dtype=object)
    table[-1] = ""  # code -1, the missing values
    return codes, table
