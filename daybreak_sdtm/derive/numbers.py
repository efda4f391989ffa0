"""Numbers read out of collected text (visit numbers from EDC folder names)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.assign import compute_text
from daybreak_sdtm.derive.registry import Context, Kind, Param, RowProblems, VarRef, derivation


@derivation(
    "derive_number",
    {
        "source": Param(Kind.RAW, doc="raw text holding a whole number, e.g. an EDC folder 'MAINT WK18'"),
        "map": Param(
            Kind.MAP,
            required=False,
            doc="exact texts with their number, taking precedence (e.g. POST-INDUCTION: 7)",
            phrase=" (exact texts: {})",
        ),
        "offset": Param(Kind.NUMBER, required=False, doc="added to the number found in the text", phrase=" plus {}"),
    },
    method="The whole number in the collected {source}{offset}{map}",
)
def derive_number(ctx: Context, *, source: str, map: dict[str, str] | None = None, offset: str = "0") -> pd.Series:
    """The number a text names: ``map`` for exact texts, else the first whole number in it plus ``offset``.

    Refuses a filled text with neither, so no visit goes unnumbered.
    """
    text = compute_text(ctx.raw[source])
    found = pd.to_numeric(text.str.extract(r"(\d+)", expand=False), errors="coerce") + float(offset)
    mapped = pd.to_numeric(text.map(map or {}), errors="coerce")
    result = mapped.fillna(found)
    missing = text.ne("") & result.isna()
    if missing.any():
        pos = np.flatnonzero(missing.to_numpy())
        raise RowProblems(pos, text.iloc[pos].tolist(), "no number in the text and not in the spec's map", source)
    return result.astype("float64")


@derivation(
    "derive_if_blank",
    {
        "variable": Param(Kind.VAR, doc="variable of this domain, e.g. ARMCD"),
        "then": Param(Kind.VALUE, doc="value where that variable is blank (e.g. NOT ASSIGNED)", choice=True),
    },
    method="{then} when {variable} is blank, blank otherwise",
)
def derive_if_blank(ctx: Context, *, variable: VarRef, then: str) -> pd.Series:
    """``then`` where another variable of the record is blank, blank elsewhere (e.g. ARMNRS beside ARMCD)."""
    values = ctx.column(variable)
    return pd.Series(np.where(values.fillna("").astype(str).eq(""), then, ""), index=values.index, dtype=object)
