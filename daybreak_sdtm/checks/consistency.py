"""Values that must agree with one another: seriousness and its criteria, subjects' arms and the trial's.

DB203 reads the Events class's seriousness variables in any Events dataset; DB304 and DB305 read
DM's arms against TA (the datasets are named in ``checks.roles``; the terms compared with are the
CT release's, found by NCI code, or the reserved arm codes of the SDTMIG version the package
declares, from ``checks.versions``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks import roles
from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, Implements, check
from daybreak_sdtm.checks.roles import DEMOGRAPHICS, TRIAL_ARMS, dataset_class
from daybreak_sdtm.checks.versions import NULL_ARMS
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.standards.model import EVENTS

# The Events class's seriousness criteria (SDTM v2.0 Events class; SDTMIG 3.4 AE assumption 5).
SERIOUSNESS_CRITERIA = ("SCAN", "SCONG", "SDISAB", "SDTH", "SHOSP", "SLIFE", "SOD", "SMIE")


@check(
    "DB203",
    "ct.seriousness_consistent",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 AE assumptions (AESER and the seriousness criteria)",),
    implements=Implements(cdisc=("CG0041",), core=("CORE-000022",), fda=("SD1062",)),
)
def seriousness_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """An event with a seriousness criterion Y (--SCAN, --SCONG, --SDISAB, --SDTH, --SHOSP, --SLIFE, --SOD, --SMIE) is serious.

    --SER = N or blank with a criterion Y is reported, in any Events dataset with --SER and at
    least one criterion; Y and N are the NY codelist's terms.
    Anti-pattern: AESER = N with AESHOSP = Y (a hospitalisation is a serious event).
    Fix: correct AESER or the criterion in the source; the two are collected together.
    """
    yes, no = roles.yes(ctx), roles.no(ctx)
    for ds in pkg.datasets.values():
        ser = f"{ds.domain}SER"
        criteria = [f"{ds.domain}{c}" for c in SERIOUSNESS_CRITERIA if f"{ds.domain}{c}" in ds.frame.columns]
        if dataset_class(ds, ctx) != EVENTS or ser not in ds.frame.columns or not criteria:
            continue
        met = pd.DataFrame({c: ds.text(c).eq(yes) for c in criteria})
        serious = ds.text(ser)
        bad = (serious.isin([no, ""]) & met.any(axis=1)).to_numpy()
        messages = [
            f"{ser} {'= ' + given if given else 'is blank'} but {', '.join(c for c, m in zip(criteria, row, strict=False) if m)} = {yes}"
            for given, row in zip(serious.to_numpy()[bad], met.to_numpy()[bad], strict=False)
        ]
        yield from ds.findings("DB203", Severity.ERROR, np.flatnonzero(bad), ser, messages)


def _null_arms(ctx: CheckContext, dm: Dataset, variable: str) -> dict[str, str]:
    """Arm code -> name the declared SDTMIG reserves for subjects without an arm (SCRNFAIL in 3.2)."""
    change = ctx.difference(dm, variable, NULL_ARMS)
    return dict(v.split("=", 1) for v in change.values) if change is not None else {}


@check(
    "DB304",
    "keys.arm_in_trial_arms",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 DM assumptions 4 and 5 (ARM/ARMCD and ACTARM/ACTARMCD come from TA)",),
    implements=Implements(
        cdisc=(
            "CG0117",
            "CG0118",
            "CG0120",
            "CG0121",
            "CG0124",
            "CG0125",
            "CG0126",
            "CG0128",
            "CG0512",
            "CG0514",
            "CG0516",
            "CG0518",
        ),
        core=(
            "CORE-000047",
            "CORE-000208",
            "CORE-000209",
            "CORE-000210",
            "CORE-000331",
            "CORE-000367",
            "CORE-000368",
            "CORE-000531",
        ),
        fda=("SD0066", "SD0071", "SD2002", "SD2003"),
    ),
)
def arm_in_trial_arms(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """When TA is in the package, each subject's ARMCD/ARM and ACTARMCD/ACTARM is an arm of TA, code and name together.

    Blank codes pass (SDTMIG 3.3 and later leave them null and say why in ARMNRS). For a package
    that declares SDTMIG 3.2, the codes it reserves for subjects without an arm (SCRNFAIL/Screen
    Failure, NOTASSGN/Not Assigned, and for ACTARMCD also NOTTRT/Not Treated, UNPLAN/Unplanned
    Treatment) pass too; one written in another case is a warning.
    Anti-pattern: ARMCD = "DRUGA" when TA's arm is "DRUG_A"; ARM worded differently from TA's.
    Fix: take ARMCD and ARM from TA (``derive_arm``).
    """
    dm, ta = pkg.get(DEMOGRAPHICS), pkg.get(TRIAL_ARMS)
    if dm is None or ta is None or not {"ARMCD", "ARM"} <= set(ta.frame.columns):
        return
    arms = dict(zip(ta.text("ARMCD"), ta.text("ARM"), strict=False))
    for code_var, name_var in (("ARMCD", "ARM"), ("ACTARMCD", "ACTARM")):
        if code_var not in dm.frame.columns:
            continue
        reserved = _null_arms(ctx, dm, code_var)
        by_case = {c.upper(): c for c in reserved}
        codes = dm.text(code_var).to_numpy(dtype=object)
        names = dm.text(name_var).to_numpy(dtype=object) if name_var in dm.frame.columns else np.full(len(codes), None)
        errors, warnings = [], []
        for pos, (code, name) in enumerate(zip(codes, names, strict=False)):
            if not code or reserved.get(code, "\0") == name:
                continue
            if code in arms:
                if name is not None and name != arms[code]:
                    errors.append(
                        (pos, name_var, f"{name_var} {name!r} is not TA's name of arm {code}: {arms[code]!r}")
                    )
            elif code.upper() in by_case and reserved[by_case[code.upper()]] == name:
                warnings.append(
                    (
                        pos,
                        code_var,
                        f"{code_var} {code!r} is not an arm of TA: SDTMIG {ctx.declared_sdtmig} "
                        f"reserves {by_case[code.upper()]!r} (in that case) for {name}",
                    )
                )
            else:
                errors.append((pos, code_var, f"{code_var} {code!r} is not an arm of TA ({', '.join(arms)})"))
        for severity, found in ((Severity.ERROR, errors), (Severity.WARNING, warnings)):
            for variable in (code_var, name_var):
                picked = [(p, m) for p, v, m in found if v == variable]
                if picked:
                    yield from dm.findings("DB304", severity, [p for p, _ in picked], variable, [m for _, m in picked])


@check(
    "DB305",
    "keys.actual_arm_differs",
    severity=Severity.NOTE,
    references=("SDTMIG 3.4 DM assumption 5 (ACTARMCD when the subject received another arm's treatment)",),
    implements=Implements(core=("CORE-000655",), fda=("FB2501", "SD2236")),
)
def actual_arm_differs(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A subject's actual arm (ACTARMCD) differs from the planned one (ARMCD): a note for the reviewer.

    Not an error: a subject can receive another arm's treatment; the reviewer's guide should say
    why. Blank codes, and the codes the declared SDTMIG reserves for subjects without an arm, are
    not compared.
    Fix: none when it is what happened; otherwise correct ACTARMCD.
    """
    dm = pkg.get(DEMOGRAPHICS)
    if dm is None or not {"ARMCD", "ACTARMCD"} <= set(dm.frame.columns):
        return
    reserved = {c.upper() for c in (*_null_arms(ctx, dm, "ARMCD"), *_null_arms(ctx, dm, "ACTARMCD"))}
    planned, actual = dm.text("ARMCD"), dm.text("ACTARMCD")
    compared = planned.ne("") & actual.ne("") & ~planned.str.upper().isin(reserved) & ~actual.str.upper().isin(reserved)
    bad = (compared & planned.ne(actual)).to_numpy()
    yield from dm.findings(
        "DB305",
        Severity.NOTE,
        np.flatnonzero(bad),
        "ACTARMCD",
        [
            f"ACTARMCD {a!r} differs from ARMCD {p!r}: the subject received another arm's treatment"
            for p, a in zip(planned.to_numpy()[bad], actual.to_numpy()[bad], strict=False)
        ],
    )
