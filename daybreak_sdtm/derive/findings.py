"""Findings results in standard form: --STRESC/--STRESN/--STRESU from --ORRES/--ORRESU, --NRIND and --LOBXFL.

The standard unit of each test is declared on --STRESU (``standard: {TESTCD: unit}``); the
conversions between units are declared once for the study (study.yaml ``unit_conversions:``,
standard = collected x factor + offset, optionally for one test and rounded to ``decimals``). A
result whose unit differs from its standard unit with no conversion declared is an error naming
its record: nothing is converted by guess. Non-numeric results (NEGATIVE, <0.1) are copied to
--STRESC as collected and have no --STRESN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.registry import Context, Kind, Param, RowProblems, VarRef, derivation

if TYPE_CHECKING:
    from daybreak_sdtm.spec.model import StudySpec, UnitConversion


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip()


@derivation(
    "derive_stresu",
    {
        "unit": Param(Kind.VAR, doc="the collected unit variable of this domain (--ORRESU)"),
        "test": Param(Kind.VAR, doc="the test code variable (--TESTCD)"),
        "standard": Param(
            Kind.MAP,
            required=False,
            doc="test code -> its standard unit (tests not listed keep theirs)",
            phrase=" ({})",
        ),
    },
    method="The standard unit of the test in {test}{standard}; other tests keep {unit}",
)
def derive_stresu(ctx: Context, *, unit: VarRef, test: VarRef, standard: Mapping[str, str] | None = None) -> pd.Series:
    """The standard unit of each result: the one declared for its test, else the unit it was collected in."""
    collected = _text(ctx.column(unit))
    declared = _text(ctx.column(test)).map(dict(standard or {}))
    return declared.where(declared.notna() & collected.ne(""), collected).astype(object)


def _conversion(study: StudySpec, test: str, source: str, target: str) -> UnitConversion | None:
    """The study's conversion from one unit to another: the one declared for the test first, else the general one."""
    general = None
    for conv in study.unit_conversions:
        if conv.from_unit == source and conv.to_unit == target:
            if conv.test == test:
                return conv
            if not conv.test and general is None:
                general = conv
    return general


def number_text(value: float, decimals: int | None = None) -> str:
    """A number as --STRESC holds it: ``decimals`` places when given, else the shortest form (68.04, 150)."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    text = f"{value:.10g}"
    if "e" in text:
        text = repr(float(text))
    return text


def _standardized(
    ctx: Context, result: VarRef, unit: VarRef, standard_unit: VarRef, test: VarRef | None
) -> tuple[pd.Series, np.ndarray]:
    """(--STRESC, --STRESN) of every record: numeric results converted to their standard unit."""
    orres = _text(ctx.column(result))
    units = _text(ctx.column(unit))
    targets = _text(ctx.column(standard_unit))
    tests = _text(ctx.column(test)) if test is not None else pd.Series("", index=orres.index)
    numbers = pd.to_numeric(orres.where(orres.ne("")), errors="coerce").to_numpy(dtype="float64")
    stresn = numbers.copy()
    stresc = orres.copy()
    differs = (units.ne(targets) & orres.ne("")).to_numpy()
    bad: list[int] = []
    bad_values: list[str] = []
    positions = np.flatnonzero(differs)
    combos = pd.DataFrame(
        {
            "test": tests.to_numpy()[positions],
            "source": units.to_numpy()[positions],
            "target": targets.to_numpy()[positions],
        }
    )
    for (test_code, source, target), group in combos.groupby(["test", "source", "target"], sort=True):
        rows = positions[group.index.to_numpy()]
        conv = _conversion(ctx.study, str(test_code), str(source), str(target))
        numeric = ~np.isnan(numbers[rows])
        problem_rows = rows if conv is None else rows[~numeric]
        bad.extend(problem_rows.tolist())
        bad_values.extend(f"{orres.iat[int(i)]} {source} -> {target}" for i in problem_rows)
        if conv is None:
            continue
        convertible = rows[numeric]
        converted = numbers[convertible] * conv.factor + conv.offset
        if conv.decimals is not None:
            converted = np.round(converted, conv.decimals)
        stresn[convertible] = converted
        for i, value in zip(convertible.tolist(), converted.tolist(), strict=True):
            stresc.iat[i] = number_text(value, conv.decimals)
    if bad:
        order = np.argsort(bad, kind="stable")
        raise RowProblems(
            np.asarray(bad)[order],
            [bad_values[i] for i in order],
            "result cannot be given in its standard unit: declare the conversion under study.yaml "
            "unit_conversions: (a non-numeric result cannot be converted)",
            str(result),
        )
    return stresc.astype(object), stresn


_STANDARD_PARAMS = {
    "result": Param(Kind.VAR, doc="the collected result variable (--ORRES)"),
    "unit": Param(Kind.VAR, doc="the collected unit variable (--ORRESU)"),
    "standard_unit": Param(Kind.VAR, doc="the standard unit variable (--STRESU)"),
    "test": Param(
        Kind.VAR,
        required=False,
        doc="the test code variable (--TESTCD), for conversions of one test",
        phrase=" (per {})",
    ),
}


@derivation(
    "derive_stresc",
    _STANDARD_PARAMS,
    method="{result} in standard form: converted from {unit} to {standard_unit}{test} when numeric, else as collected",
)
def derive_stresc(
    ctx: Context, *, result: VarRef, unit: VarRef, standard_unit: VarRef, test: VarRef | None = None
) -> pd.Series:
    """The result in standard form: converted to the standard unit when numeric, else as collected."""
    return _standardized(ctx, result, unit, standard_unit, test)[0]


@derivation(
    "derive_stresn",
    _STANDARD_PARAMS,
    method=(
        "The numeric value of {result} converted from {unit} to {standard_unit}{test}; blank when it is not a number"
    ),
)
def derive_stresn(
    ctx: Context, *, result: VarRef, unit: VarRef, standard_unit: VarRef, test: VarRef | None = None
) -> pd.Series:
    """The numeric result in the standard unit (blank for a non-numeric result)."""
    return pd.Series(_standardized(ctx, result, unit, standard_unit, test)[1], index=ctx.sdtm.index)


def _reference_reads(params: Mapping[str, Any], study: StudySpec, domain: str) -> list[VarRef]:
    """The reference date's domain is looked up by subject, so its USUBJID is read too."""
    reference = params.get("reference")
    return [VarRef(reference.domain, "USUBJID")] if isinstance(reference, VarRef) else [VarRef("DM", "USUBJID")]


@derivation(
    "derive_lobxfl",
    {
        "date": Param(Kind.DATE_VAR, doc="the date of the record (--DTC)"),
        "result": Param(Kind.VAR, doc="the result that must be given (--ORRES or --STRESC)"),
        "by": Param(
            Kind.VARS,
            required=False,
            doc="what a baseline is per, besides the subject (default: --TESTCD)",
            phrase="per {}",
            absent="per test",
        ),
        "reference": Param(
            Kind.DATE_VAR,
            required=False,
            doc="the first exposure (default: DM.RFXSTDTC)",
            absent="DM.RFXSTDTC (the first exposure)",
        ),
    },
    needs=("USUBJID",),
    reads=_reference_reads,
    method=(
        "Y on the subject's last record {by} with {result} given and {date} on or before {reference}; blank otherwise"
    ),
)
def derive_lobxfl(
    ctx: Context, *, date: VarRef, result: VarRef, by: list[VarRef] | None = None, reference: VarRef | None = None
) -> pd.Series:
    """Y on each subject's last record with a result on or before the first exposure, per test (SDTMIG 3.4 --LOBXFL).

    Dates are compared at their common precision, so a record dated on the day of the first dose
    (no time) counts as before it; records with no result or no date are never flagged.
    """
    reference = reference or VarRef("DM", "RFXSTDTC")
    groups = by or [VarRef(ctx.domain, f"{ctx.domain}TESTCD")]
    dates = _text(ctx.column(date))
    results = _text(ctx.column(result))
    ref_frame = ctx.frame(reference.domain)
    refs = ctx.per_subject(ref_frame.set_index("USUBJID")[reference.name]).fillna("").astype(str)
    before = [
        bool(d) and bool(r) and d[: min(len(d), len(r))] <= r[: min(len(d), len(r))]
        for d, r in zip(dates.tolist(), refs.tolist(), strict=True)
    ]
    eligible = np.asarray(before, dtype=bool) & results.ne("").to_numpy()
    frame = pd.DataFrame({"USUBJID": ctx.sdtm["USUBJID"].to_numpy(), "_date": dates.to_numpy()})
    keys = ["USUBJID"]
    for i, ref in enumerate(groups):
        frame[f"_by{i}"] = _text(ctx.column(ref)).to_numpy()
        keys.append(f"_by{i}")
    frame["_pos"] = np.arange(len(frame))
    candidates = frame[eligible].sort_values([*keys, "_date", "_pos"], kind="stable")
    last = candidates.drop_duplicates(keys, keep="last")["_pos"].to_numpy()
    flag = np.full(len(frame), "", dtype=object)
    flag[last] = "Y"
    return pd.Series(flag, index=ctx.sdtm.index, dtype=object)


@derivation(
    "derive_nrind",
    {
        "result": Param(Kind.VAR, doc="the numeric result (--STRESN, or --ORRES)"),
        "low": Param(Kind.VAR, doc="the normal range's lower limit in the same unit (--STNRLO)"),
        "high": Param(Kind.VAR, doc="the normal range's upper limit in the same unit (--STNRHI)"),
    },
    method=(
        "LOW, NORMAL or HIGH as {result} is below {low}, within {low} to {high}, or above {high}; "
        "blank when one of them is missing"
    ),
)
def derive_nrind(ctx: Context, *, result: VarRef, low: VarRef, high: VarRef) -> pd.Series:
    """LOW, NORMAL or HIGH: where a numeric result falls against its normal range (blank when either is missing)."""

    def numbers(ref: VarRef) -> np.ndarray:
        return pd.to_numeric(ctx.column(ref), errors="coerce").to_numpy(dtype="float64")

    value, lo, hi = numbers(result), numbers(low), numbers(high)
    out = np.full(len(value), "", dtype=object)
    known = ~np.isnan(value) & (~np.isnan(lo) | ~np.isnan(hi))
    out[known] = "NORMAL"
    out[known & (value < lo)] = "LOW"
    out[known & (value > hi)] = "HIGH"
    return pd.Series(out, index=ctx.sdtm.index, dtype=object)
