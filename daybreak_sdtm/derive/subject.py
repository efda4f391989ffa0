"""Subject-level values drawn from other domains: reference dates, arms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.registry import Context, Decode, Kind, Param, RowProblems, VarRef, derivation

if TYPE_CHECKING:
    from daybreak_sdtm.spec.model import StudySpec


def _filter_reads(params: Mapping[str, Any], study: StudySpec, domain: str) -> list[VarRef]:
    """Variables a ``filter`` reads, in the domain the derivation reads from."""
    target = params.get("variable")
    source_domain = str(target.domain if isinstance(target, VarRef) else params.get("domain", domain))
    # The other domain's USUBJID keys the lookup, so it is read too.
    return [VarRef(source_domain, "USUBJID")] + [VarRef(source_domain, name) for name in (params.get("filter") or {})]


def compute_filtered(frame: pd.DataFrame, filter: Mapping[str, tuple[str, ...]] | None) -> pd.DataFrame:
    """Rows of another domain matching every ``VARIABLE: value(s)`` condition."""
    mask = pd.Series(True, index=frame.index)
    for var, values in (filter or {}).items():
        mask &= frame[var].isin(list(values))
    return frame[mask]


def _subject_extreme(ctx: Context, variable: VarRef, filter: Any, last: bool) -> pd.Series:
    frame = compute_filtered(ctx.frame(variable.domain), filter)
    values = frame[variable.name].astype(str)
    values = values[values.ne("")]
    # ISO 8601 text sorts chronologically at equal precision; compare on the date part so a
    # datetime and a bare date of the same day tie. Of the two, the bare date is the earlier
    # value (its day begins before any time of it) and the later one (it ends after): RFXSTDTC
    # is "equal to the earliest value of EXSTDTC" (SDTMIG 3.4 DM; CORE-000239), so when
    # gemcitabine has no time on the day tislelizumab was infused at 08:30, it is that date.
    key = values.str.slice(0, 10)
    order = pd.DataFrame(
        {"USUBJID": frame.loc[values.index, "USUBJID"], "key": key, "value": values, "len": values.str.len()}
    )
    order = order.sort_values(["USUBJID", "key", "len"], ascending=[True, not last, True], kind="stable")
    picked = order.drop_duplicates("USUBJID").set_index("USUBJID")["value"]
    return ctx.per_subject(picked).fillna("").astype(object)


_FILTER = Param(
    Kind.WHERE,
    required=False,
    doc="only that domain's records matching these values",
    phrase=" among the records where {}",
)
_SUBJECT_DATE_PARAMS = {
    "variable": Param(Kind.DATE_VAR, doc="ISO 8601 variable of another domain, e.g. EX.EXSTDTC"),
    "filter": _FILTER,
}


@derivation(
    "derive_subject_first",
    _SUBJECT_DATE_PARAMS,
    needs=("USUBJID",),
    reads=_filter_reads,
    method="The subject's earliest {variable}{filter}",
)
def derive_subject_first(ctx: Context, *, variable: VarRef, filter: Any = None) -> pd.Series:
    """The subject's earliest value of a date variable in another domain (e.g. RFXSTDTC from EX.EXSTDTC)."""
    return _subject_extreme(ctx, variable, filter, last=False)


@derivation(
    "derive_subject_last",
    _SUBJECT_DATE_PARAMS,
    needs=("USUBJID",),
    reads=_filter_reads,
    method="The subject's latest {variable}{filter}",
)
def derive_subject_last(ctx: Context, *, variable: VarRef, filter: Any = None) -> pd.Series:
    """The subject's latest value of a date variable in another domain (e.g. RFXENDTC from EX.EXENDTC)."""
    return _subject_extreme(ctx, variable, filter, last=True)


@derivation(
    "derive_subject_value",
    {
        "variable": Param(Kind.VAR, doc="variable of another domain, e.g. RS.RSSTRESC"),
        "filter": _FILTER,
        "map": Param(
            Kind.MAP,
            required=False,
            doc="value found -> value to set (every value found must be mapped)",
            phrase=", recoded as {}",
        ),
    },
    needs=("USUBJID",),
    reads=_filter_reads,
    method="The subject's {variable}{filter}{map}",
)
def derive_subject_value(
    ctx: Context, *, variable: VarRef, filter: Any = None, map: dict[str, str] | None = None
) -> pd.Series:
    """The subject's value of a variable in another domain's matching records, optionally recoded.

    Refuses a subject whose matching records disagree: the value must be unambiguous.
    """
    frame = compute_filtered(ctx.frame(variable.domain), filter)
    values = frame[variable.name].astype(str)
    pairs = pd.DataFrame({"USUBJID": frame["USUBJID"], "value": values})
    pairs = pairs[pairs["value"].ne("")].drop_duplicates()
    conflict = pairs["USUBJID"].duplicated(keep=False)
    if conflict.any():
        subjects = sorted(pairs.loc[conflict, "USUBJID"].unique())
        own = ctx.sdtm["USUBJID"].isin(subjects).to_numpy()
        raise RowProblems(
            np.flatnonzero(own),
            ctx.sdtm.loc[own, "USUBJID"].tolist(),
            f"subject has conflicting {variable} values",
            str(variable),
        )
    per_subject = pairs.set_index("USUBJID")["value"]
    if map:
        mapped = per_subject.map(map)
        missing = mapped.isna()
        if missing.any():
            bad = per_subject[missing]
            own = ctx.sdtm["USUBJID"].isin(bad.index).to_numpy()
            raise RowProblems(
                np.flatnonzero(own),
                ctx.per_subject(bad)[own].tolist(),
                f"{variable} value not in the spec's map",
                str(variable),
            )
        per_subject = mapped
    return ctx.per_subject(per_subject).fillna("").astype(object)


@derivation(
    "derive_subject_exists",
    {
        "domain": Param(Kind.DOMAIN, doc="domain whose records are looked for"),
        "filter": Param(Kind.WHERE, required=False, doc="only records matching these values count", phrase=" where {}"),
        "then": Param(Kind.VALUE, doc="value when the subject has such a record", choice=True),
        "otherwise": Param(Kind.VALUE, doc="value when not", choice=True),
    },
    needs=("USUBJID",),
    reads=_filter_reads,
    method="{then} for subjects with a record in {domain}{filter}, {otherwise} for the others",
)
def derive_subject_exists(ctx: Context, *, domain: str, then: str, otherwise: str, filter: Any = None) -> pd.Series:
    """``then`` for subjects with a (matching) record in another domain, ``otherwise`` for the rest."""
    frame = compute_filtered(ctx.frame(domain), filter)
    has = ctx.sdtm["USUBJID"].isin(set(frame["USUBJID"]))
    return pd.Series(np.where(has, then, otherwise), index=ctx.sdtm.index, dtype=object)


def study_arms(study: StudySpec) -> list[tuple[str, str]]:
    """The study's arms as (ARMCD, ARM), in the order the study file declares them."""
    return [(arm.armcd, arm.arm) for arm in study.arms]


# An arm variable is the decode of an arm code variable through the study's arms (TA, DM).
ARMS = Decode("armcd", study_arms, "the study file's arms", code_name="Arm Code", decode_name="Arm")


@derivation(
    "derive_arm",
    {
        "armcd": Param(Kind.VAR, doc="arm code variable of this domain (ARMCD or ACTARMCD)"),
    },
    decodes=ARMS,
    origin="Protocol",  # the protocol's arm names (the study file's arms:)
    method="The name of the arm coded in {armcd}, as the trial design's arms (TA) name it",
)
def derive_arm(ctx: Context, *, armcd: VarRef) -> pd.Series:
    """The arm description for an arm code, from the study file's arms."""
    codes = ctx.column(armcd)
    labels = dict(study_arms(ctx.study))
    result = codes.map(labels)
    unknown = codes.ne("") & result.isna()
    if unknown.any():
        pos = np.flatnonzero(unknown.to_numpy())
        raise RowProblems(pos, codes.iloc[pos].tolist(), "arm code not among the study file's arms", str(armcd))
    return result.fillna("").astype(object)
