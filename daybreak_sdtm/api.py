"""One function per command: the library the CLI is a thin shell over."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak_sdtm import progress
from daybreak_sdtm.build import BuildResult, build_study
from daybreak_sdtm.errors import DaybreakError, WriteError
from daybreak_sdtm.resources import default_export_dir, default_study_dir, specs_dir
from daybreak_sdtm.spec import StudySpec, load_study
from daybreak_sdtm.standards import Standards, read_standards
from daybreak_sdtm.timing import stage

if TYPE_CHECKING:
    from daybreak_sdtm.findings import Report
    from daybreak_sdtm.validation import ValidateResult


@dataclass(frozen=True)
class DatasetSummary:
    """One written dataset, as the convert summary shows it."""

    name: str
    label: str
    records: int
    variables: int
    file: str


@dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` produced."""

    out_dir: Path
    datasets: tuple[DatasetSummary, ...]
    build: BuildResult
    study: StudySpec
    standards: Standards
    report: Report | None = None  # validation of the built tables
    published: bool = True  # False when findings at or above --fail-on stopped the publication


def resolve_timestamp(timestamp: str | None = None) -> dt.datetime:
    """The package creation time: SOURCE_DATE_EPOCH when set, else ``timestamp`` (ISO 8601), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise DaybreakError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from None
    if timestamp:
        try:
            value = dt.datetime.fromisoformat(timestamp)
        except ValueError:
            raise DaybreakError(f"--timestamp {timestamp!r} is not an ISO 8601 date-time (e.g. 2026-09-30T00:00:00)") from None
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def load(study_dir: Path | None = None) -> tuple[StudySpec, Standards]:
    """Load a study's mapping specs and the standards they name."""
    with stage("load"):
        study = load_study(study_dir or default_study_dir())
        return study, read_standards(specs_dir(), study.sdtmig, study.ct)


def build(study_dir: Path | None = None, export_dir: Path | None = None) -> tuple[BuildResult, StudySpec, Standards]:
    """Map an export to SDTM tables in memory, writing nothing."""
    study, standards = load(study_dir)
    return build_study(study, standards, export_dir or default_export_dir()), study, standards


def convert(
    study_dir: Path | None = None,
    export_dir: Path | None = None,
    out_dir: Path = Path("sdtm-out"),
    timestamp: str | None = None,
    fail_on: str = "error",
    max_per_rule: int | None = None,
) -> ConvertResult:
    """Convert a raw export into an SDTM package in ``out_dir`` (all or nothing).

    The built tables are validated first: findings at or above ``fail_on`` (note, warning, error,
    never) leave ``out_dir`` untouched and come back in ``report`` with ``published=False``;
    otherwise the package is published with validation.json (every finding) and validation.html
    (at most ``max_per_rule`` findings detailed per rule) inside it.
    """
    from daybreak_sdtm.findings import Report, Severity
    from daybreak_sdtm.suites import warm
    from daybreak_sdtm.validation import start_build_validation, write_reports
    from daybreak_sdtm.write import dataset_label, publish, write_xpt, xpt_problems
    from daybreak_sdtm.write.define_files import write_define, written_datasets
    from daybreak_sdtm.write.lineage import write_provenance

    created = resolve_timestamp(timestamp)
    threshold = Severity.parse(fail_on)
    warm()  # great-expectations starts loading in a worker process while the export is mapped
    result, study, standards = build(study_dir, export_dir)
    tables = {name: t for name, t in result.tables.items() if len(t.frame)}
    with stage("xpt_check"):
        problems = [p for name, t in tables.items() for p in xpt_problems(name, t.frame, standards)]
    if problems:
        raise WriteError("\n".join(problems))

    summaries = []
    for name, table in tables.items():
        summaries.append(DatasetSummary(name, dataset_label(name, standards), len(table.frame),
                                        len(table.frame.columns), f"{name.lower()}.xpt"))

    manifest = {
        "study": study.studyid,
        "sdtmig": standards.sdtmig_version,
        "ct": standards.ct_version,
        "created": created.isoformat(),
        "study_dir": str((study_dir or default_study_dir()).resolve()),
        "export_dir": str((export_dir or default_export_dir()).resolve()),
    }

    # The suites run in the worker while our own checks run and the package is written into the
    # temporary folder; nothing is published before the whole report is in and passes.
    with stage("validate"):
        validation = start_build_validation(result, study, standards)
    report: Report | None = None

    def fill(tmp: Path) -> None:
        nonlocal report
        if Report.of(validation.findings).exit_status(threshold):
            with stage("validate"):
                report = validation.finish()  # failed already: nothing to write
            raise _Unpublished
        with stage("write_xpt"):
            # The validated frames are the written form (text as str objects, numbers as float64),
            # so the files are written from them: what was checked is what is written.
            for i, (name, ds) in enumerate(validation.pkg.datasets.items(), 1):
                progress.step(f"{name.lower()}.xpt", i, len(validation.pkg.datasets))
                write_xpt(name, ds.frame, standards, tmp / f"{name.lower()}.xpt", created)
        with stage("provenance"):
            write_provenance(result, tmp, manifest)
        # Built from the tables just written (shaped as reading the XPT files back gives them) and
        # schema-validated here, so an invalid define fails the conversion before anything is published.
        with stage("define"):
            frames = {name: table.frame for name, table in tables.items()}
            write_define(tmp, study, standards, created, written_datasets(frames, standards))
        with stage("validate"):
            report = validation.finish()
        if report.exit_status(threshold):
            raise _Unpublished
        with stage("reports"):
            write_reports(report, tmp, f"{study.studyid} SDTM validation report", max_per_rule)

    try:
        publish(out_dir, fill)
    except _Unpublished:
        return ConvertResult(out_dir, tuple(summaries), result, study, standards, report, published=False)
    return ConvertResult(out_dir, tuple(summaries), result, study, standards, report)


class _Unpublished(Exception):
    """Raised inside ``publish`` when validation fails: the temporary folder is removed, nothing replaced."""


def manifest_study_dir(package_dir: Path) -> Path | None:
    """The mapping folder a package of ours was converted with, if its manifest names one that exists."""
    import json

    from daybreak_sdtm.write.lineage import MANIFEST_FILE

    try:
        manifest = json.loads((package_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = Path(str(manifest.get("study_dir", ""))) if isinstance(manifest, dict) else None
    return folder if folder is not None and (folder / "study.yaml").is_file() else None


def validate(
    package_dir: Path,
    define: Path | None = None,
    study_dir: Path | None = None,
    sdtmig: str | None = None,
    ct: str | None = None,
) -> ValidateResult:
    """Validate an SDTM package folder; protocol rules apply only when the study is known.

    The study is ``study_dir``, else the one the package's manifest.json names (packages we wrote).

    Standards default to the bundled study's SDTMIG and CT versions; ``sdtmig``/``ct`` override them.
    """
    from daybreak_sdtm.suites import warm
    from daybreak_sdtm.validation import validate_dir

    warm()  # great-expectations starts loading in a worker process while the package is read
    default = load_study(default_study_dir())
    study_dir = study_dir or manifest_study_dir(package_dir)
    study = load_study(study_dir) if study_dir is not None else None
    base = study or default
    standards = read_standards(specs_dir(), sdtmig or base.sdtmig, ct or base.ct)
    return validate_dir(package_dir, define, study, standards)


@dataclass(frozen=True)
class DefineResult:
    """What ``define`` wrote."""

    package_dir: Path
    files: tuple[Path, ...]  # define.xml, define.html
    datasets: int
    variables: int
    codelists: int
    value_lists: int


def define(study_dir: Path | None = None, package_dir: Path = Path("sdtm-out"), timestamp: str | None = None) -> DefineResult:
    """(Re)generate define.xml and define.html of an existing package from its XPT files and the specs."""
    from daybreak_sdtm.write.define_files import DEFINE_HTML, DEFINE_XML, write_define

    created = resolve_timestamp(timestamp)
    study, standards = load(study_dir)
    result = write_define(package_dir, study, standards, created)
    return DefineResult(
        package_dir, (package_dir / DEFINE_XML, package_dir / DEFINE_HTML), len(result.item_groups),
        sum(len(g.item_refs) for g in result.item_groups), len(result.codelists), len(result.value_lists),
    )


def sample_export(out_dir: Path, subjects: int = 32, seed: int = 20251004) -> dict[str, int]:
    """Write a synthetic Daybreak-01 EDC export; returns records per form."""
    from daybreak_sdtm.sample import generate_export

    return generate_export(out_dir, subjects=subjects, seed=seed)


@dataclass(frozen=True)
class TraceResult:
    """An SDTM record and the raw record(s) it came from."""

    dataset: str
    record: dict[str, object]
    sources: tuple[tuple[str, int, dict[str, str]], ...]  # (file, record number, raw values)


def trace(dataset: str, usubjid: str, seq: str | None, package_dir: Path, export_dir: Path | None = None) -> list[TraceResult]:
    """Find SDTM records by dataset, USUBJID and --SEQ (IDVARVAL for SUPP--) and their raw records."""
    import json

    import pandas as pd
    import pyreadstat

    from daybreak_sdtm.errors import RawDataError
    from daybreak_sdtm.raw import read_form
    from daybreak_sdtm.write.lineage import LINEAGE_FILE, MANIFEST_FILE

    lineage_path = package_dir / LINEAGE_FILE
    if not lineage_path.is_file():
        raise RawDataError(f"{lineage_path}: no lineage file; is {package_dir} a package written by convert?")
    lineage = pd.read_csv(lineage_path, dtype=str, keep_default_na=False)
    name = dataset.upper()
    hits = lineage[(lineage.DATASET == name) & (lineage.USUBJID == usubjid)]
    if seq is not None:
        hits = hits[hits.SEQ == str(seq)]
    if hits.empty:
        what = f"{name} USUBJID={usubjid}" + (f" SEQ={seq}" if seq is not None else "")
        raise RawDataError(f"{lineage_path}: no record {what}")
    if export_dir is None:
        manifest = json.loads((package_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        export_dir = Path(manifest["export_dir"])
    frame, _ = pyreadstat.read_xport(str(package_dir / f"{name.lower()}.xpt"))
    forms: dict[str, pd.DataFrame] = {}
    results = []
    for _, hit in hits.iterrows():
        form = Path(hit.SOURCE_FILE).stem
        if form not in forms:
            forms[form] = read_form(export_dir, form)
        raw = forms[form]
        record = int(hit.SOURCE_RECORD)
        raw_values = {k: str(v) for k, v in raw.iloc[record - 1].items() if not str(k).startswith("_src")}
        sdtm = {k: v for k, v in frame.iloc[int(hit.RECORD) - 1].items()}
        results.append(TraceResult(name, sdtm, ((hit.SOURCE_FILE, record, raw_values),)))
    return results
