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


XPT_LABEL_MAX = 40  # characters of a dataset or variable label in an XPT v5 file (FDA Technical Conformance Guide)


def xpt_label_problem(label: str) -> str:
    """Why ``label`` cannot be an XPT v5 dataset or variable label ("" when it can): at most 40 characters, ASCII."""
    if len(label) > XPT_LABEL_MAX:
        return f"{label!r} is {len(label)} characters: an XPT v5 label holds at most {XPT_LABEL_MAX}"
    odd = "".join(dict.fromkeys(c for c in label if not c.isascii()))
    if odd:
        return f"{label!r} holds non-ASCII characters ({odd}): an XPT v5 label is ASCII"
    return ""
