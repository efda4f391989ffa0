"""Validation as the commands use it: build the check context, adapt built tables, read packages, lint specs.

``api`` stays a list of one-liners per command; the wiring between the mapping engine (build,
spec) and the checks (which know only the Package model) lives here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daybreak_sdtm.errors import DataProblem, SpecError, SpecErrors
from daybreak_sdtm.timing import stage

if TYPE_CHECKING:
    from daybreak_sdtm.build import BuildResult
    from daybreak_sdtm.checks import CheckContext, Package
    from daybreak_sdtm.checks.registry import EpochRule, Implements
    from daybreak_sdtm.checks.run import Validation
    from daybreak_sdtm.findings import Finding, Report
    from daybreak_sdtm.spec import StudySpec
    from daybreak_sdtm.standards import Standards

REPORT_JSON, REPORT_HTML, REPORT_XLSX = "validation.json", "validation.html", "validation.xlsx"


@dataclass(frozen=True)
class ValidateResult:
    """What ``validate`` found, and on what."""

    report: Report
    package: Package
    standards: Standards
    seconds: float
    notes: tuple[str, ...] = ()  # what the user should know of how the package was read (the study used, ...)


def check_context(
    standards: Standards, study: StudySpec | None = None, declared: str = "", max_dataset_size: int | None = None
) -> CheckContext:
    """Standards plus, when the study is known, its protocol rules, epochs and value-level codelists.

    ``declared`` is the SDTMIG version the package declares (default: the version checked against);
    ``max_dataset_size`` the largest dataset file in bytes (default: FDA's 5 GB).
    """
    from daybreak_sdtm.checks import CheckContext
    from daybreak_sdtm.checks.registry import FDA_MAX_DATASET_SIZE

    declared = declared or standards.sdtmig_version
    size = max_dataset_size or FDA_MAX_DATASET_SIZE
    if study is None:
        return CheckContext(standards, declared_sdtmig=declared, max_dataset_size=size)
    value_codelists: dict[tuple[str, str], tuple[tuple[dict[str, tuple[str, ...]], str], ...]] = {}
    for dom in study.domains:
        for var in dom.variables:
            if not var.cases:
                continue
            meta = standards.variable(dom.name, var.name)
            cases = []
            for case in var.cases:
                named = case.params.get("codelist")
                code = ";".join(map(str, named)) if isinstance(named, list) else str(named or "")
                code = code or (meta.codelist if meta else "")
                if code:
                    cases.append((dict(case.case_where), code))
            value_codelists[(dom.name, var.name)] = tuple(cases)
    return CheckContext(
        standards,
        protocol=study.protocol_checks,
        studyid=study.studyid,
        declared_terms=declared_terms(study),
        value_codelists=value_codelists,
        declared_sdtmig=declared,
        epochs=tuple(
            _epoch_rule(e.epoch, e.start.variable, e.start.how, e.start.filters)
            for e in study.epochs
            if e.start.variable
        ),
        keys=study_keys(study, standards),
        dictionaries={
            term.code: d.version for d in study.dictionaries if (term := standards.dictionary(d.name)) is not None
        },
        max_dataset_size=size,
    )


def study_keys(study: StudySpec, standards: Standards) -> dict[str, tuple[str, ...]]:
    """The natural keys of each domain of the study: its spec's ``keys:``, else the SDTMIG's (as the define says)."""
    keys = {}
    for dom in study.domains:
        meta = standards.dataset(dom.name)
        keys[dom.name] = dom.keys or (meta.keys if meta is not None else ())
    return keys


def declared_terms(study: StudySpec) -> dict[str, frozenset[str]]:
    """Sponsor terms the study declares for extensible codelists: its epochs (the arms' or ``epochs:``)
    and the references of its trial summary values (TSVCDREF: ISO 8601, ClinicalTrials.gov)."""
    epochs = {e.epoch for e in study.epochs} | {ae.epoch for arm in study.arms for ae in arm.elements}
    design = study.trial_design
    references = {p.tsvcdref for p in design.summary if p.tsvcdref} if design is not None else set()
    return {"EPOCH": frozenset(epochs), "DICTNAM": frozenset(references)}


def _epoch_rule(epoch: str, start: str, how: str, filters: dict[str, tuple[str, ...]]) -> EpochRule:
    """study.yaml's ``start: DOMAIN.VARIABLE`` (with ``first``/``day_after`` and ``where``) as the checks read it."""
    from daybreak_sdtm.checks.registry import EpochRule

    dataset, _, variable = start.partition(".")
    return EpochRule(epoch, dataset, variable, how, dict(filters))


def package_of_build(result: BuildResult) -> Package:
    """The just-built datasets as a Package: each in its written form, with the raw record of each
    row and the spec line of each variable. Empty datasets are left out, as convert writes none."""
    from daybreak_sdtm.checks.package import Package

    return Package({name: ds for name, ds in result.tables.items() if len(ds.frame)})


def start_build_validation(result: BuildResult, study: StudySpec, standards: Standards) -> Validation:
    """Start validating what ``convert`` just built: expectations handed to great-expectations, own checks run.

    The datasets validated are the ones the XPT files, the define and the lineage are made of.
    """
    from daybreak_sdtm.checks import CHECKS
    from daybreak_sdtm.checks.run import start_validation
    from daybreak_sdtm.checks.submission import rejection_checks

    # The rejection criteria are about the files of the package (ts.xpt, dm.xpt, define.xml):
    # convert runs them on the package it writes (``checks.submission.preflight``), not on tables.
    only = [code for code in CHECKS if code not in rejection_checks()]
    return start_validation(
        package_of_build(result),
        check_context(standards, study),
        only=only,
    )


def validate_dir(
    package_dir: Path,
    define: Path | None,
    study: StudySpec | None,
    standards: Standards,
    encoding: str | None = None,
    declared: str = "",
    max_dataset_size: int | None = None,
) -> ValidateResult:
    """Validate an SDTM package folder of XPT files (ours or anyone's), their text in ``encoding`` if declared.

    ``declared`` is the SDTMIG version the package declares (default: that of ``standards``); the
    report's summary says which metadata it was checked against. ``max_dataset_size`` is the
    largest dataset file in bytes (DB703; default FDA's 5 GB).
    """
    from daybreak_sdtm.checks import read_package, validate_package

    start = time.perf_counter()
    with stage("read"):
        pkg = read_package(package_dir, define, encoding)
    ctx = check_context(standards, study, declared, max_dataset_size)
    with stage("validate"):
        report = validate_package(pkg, ctx)
    return ValidateResult(report, pkg, standards, time.perf_counter() - start)


def write_reports(
    report: Report,
    folder: Path,
    title: str = "SDTM validation report",
    max_per_rule: int | None = None,
    *,
    xlsx: bool = False,
) -> None:
    """Write validation.json (every finding) and validation.html (details capped at ``max_per_rule``
    per rule, default ``DEFAULT_HTML_DETAILS``, linking to validation.json) into ``folder`` (the
    package being published), each streamed as it is made; with ``xlsx`` also validation.xlsx
    (every finding, CORE's sheet layout, the size of each dataset file beside it)."""
    from daybreak_sdtm.findings import DEFAULT_HTML_DETAILS
    from daybreak_sdtm.report import write_html, write_json

    with (folder / REPORT_JSON).open("w", encoding="utf-8") as out:
        write_json(report, out)
    with (folder / REPORT_HTML).open("w", encoding="utf-8") as out:
        write_html(
            report, out, title, DEFAULT_HTML_DETAILS if max_per_rule is None else max_per_rule, full_report=REPORT_JSON
        )
    if xlsx:
        from daybreak_sdtm.report.xlsx import write_xlsx

        sizes = {p.stem.upper(): p.stat().st_size for p in folder.glob("*.xpt")}
        write_xlsx(report, folder / REPORT_XLSX, title, sizes=sizes)


def lint(study_dir: Path, export_dir: Path | None) -> list[SpecError]:
    """Every problem of a study's mapping specs, without converting; [] when the specs are sound."""
    from daybreak_sdtm.build import export_headers
    from daybreak_sdtm.codec import DEFAULT_ENCODING
    from daybreak_sdtm.resources import specs_dir
    from daybreak_sdtm.spec import check_study_spec, load_study
    from daybreak_sdtm.spec.check import study_standards
    from daybreak_sdtm.standards import read_standards

    try:
        study = load_study(study_dir)
    except SpecErrors as exc:
        return list(exc.errors)
    except SpecError as exc:
        return [exc]
    try:
        standards = study_standards(study, read_standards(specs_dir(), study.sdtmig, study.ct))
    except SpecErrors as exc:
        return list(exc.errors)
    headers = export_headers(export_dir, study.encoding or DEFAULT_ENCODING) if export_dir is not None else None
    return sorted(
        check_study_spec(study, standards, headers), key=lambda e: (e.where.file, e.where.line, e.where.col, e.key)
    )


def lint_report(errors: Sequence[SpecError], problems: Sequence[DataProblem | str] = ()) -> Report:
    """Lint's problems as a report, in lint's order, for the reports that place findings (SARIF):
    each spec problem a LINT001 error at its file:line:col, each raw value that cannot be mapped
    (``lint --values``) a LINT002 error at the spec entry that reads it, naming its raw file,
    record and column."""
    from daybreak_sdtm.findings import Report
    from daybreak_sdtm.report.rules import LINT_SPEC, LINT_VALUE

    findings = [*(_spec_finding(e) for e in errors), *(_value_finding(p) for p in problems)]
    return Report(tuple(findings), rules=(LINT_SPEC, LINT_VALUE))


def _spec_finding(error: SpecError) -> Finding:
    """A spec problem as a LINT001 finding: the key and problem (and hint) at the spec's place."""
    from daybreak_sdtm.findings import Finding, Severity
    from daybreak_sdtm.report.rules import LINT_SPEC

    text = f"{error.key}: {error.problem}" if error.key else error.problem
    if error.hint:
        text += f" (hint: {error.hint})"
    return Finding(LINT_SPEC, Severity.ERROR, "", "", None, text, spec=str(error.where))


def _value_finding(problem: DataProblem | str) -> Finding:
    """A raw value that cannot be mapped as a LINT002 finding of the variable the spec entry makes
    (``ae.yaml:46:3 AE.AESTDTC``), with the raw file, record and column as its source."""
    from daybreak_sdtm.findings import Finding, Severity
    from daybreak_sdtm.report.rules import LINT_VALUE

    if isinstance(problem, str):
        return Finding(LINT_VALUE, Severity.ERROR, "", "", None, problem)
    dataset, _, variable = problem.spec.rpartition(" ")[2].partition(".")
    return Finding(
        LINT_VALUE,
        Severity.ERROR,
        dataset if variable else "",
        variable,
        None,
        f"{problem.message}: {problem.value!r}",
        value=problem.value,
        source=f"{problem.file} record {problem.record} column {problem.column}",
        spec=problem.spec,
    )


def lint_values(study_dir: Path, export_dir: Path) -> int:
    """Map every raw value of the export without writing anything; the records made.

    Raises DataErrors (every value that cannot be mapped, summarised by cause) or the spec's errors.
    """
    from daybreak_sdtm.build import build_study
    from daybreak_sdtm.resources import specs_dir
    from daybreak_sdtm.spec import load_study
    from daybreak_sdtm.spec.check import study_standards
    from daybreak_sdtm.standards import read_standards

    study = load_study(study_dir)
    standards = study_standards(study, read_standards(specs_dir(), study.sdtmig, study.ct))
    result = build_study(study, standards, export_dir)
    return sum(len(ds.frame) for ds in result.tables.values())


def study_folder(path: Path) -> Path | None:
    """The study folder a mapping file belongs to: the nearest folder holding study.yaml, from the
    file's own folder up (``path`` itself when it is such a folder); None when there is none.

    Given as ``path`` is: a relative path gives a relative folder while the folder lies within it.
    """
    from daybreak_sdtm.spec.load import STUDY_FILE

    given = (path, *path.parents) if path.is_dir() else tuple(path.parents)
    full = path.absolute()
    for i, folder in enumerate((full, *full.parents) if path.is_dir() else full.parents):
        if (folder / STUDY_FILE).is_file():
            return given[i] if i < len(given) else folder
    return None


def explain(code: str) -> str:
    """A check's documentation: id, name, severity, docstring, references."""
    from daybreak_sdtm.checks import CHECKS, get_check
    from daybreak_sdtm.checks.registry import explanation
    from daybreak_sdtm.errors import DaybreakError, suggest

    item = get_check(code)
    if item is None:
        hint = suggest(code.upper(), list(CHECKS)) or "run `daybreak-sdtm list-checks`"
        raise DaybreakError(f"no check {code!r} ({hint})")
    return explanation(item)


def list_checks() -> list[tuple[str, str, str, str, Implements]]:
    """(id, name, severity, summary, the published rules it implements) of every registered check, by id."""
    from daybreak_sdtm.checks import CHECKS

    return [(c.code, c.name, str(c.severity), c.summary, c.implements) for _, c in sorted(CHECKS.items())]
