"""DB3xx: record identity: unique identifiers and natural keys, every subject in DM, SUPP-- records with a parent,
every visit in SV."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, Implements, check, expectation, no_counterpart
from daybreak_sdtm.checks.roles import DEMOGRAPHICS, SUBJECT_VISITS
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.gx import Expect

SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")
# VISITNUM is compared rounded to this many decimals: a visit number computed in floating point
# (1 + 0.2 = 1.2000000000000002) is the same visit as the 1.2 SV holds.
VISITNUM_DECIMALS = 6


@expectation(
    "DB301",
    "keys.unique_natural_keys",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 3.2.1.1 (primary keys)",),
    implements=Implements(
        cdisc=("CG0028", "CG0151", "CG0411"),
        core=("CORE-000203", "CORE-000351", "CORE-000544"),
        fda=("SD0005", "SD0083", "SD0086"),
    ),
)
def unique_natural_keys(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Records are unique by their identifiers: USUBJID in DM, STUDYID+USUBJID+--SEQ elsewhere.

    For SUPP--, STUDYID+RDOMAIN+USUBJID+IDVAR+IDVARVAL+QNAM. Each duplicated record is reported.
    Anti-pattern: two AE records of one subject with AESEQ = 3.
    Fix: derive --SEQ with ``derive_seq``; DM holds one record per subject.
    Engine: great-expectations ``ExpectColumnValuesToBeUnique`` (DM) and
    ``ExpectCompoundColumnsToBeUnique`` (others).
    """
    cols = set(ds.frame.columns)
    if ds.name == DEMOGRAPHICS:
        if "USUBJID" in cols:
            yield Expect(
                "DB301",
                Severity.ERROR,
                "USUBJID",
                "ExpectColumnValuesToBeUnique",
                {"column": "USUBJID"},
                "USUBJID {value!r} has more than one DM record",
            )
        return
    keys = identity_keys(ds)
    if all(k and k in cols for k in keys):
        variable = "QNAM" if ds.is_supp else ds.seq_name
        yield Expect(
            "DB301",
            Severity.ERROR,
            variable,
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": keys},
            f"duplicate record: {'+'.join(keys)} is not unique",
        )


def identity_keys(ds: Dataset) -> list[str]:
    """The variables DB301 holds unique: USUBJID (DM), SUPP--'s keys, else STUDYID+USUBJID+--SEQ ("" when none)."""
    if ds.name == DEMOGRAPHICS:
        return ["USUBJID"]
    return list(SUPP_KEYS) if ds.is_supp else ["STUDYID", "USUBJID", ds.seq_name]


def natural_keys(ds: Dataset, pkg: Package, ctx: CheckContext) -> tuple[tuple[str, ...], str, Severity]:
    """A dataset's natural keys, where they come from, and how severe a pair of records they do not tell apart is.

    The keys the package declares come first (define.xml's KeySequence), then the study's (its
    domain spec's ``keys:`` or the SDTMIG's, which its define declares); a package with neither
    is held to the SDTMIG's, which the IG gives as examples (section 3.2.1: "a sponsor's actual
    key structure may be different"), so what they do not tell apart is a warning.
    """
    define = getattr(pkg, "define_meta", None)
    declared = define.keys.get(ds.name, ()) if define is not None else ()
    if declared:
        return declared, "define.xml", Severity.ERROR
    if ctx.keys.get(ds.name):
        return ctx.keys[ds.name], "the study's", Severity.ERROR
    meta = ctx.standards.dataset(ds.name)
    return (meta.keys if meta is not None else ()), f"SDTMIG {ctx.standards.sdtmig_version}", Severity.WARNING


@check(
    "DB306",
    "keys.natural_keys_identify_records",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 section 3.2 (the natural key structure of each dataset) and 3.2.1.1 (primary keys)",
        "Define-XML 2.1 ItemRef KeySequence",
    ),
    implements=no_counterpart(
        "no CORE or FDA rule holds a dataset's natural keys unique (CORE-000544, CG0028, holds --SEQ unique: DB301)"
    ),
)
def natural_keys_identify_records(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """The natural keys of every dataset identify its records: no two records share their values.

    The keys are the ones define.xml declares (ItemRef KeySequence), else the study's (its domain
    specs' ``keys:``, else the SDTMIG's), else the SDTMIG's (a warning: the IG's are examples);
    those the dataset lacks are left out. Each record whose keys repeat an earlier record's is
    reported, naming that record. A dataset whose keys include DB301's identifiers (USUBJID in DM,
    STUDYID+USUBJID+--SEQ, SUPP--'s keys) is left to DB301.
    Anti-pattern: PR keyed by STUDYID+USUBJID+PRTRT+PRSTDTC, holding one radiotherapy record per
    irradiated location started the same day.
    Fix: add the variable that tells the records apart (PRLOC) to the domain spec's ``keys:``
    (and so to the define's KeySequence), or correct the records that repeat.
    """
    for ds in pkg.datasets.values():
        keys, source, severity = natural_keys(ds, pkg, ctx)
        present = [k for k in keys if k in ds.frame.columns]
        identity = identity_keys(ds)
        if not present or len(ds.frame) < 2 or (all(identity) and set(identity) <= set(present)):
            continue
        codes = pd.DataFrame({k: _key_codes(ds, k) for k in present})
        repeats = np.flatnonzero(codes.duplicated(keep="first").to_numpy())
        if not len(repeats):
            continue
        group = codes.groupby(present, sort=False).ngroup().to_numpy()
        _, first = np.unique(group, return_index=True)
        earlier = first[group[repeats]] + 1
        shown = np.full(len(ds.frame), "", dtype=object)
        texts = [ds.text(k).to_numpy(dtype=object) for k in present]
        shown[repeats] = ["/".join(str(t[pos]) for t in texts) for pos in repeats.tolist()]
        named = "+".join(present)
        yield from ds.findings(
            "DB306",
            severity,
            repeats,
            present[-1],
            [
                f"{named} ({source} keys) the same as in row {row}: the keys do not identify the record"
                for row in earlier
            ],
            values=pd.Series(shown, dtype=object),
        )


def _key_codes(ds: Dataset, variable: str) -> np.ndarray:
    """One integer per distinct value of a key variable (char by its shared codes, numbers factorised)."""
    if ds.frame[variable].dtype == object:
        return ds.codes(variable)[0]
    return pd.factorize(ds.frame[variable], use_na_sentinel=False)[0]


@check(
    "DB302",
    "keys.subject_in_dm",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 DM assumptions (every subject has one DM record)",),
    implements=Implements(cdisc=("CG0029",), core=("CORE-000201",), fda=("SD0064",)),
)
def subject_in_dm(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Every USUBJID of every dataset has a record in DM.

    Anti-pattern: AE records of a screen failure who was never added to DM.
    Fix: add the subject to DM, or remove the orphan records.
    """
    dm = pkg.get(DEMOGRAPHICS)
    if dm is None or "USUBJID" not in dm.frame.columns:
        yield Finding(
            "DB302",
            Severity.ERROR,
            DEMOGRAPHICS,
            "USUBJID",
            None,
            f"the package has no {DEMOGRAPHICS} dataset with USUBJID",
        )
        return
    known = pd.Index(dm.frame["USUBJID"].unique())
    for ds in pkg.datasets.values():
        if ds.name == DEMOGRAPHICS or "USUBJID" not in ds.frame.columns:
            continue
        bad = ds.positions_where("USUBJID", lambda usubjid: ~usubjid.isin(known) & usubjid.ne(""))
        yield from ds.findings("DB302", Severity.ERROR, bad, "USUBJID", "subject is not in DM")


@check(
    "DB303",
    "keys.supp_parent_exists",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 8.4 (relating non-standard variable values to a parent domain)",),
    implements=Implements(cdisc=("CG0370", "CG0373"), core=("CORE-000457", "CORE-000712")),
)
def supp_parent_exists(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Each SUPP-- record points, through RDOMAIN, USUBJID, IDVAR and IDVARVAL, at an existing parent record.

    Anti-pattern: SUPPAE IDVAR = AESEQ, IDVARVAL = 12 when the subject has AESEQ 1-11; IDVAR naming
    a variable the parent does not have; a parent dataset missing from the package.
    Fix: regenerate SUPP-- after the parent's --SEQ is final.
    """
    for ds in pkg.datasets.values():
        if not ds.is_supp or not {"USUBJID", "IDVAR", "IDVARVAL"} <= set(ds.frame.columns):
            continue
        frame = ds.frame
        parent = pkg.get(ds.parent_name)
        if parent is None:
            yield ds.finding(
                "DB303", Severity.ERROR, "RDOMAIN", f"parent dataset {ds.parent_name} is not in the package"
            )
            continue
        idvar_codes, idvars = ds.codes("IDVAR")
        # Blank IDVAR relates the qualifier to the subject (DM-level); the subject must then exist.
        subject_level = ds.per_value("IDVAR", lambda v: v.eq(""))
        known_subjects = pd.Index(
            parent.frame["USUBJID"].unique() if "USUBJID" in parent.frame.columns else [], dtype=object
        )
        bad = subject_level & ds.per_value("USUBJID", lambda v: ~v.isin(known_subjects))  # noqa: B023 (called at once)
        unknown_idvar = pd.Series(idvars, dtype=object).ne("") & ~pd.Series(idvars, dtype=object).isin(
            list(parent.frame.columns)
        )
        yield from ds.findings(
            "DB303",
            Severity.ERROR,
            np.flatnonzero(unknown_idvar.to_numpy()[idvar_codes]),
            "IDVAR",
            f"IDVAR names no variable of {ds.parent_name}",
        )
        named = np.unique(idvar_codes[~(subject_level | unknown_idvar.to_numpy()[idvar_codes])])
        usubjid, idvarval = frame["USUBJID"].to_numpy(dtype=object), ds.per_value("IDVARVAL", lambda v: v.str.strip())
        for code in sorted(named.tolist(), key=lambda c: idvars[c]):
            rows = np.flatnonzero(idvar_codes == code)
            wanted = (usubjid[rows], idvarval[rows])
            have = (parent.frame["USUBJID"].to_numpy(dtype=object), parent.text(idvars[code]).to_numpy(dtype=object))
            bad[rows[~pairs_in(wanted, have)]] = True
        yield from ds.findings(
            "DB303",
            Severity.ERROR,
            np.flatnonzero(bad),
            "IDVARVAL",
            f"no {ds.parent_name} record of this subject has IDVAR = IDVARVAL",
        )


def pairs_in(pairs: tuple[np.ndarray, np.ndarray], among: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Whether each (first, second) pair of ``pairs`` is one of the pairs of ``among`` (aligned arrays).

    Each pair becomes one integer (codes of its two values among ``among``'s distinct values),
    so membership is one integer ``isin`` rather than a hash of tuples per record.
    """
    first_codes, firsts = pd.factorize(among[0], use_na_sentinel=False)
    second_codes, seconds = pd.factorize(among[1], use_na_sentinel=False)
    width = len(seconds) + 1
    first = pd.Index(firsts, dtype=object).get_indexer(pd.Index(pairs[0], dtype=object))
    second = pd.Index(seconds, dtype=object).get_indexer(pd.Index(pairs[1], dtype=object))
    known = first_codes.astype(np.int64) * width + second_codes
    return (first >= 0) & (second >= 0) & np.isin(first.astype(np.int64) * width + second, known)


def _visit_numbers(ds: Dataset) -> np.ndarray:
    """VISITNUM as rounded floats (NaN when blank or not a number)."""
    values = pd.to_numeric(ds.frame["VISITNUM"], errors="coerce").to_numpy(dtype=np.float64)
    return np.round(values, VISITNUM_DECIMALS)


@check(
    "DB307",
    "keys.visit_in_subject_visits",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 Subject Visits (SV) assumptions (one record per visit of each subject)",),
    implements=Implements(cdisc=("CG0034",), core=("CORE-000168",)),
)
def visit_in_subject_visits(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """When SV is in the package, every VISITNUM of a subject's records is one of that subject's visits in SV.

    Any dataset with USUBJID and VISITNUM (not SV itself). VISITNUM is compared as a number
    rounded to 6 decimals, so a visit number stored with floating-point noise (1.2000000000000002)
    is the visit SV holds as 1.2. Without SV nothing is judged: a package without it cannot say
    which visits took place. Blank VISITNUM passes.
    Anti-pattern: LB records of an unscheduled visit 4.1 that SV does not list for the subject.
    Fix: build SV from every domain's visits (``trial_design`` makes it from the built domains),
    or correct the visit number.
    """
    sv = pkg.get(SUBJECT_VISITS)
    if sv is None or not {"USUBJID", "VISITNUM"} <= set(sv.frame.columns):
        return
    sv_visits = _visit_numbers(sv)
    sv_subjects = pd.Index(pd.unique(sv.frame["USUBJID"].to_numpy(dtype=object)), dtype=object)
    sv_numbers = pd.Index(pd.unique(sv_visits[~np.isnan(sv_visits)]), dtype=np.float64)
    width = len(sv_numbers) + 1
    sv_keys = sv_subjects.get_indexer(sv.frame["USUBJID"].to_numpy(dtype=object)).astype(np.int64) * width
    sv_keys += sv_numbers.get_indexer(sv_visits)
    known = np.unique(sv_keys[~np.isnan(sv_visits)])
    for ds in pkg.datasets.values():
        if ds is sv or ds.is_supp or not {"USUBJID", "VISITNUM"} <= set(ds.frame.columns):
            continue
        numbers = _visit_numbers(ds)
        codes, table = ds.codes("USUBJID")  # subjects looked up once each, spread by code
        subject = sv_subjects.get_indexer(pd.Index(table, dtype=object))[codes].astype(np.int64)
        number_codes, distinct = pd.factorize(numbers, use_na_sentinel=True)
        visit = np.append(sv_numbers.get_indexer(distinct), -1)[number_codes]
        judged = ~np.isnan(numbers) & (table[codes] != "")
        found = (subject >= 0) & (visit >= 0) & np.isin(subject * width + visit, known)
        bad = np.flatnonzero(judged & ~found)
        if not len(bad):
            continue
        shown = ds.text("VISITNUM").to_numpy(dtype=object)
        yield from ds.findings(
            "DB307",
            Severity.ERROR,
            bad,
            "VISITNUM",
            [f"VISITNUM {v} is not a visit of this subject in SV" for v in shown[bad].tolist()],
        )
