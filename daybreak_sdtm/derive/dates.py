"""ISO 8601 dates from EDC exports, study days and epochs.

Partial dates are truncated at the first unknown part, never imputed (SDTMIG 3.4 section 4.4.4):
``UN-MAR-2026`` -> ``2026-03``, ``UN-UNK-2026`` and ``05-UNK-2026`` -> ``2026``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak_sdtm.date_formats import (
    DEFAULT_FORMAT,
    DateFormat,
    compile_format,
    matching_formats,
    parse_dates,
    parse_times,
    pivot_year,
)
from daybreak_sdtm.derive.assign import compute_text, on_distinct
from daybreak_sdtm.derive.registry import Context, Kind, Param, RowProblems, VarRef, derivation

if TYPE_CHECKING:
    from daybreak_sdtm.spec.model import StudySpec


def compute_iso_date(raw: pd.Series, column: str, fmt: DateFormat | None = None, pivot: int | None = None) -> pd.Series:
    """Raw date texts -> ISO 8601, partials truncated (``date_formats`` says which texts are dates).

    Args:
        raw: The raw column.
        column: Its name, for messages.
        fmt: The declared pattern (``DD-MMM-YYYY`` when None).
        pivot: Last year of the window two-digit years fall in (the current year when None).

    Raises RowProblems for text that is not a date in the pattern (naming the patterns it would
    fit), or not a real calendar date (31-FEB-2026).
    """
    fmt = fmt or compile_format(DEFAULT_FORMAT)
    year = pivot if pivot is not None else pivot_year("")
    # A study has far fewer distinct dates than records: strip and parse each distinct text once.
    return on_distinct(raw, lambda text: _iso_dates(compute_text(text).astype(object), column, fmt, year))


def _iso_dates(text: pd.Series, column: str, fmt: DateFormat, pivot: int) -> pd.Series:
    """compute_iso_date on distinct values."""
    parsed = parse_dates(text, fmt, pivot)
    if parsed.bad.any():
        pos = np.flatnonzero(parsed.bad.to_numpy())
        example = str(text.iat[pos[0]])
        fits = matching_formats(example)
        hint = (
            (
                f"; values such as {example!r} read as {' or '.join(fits)}: declare the export's date format "
                "(study.yaml export: date_format:, or format: on the variable)"
            )
            if fits
            else ""
        )
        raise RowProblems(
            pos,
            text.iloc[pos].tolist(),
            f"not a date in the format {fmt.pattern} (UN/UNK for unknown parts){hint}",
            column,
        )
    if parsed.impossible.any():
        pos = np.flatnonzero(parsed.impossible.to_numpy())
        raise RowProblems(pos, text.iloc[pos].tolist(), "not a calendar date", column)
    return parsed.iso


@derivation(
    "derive_iso8601",
    {
        "source": Param(Kind.RAW, doc="raw date column (in the study's date format; ISO 8601 text is always read)"),
        "time": Param(
            Kind.RAW,
            required=False,
            doc="raw time column (HH:MM, HH:MM:SS, or 12-hour with AM/PM)",
            phrase=" with the time {}",
        ),
        "format": Param(
            Kind.DATE_FORMAT,
            required=False,
            doc="this column's date format, e.g. MM/DD/YYYY (default: study.yaml export: date_format:)",
            phrase=" (read as {})",
        ),
    },
    origin="Collected",
    method=(
        "The collected {source}{format}{time} in ISO 8601 format; "
        "a partial date is truncated at its first unknown part, never imputed"
    ),
)
def derive_iso8601(ctx: Context, *, source: str, time: str = "", format: str = "") -> pd.Series:
    """ISO 8601 date (and time, when the date is complete) with partial dates truncated, not imputed."""
    fmt = compile_format(format or ctx.study.date_format or DEFAULT_FORMAT)
    date = compute_iso_date(ctx.raw[source], source, fmt, pivot_year(ctx.study.cutoff))
    if not time:
        return date
    hhmm = on_distinct(ctx.raw[time], lambda raw: _hhmm(compute_text(raw), time))
    # A time without a complete date says nothing ISO 8601 can carry.
    with_time = date.str.len().eq(10) & hhmm.ne("")
    return date.where(~with_time, date + "T" + hhmm)


def _hhmm(clock: pd.Series, column: str) -> pd.Series:
    """Stripped time texts -> ``HH:MM[:SS]`` ("" for blank); RowProblems for text that is not a time."""
    text, bad = parse_times(clock)
    if bad.any():
        pos = np.flatnonzero(bad.to_numpy())
        raise RowProblems(pos, clock.iloc[pos].tolist(), "not a time (expected HH:MM, HH:MM:SS or h:MM AM/PM)", column)
    return text


def compute_days(dtc: pd.Series) -> pd.Series:
    """Datetime of the date part of complete ISO 8601 values; NaT for partial or blank ones."""
    # Parsed once per distinct value: a date column repeats a few thousand dates over its records.
    return on_distinct(dtc, _days)


def _days(dtc: pd.Series) -> pd.Series:
    """compute_days on distinct values."""
    text = dtc.fillna("").astype(str).str.slice(0, 10)
    return pd.to_datetime(text.where(text.str.len().eq(10), None), format="%Y-%m-%d", errors="coerce")


def compute_study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """SDTMIG study day: date - reference + 1 on or after the reference, date - reference before; no day 0."""
    return _study_day(compute_days(dates), compute_days(reference))


def _study_day(days: pd.Series, reference_days: pd.Series) -> pd.Series:
    """compute_study_day on dates already parsed by compute_days."""
    delta = (days - reference_days).dt.days
    return delta.where(delta < 0, delta + 1).astype("float64")


DEFAULT_REFERENCE = VarRef("DM", "RFSTDTC")


def _reference_reads(params: Mapping[str, Any], study: StudySpec, domain: str) -> list[VarRef]:
    """The default reference date is read too, so it is derived first."""
    return [] if params.get("reference") else [DEFAULT_REFERENCE, VarRef(DEFAULT_REFERENCE.domain, "USUBJID")]


@derivation(
    "derive_study_day",
    {
        "date": Param(Kind.DATE_VAR, doc="ISO 8601 date variable of this domain, e.g. AESTDTC"),
        "reference": Param(
            Kind.DATE_VAR, required=False, doc="subject reference date, DM.RFSTDTC by default", absent="DM.RFSTDTC"
        ),
    },
    needs=("USUBJID",),
    reads=_reference_reads,
    method=(
        "Study day of {date} relative to {reference} (day 1 = {reference}, no day 0); blank when either date is partial"
    ),
)
def derive_study_day(ctx: Context, *, date: VarRef, reference: VarRef | None = None) -> pd.Series:
    """--DY from a date and the subject's reference start date; blank when either is partial."""
    ref = reference or DEFAULT_REFERENCE
    ref_frame = ctx.frame(ref.domain)
    per_subject = ref_frame.set_index("USUBJID")[ref.name]
    # The reference is parsed per subject, then spread: a date per subject, not per record.
    return _study_day(compute_days(ctx.column(date)), ctx.per_subject(compute_days(per_subject)))


def _epoch_reads(params: Mapping[str, Any], study: StudySpec, domain: str) -> list[VarRef]:
    if _from_elements(study):
        return [VarRef("SE", "*")]  # the subject elements, made from the trial design before EPOCH
    refs = []
    for epoch in study.epochs:
        dom, _, name = epoch.start.variable.partition(".")
        refs.extend([VarRef(dom, name), VarRef(dom, "USUBJID")])
        refs.extend(VarRef(dom, k) for k in epoch.start.filters)
    return refs


def compute_epoch_starts(ctx: Context) -> list[tuple[str, pd.Series]]:
    """Each epoch's start date per subject (Series indexed by USUBJID), in study-file order."""
    starts = []
    for epoch in ctx.study.epochs:
        dom, _, name = epoch.start.variable.partition(".")
        frame = ctx.frame(dom)
        mask = pd.Series(True, index=frame.index)
        for var, values in epoch.start.filters.items():
            mask &= frame[var].isin(values)
        dates = compute_days(frame[name]).where(mask)
        per_subject = dates.groupby(frame["USUBJID"]).min()
        if epoch.start.how == "day_after":
            per_subject = per_subject + pd.Timedelta(days=1)
        starts.append((epoch.epoch, per_subject))
    return starts


def _from_elements(study: StudySpec) -> bool:
    return study.trial_design is not None and any(e.start is not None for e in study.trial_design.elements)


@derivation(
    "derive_epoch",
    {
        "date": Param(Kind.DATE_VAR, doc="ISO 8601 date variable of this domain"),
        "end": Param(
            Kind.DATE_VAR,
            required=False,
            doc="the record's end date (--ENDTC): a partial date is on or before it",
            phrase=", up to {}",
        ),
    },
    needs=("USUBJID",),
    reads=_epoch_reads,
    method=(
        "The epoch of the subject's element (SE) in which {date} falls; "
        "a partial date counts over its whole interval{end}"
    ),
)
def derive_epoch(ctx: Context, *, date: VarRef, end: VarRef | None = None) -> pd.Series:
    """The epoch of the subject's element (SE) the date falls in, a partial date's whole interval included.

    With a trial design, the subject's elements (SE) and their arm's epochs (TA) decide: a date
    is in the element that started last on or before it, until the last element's end; a
    partial date (2026-03) gets an epoch when every day it may be falls in that same epoch.
    With ``end`` (the record's --ENDTC, for a --STDTC), a partial start's possible days end on
    the record's end day: an event of 2026-03 that ended on 2026-03-12 started by the 12th.
    Without one, the study file's ``epochs:`` decide: the last epoch whose subject start is on or
    before a complete date. Blank otherwise (before the first element, after the last one ended).
    """
    if _from_elements(ctx.study):
        ends = ctx.column(end) if end is not None else None
        return epoch_from_elements(ctx.column(date), ctx.sdtm["USUBJID"], ctx.frame("SE"), record_end=ends)
    when = compute_days(ctx.column(date)).to_numpy()
    result = np.full(len(when), "", dtype=object)
    for name, per_subject in compute_epoch_starts(ctx):
        start = ctx.per_subject(per_subject).to_numpy()
        # NaT compares false with anything: a partial date or a subject without that start stays out.
        result = np.where(when >= start, name, result)
    return pd.Series(result, index=ctx.sdtm.index, dtype=object)


_EPOCH_SPAN = 1 << 20  # days per subject in the combined (subject, day) key; ISO dates lie far within


def interval_days(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """First and last possible day (days since 1970-01-01) of ISO 8601 values; -1 where unknown.

    A complete date (or date-time) is its day; ``2026-03`` is 1 to 31 March; ``2026`` the year.
    Computed once per distinct value.
    """
    codes, distinct = pd.factorize(dtc.fillna("").astype(str), use_na_sentinel=True)
    text = pd.Series(np.append(np.asarray(distinct, dtype=object), ""), dtype=object)
    day = pd.to_datetime(text.str.slice(0, 10).where(text.str.len() >= 10), format="%Y-%m-%d", errors="coerce")
    month = pd.to_datetime(text.where(text.str.len() == 7), format="%Y-%m", errors="coerce")
    year = pd.to_datetime(text.where(text.str.len() == 4), format="%Y", errors="coerce")
    first = day.fillna(month).fillna(year)
    last = day.fillna(month + pd.offsets.MonthEnd(0)).fillna(year + pd.offsets.YearEnd(0))
    epoch = pd.Timestamp("1970-01-01")
    lo = ((first - epoch).dt.days).fillna(-1).to_numpy(dtype=np.int64)
    hi = ((last - epoch).dt.days).fillna(-1).to_numpy(dtype=np.int64)
    return lo[codes], hi[codes]


def epoch_from_elements(
    dtc: pd.Series, usubjid: pd.Series, se: pd.DataFrame, *, record_end: pd.Series | None = None
) -> pd.Series:
    """Each record's EPOCH from its subject's elements (SE: USUBJID, SESTDTC, SEENDTC, EPOCH).

    Elements follow each other (one ends when the next starts); a date on the day of a change
    belongs to the element that starts that day. A partial date gets the epoch when its first
    and last possible days are in elements of one unbroken run of that epoch. ``record_end`` (aligned
    with ``dtc``: the record's --ENDTC when ``dtc`` is its --STDTC) bounds those days: a start
    is not after its end, so a partial start's last possible day is the end's last possible day
    when that is earlier (and not before the start's first possible day, an inconsistency DB403
    reports).
    """
    result = np.full(len(dtc), "", dtype=object)
    if se.empty or not len(dtc):
        return pd.Series(result, index=dtc.index, dtype=object)
    se = se.assign(_start=interval_days(se["SESTDTC"])[0]).sort_values(["USUBJID", "_start"], kind="stable")
    se = se[se["_start"] >= 0]
    subjects = pd.Index(pd.unique(se["USUBJID"].astype(str).to_numpy()))
    se_subject = subjects.get_indexer(pd.Index(se["USUBJID"].astype(str)))
    start = se["_start"].to_numpy(dtype=np.int64)
    keys = se_subject.astype(np.int64) * _EPOCH_SPAN + start
    # Where each element ends: the next element's start; the subject's last element at its SEENDTC.
    last_of_subject = np.append(se_subject[1:] != se_subject[:-1], True)
    end_text_hi = interval_days(se["SEENDTC"])[1]
    end = np.where(
        last_of_subject, np.where(end_text_hi >= 0, end_text_hi, np.iinfo(np.int64).max // 2), np.append(start[1:], 0)
    )
    epochs = se["EPOCH"].astype(str).to_numpy(dtype=object)
    # Runs of one epoch within a subject: an interval whose ends fall in one run has that epoch.
    change = np.ones(len(epochs), dtype=bool)
    change[1:] = (se_subject[1:] != se_subject[:-1]) | (epochs[1:] != epochs[:-1])
    run = np.cumsum(change)

    record_subject = subjects.get_indexer(pd.Index(usubjid.astype(str)))
    lo, hi = interval_days(dtc)
    if record_end is not None:
        end_hi = interval_days(record_end)[1]
        bounded = (end_hi >= lo) & (end_hi < hi) & (lo >= 0)
        hi = np.where(bounded, end_hi, hi)

    def element_at(day: np.ndarray) -> np.ndarray:
        key = record_subject.astype(np.int64) * _EPOCH_SPAN + day
        at = np.searchsorted(keys, key, side="right") - 1
        ok = (record_subject >= 0) & (day >= 0) & (at >= 0)
        at_safe = np.where(ok, at, 0)
        ok &= se_subject[at_safe] == record_subject
        ok &= day <= end[at_safe]
        return np.where(ok, at_safe, -1)

    first, last = element_at(lo), element_at(hi)
    found = (first >= 0) & (last >= 0)
    found[found] = run[first[found]] == run[last[found]]
    result[found] = epochs[first[found]]
    return pd.Series(result, index=dtc.index, dtype=object)


@derivation(
    "derive_visitnum",
    {
        "visit": Param(Kind.VAR, doc="the VISIT variable of this domain"),
    },
    design_part="visits",
    origin="Protocol",  # the protocol's visit numbers (the trial design's visits, TV)
    method="VISITNUM of the planned visit (TV) named in {visit}",
)
def derive_visitnum(ctx: Context, *, visit: VarRef) -> pd.Series:
    """VISITNUM of the record's VISIT among the trial design's planned visits (TV).

    Refuses a visit the trial design does not plan, so VISITNUM and VISIT always agree with TV.
    """
    design = ctx.study.trial_design
    numbers = {v.visit: v.visitnum for v in (design.visits if design is not None else ())}
    names = ctx.column(visit).fillna("").astype(str)
    result = names.map(numbers).astype("float64")
    unknown = names.ne("") & result.isna()
    if unknown.any():
        pos = np.flatnonzero(unknown.to_numpy())
        raise RowProblems(
            pos,
            names.iloc[pos].tolist(),
            "visit not among the trial design's visits (trial_design: visits: in study.yaml)",
            str(visit),
        )
    return result


@derivation(
    "derive_visit_window",
    {
        "day": Param(Kind.VAR, doc="the record's study day (--DY)"),
        "source": Param(
            Kind.RAW,
            required=False,
            doc="the visit the export gives, for records with no study day (a subject never dosed has no day 1)",
            phrase="; for records without a study day, the collected {}",
        ),
    },
    design_part="visits",
    method="VISIT of the planned visit (TV) whose window around its planned study day holds {day}{source}",
)
def derive_visit_window(ctx: Context, *, day: VarRef, source: str = "") -> pd.Series:
    """VISIT of the planned visit whose window (``window:`` around VISITDY, trial_design: visits:) holds the study day.

    For records the CRF does not tie to a visit (labs from a central lab, say). A dated record in
    no visit's window is refused with its record: windows are declared, visits never guessed. A
    record with no study day takes the planned visit ``source`` names, if given.
    """
    design = ctx.study.trial_design
    windows = [
        (v.visitdy + v.window[0], v.visitdy + v.window[1], v.visit)
        for v in (design.visits if design is not None else ())
        if v.window is not None and v.visitdy is not None
    ]
    days = pd.to_numeric(ctx.column(day), errors="coerce").to_numpy(dtype="float64")
    result = np.full(len(days), "", dtype=object)
    found = np.zeros(len(days), dtype=bool)
    for low, high, name in windows:
        inside = ~found & (days >= low) & (days <= high)
        result[inside] = name
        found |= inside
    if source:
        given = ctx.raw[source].fillna("").astype(str).str.strip().to_numpy()
        undated = np.isnan(days) & (given != "")
        planned = {v.visit for v in (design.visits if design is not None else ())}
        unplanned = undated & ~np.isin(given, list(planned))
        if unplanned.any():
            pos = np.flatnonzero(unplanned)
            raise RowProblems(pos, given[pos].tolist(), "visit not among the trial design's visits", source)
        result[undated] = given[undated]
    missing = ~found & ~np.isnan(days)
    if missing.any():
        pos = np.flatnonzero(missing)
        raise RowProblems(
            pos,
            [f"day {d:g}" for d in days[pos]],
            "study day in no planned visit's window (trial_design: visits: window: in study.yaml)",
            str(day),
        )
    return pd.Series(result, index=ctx.sdtm.index, dtype=object)
