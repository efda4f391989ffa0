"""DB4xx: dates and timing: ISO 8601 text, real calendar dates, order, study days, epochs, death, informed consent.

DB401 (ISO 8601 format) is a great-expectations regex expectation. DB402 (a real calendar date)
is our own: great-expectations' strftime/dateutil expectations parse one value at a time in
Python, where ``pd.to_datetime`` checks a whole column at once; the same holds for the
cross-dataset rules DB403-DB411, which expectations cannot express.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks import roles
from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, EpochRule, Implements, check, expectation, no_counterpart
from daybreak_sdtm.checks.roles import (
    DEMOGRAPHICS,
    DISPOSITION,
    EXPOSURE,
    SUBJECT_ELEMENTS,
    TRIAL_ARMS,
    dataset_class,
    timing_variable,
)
from daybreak_sdtm.date_formats import DATETIME, DATETIME_RE, DURATION, DURATION_RE, INTERVAL_RE  # noqa: F401
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.gx import Expect
from daybreak_sdtm.standards.model import EVENTS
from daybreak_sdtm.text import text_codes

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


@expectation(
    "DB401",
    "dates.iso8601_format",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.4.1 (formats for date/time variables)",),
    implements=Implements(fda=("SD0003", "SD1011")),
)
def iso8601_format(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Date/time, duration and interval variables hold ISO 8601 text as SDTMIG uses it.

    Accepted: 2025-10-22T08:30, 2025-10, 2003---15 (unknown month), 2025-10-01/2025-10-05, P3D.
    Anti-pattern: "22OCT2025", "10/22/2025", "2025-13-01", "2025-10-22 08:30".
    Fix: map raw dates with ``derive_iso8601``. Engine: great-expectations
    ``ExpectColumnValuesToMatchRegex`` per variable (blank values pass).
    """
    for col, regex in iso_variables(ds, ctx):
        yield Expect(
            "DB401",
            Severity.ERROR,
            col,
            "ExpectColumnValuesToMatchRegex",
            {"column": col, "regex": regex},
            f"{col} value {{value!r}} is not ISO 8601",
        )


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


@check(
    "DB402",
    "dates.real_calendar_date",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.4.1 (formats for date/time variables)",),
    implements=no_counterpart(
        "no CORE or FDA validator rule of its own: the ISO 8601 rules (DB401) judge the form of a date, not that the calendar has it"
    ),
)
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
            yield from ds.findings(
                "DB402", Severity.ERROR, np.flatnonzero(bad), col, f"{col} is not a real calendar date"
            )


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


@check(
    "DB403",
    "dates.start_not_after_end",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.4 (timing variables: --STDTC, --ENDTC)",),
    implements=Implements(core=("CORE-000718",), fda=("FB3209", "SD0013")),
)
def start_not_after_end(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--STDTC is not after --ENDTC of the same record, compared at their common precision.

    Anti-pattern: AESTDTC = 2025-11-03, AEENDTC = 2025-10-30.
    Fix: one of the raw dates is wrong; query the site.
    """
    for ds in pkg.datasets.values():
        st, en = f"{ds.domain}STDTC", f"{ds.domain}ENDTC"
        if st in ds.frame.columns and en in ds.frame.columns:
            bad = after(ds.frame[st], ds.frame[en])
            yield from ds.findings(
                "DB403",
                Severity.ERROR,
                np.flatnonzero(bad),
                en,
                [f"{en} is before {st} ({v})" for v in ds.frame[st].to_numpy()[bad]],
            )


def subject_values(pkg: Package, ds: Dataset, variable: str) -> pd.Series:
    """DM's ``variable`` for each record of ``ds`` ("" when the subject or DM is missing)."""
    return pkg.subject_values(ds, variable)


def subject_dates(pkg: Package, ds: Dataset, variable: str) -> pd.Series:
    """``complete_dates`` of DM's ``variable`` for each record of ``ds`` (NaT when the subject or DM is missing).

    DM's dates are parsed once per distinct value, then spread through each record's subject.
    """
    dm = pkg.get(DEMOGRAPHICS)
    if dm is None or variable not in dm.frame.columns or dm.frame[variable].dtype != object:
        return complete_dates(subject_values(pkg, ds, variable).astype(str))
    dates = complete_dates(dm.frame[variable], dm.codes(variable))
    return pd.Series(dates.array.take(pkg.subject_rows(ds), allow_fill=True), index=ds.frame.index)


def study_day(
    dates: pd.Series, reference: pd.Series, dates_coded: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.Series:
    """SDTM study day: days from the reference date, plus one on or after it (SDTM has no day 0).

    ``dates_coded`` is the (codes, table) of ``dates`` when already factorised (``Dataset.codes``).
    """
    return days_from(complete_dates(dates, dates_coded), complete_dates(reference))


def days_from(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """``study_day`` of dates already parsed: days from ``reference``, plus one on or after it."""
    diff = (dates - reference).dt.days
    return diff.where(diff < 0, diff + 1)


@check(
    "DB404",
    "dates.study_day_consistent",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.4.4 (use of the study day variables)",),
    implements=Implements(
        cdisc=("CG0006", "CG0007", "CG0220", "CG0221", "CG0222", "CG0223"),
        core=("CORE-000138", "CORE-000139", "CORE-000354", "CORE-000529", "CORE-000552", "CORE-000553"),
        fda=("FB1603", "SD1085", "SD1086", "SD1089", "SD1090", "SD1093", "SD1094"),
    ),
)
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
            messages = [
                f"{dy} should be {int(e)} from {dtc} and RFSTDTC"
                if e == e
                else f"{dy} is given but {dtc} or RFSTDTC is not a complete date"
                for e in exp_arr[bad]
            ]
            yield from ds.findings("DB404", Severity.ERROR, np.flatnonzero(bad), dy, messages)


@check(
    "DB405",
    "dates.reference_dates_match_ex",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 DM assumptions (RFSTDTC, RFXSTDTC, RFXENDTC)",),
    implements=Implements(cdisc=("CG0147", "CG0148"), core=("CORE-000238", "CORE-000239")),
)
def reference_dates_match_ex(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """DM.RFXSTDTC is the subject's first EXSTDTC and RFXENDTC the latest EXSTDTC or EXENDTC; RFSTDTC is set for treated subjects.

    Compared at the common precision; a subject without EX records has no RFXSTDTC/RFXENDTC. An EX
    record without EXENDTC counts with its EXSTDTC, so an RFXENDTC before a later dose's start is
    reported, and so is a blank RFXENDTC for a treated subject.
    Anti-pattern: RFXENDTC left at the induction's last dose while maintenance continued.
    Fix: derive them from EX (``derive_subject_first`` / ``derive_subject_last``).
    """
    dm, ex = pkg.get(DEMOGRAPHICS), pkg.get(EXPOSURE)
    if dm is None or ex is None or "USUBJID" not in dm.frame.columns or "EXSTDTC" not in ex.frame.columns:
        return
    exf = ex.frame
    start = exf["EXSTDTC"].where(exf["EXSTDTC"].ne(""))
    end = exf["EXENDTC"].where(exf["EXENDTC"].ne(""), start) if "EXENDTC" in exf.columns else start
    first = _per_subject_extreme(start, exf["USUBJID"], "min")
    last = _per_subject_extreme(
        pd.concat([start, end], ignore_index=True),
        pd.concat([exf["USUBJID"], exf["USUBJID"]], ignore_index=True),
        "max",
    )
    subjects = dm.frame["USUBJID"]
    for var, per_subject, what in (
        ("RFXSTDTC", first, "first EXSTDTC"),
        ("RFXENDTC", last, "latest EXSTDTC or EXENDTC"),
    ):
        if var not in dm.frame.columns:
            continue
        want = subjects.map(per_subject).fillna("").astype(str)
        have = dm.frame[var]
        early, late = after(want, have), after(have, want)
        missing = (have.eq("") & want.ne("")).to_numpy()
        extra = (have.ne("") & want.eq("")).to_numpy()
        bad = early | late | missing | extra
        messages = []
        for h, w, is_early, is_missing in zip(
            have.to_numpy()[bad], want.to_numpy()[bad], early[bad], missing[bad], strict=False
        ):
            if is_missing:
                messages.append(f"{var} is blank but the subject has EX records ({what} {w})")
            elif not w:
                messages.append(f"{var} is set but the subject has no EX record")
            else:
                messages.append(
                    f"{var} should be {w!r}, the subject's {what}: {h} is {'before' if is_early else 'after'} it"
                )
        yield from dm.findings("DB405", Severity.ERROR, np.flatnonzero(bad), var, messages)
    if "RFSTDTC" in dm.frame.columns:
        bad = (dm.frame["RFSTDTC"].eq("") & subjects.isin(first.dropna().index)).to_numpy()
        yield from dm.findings(
            "DB405",
            Severity.ERROR,
            np.flatnonzero(bad),
            "RFSTDTC",
            "RFSTDTC is blank for a subject who received study treatment",
        )


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
    picked = (
        np.asarray(distinct, dtype=object).take(np.nan_to_num(extreme.to_numpy(), nan=0).astype(np.int64))
        if len(distinct)
        else np.full(len(extreme), np.nan, dtype=object)
    )
    result = np.where(extreme.isna().to_numpy(), np.nan, picked)
    return pd.Series(
        result, index=pd.Index(np.asarray(subject_names, dtype=object)[extreme.index.to_numpy()]), dtype=object
    )


def _days(ds: Dataset, variable: str) -> tuple[np.ndarray, np.ndarray]:
    """A date variable as (codes, table of days): ``table[codes]`` is each record's day
    (YYYY-MM-DD, compared as text), "" where the value is partial, blank or not a date."""
    codes, table = ds.codes(variable) if ds.frame[variable].dtype == object else text_codes(ds.text(variable))
    day = pd.Series(table, dtype=object).astype(str).str[:10]
    day = day.where(day.str.match(r"^\d{4}-\d{2}-\d{2}$", na=False), "")
    return codes, day.to_numpy(dtype=object)


def _combinations(ds: Dataset, date_var: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (USUBJID, day, EPOCH) of a dataset's records with a day and an EPOCH, and for
    each record its row in them (-1: not judged). EPOCH is judged once per combination."""
    subj_codes, subj_table = ds.codes("USUBJID")
    day_codes, day_table = _days(ds, date_var)
    epoch_codes, epoch_table = ds.codes("EPOCH")
    judged = (day_table[day_codes] != "") & (epoch_table[epoch_codes] != "") & (subj_table[subj_codes] != "")
    key = (subj_codes.astype(np.int64) * (len(day_table) + 1) + day_codes) * (len(epoch_table) + 1) + epoch_codes
    distinct, inverse = np.unique(np.where(judged, key, -1), return_inverse=True)
    keep = distinct >= 0
    rest, epoch = np.divmod(distinct[keep], len(epoch_table) + 1)
    subj, day = np.divmod(rest, len(day_table) + 1)
    combos = pd.DataFrame({"USUBJID": subj_table[subj], "day": day_table[day], "EPOCH": epoch_table[epoch]})
    position = np.full(len(distinct), -1, dtype=np.int64)
    position[keep] = np.arange(int(keep.sum()))
    return combos, position[inverse]


def _spread(ds: Dataset, rows: np.ndarray, bad: np.ndarray, messages: list[str]) -> tuple[np.ndarray, list[str]]:
    """Records whose combination is bad, with the combination's message."""
    flagged = np.zeros(len(rows), dtype=bool)
    judged = rows >= 0
    flagged[judged] = bad[rows[judged]]
    positions = np.flatnonzero(flagged)
    return positions, [messages[r] for r in rows[positions].tolist()]


def _by_elements(ds: Dataset, date_var: str, se: Dataset) -> Iterator[Finding]:
    """EPOCH against the subject's SE elements that cover the record's day (either of two on a boundary day)."""
    frame = se.frame
    elements = pd.DataFrame(
        {
            "USUBJID": frame["USUBJID"].to_numpy(dtype=object),
            "start": se.text("SESTDTC").str[:10].to_numpy(dtype=object),
            "end": se.text("SEENDTC").str[:10].to_numpy(dtype=object),
            "epoch": se.text("EPOCH").to_numpy(dtype=object),
        }
    )
    elements = elements[elements["start"].str.match(r"^\d{4}-\d{2}-\d{2}$") & elements["epoch"].ne("")]
    combos, rows = _combinations(ds, date_var)
    if not len(combos) or not len(elements):
        return
    pairs = combos.reset_index().merge(elements, on="USUBJID")
    covers = (pairs["start"] <= pairs["day"]) & (
        (pairs["end"] >= pairs["day"]) | ~pairs["end"].str.match(r"^\d{4}-\d{2}-\d{2}$")
    )
    # Each combination's covering epochs, once each in SE order; judged on arrays, worded only when bad.
    cover = pairs.loc[covers, ["index", "epoch"]].drop_duplicates()
    at = cover["index"].to_numpy(dtype=np.int64)
    got = combos["EPOCH"].to_numpy(dtype=object)
    covered = np.zeros(len(combos), dtype=bool)
    covered[at] = True
    matched = np.zeros(len(combos), dtype=bool)
    matched[at[cover["epoch"].to_numpy(dtype=object) == got[at]]] = True
    bad = covered & ~matched
    messages = [""] * len(combos)
    wrong = np.flatnonzero(bad)
    if len(wrong):
        wants = cover[np.isin(at, wrong)].groupby("index", sort=False)["epoch"].agg(list)
        days = combos["day"].to_numpy(dtype=object)
        for i in wrong.tolist():
            want = wants[i]
            messages[i] = (
                f"EPOCH should be {' or '.join(repr(w) for w in want)}: on {days[i]} ({date_var}) the subject's "
                f"{'element is' if len(want) == 1 else 'elements are'} in that epoch in SE"
            )
    positions, texts = _spread(ds, rows, bad, messages)
    yield from ds.findings("DB406", Severity.ERROR, positions, "EPOCH", texts)


def _in_arm(pkg: Package, ds: Dataset, ta: Dataset) -> Iterator[Finding]:
    """Without SE: EPOCH is one of the epochs TA gives the subject's arm (ACTARMCD, else ARMCD).

    An EPOCH that is no epoch of TA at all is DB308's; one of a subject whose arm TA lacks is not judged.
    """
    arms = ta.frame.groupby(ta.text("ARMCD"))["EPOCH"].apply(lambda e: tuple(dict.fromkeys(v for v in e if v)))
    every = frozenset(v for v in ta.text("EPOCH") if v)
    actual, planned = pkg.subject_values(ds, "ACTARMCD"), pkg.subject_values(ds, "ARMCD")
    arm = actual.where(actual.ne(""), planned).to_numpy(dtype=object)
    epochs = ds.text("EPOCH").to_numpy(dtype=object)
    allowed = [arms.get(a, ()) for a in arm]
    bad = np.array(
        [e in every and a in arms and e not in want for e, a, want in zip(epochs, arm, allowed, strict=False)],
        dtype=bool,
    )
    positions = np.flatnonzero(bad)
    messages = [
        f"EPOCH should be one of the epochs TA gives arm {arm[p]!r}: {', '.join(allowed[p])}"
        for p in positions.tolist()
    ]
    yield from ds.findings("DB406", Severity.ERROR, positions, "EPOCH", messages)


def epoch_starts(pkg: Package, rules: tuple[EpochRule, ...]) -> list[tuple[str, pd.Series]]:
    """Each declared epoch's start day per subject (Series of datetimes by USUBJID), in the study's order.

    An epoch whose start dataset or variable is not in the package has no start for anyone.
    """
    starts = []
    for rule in rules:
        source = pkg.get(rule.dataset)
        if source is None or rule.variable not in source.frame.columns or "USUBJID" not in source.frame.columns:
            starts.append((rule.epoch, pd.Series(dtype="datetime64[ns]")))
            continue
        frame = source.frame
        mask = np.ones(len(frame), dtype=bool)
        for var, values in rule.filters.items():
            mask &= source.text(var).isin(values).to_numpy() if var in frame.columns else False
        dates = complete_dates(source.text(rule.variable)).where(mask)
        per_subject = dates.groupby(frame["USUBJID"].to_numpy(dtype=object)).min()
        if rule.how == "day_after":
            per_subject = per_subject + pd.Timedelta(days=1)
        starts.append((rule.epoch, per_subject))
    return starts


def _by_study_epochs(
    pkg: Package, ds: Dataset, date_var: str, starts: list[tuple[str, pd.Series]]
) -> Iterator[Finding]:
    """Without SE or TA: the epoch is the last of the study's epochs (in order) whose subject start is on or before the day."""
    combos, rows = _combinations(ds, date_var)
    if not len(combos):
        return
    when = pd.to_datetime(combos["day"], format="%Y-%m-%d", errors="coerce").to_numpy()
    expected = np.full(len(combos), "", dtype=object)
    for name, per_subject in starts:
        start = pd.Series(per_subject.reindex(combos["USUBJID"]).to_numpy(), dtype="datetime64[ns]").to_numpy()
        expected = np.where(when >= start, name, expected)  # NaT never compares true: no start, not entered
    got = combos["EPOCH"].to_numpy(dtype=object)
    bad = (expected != "") & (got != expected)
    messages = [
        f"EPOCH should be {want!r}: the study's epochs (study.yaml) put {day} ({date_var}) in it for this subject"
        for want, day in zip(expected, combos["day"], strict=False)
    ]
    positions, texts = _spread(ds, rows, bad, messages)
    yield from ds.findings("DB406", Severity.ERROR, positions, "EPOCH", texts)


@check(
    "DB406",
    "dates.epoch_consistent",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 section 4.4 (timing variables: EPOCH)",
        "SDTMIG 3.4 Subject Elements (SE) and Trial Arms (TA)",
    ),
    implements=Implements(cdisc=("CG0218",), core=("CORE-000097",)),
)
def epoch_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """EPOCH is the epoch the subject was in on the record's date, as the trial design records it.

    The date is --DTC for Findings and --STDTC for Events, Interventions and SV; only dates with a
    day are judged. With SE, EPOCH is the epoch of the subject's element
    covering that day (either element's on the day one ends and the next starts; a day outside every
    element is not judged). Without SE but with TA, EPOCH is one of the epochs TA gives the subject's
    arm (ACTARMCD, else ARMCD). Without either, and with the study known (``--study``), EPOCH is the
    last of study.yaml's ``epochs:`` whose start for the subject is on or before the day. Else
    EPOCH is not judged. The message names the EPOCH expected.
    Anti-pattern: a questionnaire dated on the screening visit with EPOCH = TREATMENT.
    Fix: derive EPOCH from the record's date and the subject's elements (``derive_epoch``).
    """
    se, ta = pkg.get(SUBJECT_ELEMENTS), pkg.get(TRIAL_ARMS)
    se_ok = se is not None and {"USUBJID", "SESTDTC", "EPOCH"} <= set(se.frame.columns)
    ta_ok = ta is not None and {"ARMCD", "EPOCH"} <= set(ta.frame.columns)
    starts: list[tuple[str, pd.Series]] | None = None
    for ds in pkg.datasets.values():
        if ds.is_supp or ds is se or ds is ta or "EPOCH" not in ds.frame.columns or "USUBJID" not in ds.frame.columns:
            continue
        date_var = timing_variable(ds, ctx)
        if se_ok and date_var:
            assert se is not None
            yield from _by_elements(ds, date_var, se)
        elif ta_ok:
            assert ta is not None
            yield from _in_arm(pkg, ds, ta)
        elif ctx.epochs and date_var:
            starts = epoch_starts(pkg, ctx.epochs) if starts is None else starts
            yield from _by_study_epochs(pkg, ds, date_var, starts)


def _events_with(pkg: Package, ctx: CheckContext, *suffixes: str) -> Iterator[Dataset]:
    """The Events datasets (not SUPP--) that hold every --variable named by ``suffixes`` and USUBJID."""
    for ds in pkg.datasets.values():
        if (
            dataset_class(ds, ctx) == EVENTS
            and "USUBJID" in ds.frame.columns
            and all(f"{ds.domain}{s}" in ds.frame.columns for s in suffixes)
        ):
            yield ds


@check(
    "DB407",
    "dates.death_consistent",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 AE assumptions (AEOUT, AESDTH)",
        "SDTMIG 3.4 DM assumptions (DTHFL, DTHDTC)",
    ),
    implements=Implements(
        cdisc=("CG0134", "CG0435"),
        core=("CORE-000007", "CORE-000254", "CORE-000705"),
        fda=("FB0603", "FB0606", "FB0610", "SD2004", "SD2005"),
    ),
)
def death_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """An event with outcome FATAL (--OUT, any Events dataset) belongs to a subject with DTHFL = Y; DTHFL = Y exactly when DTHDTC is given.

    Anti-pattern: AEOUT = FATAL for a subject whose DM has no death date.
    Fix: complete the death report (DM.DTHDTC, DTHFL) or correct the outcome.
    """
    dm = pkg.get(DEMOGRAPHICS)
    if dm is None:
        return
    frame = dm.frame
    yes, fatal = roles.yes(ctx), roles.term(ctx, roles.OUTCOME, roles.FATAL, "FATAL")
    if {"DTHFL", "DTHDTC"} <= set(frame.columns):
        flag_no_date = frame["DTHFL"].eq(yes) & frame["DTHDTC"].eq("")
        date_no_flag = frame["DTHDTC"].ne("") & frame["DTHFL"].ne(yes)
        yield from dm.findings(
            "DB407",
            Severity.ERROR,
            np.flatnonzero(flag_no_date.to_numpy()),
            "DTHDTC",
            f"DTHFL = {yes} but DTHDTC is blank",
        )
        yield from dm.findings(
            "DB407",
            Severity.ERROR,
            np.flatnonzero(date_no_flag.to_numpy()),
            "DTHFL",
            f"DTHDTC is given but DTHFL is not {yes}",
        )
    if "DTHFL" not in frame.columns:
        return
    for ds in _events_with(pkg, ctx, "OUT"):
        out = f"{ds.domain}OUT"
        died = subject_values(pkg, ds, "DTHFL").eq(yes)
        bad = (ds.text(out).eq(fatal) & ~died).to_numpy()
        yield from ds.findings(
            "DB407",
            Severity.ERROR,
            np.flatnonzero(bad),
            out,
            f"{out} = {fatal} but DM.DTHFL is not {yes} for this subject",
        )


@check(
    "DB408",
    "dates.end_with_outcome",
    severity=Severity.WARNING,
    references=("SDTMIG 3.4 AE assumptions (AEOUT, AEENDTC)",),
    implements=Implements(core=("CORE-000657", "CORE-000659"), fda=("FB3409", "FB3410")),
)
def end_with_outcome(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--ENDTC agrees with the outcome: blank while --OUT says the event had not ended, given once it says it resolved.

    Any Events dataset with --OUT and --ENDTC. An event NOT RECOVERED/NOT RESOLVED or
    RECOVERING/RESOLVING (the OUT codelist's C49494, C49496) has no --ENDTC; one RECOVERED/RESOLVED
    or RECOVERED/RESOLVED WITH SEQUELAE (C49498, C49495) has one. Terms by NCI code.
    Anti-pattern: AEOUT = NOT RECOVERED/NOT RESOLVED with AEENDTC = 2013-01-02; AEOUT =
    RECOVERED/RESOLVED with AEENDTC blank.
    Fix: an event with an end date has recovered (or is fatal, or recovered with sequelae), and
    a resolved event has the date it resolved: correct the outcome or the end date.
    """
    ongoing = {
        roles.term(ctx, roles.OUTCOME, roles.NOT_RECOVERED, "NOT RECOVERED/NOT RESOLVED"),
        roles.term(ctx, roles.OUTCOME, roles.RECOVERING, "RECOVERING/RESOLVING"),
    }
    resolved = {
        roles.term(ctx, roles.OUTCOME, roles.RECOVERED, "RECOVERED/RESOLVED"),
        roles.term(ctx, roles.OUTCOME, roles.RECOVERED_WITH_SEQUELAE, "RECOVERED/RESOLVED WITH SEQUELAE"),
    }
    for ds in _events_with(pkg, ctx, "OUT", "ENDTC"):
        out, end = f"{ds.domain}OUT", f"{ds.domain}ENDTC"
        outcome = ds.text(out)
        ended = (
            ds.per_value(end, lambda v: v.ne("")) if ds.frame[end].dtype == object else ds.text(end).ne("").to_numpy()
        )
        bad = outcome.isin(ongoing).to_numpy() & ended
        yield from ds.findings(
            "DB408",
            Severity.WARNING,
            np.flatnonzero(bad),
            end,
            [f"{end} is given but {out} = {o}: the event had not ended" for o in outcome.to_numpy()[bad]],
        )
        missing = outcome.isin(resolved).to_numpy() & ~ended
        yield from ds.findings(
            "DB408",
            Severity.WARNING,
            np.flatnonzero(missing),
            end,
            [f"{end} is blank but {out} = {o}: the event ended" for o in outcome.to_numpy()[missing]],
        )


@check(
    "DB409",
    "dates.fatal_end_is_death",
    severity=Severity.WARNING,
    references=("SDTMIG 3.4 AE assumptions (AEOUT = FATAL)",),
    implements=Implements(core=("CORE-000841",), fda=("FB0612",)),
)
def fatal_end_is_death(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """An event with outcome FATAL ends on the subject's date of death: --ENDTC equals DM.DTHDTC at their common precision.

    Any Events dataset with --OUT and --ENDTC; FATAL is the OUT codelist's term C48275. A blank
    --ENDTC or DTHDTC is not compared (DB407 reports a death without date).
    Anti-pattern: AEOUT = FATAL, AEENDTC = 2014-10-31, DM.DTHDTC = 2014-11-01.
    Fix: correct the end date of the event or the date of death.
    """
    fatal = roles.term(ctx, roles.OUTCOME, roles.FATAL, "FATAL")
    for ds in _events_with(pkg, ctx, "OUT", "ENDTC"):
        out, end = f"{ds.domain}OUT", f"{ds.domain}ENDTC"
        death = subject_values(pkg, ds, "DTHDTC")
        ends = ds.text(end)
        judged = (ds.text(out).eq(fatal) & ends.ne("") & death.ne("")).to_numpy()
        bad = judged & (after(ends, death) | after(death, ends))
        yield from ds.findings(
            "DB409",
            Severity.WARNING,
            np.flatnonzero(bad),
            end,
            [f"{end} of a fatal event should be the subject's DM.DTHDTC {d}" for d in death.to_numpy()[bad]],
        )


@check(
    "DB410",
    "dates.disposition_death_date",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 DS assumptions (DSDECOD = DEATH, DSSTDTC)", "SDTMIG 3.4 DM assumptions (DTHDTC)"),
    implements=Implements(cdisc=("CG0069",), core=("CORE-000034", "CORE-000913"), fda=("FB0611",)),
)
def disposition_death_date(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A disposition record of the death (DSDECOD = DEATH) starts on the subject's date of death: DSSTDTC equals DM.DTHDTC.

    Compared at their common precision (2014-11 and 2014-11-01 agree); a blank DSSTDTC or DTHDTC
    where the other is given disagrees. DEATH is the NCOMPLT codelist's term C28554. A subject
    DM lacks is DB302's.
    Anti-pattern: DSDECOD = DEATH, DSSTDTC = 2014-10-31, DM.DTHDTC = 2014-11-01; a DEATH record
    for a subject whose DTHDTC is blank.
    Fix: correct the disposition date or the date of death; both come from the death report.
    """
    ds, dm = pkg.get(DISPOSITION), pkg.get(DEMOGRAPHICS)
    if ds is None or dm is None or not {"DSDECOD", "DSSTDTC", "USUBJID"} <= set(ds.frame.columns):
        return
    if "DTHDTC" not in dm.frame.columns:
        return
    death = roles.term(ctx, roles.COMPLETION, roles.DEATH, "DEATH")
    records = ds.per_value("DSDECOD", lambda v: v.eq(death)) & (pkg.subject_rows(ds) >= 0)
    if not records.any():
        return
    dates, died = ds.text("DSSTDTC"), subject_values(pkg, ds, "DTHDTC")
    differ = after(dates, died) | after(died, dates) | (dates.eq("") != died.eq("")).to_numpy()
    bad = records & differ
    yield from ds.findings(
        "DB410",
        Severity.ERROR,
        np.flatnonzero(bad),
        "DSSTDTC",
        [
            f"DSSTDTC of the death should be the subject's DM.DTHDTC {d}"
            if d
            else "DSDECOD = DEATH but DM.DTHDTC is blank"
            for d in died.to_numpy()[bad]
        ],
    )


@check(
    "DB411",
    "dates.informed_consent_date",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 DM assumptions (RFICDTC)", "SDTMIG 3.4 DS assumptions (protocol milestones)"),
    implements=Implements(cdisc=("CG0068", "CG0143"), core=("CORE-000363", "CORE-000370")),
)
def informed_consent_date(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """DM.RFICDTC is the date of the subject's first informed consent in DS: the earliest DSSTDTC with DSDECOD = INFORMED CONSENT OBTAINED.

    Judged for the subjects with such a DS record (with a DSSTDTC); compared at their common
    precision. A package whose DS records no consent is not judged. INFORMED CONSENT OBTAINED is
    the PROTMLST codelist's term C16735.
    Anti-pattern: RFICDTC = 2025-09-03 while DS records consent on 2025-09-01 (and a re-consent
    on 2025-09-03).
    Fix: derive RFICDTC from the first consent (or DS from the consent page RFICDTC reads).
    """
    ds, dm = pkg.get(DISPOSITION), pkg.get(DEMOGRAPHICS)
    if ds is None or dm is None or not {"DSDECOD", "DSSTDTC", "USUBJID"} <= set(ds.frame.columns):
        return
    if not {"USUBJID", "RFICDTC"} <= set(dm.frame.columns):
        return
    consent = roles.term(ctx, roles.MILESTONE, roles.CONSENT_OBTAINED, "INFORMED CONSENT OBTAINED")
    dates = ds.text("DSSTDTC")
    records = ds.per_value("DSDECOD", lambda v: v.eq(consent)) & dates.ne("").to_numpy()
    if not records.any():
        return
    first = _per_subject_extreme(dates[records], ds.frame["USUBJID"][records], "min")
    want = dm.frame["USUBJID"].map(first).fillna("").astype(str)
    have = dm.text("RFICDTC")
    judged = want.ne("").to_numpy()
    bad = judged & (after(have, want) | after(want, have) | have.eq("").to_numpy())
    yield from dm.findings(
        "DB411",
        Severity.ERROR,
        np.flatnonzero(bad),
        "RFICDTC",
        [
            f"RFICDTC should be {w!r}, the subject's first DSSTDTC with DSDECOD = {consent}"
            if h
            else f"RFICDTC is blank but DS records the subject's {consent} on {w}"
            for h, w in zip(have.to_numpy()[bad], want.to_numpy()[bad], strict=False)
        ],
    )
