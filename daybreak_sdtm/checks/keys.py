"""DB3xx: record identity: unique natural keys, every subject in DM, SUPP-- records with a parent."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.expect import Expect
from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, check, expectation
from daybreak_sdtm.findings import Finding, Severity

SUPP_KEYS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")


@expectation("DB301", "keys.unique_natural_keys", severity=Severity.ERROR,
             references=("SDTMIG 3.4 section 3.2.1.1 (primary keys)", "FDA validator rule SD0083 (duplicate USUBJID in DM)"))
def unique_natural_keys(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Records are unique by their identifiers: USUBJID in DM, STUDYID+USUBJID+--SEQ elsewhere.

    For SUPP--, STUDYID+RDOMAIN+USUBJID+IDVAR+IDVARVAL+QNAM. Each duplicated record is reported.
    Anti-pattern: two AE records of one subject with AESEQ = 3.
    Fix: derive --SEQ with ``derive_seq``; DM holds one record per subject.
    Engine: great-expectations ``ExpectColumnValuesToBeUnique`` (DM) and
    ``ExpectCompoundColumnsToBeUnique`` (others).
    """
    cols = set(ds.frame.columns)
    if ds.name == "DM":
        if "USUBJID" in cols:
            yield Expect("DB301", Severity.ERROR, "USUBJID", "ExpectColumnValuesToBeUnique", {"column": "USUBJID"},
                         "USUBJID {value!r} has more than one DM record")
        return
    keys = list(SUPP_KEYS) if ds.is_supp else ["STUDYID", "USUBJID", ds.seq_name]
    if all(k and k in cols for k in keys):
        variable = "QNAM" if ds.is_supp else ds.seq_name
        yield Expect("DB301", Severity.ERROR, variable, "ExpectCompoundColumnsToBeUnique", {"column_list": keys},
                     f"duplicate record: {'+'.join(keys)} is not unique")


@check("DB302", "keys.subject_in_dm", severity=Severity.ERROR,
       references=("SDTMIG 3.4 DM assumptions (every subject has one DM record)",))
def subject_in_dm(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Every USUBJID of every dataset has a record in DM.

    Anti-pattern: AE records of a screen failure who was never added to DM.
    Fix: add the subject to DM, or remove the orphan records.
    """
    dm = pkg.get("DM")
    if dm is None or "USUBJID" not in dm.frame.columns:
        yield Finding("DB302", Severity.ERROR, "DM", "USUBJID", None, "the package has no DM dataset with USUBJID")
        return
    known = pd.Index(dm.frame["USUBJID"].unique())
    for ds in pkg.datasets.values():
        if ds.name == "DM" or "USUBJID" not in ds.frame.columns:
            continue
        usubjid = ds.frame["USUBJID"]
        bad = (~usubjid.isin(known) & usubjid.ne("")).to_numpy()
        yield from ds.findings("DB302", Severity.ERROR, np.flatnonzero(bad), "USUBJID", "subject is not in DM")


@check("DB303", "keys.supp_parent_exists", severity=Severity.ERROR,
       references=("SDTMIG 3.4 section 8.4 (relating non-standard variable values to a parent domain)",))
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
        parent = pkg.get(ds.domain)
        if parent is None:
            yield ds.finding("DB303", Severity.ERROR, "RDOMAIN", f"parent dataset {ds.domain} is not in the package")
            continue
        idvar = frame["IDVAR"]
        # Blank IDVAR relates the qualifier to the subject (DM-level); the subject must then exist.
        subject_level = idvar.eq("")
        bad = np.zeros(len(frame), dtype=bool)
        known_subjects = set(parent.frame["USUBJID"]) if "USUBJID" in parent.frame.columns else set()
        bad |= (subject_level & ~frame["USUBJID"].isin(known_subjects)).to_numpy()
        unknown_var = ~subject_level & ~idvar.isin(list(parent.frame.columns))
        yield from ds.findings("DB303", Severity.ERROR, np.flatnonzero(unknown_var.to_numpy()), "IDVAR",
                               f"IDVAR names no variable of {ds.domain}")
        for var in sorted(set(idvar[~subject_level & ~unknown_var])):
            rows = (idvar == var) & ~subject_level
            keys = pd.MultiIndex.from_arrays([parent.frame["USUBJID"], parent.text(var)])
            wanted = pd.MultiIndex.from_arrays([frame.loc[rows, "USUBJID"], frame.loc[rows, "IDVARVAL"].str.strip()])
            missing = ~wanted.isin(keys)
            bad[np.flatnonzero(rows.to_numpy())[missing]] = True
        yield from ds.findings("DB303", Severity.ERROR, np.flatnonzero(bad), "IDVARVAL",
                               f"no {ds.domain} record of this subject has IDVAR = IDVARVAL")
