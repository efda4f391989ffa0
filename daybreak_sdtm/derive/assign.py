"""Copy, recode and set values: sdtm.oak's ``assign_*`` / ``hardcode_*`` vocabulary, and a few combinators."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.registry import Context, Kind, Param, RowProblems, derivation
from daybreak_sdtm.derive.text import TextStep, transformed
from daybreak_sdtm.standards import Codelist

_CODELIST = Param(
    Kind.CODELIST,
    required=False,
    doc="defaults to the variable's SDTMIG codelist",
    phrase="codelist {}",
    absent="the variable's SDTMIG codelist",
)
_TRANSFORM = Param(
    Kind.TEXT_STEPS, required=False, doc="text steps applied to the collected value first", phrase=" ({})"
)


def compute_text(series: pd.Series) -> pd.Series:
    """Raw text with surrounding blanks removed (EDCs pad free text)."""
    return series.astype(str).str.strip()


def on_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(values)`` computed once per distinct value and spread back to every record.

    A column of a million records holds a few thousand distinct texts (dates, terms, codes), so
    element-wise work (strip, regex, codelist lookup, date parsing) is done on those alone. ``fn``
    must be element-wise: each output depends only on its own input value. A RowProblems raised
    on the distinct values is re-raised with the positions and values of every record affected.

    Args:
        values: the column, of any dtype; missing values are one distinct value like the others.
        fn: element-wise function of a Series, returning a Series aligned with its input.

    Returns:
        ``fn``'s values aligned with ``values``' index, in ``fn``'s dtype.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    try:
        out = fn(pd.Series(uniques, dtype=values.dtype))
    except RowProblems as problem:
        # Error path only: name every record holding a refused value, in record order.
        by_code = dict(zip(problem.positions.tolist(), problem.values, strict=True))
        positions = np.flatnonzero(np.isin(codes, problem.positions))
        raise RowProblems(
            positions, [by_code[c] for c in codes[positions].tolist()], problem.message, problem.column
        ) from None
    return pd.Series(out.array.take(codes), index=values.index, dtype=out.dtype)


def compute_recode(
    values: pd.Series, mapping: dict[str, str], column: str, what: str, default: str | None = None
) -> pd.Series:
    """Recode through a map; a collected value the map lacks is a problem, never passed on, unless
    a ``default`` is declared for such values."""
    mapped = values.map(mapping)
    if default is not None:
        mapped = mapped.where(values.eq("") | mapped.notna(), default)
    unmapped = values.ne("") & mapped.isna()
    if unmapped.any():
        positions = np.flatnonzero(unmapped.to_numpy())
        raise RowProblems(positions, values.iloc[positions].tolist(), f"value not in the {what}", column)
    return mapped.fillna("").astype(str)


def compute_ct(values: pd.Series, codelist: Codelist, mapping: dict[str, str] | None, column: str) -> pd.Series:
    """Recode collected values to a codelist's submission values (spec map first, then CT synonyms)."""
    recoded: pd.Series = values.map(mapping) if mapping else pd.Series(np.nan, index=values.index, dtype=object)
    by_ct: pd.Series = values.str.upper().map(codelist.lookup)
    result = recoded.fillna(by_ct)
    unmapped = values.ne("") & result.isna()
    if unmapped.any():
        positions = np.flatnonzero(unmapped.to_numpy())
        raise RowProblems(
            positions,
            values.iloc[positions].tolist(),
            f"value not in codelist {codelist.submission_value} ({codelist.code}) nor in the spec's map",
            column,
        )
    return result.fillna("").astype(str)


@derivation(
    "assign_no_ct",
    {
        "source": Param(Kind.RAW, doc="raw column to copy"),
        "transform": _TRANSFORM,
        "map": Param(Kind.MAP, required=False, doc="recoding of every collected value", phrase=", recoded as {}"),
        "default": Param(
            Kind.VALUE,
            required=False,
            doc="value for a collected value the map lacks (else refused)",
            choice=True,
            phrase=" ({} for any other value)",
        ),
    },
    origin="Collected",
    method="The collected {source}{transform}{map}{default}",
)
def assign_no_ct(
    ctx: Context,
    *,
    source: str,
    transform: tuple[TextStep, ...] | None = None,
    map: dict[str, str] | None = None,
    default: str | None = None,
) -> pd.Series:
    """Copy a raw column: blanks trimmed, the ``transform`` steps applied, recoded by ``map`` when given.

    A collected value the map lacks is refused, unless a ``default`` is given for such values.
    """

    def copy(raw: pd.Series) -> pd.Series:
        text = transformed(compute_text(raw), transform)
        return compute_recode(text, map, source, "spec's map", default) if map else text

    return on_distinct(ctx.raw[source], copy)


@derivation(
    "assign_ct",
    {
        "source": Param(Kind.RAW, doc="raw column holding the collected value"),
        "transform": _TRANSFORM,
        "codelist": _CODELIST,
        "map": Param(
            Kind.MAP,
            required=False,
            doc="collected value -> submission value, where CT synonyms do not match",
            phrase=", CRF wording recoded as {}",
        ),
    },
    origin="Collected",
    method="The collected {source}{transform} recoded to the submission values of {codelist}{map}",
)
def assign_ct(
    ctx: Context,
    *,
    source: str,
    codelist: Codelist,
    transform: tuple[TextStep, ...] | None = None,
    map: dict[str, str] | None = None,
) -> pd.Series:
    """Recode collected values to the codelist's submission values; unknown values are errors.

    Matching is case-insensitive on submission values, CT synonyms and NCI preferred terms
    ("Oral" -> ORAL, "Tablet" -> TABLET); the spec's ``map`` handles CRF wording CT does not
    know ("Grade 3" -> "3"), and ``transform`` steps reshape the collected text first.
    """
    return on_distinct(
        ctx.raw[source], lambda raw: compute_ct(transformed(compute_text(raw), transform), codelist, map, source)
    )


@derivation(
    "derive_concat",
    {
        "sources": Param(Kind.RAWS, doc="raw columns, in order"),
        "separator": Param(
            Kind.VALUE,
            required=False,
            doc="text between the values (one space by default)",
            phrase="'{}'",
            absent="a space",
        ),
        "transform": Param(
            Kind.TEXT_STEPS, required=False, doc="text steps applied to the joined text", phrase=" ({})"
        ),
    },
    origin="Collected",
    method="The collected {sources} joined by {separator}{transform}, blank ones left out",
)
def derive_concat(
    ctx: Context, *, sources: list[str], separator: str = " ", transform: tuple[TextStep, ...] | None = None
) -> pd.Series:
    """The filled raw columns joined by ``separator``, blank ones left out (a term and its "other, specify")."""
    texts = [compute_text(ctx.raw[s]).to_numpy(dtype=object) for s in sources]
    joined = pd.Series(
        [separator.join(p for p in parts if p) for parts in zip(*texts, strict=True)], index=ctx.raw.index, dtype=object
    )
    return on_distinct(joined, lambda s: transformed(s, transform)) if transform else joined


@derivation(
    "hardcode_no_ct",
    {"value": Param(Kind.VALUE, doc="the value of every record", term=True)},
    origin="Assigned",
    method="{value} on every record",
)
def hardcode_no_ct(ctx: Context, *, value: str) -> pd.Series:
    """Set the same value on every record."""
    return pd.Series(value, index=ctx.raw.index, dtype=object)


@derivation(
    "hardcode_ct",
    {
        "value": Param(Kind.VALUE, doc="a submission value of the codelist", term=True),
        "codelist": Param(Kind.CODELIST, required=False, doc="defaults to the variable's SDTMIG codelist"),
    },
    origin="Assigned",
    method="{value} on every record",
)
def hardcode_ct(ctx: Context, *, value: str, codelist: Codelist) -> pd.Series:
    """Set the same controlled term on every record (checked against the codelist when the spec loads)."""
    return pd.Series(value, index=ctx.raw.index, dtype=object)


_FIELD = re.compile(r"\{([^{}]+)\}")


def template_columns(template: str) -> list[str]:
    """Raw columns named in a ``{COLUMN}`` template."""
    return _FIELD.findall(template)


@derivation(
    "derive_template",
    {"template": Param(Kind.TEMPLATE, doc="text with {RAW_COLUMN} placeholders", phrase="'{}'")},
    method="The text {template} with each field filled in from the collected record; blank when a field is blank",
)
def derive_template(ctx: Context, *, template: str) -> pd.Series:
    """Fill a text template from raw columns, e.g. ``"CYCLE {CYCLE}"``; blank when a placeholder is blank."""
    parts = _FIELD.split(template)
    result = pd.Series("", index=ctx.raw.index, dtype=object)
    blank = pd.Series(False, index=ctx.raw.index)
    for i, part in enumerate(parts):
        if i % 2:  # odd parts are column names
            col = compute_text(ctx.raw[part])
            blank |= col.eq("")
            result = result + col
        else:
            result = result + part
    return result.where(~blank, "")


@derivation(
    "derive_flag",
    {
        "source": Param(Kind.RAW, doc="raw column; the flag is set where it holds a value"),
        "value": Param(Kind.VALUE, required=False, doc="flag value, Y by default", term=True, absent="Y"),
    },
    method="{value} when {source} is collected, blank otherwise",
)
def derive_flag(ctx: Context, *, source: str, value: str = "Y") -> pd.Series:
    """``Y`` (or ``value``) where the raw column is filled, blank elsewhere (e.g. DTHFL from a death date)."""
    return compute_text(ctx.raw[source]).ne("").map({True: value, False: ""}).astype(object)


@derivation(
    "derive_if_any",
    {
        "sources": Param(Kind.RAWS, doc="raw columns to look at"),
        "equals": Param(Kind.VALUE, doc="collected value searched for (several separated by |)"),
        "then": Param(Kind.VALUE, doc="value when any column holds it", choice=True),
        "otherwise": Param(
            Kind.VALUE,
            required=False,
            doc="value when none does and some column is filled",
            choice=True,
            absent="blank",
        ),
    },
    method=(
        "{then} when any of {sources} is {equals}; {otherwise} when none is and one is filled; blank when all are blank"
    ),
)
def derive_if_any(ctx: Context, *, sources: list[str], equals: str, then: str, otherwise: str = "") -> pd.Series:
    """``then`` when any of the columns holds ``equals``; ``otherwise`` when none does; blank when all are blank."""
    wanted = [v.strip().upper() for v in equals.split("|")]
    texts = [compute_text(ctx.raw[s]) for s in sources]
    hit = np.logical_or.reduce([t.str.upper().isin(wanted).to_numpy() for t in texts])
    filled = np.logical_or.reduce([t.ne("").to_numpy() for t in texts])
    return pd.Series(np.where(hit, then, np.where(filled, otherwise, "")), index=ctx.raw.index, dtype=object)


@derivation(
    "derive_common_ct",
    {
        "sources": Param(Kind.RAWS, doc="raw columns, one per study treatment"),
        "codelist": _CODELIST,
        "map": Param(Kind.MAP, required=False, doc="collected value -> submission value", phrase=" (recoded as {})"),
        "ignore": Param(
            Kind.VALUE,
            required=False,
            doc="submission value that does not count (e.g. NOT APPLICABLE)",
            term=True,
            phrase=" ({} not counted)",
        ),
        "several": Param(
            Kind.VALUE, doc="value when the columns disagree (e.g. MULTIPLE)", choice=True, allows=("MULTIPLE",)
        ),
    },
    method=(
        "The value common to the collected {sources}{map}, as a submission value of {codelist}{ignore}; "
        "{several} when they differ"
    ),
)
def derive_common_ct(
    ctx: Context,
    *,
    sources: list[str],
    codelist: Codelist,
    several: str,
    map: dict[str, str] | None = None,
    ignore: str = "",
) -> pd.Series:
    """One controlled term for several collected ones: the common value, or ``several`` when they differ.

    Used for AEACN when an AE has an action per study drug (SDTMIG 3.4 AE assumption 5).
    """

    def recode(raw: pd.Series, source: str) -> pd.Series:
        return compute_ct(compute_text(raw), codelist, map, source)

    coded = np.stack(
        [on_distinct(ctx.raw[s], functools.partial(recode, source=s)).to_numpy(dtype=object) for s in sources], axis=1
    )
    counts = (coded != "") & (coded != ignore)
    has_any = counts.any(axis=1)
    first = coded[np.arange(len(coded)), counts.argmax(axis=1)]
    differ = (counts & (coded != first[:, None])).any(axis=1)
    # All ignored: keep the ignored value itself (e.g. NOT APPLICABLE) rather than blank.
    all_ignored = ~has_any & (coded == ignore).any(axis=1) if ignore else np.zeros(len(coded), dtype=bool)
    result = np.where(differ, several, np.where(has_any, first, np.where(all_ignored, ignore, "")))
    return pd.Series(result, index=ctx.raw.index, dtype=object)
