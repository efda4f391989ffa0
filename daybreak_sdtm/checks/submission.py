"""DB7xx: submission: the FDA's technical rejection criteria for study data, and the dataset size limit.

The FDA checks each electronic submission against its Technical Rejection Criteria for Study
Data before anyone reads it; a study that fails one is rejected as a whole. These checks say so
first. ``validate`` runs them on the package folder; ``convert`` runs them (``preflight``) on the
package it has just written into its temporary folder, XPT files and define.xml included, and
never publishes one they reject, whatever ``--fail-on`` says. DB703 (a dataset file over the
Technical Conformance Guide's 5 GB, not split) is a warning ``validate`` gives; it is not a
rejection criterion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from daybreak_sdtm.checks import roles
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.registry import CHECKS, CheckContext, Implements, check
from daybreak_sdtm.dataset import DATASET_SUFFIXES, SPLIT_FOLDER, read_dataset
from daybreak_sdtm.findings import Finding, Severity

if TYPE_CHECKING:
    from daybreak_sdtm.checks.metadata import DefineMeta

_TRC = "FDA Technical Rejection Criteria for Study Data (technical rejection criteria, eCTD validation)"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFINE_XML = "define.xml"


def _file(folder: Path, name: str) -> bool:
    return (folder / name).is_file()


def _dataset_file(folder: Path, name: str) -> Path | None:
    """A dataset's file in a package folder: ``ts.xpt``, or its Dataset-JSON file in a package written so."""
    for suffix in DATASET_SUFFIXES:
        if _file(folder, f"{name}{suffix}"):
            return folder / f"{name}{suffix}"
    return None


@check(
    "DB701",
    "submission.trial_summary_start_date",
    severity=Severity.ERROR,
    references=(
        f"{_TRC}, criterion 1734: Trial Summary (ts.xpt) with the study start date (TSPARMCD = SSTDTC)",
        "FDA Study Data Technical Conformance Guide section 4.1.1.3 (Trial Summary dataset)",
        "SDTMIG 3.4 section 7.6.1 (Trial Summary, SSTDTC)",
    ),
    implements=Implements(cdisc=("CG0285",), core=("CORE-000505",), fda=("TRC1734c", "SD1115", "SD2232", "SD2247")),
)
def trial_summary_start_date(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """The package holds a Trial Summary dataset, ts.xpt, with a TSPARMCD = SSTDTC record whose TSVAL is a date.

    FDA criterion 1734: a study without ts.xpt, or whose TS has no study start date (SSTDTC) as a
    complete ISO 8601 date (YYYY-MM-DD) that exists on the calendar, is rejected. A package
    written in Dataset-JSON only (``convert --format json``) is judged by its ts.json: the
    criteria name XPT, the format FDA takes today; it is evaluating Dataset-JSON to replace it.
    Anti-pattern: no TS at all; SSTDTC given as "2025-10" or "04OCT2025".
    Fix: declare the trial design in study.yaml (``trial_design: summary:`` with
    ``{TSPARMCD: SSTDTC, TSVAL: "2025-10-04", TSVCDREF: ISO 8601}``); convert writes ts.xpt from it.
    """
    ts = pkg.get(roles.TRIAL_SUMMARY)
    start_date = roles.term(ctx, roles.TS_PARAMETER_CODE, roles.STUDY_START_DATE, "SSTDTC")
    if pkg.folder is not None and _dataset_file(pkg.folder, "ts") is None:
        yield Finding(
            "DB701",
            Severity.ERROR,
            "TS",
            "",
            None,
            "ts.xpt is not in the package: FDA rejects a study without its Trial Summary (criterion 1734)",
        )
        return
    if ts is None:
        yield Finding(
            "DB701",
            Severity.ERROR,
            "TS",
            "",
            None,
            "the package has no Trial Summary (TS): FDA rejects a study without ts.xpt (criterion 1734)",
        )
        return
    frame = ts.frame
    if "TSPARMCD" not in frame.columns or "TSVAL" not in frame.columns:
        yield ts.finding(
            "DB701",
            Severity.ERROR,
            "TSPARMCD",
            "TS has no TSPARMCD/TSVAL: it cannot give the study start date SSTDTC that FDA requires (criterion 1734)",
        )
        return
    rows = np.flatnonzero(frame["TSPARMCD"].astype(str).eq(start_date).to_numpy())
    if not len(rows):
        yield ts.finding(
            "DB701",
            Severity.ERROR,
            "TSPARMCD",
            "TS has no TSPARMCD = SSTDTC record: FDA rejects a study without its study start date (criterion 1734)",
        )
        return
    values = frame["TSVAL"].astype(str).to_numpy()
    bad = [pos for pos in rows.tolist() if not _is_date(values[pos])]
    if len(bad) == len(rows):
        yield from ts.findings(
            "DB701",
            Severity.ERROR,
            bad,
            "TSVAL",
            "TSVAL of SSTDTC is not a complete ISO 8601 date (YYYY-MM-DD): FDA rejects it (criterion 1734)",
        )


def _is_date(text: str) -> bool:
    import datetime as dt

    if not _DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@check(
    "DB702",
    "submission.dm_and_define",
    severity=Severity.ERROR,
    references=(
        f"{_TRC}, criterion 1736: Demographics (dm.xpt) and define.xml",
        "FDA Study Data Technical Conformance Guide sections 4.1.1 and 4.1.4.1 (DM, define.xml)",
    ),
    implements=Implements(cdisc=("CG0368",), core=("CORE-000581",), fda=("TRC1736a", "TRC1736c", "SD1020")),
)
def dm_and_define(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """The package holds the Demographics dataset, dm.xpt, and its define.xml.

    FDA criterion 1736: an SDTM study without dm.xpt or without define.xml is rejected.
    Checked on a package folder by its files (``validate DIR``; a define named with ``--define``
    counts), and by ``convert`` on the package it has written, before publishing it.
    Anti-pattern: a package folder of XPT files whose define.xml was left behind.
    Fix: map the DM domain; keep define.xml beside the datasets (``daybreak-sdtm define`` makes it).
    """
    folder = pkg.folder
    has_dm = _dataset_file(folder, "dm") is not None if folder is not None else "DM" in pkg.datasets
    if not has_dm:
        yield Finding(
            "DB702",
            Severity.ERROR,
            "DM",
            "",
            None,
            "dm.xpt is not in the package: FDA rejects a study without Demographics (criterion 1736)",
        )
    has_define = pkg.define is not None or (folder is not None and _file(folder, DEFINE_XML))
    if not has_define:
        yield Finding(
            "DB702",
            Severity.ERROR,
            DEFINE_XML,
            "",
            None,
            "define.xml is not in the package: FDA rejects a study without it (criterion 1736)",
        )


_TCG_SIZE = "FDA Study Data Technical Conformance Guide section 3.3.2 (Dataset Size): split datasets over 5 GB"


@check(
    "DB703",
    "submission.dataset_size",
    severity=Severity.WARNING,
    references=(
        _TCG_SIZE,
        "FDA Business Rules (datasets no larger than 5 GB)",
        "Define-XML 2.1 specification (def:leaf, def:CommentDef def:DocumentRef)",
    ),
    implements=Implements(core=("CORE-000765",), fda=("FB2401", "SD1071")),
)
def dataset_size(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A dataset's XPT file over the size limit (``validate --max-dataset-size``, default FDA's 5 GB) is split.

    A warning, as the FDA Technical Conformance Guide asks it (datasets over 5 GB "should be
    split") and as the FDA Validator Rules grade it (SD1071, a warning): it is not a technical
    rejection criterion, so ``convert`` does not refuse a package for it. Split means what
    ``convert --max-dataset-size`` writes: the dataset's parts in ``split/`` (``ae1.xpt``,
    ``ae2.xpt`` ...), each under the limit, each named in define.xml by a ``def:leaf`` when the
    package has a define.xml. Reported: a file over the limit with no parts; a part over the
    limit; a part define.xml does not name. Judged on the files of a package folder, XPT only
    (the limit is the Guide's for SAS transport files; a Dataset-JSON file is read record by
    record whatever its size).
    Anti-pattern: a 7 GB lb.xpt submitted alone.
    Fix: convert with ``--max-dataset-size`` (5GB by default), which writes the parts and names them in define.xml.
    """
    if pkg.folder is None:
        return
    limit = ctx.max_dataset_size
    define: DefineMeta | None = getattr(pkg, "define_meta", None)
    for ds in pkg.datasets.values():
        whole = Path(ds.file) if ds.file and ds.file.lower().endswith(".xpt") and not ds.parts else None
        if whole is not None and whole.is_file() and whole.stat().st_size > limit:
            yield ds.finding(
                "DB703",
                Severity.WARNING,
                "",
                f"{whole.name} is {_size(whole.stat().st_size)}, over the {_size(limit)} limit, and is not split: "
                f"write its records in parts under the limit in {SPLIT_FOLDER}/ (convert --max-dataset-size)",
            )
        for part in ds.parts:
            path = pkg.folder / part.file
            if path.is_file() and path.stat().st_size > limit:
                yield ds.finding(
                    "DB703",
                    Severity.WARNING,
                    "",
                    f"{part.file}, a part of {ds.name}, is {_size(path.stat().st_size)}, over the {_size(limit)} limit",
                )
            if define is not None and part.file not in define.leaves:
                yield ds.finding(
                    "DB703",
                    Severity.WARNING,
                    "",
                    f"{part.file}, a part of {ds.name}, is not named by a def:leaf of {Path(define.file).name}",
                )


def _size(size: int) -> str:
    """A size as the limit is given: ``5 GB``, ``20 KB``, else bytes."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


def rejection_checks() -> tuple[str, ...]:
    """The ids of the checks that implement the FDA's technical rejection criteria (DB701, DB702).

    The other submission checks (DB703) are findings like the rest: ``convert`` does not refuse a package for them.
    """
    return tuple(
        code
        for code, item in sorted(CHECKS.items())
        if item.family == "submission" and any(i.startswith("TRC") for i in item.implements.fda)
    )


def preflight(folder: Path, ctx: CheckContext) -> list[Finding]:
    """The rejection checks on a package folder as written (its ts.xpt read back, its files listed).

    ``convert`` runs this on its temporary folder, once the XPT files and define.xml are there.
    """
    datasets = {}
    ts_file = _dataset_file(folder, "ts")
    if ts_file is not None:
        ts = read_dataset(ts_file)
        datasets[ts.name] = ts
    pkg = Package(datasets, folder, folder / DEFINE_XML if _file(folder, DEFINE_XML) else None)
    return [f for code in rejection_checks() for f in CHECKS[code].fn(pkg, ctx)]
