"""Identifiers: STUDYID, DOMAIN, USUBJID, --SEQ."""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.assign import compute_text
from daybreak_sdtm.derive.registry import Context, Kind, Param, VarRef, derivation


@derivation("derive_studyid", origin="Assigned", method="The study identifier, on every record")
def derive_studyid(ctx: Context) -> pd.Series:
    """The study identifier from the study file, on every record."""
    return pd.Series(ctx.study.studyid, index=ctx.raw.index, dtype=object)


@derivation("derive_domain", origin="Assigned", method="The two-letter domain code, on every record")
def derive_domain(ctx: Context) -> pd.Series:
    """The two-letter domain code, on every record."""
    return pd.Series(ctx.domain, index=ctx.raw.index, dtype=object)


@derivation(
    "derive_usubjid",
    {
        "source": Param(
            Kind.RAW,
            required=False,
            doc="subject column; the study file's export.subject by default",
            absent="the subject identifier",
        ),
    },
    method="STUDYID and {source} joined by a hyphen: one identifier per subject across the submission",
)
def derive_usubjid(ctx: Context, *, source: str = "") -> pd.Series:
    """``STUDYID-SUBJECT``: unique across the submission, identical in every domain."""
    subject = compute_text(ctx.raw[source or ctx.study.subject_column])
    return (ctx.study.studyid + "-" + subject).where(subject.ne(""), "")


@derivation(
    "derive_seq",
    {
        "order_by": Param(
            Kind.VARS,
            required=False,
            doc="variables giving the order within a subject (default: the dataset's keys)",
            absent="the dataset's keys ({keys})",
        ),
    },
    needs=("USUBJID",),
    runs_last=True,
    method="Sequence number 1, 2, 3 and so on of the subject's records, in the order of {order_by}",
)
def derive_seq(ctx: Context, *, order_by: list[VarRef] | None = None) -> pd.Series:
    """1, 2, 3... per subject, in the order of ``order_by`` or the dataset's keys (ties kept in raw record order)."""
    if order_by:
        keys = [ref.name for ref in order_by]
    else:
        keys = [k for k in ctx.sort_keys() if k in ctx.sdtm.columns and k not in {"STUDYID", "USUBJID"}]
    order = ctx.sdtm[["USUBJID", *keys]].copy()
    order["_pos"] = np.arange(len(order))
    order = order.sort_values(["USUBJID", *keys, "_pos"], kind="stable")
    seq = order.groupby("USUBJID", sort=False).cumcount() + 1
    return seq.reindex(ctx.sdtm.index).astype("float64")
