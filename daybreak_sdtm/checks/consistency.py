"""Values that must agree with one another: seriousness and its criteria, a test's status and its
reason not done, subjects' arms and the trial's, epochs and the trial's.

DB203 reads the Events class's seriousness variables in any Events dataset, DB204 --STAT and
--REASND in any dataset; DB304 and DB305 read DM's arms against TA, DB308 every EPOCH against TA (the datasets are named in ``checks.roles``; the terms compared with are the
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
    implements=Implements(cdisc=("CG0041", "CG0042"), core=("CORE-000022", "CORE-000266"), fda=("SD0009", "SD1062")),
)
def seriousness_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Seriousness agrees with its criteria (--SCAN, --SCONG, --SDISAB, --SDTH, --SHOSP, --SLIFE, --SOD, --SMIE): an event with a criterion Y is serious, and a serious event has one.

    --SER = N or blank with a criterion Y is reported, and so is --SER = Y with no criterion Y,
    in any Events dataset with --SER and at least one criterion; Y and N are the NY codelist's
    terms. A dataset without any criterion variable is not judged (nothing says why an event is
    serious there); one holding some of them is judged on those it holds.
    Anti-pattern: AESER = N with AESHOSP = Y (a hospitalisation is a serious event); AESER = Y
    with every criterion N or blank.
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
        any_met = met.any(axis=1)
        bad = (serious.isin([no, ""]) & any_met).to_numpy()
        messages = [
            f"{ser} {'= ' + given if given else 'is blank'} but {', '.join(c for c, m in zip(criteria, row, strict=False) if m)} = {yes}"
            for given, row in zip(serious.to_numpy()[bad], met.to_numpy()[bad], strict=False)
        ]
        yield from ds.findings("DB203", Severity.ERROR, np.flatnonzero(bad), ser, messages)
        unjustified = (serious.eq(yes) & ~any_met).to_numpy()
        yield from ds.findings(
            "DB203",
            Severity.ERROR,
            np.flatnonzero(unjustified),
            ser,
            f"{ser} = {yes} but none of {', '.join(criteria)} is {yes}: no seriousness criterion says why",
        )


@check(
    "DB204",
    "ct.reason_not_done",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.5.1.2 (tests not done: --STAT and --REASND)",),
    implements=Implements(cdisc=("CG0094",), core=("CORE-000225", "CORE-000774"), fda=("FB4202", "SD0023", "SD1124")),
)
def reason_not_done(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--STAT = NOT DONE comes with the reason in --REASND, and --REASND only with --STAT = NOT DONE.

    Any dataset with --STAT or --REASND. A record NOT DONE whose --REASND is blank, or whose
    dataset has no --REASND, is a warning (the FDA asks for the reason); a reason given while
    --STAT is not NOT DONE (or the dataset has no --STAT) is an error: the record says it was
    done. NOT DONE is the ND codelist's term C49484.
    Anti-pattern: VSSTAT = NOT DONE in a VS dataset without VSREASND; LBREASND = "HEMOLYZED"
    with LBSTAT blank and a result.
    Fix: collect the reason with the status (map it to --REASND); set --STAT = NOT DONE where
    the reason says the test was not done.
    """
    not_done = roles.term(ctx, roles.ND, roles.NOT_DONE, "NOT DONE")
    for ds in pkg.datasets.values():
        stat, reason = f"{ds.domain}STAT", f"{ds.domain}REASND"
        has_stat, has_reason = stat in ds.frame.columns, reason in ds.frame.columns
        if ds.is_supp or not (has_stat or has_reason):
            continue
        is_not_done = ds.per_value(stat, lambda v: v.eq(not_done)) if has_stat else np.zeros(len(ds.frame), bool)
        given = ds.per_value(reason, lambda v: v.ne("")) if has_reason else np.zeros(len(ds.frame), bool)
        yield from ds.findings(
            "DB204",
            Severity.WARNING,
            np.flatnonzero(is_not_done & ~given),
            reason if has_reason else stat,
            f"{stat} = {not_done} but {reason} is blank"
            if has_reason
            else f"{stat} = {not_done} but {ds.name} has no {reason} to say why",
        )
        yield from ds.findings(
            "DB204",
            Severity.ERROR,
            np.flatnonzero(given & ~is_not_done),
            reason,
            f"{reason} is given but {stat} is not {not_done}"
            if has_stat
            else f"{reason} is given but {ds.name} has no {stat} = {not_done}",
        )


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


@check(
    "DB308",
    "keys.epoch_in_trial_arms",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.4 (timing variables: EPOCH) and Trial Arms (TA)",),
    implements=Implements(cdisc=("CG0009",), core=("CORE-000271",), fda=("SD1015",)),
)
def epoch_in_trial_arms(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """When TA is in the package, every EPOCH of every dataset is one of TA's epochs.

    Blank EPOCH passes (CORE-000701's business, and SDTMIG leaves it null for records outside
    the trial's epochs). Without TA nothing is judged: a package with no trial design cannot be
    held to one. DB406 judges which of TA's epochs a record should have.
    Anti-pattern: EPOCH = "RUN-IN" when TA's epochs are SCREENING, TREATMENT and FOLLOW-UP;
    EPOCH = "Treatment" for TA's TREATMENT.
    Fix: derive EPOCH from the trial design (``derive_epoch``), or add the epoch to TA.
    """
    ta = pkg.get(TRIAL_ARMS)
    if ta is None or "EPOCH" not in ta.frame.columns:
        return
    epochs = pd.Index(list(dict.fromkeys(v for v in ta.text("EPOCH") if v)), dtype=object)
    listed = ", ".join(epochs)
    for ds in pkg.datasets.values():
        if ds is ta or ds.is_supp or "EPOCH" not in ds.frame.columns or ds.frame["EPOCH"].dtype != object:
            continue
        bad = ds.positions_where("EPOCH", lambda v: v.ne("") & ~v.isin(epochs))
        yield from ds.findings("DB308", Severity.ERROR, bad, "EPOCH", f"EPOCH is not an epoch of TA ({listed})")
