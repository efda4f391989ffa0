"""What the build's stages share about columns: the text type, the raw columns a variable reads, record order."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from daybreak_sdtm.spec.check import ResolvedVariable

# Text variables are held as pandas' Arrow-backed strings: a few bytes per value, where a Python
# str object takes about 60; at 100,000 subjects that is what keeps a conversion within memory.
TEXT: Final = "str"


def all_raw_columns(item: ResolvedVariable) -> set[str]:
    """The raw columns a variable reads, those of its value-level cases included."""
    return set(item.raw_columns) | {c for case in item.cases for c in all_raw_columns(case)}


def stable_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The positions ``frame.sort_values(columns, kind="stable")`` would give, computed on codes.

    Text keys are factorised with sorted distinct values (code order is text order; the text is
    ASCII, so byte and code point order agree), then one stable ``np.lexsort`` orders integers
    rather than comparing strings. Missing values sort last, as in ``sort_values``.
    """
    keys = []
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            keys.append(values.to_numpy(dtype="float64", na_value=np.nan))  # lexsort puts NaN last
        else:
            codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
            keys.append(np.where(codes < 0, len(uniques), codes))
    return np.lexsort(keys[::-1]) if keys else np.arange(len(frame))
