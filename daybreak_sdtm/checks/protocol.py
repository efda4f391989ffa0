"""DB6xx: a study's protocol rules, declared as data in its ``study.yaml`` (``protocol_checks:``).

The vocabulary is small and study-neutral; each entry names one *kind*, and each kind is one
registered check (so ``explain DB603`` documents it for every study):

======================  =====  ==============================================================
kind                    check  holds when
======================  =====  ==============================================================
``value``               DB601  every value of DOMAIN.VAR (records matching ``where``) lies in
                               [min, max], or equals ``equals`` within ``tolerance``
``count``               DB602  every DM subject has between min and max matching records of
                               DOMAIN (or distinct values of ``distinct``)
``subject_value``       DB603  the subject's matching values of DOMAIN.VAR are all ``in`` the
                               list (and, with ``required: true``, there is one)
``only_when``           DB604  records of ``domain`` exist only for subjects that have a value
                               ``in`` the list for ``subject_has``'s DOMAIN.VAR
``date_order``          DB605  the subject's ``first`` date (pick first/last) is not after its
                               ``then`` date
``date_span``           DB606  end minus start, per record or per subject, is within
                               [min_days, max_days]
======================  =====  ==============================================================

``DOMAIN.VAR`` may name a supplemental qualifier (``PR.RTFXN``): its QVAL is joined to the parent
records through IDVAR/IDVARVAL. ``where`` is ``{VAR: value or [values]}`` on the same domain
(QNAMs allowed). Nothing is evaluated: values are compared as text or as numbers.

``load_study`` reads the rules with the rest of the study file (``daybreak_sdtm/spec/protocol.py``,
``StudySpec.protocol_checks``): this module only evaluates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.dates import after, complete_dates
from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, check, no_counterpart
from daybreak_sdtm.checks.roles import DEMOGRAPHICS
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.spec.model import ProtocolRule

CODES = {
    "value": "DB601",
    "count": "DB602",
    "subject_value": "DB603",
    "only_when": "DB604",
    "date_order": "DB605",
    "date_span": "DB606",
}
# What the study's own protocol says, which no published rule can: none has a counterpart.
PROTOCOL_RULE = no_counterpart("a rule of the study's protocol (study.yaml protocol_checks:), not of the standard")


def _protocol_check(code: str, name: str) -> Callable[[Any], Any]:
    """Register a check of protocol rules: an error, citing ICH E3 on protocol deviations."""
    return check(
        code,
        name,
        severity=Severity.ERROR,
        references=("ICH E3 section 10.2 (protocol deviations)",),
        implements=PROTOCOL_RULE,
    )


# Reading values -------------------------------------------------------------------------------


def column(pkg: Package, domain: str, name: str) -> tuple[Dataset | None, pd.Series | None]:
    """The parent dataset and the values of ``name`` aligned with its records (QNAMs joined from SUPP--)."""
    ds = pkg.get(domain)
    if ds is None:
        return None, None
    if name in ds.frame.columns:
        values = ds.frame[name]
        return ds, values if pd.api.types.is_numeric_dtype(values) else values.astype(object)
    supp = pkg.get(f"SUPP{domain}")
    if supp is None or not {"QNAM", "QVAL", "IDVAR", "IDVARVAL", "USUBJID"} <= set(supp.frame.columns):
        return ds, None
    rows = supp.frame[supp.frame["QNAM"].eq(name)]
    if rows.empty:
        return ds, None
    result = pd.Series("", index=ds.frame.index, dtype=object)
    for idvar, part in rows.groupby("IDVAR", sort=True):
        if idvar and idvar in ds.frame.columns:
            keys = pd.MultiIndex.from_arrays([ds.frame["USUBJID"], ds.text(str(idvar))])
            lookup = pd.Series(
                part["QVAL"].to_numpy(),
                index=pd.MultiIndex.from_arrays([part["USUBJID"], part["IDVARVAL"].str.strip()]),
            )
            lookup = lookup[~lookup.index.duplicated()]
            found = pd.Series(lookup.reindex(keys).to_numpy(), index=ds.frame.index)
        elif not idvar:  # a subject-level qualifier applies to every record of the subject
            found = ds.frame["USUBJID"].map(part.drop_duplicates("USUBJID").set_index("USUBJID")["QVAL"])
        else:
            continue
        result = result.where(found.isna(), found)
    return ds, result.fillna("").astype(object)


def _mask(pkg: Package, domain: str, where: dict[str, Any] | None, ds: Dataset) -> np.ndarray:
    mask = np.ones(len(ds.frame), dtype=bool)
    for var, wanted in (where or {}).items():
        values = wanted if isinstance(wanted, list) else [wanted]
        _, col = column(pkg, domain, str(var))
        if col is None:
            return np.zeros(len(ds.frame), dtype=bool)
        text = (
            col.astype(str) if not pd.api.types.is_numeric_dtype(col) else col.map(lambda v: "" if v != v else f"{v:g}")
        )
        mask &= text.isin([str(v) for v in values]).to_numpy()
    return mask


def _numbers(values: pd.Series) -> pd.Series:
    return values.astype("float64") if pd.api.types.is_numeric_dtype(values) else pd.to_numeric(values, errors="coerce")


def _rule_findings(
    rule: ProtocolRule,
    ds: Dataset,
    positions: np.ndarray,
    variable: str,
    messages: list[str] | str,
    values: pd.Series | None = None,
) -> Iterator[Finding]:
    prefix = f"{rule.id}: "
    texts = prefix + messages if isinstance(messages, str) else [prefix + m for m in messages]
    for f in ds.findings(CODES[rule.kind], rule.severity, positions, variable, texts, values=values):
        yield Finding(**{**f.__dict__, "spec": str(rule.where)})


def _subject_finding(rule: ProtocolRule, dataset: str, variable: str, usubjid: str, message: str) -> Finding:
    return Finding(
        CODES[rule.kind],
        rule.severity,
        dataset,
        variable,
        None,
        f"{rule.id}: {message}",
        usubjid=usubjid,
        spec=str(rule.where),
    )


def _missing(rule: ProtocolRule, what: str) -> Finding:
    return Finding(
        CODES[rule.kind],
        Severity.NOTE,
        "",
        "",
        None,
        f"{rule.id}: not checked, {what} is not in the package",
        spec=str(rule.where),
    )


def _rules(ctx: CheckContext, kind: str) -> list[ProtocolRule]:
    return [r for r in ctx.protocol if r.kind == kind]


# Checks -----------------------------------------------------------------------------------------


@_protocol_check("DB601", "protocol.value")
def protocol_value(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``value``: each value lies in [min, max] or equals a number within a tolerance.

    Example (Daybreak-01): ``value: {variable: DM.AGE, min: 18, max: 70}`` (eligibility), or
    ``value: {variable: PR.RTFXN, equals: 20}`` (20 fractions, a SUPPPR qualifier).
    Blank values are not checked; a value that is not a number is reported.
    """
    for rule in _rules(ctx, "value"):
        domain, _, name = rule.params["variable"].partition(".")
        ds, values = column(pkg, domain, name)
        if ds is None or values is None:
            yield _missing(rule, rule.params["variable"])
            continue
        sel = _mask(pkg, domain, rule.params.get("where"), ds)
        numbers = _numbers(values)
        present = (values.notna() if pd.api.types.is_numeric_dtype(values) else values.ne("")).to_numpy()
        p = rule.params
        if "equals" in p:
            tol = p.get("tolerance", 0.0)
            low, high, text = (
                p["equals"] - tol,
                p["equals"] + tol,
                f"should be {p['equals']:g}" + (f" (+/- {tol:g})" if tol else ""),
            )
        else:
            low, high = p.get("min", -np.inf), p.get("max", np.inf)
            text = f"should be between {low:g} and {high:g}"
        outside = numbers.isna().to_numpy() | (numbers < low).to_numpy() | (numbers > high).to_numpy()
        bad = sel & present & outside
        yield from _rule_findings(
            rule,
            ds,
            np.flatnonzero(bad),
            name,
            f"{name} {text} ({rule.description})",
            values=None if pd.api.types.is_numeric_dtype(values) else values.astype(str),
        )


@_protocol_check("DB602", "protocol.record_count")
def protocol_record_count(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``count``: each subject has between min and max matching records (or distinct values).

    Example (Daybreak-01): 4-6 induction cycles, counted as distinct tislelizumab dates:
    ``count: {domain: EX, where: {EXCAT: INDUCTION, EXTRT: TISLELIZUMAB}, distinct: EXSTDTC, min: 4, max: 6}``.
    Every DM subject is counted, so a subject with no matching record counts 0.
    """
    subjects = pkg.subjects()
    for rule in _rules(ctx, "count"):
        domain = rule.params["domain"]
        ds = pkg.get(domain)
        if ds is None or (not len(subjects.index)):
            yield _missing(rule, domain if ds is None else DEMOGRAPHICS)
            continue
        sel = _mask(pkg, domain, rule.params.get("where"), ds)
        frame = ds.frame[sel]
        distinct = rule.params.get("distinct")
        if distinct:
            _, values = column(pkg, domain, distinct)
            if values is None:
                yield _missing(rule, f"{domain}.{distinct}")
                continue
            counts = values[sel].groupby(frame["USUBJID"]).nunique()
        else:
            counts = frame.groupby("USUBJID").size()
        counts = counts.reindex(subjects.index, fill_value=0)
        low, high = rule.params.get("min", 0.0), rule.params.get("max", np.inf)
        what = f"distinct {distinct}" if distinct else "records"
        for usubjid, n in counts[(counts < low) | (counts > high)].items():
            yield _subject_finding(
                rule,
                domain,
                distinct or "",
                str(usubjid),
                f"{int(n)} {what} ({rule.description}; expected {low:g} to {high:g})",
            )


def _subject_selection(pkg: Package, selector: dict[str, Any]) -> tuple[Dataset | None, pd.Series | None, np.ndarray]:
    domain, _, name = str(selector["variable"]).partition(".")
    ds, values = column(pkg, domain, name)
    if ds is None or values is None:
        return ds, None, np.zeros(0, dtype=bool)
    return ds, values, _mask(pkg, domain, selector.get("where"), ds)


@_protocol_check("DB603", "protocol.subject_value")
def protocol_subject_value(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``subject_value``: a subject's matching values are all in a list (and exist if required).

    Example (Daybreak-01): the post-induction response is CR or PR:
    ``subject_value: {variable: RS.RSSTRESC, where: {RSTESTCD: OVRLRESP, VISIT: POST-INDUCTION}, in: [CR, PR], required: true}``.
    """
    subjects = pkg.subjects()
    for rule in _rules(ctx, "subject_value"):
        ds, values, sel = _subject_selection(pkg, rule.params)
        name = rule.params["variable"].partition(".")[2]
        if ds is None or values is None:
            yield _missing(rule, rule.params["variable"])
            continue
        allowed = [str(v) for v in rule.params["in"]]
        text = values.astype(str)
        bad = sel & ~text.isin(allowed).to_numpy()
        yield from _rule_findings(
            rule, ds, np.flatnonzero(bad), name, f"{name} is not one of {', '.join(allowed)} ({rule.description})"
        )
        if rule.params.get("required") and len(subjects.index):
            have = set(ds.frame.loc[sel, "USUBJID"])
            for usubjid in subjects.index[~subjects.index.isin(list(have))]:
                yield _subject_finding(rule, ds.name, name, str(usubjid), f"no {name} record ({rule.description})")


@_protocol_check("DB604", "protocol.records_only_when")
def protocol_records_only_when(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``only_when``: a domain has records only for subjects meeting a condition.

    Example (Daybreak-01): radiotherapy only for partial responders:
    ``only_when: {domain: PR, subject_has: {variable: RS.RSSTRESC, where: {RSTESTCD: OVRLRESP, VISIT: POST-INDUCTION}, in: [PR]}}``.
    Each record of a subject without the condition is reported.
    """
    for rule in _rules(ctx, "only_when"):
        ds = pkg.get(rule.params["domain"])
        cond = rule.params["subject_has"]
        src, values, sel = _subject_selection(pkg, cond)
        if ds is None:
            continue  # no records at all: nothing can break the rule
        if src is None or values is None:
            yield _missing(rule, str(cond["variable"]))
            continue
        ok = sel & values.astype(str).isin([str(v) for v in cond.get("in", [])]).to_numpy()
        eligible = set(src.frame.loc[ok, "USUBJID"])
        bad = ~ds.frame["USUBJID"].isin(list(eligible)).to_numpy()
        yield from _rule_findings(
            rule, ds, np.flatnonzero(bad), "USUBJID", f"record of a subject who does not qualify ({rule.description})"
        )


def _picked(pkg: Package, selector: dict[str, Any]) -> tuple[Dataset | None, pd.Series | None]:
    """Per subject, the first or last non-blank date of a selection (ISO 8601 text sorts by time)."""
    ds, values, sel = _subject_selection(pkg, selector)
    if ds is None or values is None:
        return ds, None
    dates = values.astype(str).where(sel & values.astype(str).ne("").to_numpy())
    grouped = dates.groupby(ds.frame["USUBJID"])
    return ds, (grouped.max() if selector.get("pick", "first") == "last" else grouped.min()).dropna()


@_protocol_check("DB605", "protocol.date_order")
def protocol_date_order(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``date_order``: a subject's ``then`` date is not before its ``first`` date.

    Example (Daybreak-01): radiotherapy starts after the last induction dose:
    ``date_order: {first: {variable: EX.EXSTDTC, where: {EXCAT: INDUCTION}, pick: last}, then: {variable: PR.PRSTDTC, pick: first}}``.
    Subjects lacking either date are not checked. Compared at the dates' common precision.
    """
    for rule in _rules(ctx, "date_order"):
        first_ds, first = _picked(pkg, rule.params["first"])
        then_ds, then = _picked(pkg, rule.params["then"])
        if first is None or then is None or then_ds is None:
            if first_ds is None or then_ds is None:
                continue  # a domain with no records cannot break the order
            yield _missing(rule, "a date variable")
            continue
        both = first.index.intersection(then.index)
        bad = after(first[both], then[both])
        name = str(rule.params["then"]["variable"]).partition(".")[2]
        for usubjid, a, b in zip(both[bad], first[both][bad], then[both][bad], strict=True):
            yield _subject_finding(
                rule,
                then_ds.name,
                name,
                str(usubjid),
                f"{name} {b} is before {rule.params['first']['variable']} {a} ({rule.description})",
            )


@_protocol_check("DB606", "protocol.date_span")
def protocol_date_span(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Protocol rule of kind ``date_span``: days from start to end, per record or per subject, within bounds.

    Example (Daybreak-01): radiotherapy takes about 4 weeks
    (``date_span: {start: PR.PRSTDTC, end: PR.PRENDTC, per: record, max_days: 35}``), and total
    treatment at most 2 years (``{start: DM.RFXSTDTC, end: DM.RFXENDTC, per: subject, max_days: 731}``).
    Per subject, the span runs from the earliest start to the latest end. Only complete dates count.
    """
    for rule in _rules(ctx, "date_span"):
        p = rule.params
        sdom, _, sname = p["start"].partition(".")
        edom, _, ename = p["end"].partition(".")
        sds, start = column(pkg, sdom, sname)
        eds, end = column(pkg, edom, ename)
        if sds is None or eds is None:
            continue
        if start is None or end is None:
            yield _missing(rule, f"{p['start']} or {p['end']}")
            continue
        low, high = p.get("min_days", -np.inf), p.get("max_days", np.inf)
        if p.get("per", "record") == "record" and sdom == edom:
            days = (complete_dates(end.astype(str)) - complete_dates(start.astype(str))).dt.days
            bad = (days.notna() & ((days < low) | (days > high))).to_numpy()
            yield from _rule_findings(
                rule,
                eds,
                np.flatnonzero(bad),
                ename,
                [f"{int(d)} days from {sname} to {ename} ({rule.description})" for d in days.to_numpy()[bad]],
            )
            continue
        first = complete_dates(start.astype(str)).groupby(sds.frame["USUBJID"]).min()
        last = complete_dates(end.astype(str)).groupby(eds.frame["USUBJID"]).max()
        days = (last - first.reindex(last.index)).dt.days.dropna()
        for usubjid, d in days[(days < low) | (days > high)].items():
            yield _subject_finding(
                rule, edom, ename, str(usubjid), f"{int(d)} days from {p['start']} to {p['end']} ({rule.description})"
            )
