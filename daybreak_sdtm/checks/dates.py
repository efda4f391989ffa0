"""DB4xx: dates and timing: ISO 8601 text, real calendar dates, order, study days, epochs, death.

DB401 (ISO 8601 format) is a great-expectations regex expectation. DB402 (a real calendar date)
is our own: great-expectations' strftime/dateutil expectations parse one value at a time in
Python, where ``pd.to_datetime`` checks a whole column at once; the same holds for the
cross-dataset rules DB403-DB407, which expectations cannot express.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.expect import Expect
from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, check, expectation
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.text import text_codes

# ISO 8601 as SDTMIG uses it: right-truncated precision, "-" for a missing middle component
# (2003---15), optional seconds fraction, and intervals start/end.
# Groups are non-capturing: pandas warns (on our output) about capturing groups in str.contains.
_MONTH, _DAY = r"(?:0[1-9]|1[0-2]|-)", r"(?:0[1-9]|[12]\d|3[01]|-)"
_TIME = r"T(?:[01]\d|2[0-3]|-)(?::(?:[0-5]\d|-)(?::[0-5]\d(?:\.\d+)?)?)?"
DATETIME = rf"\d{{4}}(?:-{_MONTH}(?:-{_DAY}(?:{_TIME})?)?)?"
_NUM = r"\d+(?:\.\d+)?"
DURATION = rf"-?P(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
DATETIME_RE = rf"^{DATETIME}(?:/{DATETIME})?$"
DURATION_RE = rf"^{DURATION}$"
INTERVAL_RE = rf"^(?:{DATETIME}/{DATETIME}|{DURATION}|{DATETIME}/{DURATION}|{DURATION}/{DATETIME})$"
# Precisions compared when two dates are ordered: year, month, day, minute, second.
_PRECISIONS = (4, 7, 10, 16, 19)


def iso_variables(ds: Dataset, ctx: CheckContext) -> list[tuple[str, str]]:
    """(variable, regex) of every ISO 8601 variable of the dataset (by SDTMIG format, else by name)."""
    found = []
    for col in ds.frame.columns:
        meta = ctx.standards.variable(ds.name, col)
        is_iso = (meta is not None and meta.format == "ISO 8601") or (meta is None and col.endswith("DTC"))
        if not is_iso or ds.frame[col].dtype != object:
            continue
        if col.endswith(("DUR", "ELTM")):
            found.append((col, DURATION_RE))
        elif col.endswith("EVLINT"):
            found.append((col, INTERVAL_RE))
        else:
            found.append((col, DATETIME_RE))
    return found


@expectation("DB401", "dates.iso8601_format", severity=Severity.ERROR,
             references=("SDTMIG 3.4 section 4.4.1 (formats for date/time variables)",))
def iso8601_format(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Date/time, duration and interval variables hold ISO 8601 text as SDTMIG uses it.

    Accepted: 2025-10-22T08:30, 2025-10, 2003---15 (unknown month), 2025-10-01/2025-10-05, P3D.
    Anti-pattern: "22OCT2025", "10/22/2025", "2025-13-01", "2025-10-22 08:30".
    Fix: map raw dates with ``derive_iso8601``. Engine: great-expectations
    ``ExpectColumnValuesToMatchRegex`` per variable (blank values pass).
    """
    for col, regex in iso_variables(ds, ctx):
        yield Expect("DB401", Severity.ERROR, col, "ExpectColumnValuesToMatchRegex", {"column": col, "regex": regex},
                     f"{col} value {{value!r}} is not ISO 8601")


def complete_dates(text: pd.Series, coded: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series:
    """The calendar date of values with at least day precision (NaT for partial, blank or invalid).

    Parsed once per distinct value (a package has a few thousand distinct dates in millions of
    records) and spread to the records by code.

    Args:
        text: The values.
        coded: Their (codes, table) when already factorised (``Dataset.codes``); made here otherwise.
    """
    codes, table = coded if coded is not None else text_codes(text)
    distinct = pd.Series(table, dtype=object)
    day = distinct.str[:10]
    ok = day.str.match(r"^\d{4}-\d{2}-\d{2}$", na=False)
    parsed = pd.to_datetime(day.where(ok, None), format="%Y-%m-%d", errors="coerce")
    return pd.Series(parsed.array.take(codes), index=text.index)


@check("DB402", "dates.real_calendar_date", severity=Severity.ERROR,
       references=("SDTMIG 3.4 section 4.4.1 (formats for date/time variables)",))
def real_calendar_date(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A date with day precision is a date that exists on the calendar.

    Anti-pattern: 2025-02-30, 2023-02-29 (not a leap year), 2025-04-31.
    Fix: correct the raw date; ISO 8601 text that no calendar has cannot be analysed.
    """
    for ds in pkg.datasets.values():
        for col, regex in iso_variables(ds, ctx):
            if regex == DURATION_RE:
                continue
            codes, table = ds.codes(col)  # judged once per distinct value, spread by code
            text = pd.Series(table, dtype=object)
            bad_value = np.zeros(len(text), dtype=bool)
            halves = text.str.partition("/")
            for part in (halves[0].astype(str), halves[2].astype(str)):
                has_day = part.str.match(r"^\d{4}-\d{2}-\d{2}", na=False)
                bad_value |= (has_day & complete_dates(part).isna()).to_numpy()
            bad = bad_value[codes]
            yield from ds.findings("DB402", Severity.ERROR, np.flatnonzero(bad), col, f"{col} is not a real calendar date")


def after(first: pd.Series, second: pd.Series) -> np.ndarray:
    """Where ISO 8601 ``first`` is later than ``second``, compared at their common precision."""
    a, b = first.fillna("").astype(str), second.fillna("").astype(str)
    common = np.minimum(a.str.len().to_numpy(), b.str.len().to_numpy())
    result = np.zeros(len(a), dtype=bool)
    level = np.zeros(len(a), dtype=np.int64)
    for p in _PRECISIONS:  # the finest precision both values have decides
        level[common >= p] = p
    for p in _PRECISIONS:
        sel = level == p
        if sel.any():
            result[sel] = (a.str[:p] > b.str[:p]).to_numpy()[sel]
    return result


@check("DB403", "dates.start_not_after_end", severity=Severity.ERROR,
       references=("SDTMIG 3.4 section 4.4 (timing variables: --STDTC, --ENDTC)",))
def start_not_after_end(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--STDTC is not after --ENDTC of the same record, compared at their common precision.

    Anti-pattern: AESTDTC = 2025-11-03, AEENDTC = 2025-10-30.
    Fix: one of the raw dates is wrong; query the site.
    """
    for ds in pkg.datasets.values():
        st, en = f"{ds.domain}STDTC", f"{ds.domain}ENDTC"
        if st in ds.frame.columns and en in ds.frame.columns:
            bad = after(ds.frame[st], ds.frame[en])
            yield from ds.findings("DB403", Severity.ERROR, np.flatnonzero(bad), en,
                                   [f"{en} is before {st} ({v})" for v in ds.frame[st].to_numpy()[bad]])


def subject_values(pkg: Package, ds: Dataset, variable: str) -> pd.Series:
    """DM's ``variable`` for each record of ``ds`` ("" when the subject or DM is missing)."""
    return pkg.subject_values(ds, variable)


def subject_dates(pkg: Package, ds: Dataset, variable: str) -> pd.Series:
    """``complete_dates`` of DM's ``variable`` for each record of ``ds`` (NaT when the subject or DM is missing).

    DM's dates are parsed once per distinct value, then spread through each record's subject.
    """
    dm = pkg.get("DM")
    if dm is None or variable not in dm.frame.columns or dm.frame[variable].dtype != object:
        return complete_dates(subject_values(pkg, ds, variable).astype(str))
    dates = complete_dates(dm.frame[variable], dm.codes(variable))
    return pd.Series(dates.array.take(pkg.subject_rows(ds), allow_fill=True), index=ds.frame.index)


def study_day(dates: pd.Series, reference: pd.Series, dates_coded: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series:
    """SDTM study day: days from the reference date, plus one on or after it (SDTM has no day 0).

    ``dates_coded`` is the (codes, table) of ``dates`` when already factorised (``Dataset.codes``).
    """
    return days_from(complete_dates(dates, dates_coded), complete_dates(reference))


def days_from(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """``study_day`` of dates already parsed: days from ``reference``, plus one on or after it."""
    diff = (dates - reference).dt.days
    return diff.where(diff < 0, diff + 1)


@check("DB404", "dates.study_day_consistent", severity=Severity.ERROR,
       references=("SDTMIG 3.4 section 4.4.4 (use of the study day variables)",))
def study_day_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--DY, --STDY and --ENDY equal the days from DM.RFSTDTC to the record's date (no day 0).

    Checked where both dates are complete to the day. A study day given where it cannot be
    computed (partial date or no RFSTDTC) is reported too.
    Anti-pattern: AESTDY = 0; AESTDY = 14 where the dates give 15.
    Fix: derive study days with ``derive_study_day`` from the final RFSTDTC.
    """
    for ds in pkg.datasets.values():
        ref: pd.Series | None = None  # the subjects' RFSTDTC, parsed when the dataset has a study day
        for dy_suffix, dtc_suffix in (("DY", "DTC"), ("STDY", "STDTC"), ("ENDY", "ENDTC")):
            dy, dtc = f"{ds.domain}{dy_suffix}", f"{ds.domain}{dtc_suffix}"
            if dy not in ds.frame.columns or dtc not in ds.frame.columns:
                continue
            ref = subject_dates(pkg, ds, "RFSTDTC") if ref is None else ref
            given = pd.to_numeric(ds.frame[dy], errors="coerce")
            dates = ds.frame[dtc]
            coded = ds.codes(dtc) if dates.dtype == object else None
            expected = days_from(complete_dates(dates if coded is not None else dates.astype(str), coded), ref)
            wrong = given.notna() & expected.notna() & given.ne(expected)
            orphan = given.notna() & expected.isna()
            bad = (wrong | orphan).to_numpy()
            exp_arr = expected.to_numpy()
            messages = [f"{dy} should be {int(e)} from {dtc} and RFSTDTC" if e == e else f"{dy} is given but {dtc} or RFSTDTC is not a complete date"
                        for e in exp_arr[bad]]
            yield from ds.findings("DB404", Severity.ERROR, np.flatnonzero(bad), dy, messages)


@check("DB405", "dates.reference_dates_match_ex", severity=Severity.ERROR,
       references=("SDTMIG 3.4 DM assumptions (RFSTDTC, RFXSTDTC, RFXENDTC)",))
def reference_dates_match_ex(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """DM.RFXSTDTC is the subject's first EXSTDTC and RFXENDTC the last EXENDTC; RFSTDTC is set for treated subjects.

    Compared at the common precision; a subject without EX records has no RFXSTDTC/RFXENDTC.
    Anti-pattern: RFXENDTC left at the induction's last dose while maintenance continued.
    Fix: derive them from EX (``derive_subject_first`` / ``derive_subject_last``).
    """
    dm, ex = pkg.get("DM"), pkg.get("EX")
    if dm is None or ex is None or "USUBJID" not in dm.frame.columns or "EXSTDTC" not in ex.frame.columns:
        return
    exf = ex.frame
    start = exf["EXSTDTC"].where(exf["EXSTDTC"].ne(""))
    end = exf["EXENDTC"].where(exf["EXENDTC"].ne(""), start) if "EXENDTC" in exf.columns else start
    first = _per_subject_extreme(start, exf["USUBJID"], "min")
    last = _per_subject_extreme(end, exf["USUBJID"], "max")
    subjects = dm.frame["USUBJID"]
    for var, per_subject in (("RFXSTDTC", first), ("RFXENDTC", last)):
        if var not in dm.frame.columns:
            continue
        want = subjects.map(per_subject).fillna("").astype(str)
        have = dm.frame[var]
        differs = after(have, want) | after(want, have)
        missing = have.eq("") & want.ne("")
        extra = have.ne("") & want.eq("")
        bad = differs | missing.to_numpy() | extra.to_numpy()
        messages = [f"{var} should be {w!r} (from EX)" if w else f"{var} is set but the subject has no EX record"
                    for w in want.to_numpy()[bad]]
        yield from dm.findings("DB405", Severity.ERROR, np.flatnonzero(bad), var, messages)
    if "RFSTDTC" in dm.frame.columns:
        bad = (dm.frame["RFSTDTC"].eq("") & subjects.isin(first.dropna().index)).to_numpy()
        yield from dm.findings("DB405", Severity.ERROR, np.flatnonzero(bad), "RFSTDTC",
                               "RFSTDTC is blank for a subject who received study treatment")


def _per_subject_extreme(values: pd.Series, subjects: pd.Series, how: str) -> pd.Series:
    """Each subject's smallest or largest text value (NaN when all missing), as ``groupby(subjects).min()/max()``.

    Compared on codes of the sorted distinct values rather than on strings, which a groupby
    compares one pair at a time in Python: the code order is the text order.
    """
    codes, distinct = pd.factorize(values, sort=True, use_na_sentinel=True)
    subject_codes, subject_names = pd.factorize(subjects, sort=True, use_na_sentinel=True)
    ranked = pd.Series(np.where(codes < 0, np.nan, codes))
    extreme = getattr(ranked.groupby(subject_codes), how)()  # -1 (missing subject) is dropped, as groupby does
    extreme = extreme[extreme.index >= 0]
    picked = np.asarray(distinct, dtype=object).take(np.nan_to_num(extreme.to_numpy(), nan=0).astype(np.int64)) \
        if len(distinct) else np.full(len(extreme), np.nan, dtype=object)
    result = np.where(extreme.isna().to_numpy(), np.nan, picked)
    return pd.Series(result, index=pd.Index(np.asarray(subject_names, dtype=object)[extreme.index.to_numpy()]),
                     dtype=object)


def record_date(ds: Dataset) -> str:
    """The variable that dates a record: --DTC, else --STDTC ("" when neither)."""
    for suffix in ("DTC", "STDTC"):
        if f"{ds.domain}{suffix}" in ds.frame.columns:
            return f"{ds.domain}{suffix}"
    return ""


@check("DB406", "dates.epoch_consistent", severity=Severity.ERROR,
       references=("SDTMIG 3.4 section 4.4 (EPOCH)", "SDTMIG 3.4 DM assumptions (RFXSTDTC, RFXENDTC)"))
def epoch_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """EPOCH agrees with the record's date and the subject's treatment dates.

    SCREENING is before the first treatment (RFXSTDTC); a ... TREATMENT epoch lies within the
    treatment period (RFXSTDTC to RFXENDTC); FOLLOW-UP is after the last treatment. Compared by day.
    Anti-pattern: an AE dated a week before the first dose with EPOCH = INDUCTION TREATMENT.
    Fix: derive EPOCH from the date with ``derive_epoch``.
    """
    for ds in pkg.datasets.values():
        date_var = record_date(ds)
        if ds.name == "DM" or "EPOCH" not in ds.frame.columns or not date_var:
            continue
        # Days are compared as text (their first 10 characters), here as ranks in the text order
        # of the distinct days, each record reaching its subject's DM days through its DM row.
        day, start, end = _day_ranks(ds, date_var, pkg, ("RFXSTDTC", "RFXENDTC"))
        treating = ds.per_value("EPOCH", lambda e: e.str.contains("TREATMENT", regex=False))
        screening = ds.per_value("EPOCH", lambda e: e.eq("SCREENING"))
        follow_up = ds.per_value("EPOCH", lambda e: e.eq("FOLLOW-UP"))
        full, has_start, has_end = day >= 0, start >= 0, end >= 0
        bad = full & (
            (treating & has_start & (day < start))
            | (treating & has_end & (day > end))
            | (screening & has_start & (day >= start))
            | (follow_up & has_end & (day <= end))
        )
        yield from ds.findings("DB406", Severity.ERROR, np.flatnonzero(bad), "EPOCH",
                               f"EPOCH does not match {date_var} and the subject's RFXSTDTC/RFXENDTC")


def _day_ranks(ds: Dataset, variable: str, pkg: Package, subject_variables: tuple[str, ...]) -> list[np.ndarray]:
    """Per record of ``ds``: the rank of the day (first 10 characters) of ``variable``, then of each DM variable.

    Ranks follow the text order of all these days together, so comparing ranks compares the
    days as text; -1 marks a value shorter than a day (or a subject without DM record or variable).
    """
    dm = pkg.get("DM")
    present = [v for v in subject_variables if dm is not None and v in dm.frame.columns]
    tables = [ds.codes(variable)[1]] + [dm.codes(v)[1] for v in present]  # type: ignore[union-attr]
    days = [pd.Series(t, dtype=object).astype(str).str[:10] for t in tables]
    ranks, _ = pd.factorize(pd.concat(days, ignore_index=True).to_numpy(dtype=object), sort=True)
    ranked, at = [], 0
    for d in days:
        ranked.append(np.where(d.str.len().eq(10).to_numpy(), ranks[at:at + len(d)], -1))
        at += len(d)
    result = [ranked[0][ds.codes(variable)[0]]]
    rows = pkg.subject_rows(ds)
    for var in subject_variables:
        if var not in present:
            result.append(np.full(len(ds.frame), -1, dtype=np.int64))
            continue
        per_dm_row = ranked[1 + present.index(var)][dm.codes(var)[0]]  # type: ignore[union-attr]
        found = rows >= 0
        spread = np.full(len(rows), -1, dtype=np.int64)
        spread[found] = per_dm_row[rows[found]]
        result.append(spread)
    return result


@check("DB407", "dates.death_consistent", severity=Severity.ERROR,
       references=("SDTMIG 3.4 AE assumptions (AEOUT, AESDTH)", "SDTMIG 3.4 DM assumptions (DTHFL, DTHDTC)"))
def death_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """An AE with outcome FATAL belongs to a subject with DTHFL = Y; DTHFL = Y exactly when DTHDTC is given.

    Anti-pattern: AEOUT = FATAL for a subject whose DM has no death date.
    Fix: complete the death report (DM.DTHDTC, DTHFL) or correct the outcome.
    """
    dm = pkg.get("DM")
    if dm is None:
        return
    frame = dm.frame
    if {"DTHFL", "DTHDTC"} <= set(frame.columns):
        flag_no_date = frame["DTHFL"].eq("Y") & frame["DTHDTC"].eq("")
        date_no_flag = frame["DTHDTC"].ne("") & frame["DTHFL"].ne("Y")
        yield from dm.findings("DB407", Severity.ERROR, np.flatnonzero(flag_no_date.to_numpy()), "DTHDTC",
                               "DTHFL = Y but DTHDTC is blank")
        yield from dm.findings("DB407", Severity.ERROR, np.flatnonzero(date_no_flag.to_numpy()), "DTHFL",
                               "DTHDTC is given but DTHFL is not Y")
    ae = pkg.get("AE")
    if ae is not None and "AEOUT" in ae.frame.columns and "DTHFL" in frame.columns:
        died = subject_values(pkg, ae, "DTHFL").eq("Y")
        bad = (ae.frame["AEOUT"].eq("FATAL") & ~died).to_numpy()
        yield from ae.findings("DB407", Severity.ERROR, np.flatnonzero(bad), "AEOUT",
                               "AEOUT = FATAL but DM.DTHFL is not Y for this subject")
