"""One function per command: the library the CLI is a thin shell over."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak_sdtm import progress
from daybreak_sdtm.build import BuildResult, build_study
from daybreak_sdtm.checks.versions import DEFAULT_SDTMIG, KNOWN_SDTMIG
from daybreak_sdtm.codec import DEFAULT_ENCODING
from daybreak_sdtm.errors import DaybreakError, WriteError
from daybreak_sdtm.resources import default_export_dir, default_study_dir, specs_dir
from daybreak_sdtm.spec import StudySpec, load_study
from daybreak_sdtm.spec.check import study_standards
from daybreak_sdtm.standards import Standards, read_standards
from daybreak_sdtm.timing import stage

if TYPE_CHECKING:
    from daybreak_sdtm.dataset import Dataset
    from daybreak_sdtm.define import Define
    from daybreak_sdtm.findings import Report
    from daybreak_sdtm.spec.model import StudyMetadata
    from daybreak_sdtm.validation import ValidateResult


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset, as the convert summary shows it; one with no records is not written (``file`` "")."""

    name: str
    label: str
    records: int
    variables: int
    file: str
    not_written: str = ""  # why a dataset has no records ("ae.csv has no records")
    parts: int = 0  # the files it is also split into over the size limit (split/ae1.xpt ...)


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
    rejected: bool = False  # the package fails an FDA technical rejection criterion (DB7xx): never published
    cleaned: tuple[str, ...] = ()  # what was cleaned up of earlier interrupted runs


def resolve_timestamp(timestamp: str | None = None) -> dt.datetime:
    """The package creation time: SOURCE_DATE_EPOCH when set, else ``timestamp`` (ISO 8601), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise DaybreakError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from None
    if timestamp:
        try:
            value = dt.datetime.fromisoformat(timestamp)
        except ValueError:
            raise DaybreakError(
                f"--timestamp {timestamp!r} is not an ISO 8601 date-time (e.g. 2026-09-30T00:00:00)"
            ) from None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def load(study_dir: Path | None = None) -> tuple[StudySpec, Standards]:
    """Load a study's mapping specs and the standards they name."""
    with stage("load"):
        study = load_study(study_dir or default_study_dir())
        return study, study_standards(study, read_standards(specs_dir(), study.sdtmig, study.ct))


def build(
    study_dir: Path | None = None, export_dir: Path | None = None, encoding: str | None = None
) -> tuple[BuildResult, StudySpec, Standards]:
    """Map an export to SDTM tables in memory, writing nothing (``encoding`` overrides the study's)."""
    study, standards = load(study_dir)
    return build_study(study, standards, export_dir or default_export_dir(), encoding), study, standards


def convert(
    study_dir: Path | None = None,
    export_dir: Path | None = None,
    out_dir: Path = Path("sdtm-out"),
    timestamp: str | None = None,
    fail_on: str = "error",
    encoding: str | None = None,
    max_per_rule: int | None = None,
    formats: Sequence[str] = ("xpt",),
    max_dataset_size: str | int = "5GB",
    xlsx_report: bool = False,
) -> ConvertResult:
    """Convert a raw export into an SDTM package in ``out_dir`` (all or nothing).

    The built tables are validated first: findings at or above ``fail_on`` (note, warning, error,
    never), or any of the FDA's technical rejection criteria failed by the package as written
    (DB7xx, whatever ``fail_on`` says), leave ``out_dir`` untouched and come back in ``report``
    with ``published=False``;
    otherwise the package is published with validation.json (every finding), validation.html
    (and validation.xlsx when ``xlsx_report``)
    (at most ``max_per_rule`` findings detailed per rule) inside it.
    ``encoding`` is the raw export's text encoding (default: the study's ``export: encoding:``,
    else UTF-8). A dataset with no records is not written; define.xml describes it with
    def:HasNoData and the summary and reconciliation.json say why it is empty. A dataset whose
    XPT file is over ``max_dataset_size`` (``5GB``, ``20KB``, or bytes; FDA's 5 GB by default) is
    also written split in record order into ``split/<name>1.xpt`` ... under it, each with the
    variables and lengths of the whole (``write.split``); define.xml and reconciliation.json name the parts.
    The documents the study names (``documents:``: the annotated CRF, reviewer's guides) are
    published next to define.xml.
    """
    from daybreak_sdtm.checks.submission import preflight
    from daybreak_sdtm.findings import Report, Severity
    from daybreak_sdtm.gx import warm
    from daybreak_sdtm.validation import check_context, start_build_validation, study_keys, write_reports
    from daybreak_sdtm.write import write_xpt, xpt_problems
    from daybreak_sdtm.write.dataset_json import write_dataset_json
    from daybreak_sdtm.write.define_files import write_define
    from daybreak_sdtm.write.lineage import write_provenance
    from daybreak_sdtm.write.package import (
        Protected,
        check_target,
        copy_files,
        copy_named,
        folder_digest,
        publish,
    )
    from daybreak_sdtm.write.split import parse_size, part_ranges, write_parts

    created = resolve_timestamp(timestamp)
    size_limit = parse_size(max_dataset_size)
    threshold = Severity.parse(fail_on)
    formats = dataset_formats(formats)
    study_dir = study_dir or default_study_dir()
    export_dir = export_dir or default_export_dir()
    protected = (Protected("export folder", export_dir), Protected("mapping folder", study_dir))
    check_target(out_dir, protected)  # a folder that would be refused is said before any work
    warm()  # great-expectations starts loading in a worker process while the export is mapped
    result, study, standards = build(study_dir, export_dir, encoding)
    dispositions = study_dispositions(study_dir)
    if dispositions is not None:
        with_dispositions(Report.of([]), dispositions)  # a broken dispositions file is said before any work
    tables = {name: t for name, t in result.tables.items() if len(t.frame)}
    if "xpt" not in formats:  # define.xml, the lineage and the report name the files written
        for table in result.tables.values():
            table.file = f"{table.name.lower()}.{formats[0]}"
    with stage("xpt_check"):
        problems = [p for t in tables.values() for p in xpt_problems(t)]
    if problems:
        raise WriteError("\n".join(problems))
    # The parts of each XPT file over the size limit, decided from its record length and records.
    splits = {name: part_ranges(t, size_limit) for name, t in tables.items()} if "xpt" in formats else {}

    summaries = []
    for name, table in result.tables.items():
        if name in tables:
            summaries.append(
                DatasetSummary(
                    name,
                    table.label,
                    len(table.frame),
                    len(table.frame.columns),
                    table.href,
                    parts=len(splits.get(name, ())),
                )
            )
        else:
            summaries.append(
                DatasetSummary(
                    name,
                    table.label,
                    0,
                    len(table.frame.columns),
                    "",
                    result.empty.get(name, "no records"),
                )
            )

    manifest = {
        "kind": "sdtm-package",
        "study": study.studyid,
        "sdtmig": standards.sdtmig_version,
        "ct": standards.ct_version,
        "created": created.isoformat(),
        "mapping": {"folder": PACKAGE_MAPPING, "sha256": folder_digest(study_dir, study.files())},
        "export": {
            "encoding": encoding or study.encoding or DEFAULT_ENCODING,
            "files": export_digests(export_dir, [f for f in result.forms_read if f not in result.forms_missing]),
        },
    }
    # The suites run in the worker while our own checks run and the package is written into the
    # temporary folder; nothing is published before the whole report is in and passes.
    with stage("validate"):
        validation = start_build_validation(result, study, standards)
    report: Report | None = None
    rejected = False

    def fill(tmp: Path) -> None:
        nonlocal report, rejected
        if with_dispositions(Report.of(validation.findings), dispositions).exit_status(threshold):
            with stage("validate"):
                report = with_dispositions(validation.finish(), dispositions)  # failed already: nothing to write
            raise _Unpublished
        keys = study_keys(study, standards)
        with stage("write_xpt"):
            # The datasets were built in their written form (text as str objects, numbers as
            # float64) and validated as they are: what was checked is what is written.
            for i, ds in enumerate(tables.values(), 1):
                progress.step(ds.href, i, len(tables))
                if "xpt" in formats:
                    write_xpt(ds, tmp / f"{ds.name.lower()}.xpt", created)
                    ds.parts = write_parts(ds, tmp, created, splits[ds.name])
                for kind in (f for f in formats if f != "xpt"):
                    write_dataset_json(
                        ds,
                        tmp / f"{ds.name.lower()}.{kind}",
                        created,
                        ndjson=kind == "ndjson",
                        study_oid=study.studyid,
                        metadata_version_oid=f"MDV.{study.studyid}.SDTMIG.{standards.sdtmig_version}",
                        define_href="define.xml",
                        keys=keys.get(ds.name, ()),
                    )
        if len(formats) > 1:
            with stage("read_back"):
                same_in_every_format(tmp, tables.values(), formats)
        with stage("provenance"):
            write_provenance(result, tmp)
            copy_files((*study.files(), *([dispositions] if dispositions else [])), study_dir, tmp / PACKAGE_MAPPING)
            # The annotated CRF and the reviewer's guides go next to define.xml, which links them.
            copy_named({doc.href: study.folder / doc.file for doc in study.documents}, tmp)
        # Built from the datasets just written (the same model reading the XPT files back gives)
        # and schema-validated here, so an invalid define fails the conversion before anything is published.
        with stage("define"):
            write_define(tmp, study, standards, created, tuple(tables.values()), no_data=result.empty)
        with stage("validate"):
            report = with_dispositions(validation.finish(), dispositions)
        with stage("preflight"):
            # The FDA's technical rejection criteria, on the package as written: a package they
            # reject is never published, whatever --fail-on says.
            findings = preflight(tmp, check_context(standards, study))
        if findings:
            rejected = True
            report = Report.of([*report.findings, *findings], report.datasets, report.timings)
        if rejected or report.exit_status(threshold):
            raise _Unpublished
        with stage("reports"):
            write_reports(report, tmp, f"{study.studyid} SDTM validation report", max_per_rule, xlsx=xlsx_report)

    try:
        cleaned = publish(out_dir, fill, manifest, protected)
    except _Unpublished:
        return ConvertResult(
            out_dir, tuple(summaries), result, study, standards, report, published=False, rejected=rejected
        )
    return ConvertResult(out_dir, tuple(summaries), result, study, standards, report, cleaned=tuple(cleaned))


DATASET_FORMATS = ("xpt", "json", "ndjson")  # SAS XPT v5; CDISC Dataset-JSON v1.1 as JSON and as NDJSON


def dataset_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The dataset formats asked for, in DATASET_FORMATS order; an unknown one is an error."""
    asked = [f.strip().lower() for part in formats for f in part.split(",") if f.strip()]
    unknown = [f for f in asked if f not in DATASET_FORMATS]
    if unknown or not asked:
        raise DaybreakError(f"--format: {', '.join(unknown) or 'none given'}: give xpt, json and/or ndjson")
    return tuple(f for f in DATASET_FORMATS if f in asked)


def same_in_every_format(folder: Path, tables: Iterable[Dataset], formats: Sequence[str]) -> None:
    """Read every dataset back from each format written and refuse the package where two disagree."""
    from daybreak_sdtm.dataset import differences, read_dataset

    problems = []
    for ds in tables:
        stem = ds.name.lower()
        first, *others = (read_dataset(folder / f"{stem}.{kind}") for kind in formats)
        for kind, other in zip(formats[1:], others, strict=True):
            problems += [f"{stem}.{formats[0]} vs {stem}.{kind}: {d}" for d in differences(first, other)]
    if problems:
        raise WriteError("the formats written disagree:\n" + "\n".join(problems))


class _Unpublished(Exception):
    """Raised inside ``publish`` when validation fails: the temporary folder is removed, nothing replaced."""


PACKAGE_MAPPING = "mapping"  # the folder of a package that holds a copy of the mapping specs it was made with


def export_digests(export_dir: Path, forms: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each raw file the conversion read, by file name (the manifest's record of the export)."""
    from daybreak_sdtm.raw import find_form
    from daybreak_sdtm.write.package import file_digest

    paths = [find_form(export_dir, form) for form in forms]
    return {p.name: file_digest(p) for p in sorted(paths)}


@dataclass(frozen=True)
class StudySource:
    """Which mapping specs go with a package, and how they were found (said to the user)."""

    folder: Path | None
    how: str


def package_study(package_dir: Path, study_dir: Path | None = None) -> StudySource:
    """The study of a package: ``study_dir`` when given, else the copy of the specs the package carries.

    A package written by ``convert`` carries its mapping specs in ``mapping/`` and their SHA-256
    in manifest.json; nothing is ever taken from the machine the package was written on.
    """
    from daybreak_sdtm.write.package import folder_digest, read_manifest

    if study_dir is not None:
        return StudySource(study_dir, f"study: {study_dir} (--study)")
    manifest = read_manifest(package_dir) or {}
    mapping = manifest.get("mapping")
    if isinstance(mapping, dict):
        folder = package_dir / str(mapping.get("folder", PACKAGE_MAPPING))
        if (folder / "study.yaml").is_file():
            how = f"study: {manifest.get('study', '?')}, from the mapping specs the package carries ({folder})"
            try:
                copy = load_study(folder)
                changed = folder_digest(folder, copy.files()) != mapping.get("sha256")
            except DaybreakError:
                changed = True
            if changed:
                how += "; warning: they differ from the specs the package was converted with (manifest.json SHA-256)"
            return StudySource(folder, how)
    return StudySource(
        None,
        "study: none (the package carries no mapping specs; pass --study DIR): protocol checks, "
        "the study's epochs and value-level codelists are not applied",
    )


def validate(
    package_dir: Path,
    define: Path | None = None,
    study_dir: Path | None = None,
    sdtmig: str | None = None,
    ct: str | None = None,
    encoding: str | None = None,
    max_dataset_size: str | int = "5GB",
) -> ValidateResult:
    """Validate an SDTM package folder; protocol rules apply only when the study is known.

    The study is ``study_dir``, else the copy of the mapping specs the package carries
    (``package_study``); ``ValidateResult.notes`` says which, or that there is none.
    ``encoding`` is the XPT files' text encoding; undeclared, text that is not UTF-8 is read as
    Windows-1252 and reported (DB113).

    The SDTMIG version the package declares is ``sdtmig``, else the one its define.xml declares,
    else the study's, else 3.4 (``declared_sdtmig``); it is checked against the bundled metadata of
    that version, or of SDTMIG 3.4 when that version is not bundled, and what differs between the
    two is reported as notes. CT is ``ct``, else the study's, else the newest bundled release.
    A dataset file over ``max_dataset_size`` (``5GB``, ``20KB`` or bytes, as ``convert`` takes it)
    that is not split is reported (DB703).
    """
    import dataclasses

    from daybreak_sdtm.gx import warm
    from daybreak_sdtm.standards.store import bundled_dates
    from daybreak_sdtm.validation import validate_dir
    from daybreak_sdtm.write.split import parse_size

    size_limit = parse_size(max_dataset_size)
    warm()  # great-expectations starts loading in a worker process while the package is read
    source = package_study(package_dir, study_dir)
    study = load_study(source.folder) if source.folder is not None else None
    if define is None and (package_dir / "define.xml").is_file():
        define = package_dir / "define.xml"
    declared, how = declared_sdtmig(sdtmig, define, study)
    checked = declared if declared in bundled_sdtmig() else DEFAULT_SDTMIG
    standards = read_standards(
        specs_dir(), checked, ct or (study.ct if study is not None else bundled_dates(specs_dir())[-1])
    )
    if study is not None:
        standards = study_standards(study, standards)
    result = validate_dir(
        package_dir, define, study, standards, encoding, declared=declared, max_dataset_size=size_limit
    )
    line = f"standards: {result.report.standards} (SDTMIG {declared} {how})"
    if declared not in KNOWN_SDTMIG:
        line += f"; what differs between SDTMIG {declared} and {checked} is not known here, so nothing is reported as a version difference"
    return dataclasses.replace(result, notes=(*result.notes, source.how, line))


def bundled_sdtmig() -> list[str]:
    """The SDTMIG versions whose metadata is bundled (``specs/sdtmig/<version>/``)."""
    root = specs_dir() / "sdtmig"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def declared_sdtmig(sdtmig: str | None, define: Path | None, study: StudySpec | None) -> tuple[str, str]:
    """The SDTMIG version a package declares and where that was read: ``--sdtmig``, else the
    define.xml (Define-XML 2.0 MetaDataVersion def:StandardVersion, 2.1 def:Standards), else the
    study's specs, else 3.4."""
    from daybreak_sdtm.checks.versions import declared_in_define

    if sdtmig:
        return sdtmig, "from --sdtmig"
    if define is not None and define.is_file():
        found = declared_in_define(define)
        if found:
            return found, f"declared in {define.name}"
    if study is not None:
        return study.sdtmig, "from the study's specs"
    return DEFAULT_SDTMIG, "by default: the package declares no version"


@dataclass(frozen=True)
class DefineResult:
    """What ``define`` wrote."""

    package_dir: Path
    files: tuple[Path, ...]  # define.xml, define.html
    datasets: int
    variables: int
    codelists: int
    value_lists: int
    study: str = ""  # which specs described the package, and how they were found


def define(
    study_dir: Path | None = None,
    package_dir: Path = Path("sdtm-out"),
    timestamp: str | None = None,
    out_dir: Path | None = None,
) -> DefineResult:
    """(Re)generate define.xml and define.html of an existing package from its XPT files and the specs.

    The specs are ``study_dir``, else the copy the package carries; a package with neither is an
    error (another study's package is never described with the bundled study). The files go into
    ``out_dir`` (default: the package folder); define files there that daybreak-sdtm did not write
    are never replaced.
    """
    from daybreak_sdtm.write.define_files import DEFINE_HTML, DEFINE_XML, write_define
    from daybreak_sdtm.write.package import check_define_target, copy_named, update_manifest

    if not package_dir.is_dir():
        raise DaybreakError(f"{package_dir}: package folder not found")
    created = resolve_timestamp(timestamp)
    source = package_study(package_dir, study_dir)
    if source.folder is None:
        raise DaybreakError(
            f"{package_dir}: no mapping specs to describe it with: the package carries none "
            "(it was not written by convert); pass --study DIR"
        )
    target = out_dir or package_dir
    study, standards = load(source.folder)
    documents = _documents_to_copy(study, package_dir, target)
    check_define_target(target, (DEFINE_XML, DEFINE_HTML, *documents))
    target.mkdir(parents=True, exist_ok=True)
    result = write_define(package_dir, study, standards, created, out_dir=target)
    copy_named(documents, target)
    update_manifest(target, (DEFINE_XML, DEFINE_HTML, *documents))
    return DefineResult(
        target,
        (target / DEFINE_XML, target / DEFINE_HTML),
        len(result.item_groups),
        sum(len(g.item_refs) for g in result.item_groups),
        len(result.codelists),
        len(result.value_lists),
        source.how,
    )


def _documents_to_copy(study: StudySpec, package_dir: Path, target: Path) -> dict[str, Path]:
    """The documents define.xml links (study.yaml ``documents:``) that the define's folder lacks or
    holds in another version: name there -> the study's file. A document neither the study folder
    nor the package holds is an error: the define would link a file the package does not have.
    """
    import filecmp

    copy: dict[str, Path] = {}
    for doc in study.documents:
        source = study.folder / doc.file
        held = next((f for f in (target / doc.href, package_dir / doc.href) if f.is_file()), None)
        if not source.is_file():
            if held is None:
                raise DaybreakError(
                    f"{doc.where}: documents.{doc.kind}.file: {doc.file!r} not found in {study.folder}, "
                    f"nor {doc.href} in {package_dir}; define.xml would link a document the package does not hold"
                )
            if held.parent != target:
                copy[doc.href] = held
            continue
        there = target / doc.href
        if not there.is_file() or not filecmp.cmp(source, there, shallow=False):
            copy[doc.href] = source
    return copy


def with_baseline(report: Report, baseline: Path) -> Report:
    """The report with each finding marked new or persisting against an earlier run's validation.json,
    and that run's findings resolved since."""
    import dataclasses
    import json

    from daybreak_sdtm.findings import compare_with

    try:
        earlier = json.loads(baseline.read_text(encoding="utf-8"))
        findings = earlier["findings"]
        if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
            raise TypeError("findings is not a list of objects")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DaybreakError(f"{baseline}: not a validation.json report to compare with ({exc})") from None
    if findings and not any(f.get("fingerprint") for f in findings):
        raise DaybreakError(f"{baseline}: its findings have no fingerprints (written by an earlier version?)")
    return dataclasses.replace(report, baseline=compare_with(report.findings, findings))


def study_dispositions(study_dir: Path | None, package_dir: Path | None = None) -> Path | None:
    """The dispositions file that goes with a study: dispositions.yaml beside its study.yaml (or
    beside the copy of the mapping a package carries), None when there is none."""
    from daybreak_sdtm.dispositions import DISPOSITIONS_FILE

    folders = [study_dir] if study_dir is not None else []
    if package_dir is not None:
        folders.append(package_dir / PACKAGE_MAPPING)
    return next((f / DISPOSITIONS_FILE for f in folders if (f / DISPOSITIONS_FILE).is_file()), None)


def with_dispositions(report: Report, path: Path | None) -> Report:
    """The report with the dispositions of ``path`` applied (unchanged when None); a bad file is SpecErrors."""
    from daybreak_sdtm.dispositions import apply_dispositions, load_dispositions

    if path is None:
        return report
    if not path.is_file():
        raise DaybreakError(f"{path}: dispositions file not found")
    return apply_dispositions(report, load_dispositions(path))


@dataclass(frozen=True)
class SampleExport:
    """A synthetic export written: which study, how many subjects, the seed, and the records per form."""

    study: str
    subjects: int
    seed: int
    counts: dict[str, int]


# The bundled studies' generators: name -> (STUDYID, default subjects, default seed).
SAMPLE_STUDIES = {"daybreak-01": ("DAYBREAK-01", 32, 20251004), "meridian-02": ("MERIDIAN-02", 48, 20250303)}


def sample_export(
    out_dir: Path, subjects: int | None = None, seed: int | None = None, study: str = "daybreak-01"
) -> SampleExport:
    """Write a synthetic EDC export of a bundled study into a new folder (or one an earlier sample-export wrote)."""
    from daybreak_sdtm.sample import generate_export, meridian
    from daybreak_sdtm.write.package import publish

    if study not in SAMPLE_STUDIES:
        raise DaybreakError(f"no bundled study {study!r}: one of {', '.join(SAMPLE_STUDIES)}")
    studyid, default_subjects, default_seed = SAMPLE_STUDIES[study]
    n = default_subjects if subjects is None else subjects
    s = default_seed if seed is None else seed
    generator = generate_export if study == "daybreak-01" else meridian.generate_export
    counts: dict[str, int] = {}
    publish(
        out_dir,
        lambda tmp: counts.update(generator(tmp, subjects=n, seed=s)),
        {"kind": "sample-export", "study": studyid, "subjects": n, "seed": s},
    )
    return SampleExport(studyid, n, s, counts)


@dataclass(frozen=True)
class TraceResult:
    """An SDTM record and the raw record(s) it came from."""

    dataset: str
    record: dict[str, object]
    sources: tuple[tuple[str, int, dict[str, str]], ...]  # (file, record number, raw values)


def trace(
    dataset: str, usubjid: str, seq: str | None, package_dir: Path, export_dir: Path | None = None
) -> list[TraceResult]:
    """Find SDTM records by dataset, USUBJID and --SEQ (IDVARVAL for SUPP--) and their raw records."""
    import pandas as pd

    from daybreak_sdtm.checks.package import dataset_sources, read_files
    from daybreak_sdtm.errors import RawDataError
    from daybreak_sdtm.raw import read_form
    from daybreak_sdtm.write.lineage import LINEAGE_FILE

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
    export_dir = trace_export(package_dir, export_dir)
    stem = name.lower()
    files = next(
        (f for f in dataset_sources(package_dir) if f.first.stem.lower() == (stem if f.whole else f"{stem}1")),
        None,
    )
    if files is None:
        raise RawDataError(f"{package_dir}: no dataset file for {name}")
    frame = read_files(files).frame
    encoding = export_encoding(package_dir)  # the raw export is read as it was when converted
    forms: dict[str, pd.DataFrame] = {}
    results = []
    for _, hit in hits.iterrows():
        form = Path(hit.SOURCE_FILE).stem
        if form not in forms:
            forms[form] = read_form(export_dir, form, encoding)
        raw = forms[form]
        record = int(hit.SOURCE_RECORD)
        raw_values = {str(k): str(v) for k, v in raw.iloc[record - 1].items() if not str(k).startswith("_src")}
        sdtm = {str(k): v for k, v in frame.iloc[int(hit.RECORD) - 1].items()}
        results.append(TraceResult(name, sdtm, ((str(hit.SOURCE_FILE), record, raw_values),)))
    return results


def trace_export(package_dir: Path, export_dir: Path | None) -> Path:
    """The export a package was converted from: ``export_dir``, checked against the manifest's SHA-256.

    Without ``export_dir`` the bundled sample export is taken when it is the one the package was
    made from; a raw file that differs from the one converted is an error (the records would not match).
    """
    from daybreak_sdtm.errors import RawDataError
    from daybreak_sdtm.write.package import file_digest, read_manifest

    manifest = read_manifest(package_dir) or {}
    export = manifest.get("export")
    recorded: dict[str, str] = export.get("files", {}) if isinstance(export, dict) else {}
    if export_dir is None:
        candidate = default_export_dir()
        if recorded and all((candidate / n).is_file() and file_digest(candidate / n) == h for n, h in recorded.items()):
            return candidate
        raise RawDataError(
            f"{package_dir}: pass --export DIR, the raw export the package was converted from"
            + (f" (files {', '.join(recorded)})" if recorded else "")
        )
    for name, digest in recorded.items():
        path = export_dir / name
        if path.is_file() and file_digest(path) != digest:
            raise RawDataError(
                f"{path}: not the file {package_dir} was converted from (SHA-256 differs from manifest.json)"
            )
    return export_dir


def export_encoding(package_dir: Path) -> str:
    """The text encoding the package's raw export was read in, as its manifest records it."""
    from daybreak_sdtm.write.package import read_manifest

    export = (read_manifest(package_dir) or {}).get("export")
    return str(export.get("encoding") or DEFAULT_ENCODING) if isinstance(export, dict) else DEFAULT_ENCODING


@dataclass(frozen=True)
class CtReleaseSummary:
    """One CT release the tool can use, as ``ct list`` and ``ct import`` show it."""

    date: str
    origin: str  # "bundled" or "imported"
    codelists: int
    terms: int
    source: Path
    replaces_bundled: bool = False  # an imported release of a date that is also bundled


def _ct_summary(release: object, home: Path | None, bundled: list[str]) -> CtReleaseSummary:
    from daybreak_sdtm.standards.ct import load_terminology
    from daybreak_sdtm.standards.store import CtRelease, compiled_path

    assert isinstance(release, CtRelease)
    table = load_terminology(release.source, compiled_path(release, home))
    codelists, terms = table.counts()
    return CtReleaseSummary(
        release.date,
        release.origin,
        codelists,
        terms,
        release.source,
        release.origin == "imported" and release.date in bundled,
    )


def ct_import(file: Path, date: str | None = None, store: Path | None = None) -> CtReleaseSummary:
    """Check an NCI EVS SDTM Terminology file (.txt or .txt.gz) and store it as the release of its date.

    The date is ``date``, else the one in the file name ("SDTM Terminology 2025-03-28.txt"). The
    release goes to ``<store>/ct/<date>/`` (``store``: the user store by default), where
    ``study.yaml``'s ``ct:`` and ``validate --ct`` find it.
    """
    from daybreak_sdtm.standards.ct import compile_terminology, read_nci
    from daybreak_sdtm.standards.store import bundled_dates, compiled_path, release_date, store_release

    if not file.is_file():
        raise DaybreakError(f"{file}: no such file")
    when = release_date(file, date)
    terminology = read_nci(file)  # every layout problem, with its line, before anything is stored
    release = store_release(file, when, store)
    with contextlib.suppress(OSError):  # the compiled copy is made on first use instead
        compile_terminology(terminology, compiled_path(release, store), source=release.source)
    return _ct_summary(release, store, bundled_dates(specs_dir()))


def ct_list(store: Path | None = None) -> list[CtReleaseSummary]:
    """Every CT release the tool can use, bundled and imported, by date."""
    from daybreak_sdtm.standards.store import bundled_dates, ct_releases

    bundled = bundled_dates(specs_dir())
    return [_ct_summary(r, store, bundled) for r in ct_releases(specs_dir(), store).values()]


@dataclass(frozen=True)
class SpecExportResult:
    """What ``spec export`` wrote: the workbook and how many rows its main sheets hold."""

    path: Path
    datasets: int
    variables: int
    value_level: int
    codelists: int
    data: str  # what the lengths and terms were read from


@dataclass(frozen=True)
class SpecImportResult:
    """What ``spec import`` wrote: the study's metadata file, what it changes, what was not imported."""

    path: Path
    datasets: int
    variables: int
    value_level: int
    methods: int
    comments: int
    codelists: int
    notes: tuple[str, ...]


def _spec_data(
    study: StudySpec,
    standards: Standards,
    export_dir: Path | None,
    package_dir: Path | None,
    unlabel: StudyMetadata | None = None,
) -> tuple[tuple[Dataset, ...], dict[str, str], str]:
    """The datasets a study's define describes, the mapped ones with no records and where they were read:
    a converted package's files (``package_dir``), else the export mapped in memory.

    A package's files hold the labels its metadata file edited; ``unlabel`` (that file) gives
    those back the labels the specs and the standards give, as a mapping without it would.
    """
    if package_dir is not None:
        from daybreak_sdtm.define import read_package
        from daybreak_sdtm.write.define_files import not_written

        datasets = read_package(package_dir)
        if unlabel is not None:
            _standard_labels(datasets, unlabel, standards)
        return datasets, not_written(package_dir), f"package {package_dir}"
    export_dir = export_dir or default_export_dir()
    result = build_study(study, standards, export_dir)
    tables = tuple(t for t in result.tables.values() if len(t.frame))
    return tables, dict(result.empty), f"export {export_dir}"


def _standard_labels(datasets: Iterable[Dataset], metadata: StudyMetadata, standards: Standards) -> None:
    """The labels ``metadata`` edits, put back to SDTMIG's (or the variable's name, as ``dataset_of`` gives them)."""
    from daybreak_sdtm.standards.labels import dataset_label, variable_labels

    by_name = {ds.name: ds for ds in datasets}
    for name, variable, _ in metadata.label_edits():
        ds = by_name.get(name)
        if ds is None:
            continue
        if not variable:
            ds.label = dataset_label(name, standards)
        elif variable in ds.frame.columns:
            ds.labels |= variable_labels(ds.name, ds.frame[[variable]], standards)


def _study_tables(
    study: StudySpec,
    standards: Standards,
    export_dir: Path | None,
    package_dir: Path | None,
    unlabel: StudyMetadata | None = None,
) -> tuple[Define, tuple[Dataset, ...], str]:
    """The study's define, the datasets it describes and where they were read (``_spec_data``)."""
    from daybreak_sdtm.define import build_define

    datasets, no_data, data = _spec_data(study, standards, export_dir, package_dir, unlabel)
    return build_define(study, standards, datasets, resolve_timestamp(), no_data), datasets, data


def spec_export(
    out: Path, study_dir: Path | None = None, export_dir: Path | None = None, package_dir: Path | None = None
) -> SpecExportResult:
    """Write the study's define metadata as a spec workbook in the Pinnacle 21 define template's layout.

    The define is built as ``convert`` builds it (the study's metadata file applied), from the
    export mapped in memory (default: the bundled sample export), or from a converted package's
    files with ``package_dir``: the workbook says what define.xml says.
    """
    from daybreak_sdtm.define.tables import define_tables
    from daybreak_sdtm.write.spec_workbook import write_spec_workbook

    study, standards = load(study_dir)
    define, _, data = _study_tables(study, standards, export_dir, package_dir)
    tables = define_tables(define)
    write_spec_workbook(tables, out)
    return SpecExportResult(
        out,
        len(tables["Datasets"]),
        len(tables["Variables"]),
        len(tables["ValueLevel"]),
        len({r["ID"] for r in tables["Codelists"]}),
        data,
    )


def spec_import(
    source: Path, study_dir: Path, export_dir: Path | None = None, package_dir: Path | None = None
) -> SpecImportResult:
    """Bring a spec workbook's (or an existing define.xml's) metadata into the study as its metadata file.

    What the sponsor may edit and differs from the define the specs and the data give (without the
    current metadata file) is written to the study's metadata file (study.yaml's ``metadata:``, else
    ``metadata.yaml`` beside it), replacing it; the define is then built with it and checked against
    the Define-XML 2.1 schema before anything is written. A bad workbook writes nothing.
    """
    import dataclasses

    from daybreak_sdtm.define.metadata import apply_metadata
    from daybreak_sdtm.define.spec_import import compare_with_define, held_terms, read_define, read_workbook
    from daybreak_sdtm.define.tables import define_tables, terminology
    from daybreak_sdtm.spec.load import metadata_path
    from daybreak_sdtm.spec.metadata import metadata_yaml
    from daybreak_sdtm.write.define_xml import define_xml, validate_define

    if not source.is_file():
        raise DaybreakError(f"{source}: file not found")
    got = read_define(source) if source.suffix.lower() == ".xml" else read_workbook(source)
    study, standards = load(study_dir)
    target = study.metadata.file if study.metadata is not None else metadata_path(study_dir)
    base, datasets, _ = _study_tables(
        dataclasses.replace(study, metadata=None), standards, export_dir, package_dir, study.metadata
    )
    held = held_terms(base, datasets)
    metadata, notes = compare_with_define(define_tables(base), got, source, terminology(base), target, held)
    validate_define(define_xml(apply_metadata(base, metadata)), f"{source} imported")
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(metadata_yaml(metadata), encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write the study's metadata file ({exc.strerror or exc})") from None
    finally:
        if partial.exists():
            partial.unlink()
    return SpecImportResult(
        target,
        len(metadata.datasets),
        len(metadata.variables),
        len(metadata.value_level),
        len(metadata.methods),
        len(metadata.comments),
        len(metadata.codelists),
        tuple(notes),
    )
