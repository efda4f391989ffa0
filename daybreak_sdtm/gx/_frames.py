"""Datasets as great-expectations sees them, and gx's outcomes as findings against the datasets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.package import Dataset
from daybreak_sdtm.findings import Finding

if TYPE_CHECKING:
    from daybreak_sdtm.gx import Expect
    from daybreak_sdtm.gx._suite import Outcome


def findings_of(ds: Dataset, expects: Sequence[Expect], outcomes: Sequence[Outcome]) -> list[Finding]:
    """The findings of ``outcomes`` of ``expects`` run on ``ds``: records named with their source and spec."""
    findings: list[Finding] = []
    for outcome in outcomes:
        exp = expects[outcome.index]
        if outcome.positions is not None:
            positions = outcome.positions
            if exp.variable in ds.frame.columns:
                shown = ds.text(exp.variable).to_numpy()
                messages = [exp.message.format(value=shown[p]) for p in positions.tolist()]
            else:
                messages = [exp.message.format(value="") for _ in positions.tolist()]
            findings.extend(ds.findings(exp.code, exp.severity, positions, exp.variable, messages))
        elif outcome.missing:
            findings.extend(
                ds.finding(exp.code, exp.severity, name, exp.message.format(missing=name, value=""))
                for name in outcome.missing
            )
        else:
            findings.append(
                ds.finding(exp.code, exp.severity, exp.variable, exp.message.format(value=outcome.observed, missing=""))
            )
    return findings


def gx_frame(ds: Dataset) -> pd.DataFrame:
    """The frame great-expectations sees: SDTM's blank text is null, so ``not_null`` means populated.

    Char columns are handed over as categoricals made from the dataset's own factorisation
    (``Dataset.codes``), with blank as a missing code: the same values to every expectation,
    but gx's per-expectation null filters, set membership, duplicate search, row copies and
    batch fingerprint then work on small integer codes and on each distinct value once, where
    an object column costs a Python string comparison or hash per record, per expectation.
    """
    out: dict[str, pd.Categorical | pd.Series] = {}
    for col in ds.frame.columns:
        values = ds.frame[col]
        if values.dtype == object:
            codes, table = ds.codes(col)
            distinct = table[:-1]
            blank = distinct == ""
            # New code of each old one: blanks (and code -1, the table's last entry) become -1.
            lut = np.cumsum(~blank) - 1
            lut[blank] = -1
            lut = np.append(lut, -1).astype(codes.dtype)
            out[col] = pd.Categorical.from_codes(
                lut[codes], categories=pd.Index(distinct[~blank], dtype=object), validate=False
            )
        else:
            out[col] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(ds.frame)))
