"""Dataset and variable labels as SDTMIG gives them: what an XPT file says, and its define with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daybreak_sdtm.standards.model import Standards

if TYPE_CHECKING:
    import pandas as pd


def dataset_label(name: str, standards: Standards) -> str:
    """The dataset label: SDTMIG's, or 'Supplemental Qualifiers for XX' for SUPPXX."""
    if name.startswith("SUPP") and name not in standards.datasets:
        return f"Supplemental Qualifiers for {name[4:]}"
    meta = standards.dataset(name)
    return meta.label if meta else name


def variable_labels(name: str, frame: pd.DataFrame, standards: Standards) -> dict[str, str]:
    """SDTMIG label of every column (the column's name when SDTMIG has no such variable)."""
    labels = {}
    for col in frame.columns:
        meta = standards.variable(name, col)
        labels[col] = meta.label if meta else col
    return labels
