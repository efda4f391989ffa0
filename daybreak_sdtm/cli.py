"""The command line: argument parsing and printing only; the work is in ``daybreak_sdtm.api``.

Heavy libraries (pandas, pyreadstat, great-expectations) are imported by the commands that use
them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from daybreak_sdtm import __version__
from daybreak_sdtm.errors import DataErrors, DaybreakError, ExitStatus, SpecError

if TYPE_CHECKING:
    from daybreak_sdtm.api import DatasetSummary
    from daybreak_sdtm.findings import Report

FAIL_ON_CHOICES = ("note", "warning", "error", "never")  # daybreak_sdtm.findings.FAIL_ON_CHOICES, without its import
KNOWN_SDTMIG = ("3.2", "3.3", "3.4")  # daybreak_sdtm.checks.versions.KNOWN_SDTMIG, without importing the checks
SCHEMAS = ("study", "domain", "design")  # daybreak_sdtm.spec.schema.SCHEMAS, without importing the registry
STUDY_FILE = "study.yaml"  # daybreak_sdtm.spec.load.STUDY_FILE
# daybreak_sdtm.report.FORMATS and the workbook, without importing the report writers.
REPORT_FORMATS = ("text", "json", "html", "junit", "sarif", "xlsx")
LINT_FORMATS = ("text", "sarif")

EXIT_CODES = """exit status:
  0  success
  1  findings at or above --fail-on
  2  usage error (bad options)
  3  unusable input: missing or malformed export, spec or standards
  4  the package could not be written
  130  interrupted (Ctrl-C)"""
INTERRUPTED = 130  # 128 + SIGINT, as shells report a process ended by Ctrl-C


def _print_table(rows: Sequence[Sequence[object]], headers: Sequence[str], out: TextIO) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    numeric = [all(isinstance(r[j], int) or r[j] == "-" for r in rows) and bool(rows) for j in range(len(headers))]
    for i, row in enumerate([headers, *rows]):
        cells = (
            str(v).rjust(w) if numeric[j] else str(v).ljust(w) for j, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(cells).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _progress(args: argparse.Namespace) -> AbstractContextManager[object]:
    """A progress line on stderr for the command's work when stderr is a terminal and --quiet is not given."""
    from daybreak_sdtm import progress

    return progress.showing(progress.for_terminal(sys.stderr, args.command, args.quiet))


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert a raw export into an SDTM package."""
    from daybreak_sdtm.gx import warm

    warm()  # before the heavy imports below: great-expectations loads in a worker meanwhile
    from daybreak_sdtm import api

    with _progress(args):
        result = api.convert(
            args.study,
            args.export,
            args.out,
            timestamp=args.timestamp,
            fail_on=args.fail_on,
            encoding=args.encoding,
            max_per_rule=args.max_per_rule,
            formats=args.formats or ("xpt",),
            max_dataset_size=args.max_dataset_size,
            xlsx_report=args.xlsx_report,
        )
    for line in result.cleaned:
        print(f"note: {line}", file=sys.stderr)
    for warning in result.build.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not result.published and result.report is not None:
        from daybreak_sdtm.findings import DEFAULT_TEXT_EXAMPLES, Severity
        from daybreak_sdtm.report import render_text

        limit = DEFAULT_TEXT_EXAMPLES if args.max_per_rule is None else args.max_per_rule
        hint = (
            "--max-per-rule N shows more; --fail-on never publishes the package with every finding in validation.json"
        )
        # A package the FDA would reject is never published: its errors are shown whatever --fail-on says.
        shown = min(Severity.parse(args.fail_on), Severity.ERROR) if result.rejected else Severity.parse(args.fail_on)
        sys.stdout.write(render_text(result.report, shown, limit, hint))
        why = (
            "the package fails the FDA technical rejection criteria (DB7xx)"
            if result.rejected
            else f"findings at or above --fail-on {args.fail_on}"
        )
        print(f"{why}: nothing was published to {result.out_dir}", file=sys.stderr)
        return ExitStatus.FINDINGS
    print(
        f"{result.study.studyid}: SDTMIG {result.standards.sdtmig_version}, CT {result.standards.ct_version} -> {result.out_dir}"
    )
    _print_table(
        [
            (d.name, d.records, d.variables, _files(d)) if d.file else (d.name, 0, "-", f"not written: {d.not_written}")
            for d in result.datasets
        ],
        ("dataset", "records", "variables", "file"),
        sys.stdout,
    )
    if result.report is not None:
        from daybreak_sdtm.report import render_summary

        print(render_summary(result.report))
    return ExitStatus.OK


def _files(summary: DatasetSummary) -> str:
    """A dataset's file, and the parts it is split into: ``ae.xpt + split/ae1.xpt..ae3.xpt``."""
    if not summary.parts:
        return summary.file
    stem = summary.name.lower()
    return f"{summary.file} + split/{stem}1.xpt..{stem}{summary.parts}.xpt"


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate an SDTM package folder of XPT files (ours or anyone's).

    Runs the great-expectations suites derived from SDTMIG and CT metadata, the conformance checks
    and, with --study, the study's protocol checks. Prints a terminal report, or writes JSON, HTML,
    JUnit XML or SARIF with --format (to -o FILE, else to stdout).
    """
    from daybreak_sdtm.gx import warm

    warm()  # before the heavy imports below: great-expectations loads in a worker meanwhile
    from daybreak_sdtm import api
    from daybreak_sdtm.findings import Severity
    from daybreak_sdtm.report import render_summary, write_report
    from daybreak_sdtm.timing import stage

    threshold = Severity.parse(args.fail_on)
    failing = threshold if threshold is not Severity.NEVER else Severity.ERROR  # what fails a JUnit testcase
    with _progress(args):
        result = api.validate(
            args.dir,
            args.define,
            args.study,
            args.sdtmig,
            args.ct,
            encoding=args.encoding,
            max_dataset_size=args.max_dataset_size,
        )
        report = result.report
        if args.baseline is not None:
            report = api.with_baseline(report, args.baseline)
        report = api.with_dispositions(report, args.dispositions or api.study_dispositions(args.study, args.dir))
        if args.format == "xlsx":
            if args.output is None:
                raise DaybreakError("--format xlsx writes a workbook: give the file with -o FILE")
            with stage("reports"):
                _write_xlsx_file(args.output, report, result.package)
        elif args.output is not None:
            with stage("reports"):
                _write_report_file(
                    args.output,
                    lambda out: write_report(
                        report, args.format, out, threshold=failing, max_per_rule=args.max_per_rule
                    ),
                )
    for note in result.notes:
        print(note, file=sys.stderr)
    if args.output is not None:
        print(render_summary(report))
        print(f"{args.format} report -> {args.output}")
    else:
        write_report(report, args.format, sys.stdout, threshold=failing, max_per_rule=args.max_per_rule)
    return report.exit_status(threshold)


def _write_xlsx_file(path: Path, report: Report, package: Any) -> None:
    """The findings workbook; each dataset's file size goes into its sheet of datasets."""
    from daybreak_sdtm.report.xlsx import write_xlsx

    sizes = {}
    for name, ds in package.datasets.items():
        with contextlib.suppress(OSError):
            sizes[name] = Path(ds.file).stat().st_size
    _replace_file(path, lambda partial: write_xlsx(report, partial, sizes=sizes))


def _write_report_file(path: Path, write: Callable[[TextIO], None]) -> None:
    """Stream a text report into ``path``."""

    def write_text(partial: Path) -> None:
        with partial.open("w", encoding="utf-8") as out:
            write(out)

    _replace_file(path, write_text)


def _replace_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` beside itself under a temporary name and rename it into place, so an
    interrupted or failed run never leaves half a report where a whole one was."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as exc:
        raise DaybreakError(f"{path}: cannot write the report ({exc.strerror})") from None
    finally:
        if partial.exists():
            partial.unlink()


def cmd_lint(args: argparse.Namespace) -> int:
    """Check mapping specs without converting: names, derivations, codelists, raw columns, types.

    Prints one file:line:col message per problem; exit 3 when there is any, 0 otherwise. With
    ``--values`` every raw value is mapped too (nothing is written) and what cannot be mapped is
    reported by cause. ``--format sarif`` writes the problems as SARIF 2.1.0, each at its spec
    file:line:col: to -o FILE (the messages printed as well), else to stdout (only the counts then,
    on stderr).
    """
    from daybreak_sdtm.resources import default_export_dir, default_study_dir
    from daybreak_sdtm.validation import lint, lint_values

    study_dir = args.study_dir or default_study_dir()
    export_dir = args.export or (default_export_dir() if args.study_dir is None else None)
    if args.values and export_dir is None:
        raise DaybreakError("--values maps the raw export: give it with --export DIR")
    errors = lint(study_dir, export_dir)
    unmappable: DataErrors | None = None
    records = 0
    if args.values and not errors:
        assert export_dir is not None
        try:
            records = lint_values(study_dir, export_dir)  # DataErrors, grouped by cause, when a value cannot be mapped
        except DataErrors as exc:
            if args.format == "text":
                raise
            unmappable = exc
    if args.format != "text":
        _write_lint_report(args, errors, unmappable)
    said = sys.stdout if args.format == "text" or args.output is not None else None  # None: stdout holds the report
    if errors:
        for error in errors if said else ():
            print(str(error))
        print(f"{len(errors)} problem(s) in {study_dir}", file=sys.stderr)
        return ExitStatus.INVALID_INPUT
    if unmappable is not None:
        for line in unmappable.lines() if said else ():
            print(f"error: {line}", file=sys.stderr)
        print(f"{len(unmappable.problems)} raw value(s) of {export_dir} cannot be mapped", file=sys.stderr)
        return ExitStatus.INVALID_INPUT
    if args.values:
        print(f"{study_dir}: specs OK; every value of {export_dir} maps ({records} records)", file=said or sys.stderr)
        return ExitStatus.OK
    print(f"{study_dir}: specs OK", file=said or sys.stderr)
    return ExitStatus.OK


def _write_lint_report(args: argparse.Namespace, errors: Sequence[SpecError], unmappable: DataErrors | None) -> None:
    """Lint's problems in ``--format`` (the general report writers, ``validation.lint_report``) to
    ``-o FILE``, else to stdout."""
    from daybreak_sdtm.report import write_report
    from daybreak_sdtm.validation import lint_report

    report = lint_report(errors, unmappable.problems if unmappable is not None else ())
    if args.output is None:
        write_report(report, args.format, sys.stdout)
        return
    _write_report_file(args.output, lambda out: write_report(report, args.format, out))
    print(f"{args.format} report -> {args.output}", file=sys.stderr)


def cmd_sdrg(args: argparse.Namespace) -> int:
    """Write the conformance section of a reviewer's guide: the package's findings by rule, with the
    study's explanations (dispositions), as Markdown or HTML."""
    from daybreak_sdtm.gx import warm

    warm()
    from daybreak_sdtm import api
    from daybreak_sdtm.report.sdrg import render_sdrg_html, render_sdrg_markdown

    with _progress(args):
        result = api.validate(args.dir, None, args.study, None, None)
    report = api.with_dispositions(result.report, args.dispositions or api.study_dispositions(args.study, args.dir))
    text = render_sdrg_html(report) if args.format == "html" else render_sdrg_markdown(report)
    if args.output is None:
        sys.stdout.write(text)
    else:

        def write(out: TextIO) -> None:
            out.write(text)

        _write_report_file(args.output, write)
        print(f"{args.format} conformance section -> {args.output}")
    return ExitStatus.OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Print a check's documentation and the rules it implements."""
    from daybreak_sdtm.validation import explain

    sys.stdout.write(explain(args.code))
    return ExitStatus.OK


def cmd_list_checks(args: argparse.Namespace) -> int:
    """List the validation checks: id, name, severity, summary, and the published rules each implements."""
    from daybreak_sdtm.validation import list_checks

    for code, name, severity, summary, official in list_checks():
        rules = " ".join(official.ids) if official.ids else "no published counterpart"
        print(f"{code}  {name:<40} {severity:<7}  {summary}  [{rules}]")
    return ExitStatus.OK


def cmd_define(args: argparse.Namespace) -> int:
    """(Re)generate define.xml (Define-XML 2.1) and define.html of an existing package.

    The define is built from the package's XPT files and the mapping specs, validated against the
    Define-XML 2.1 schema, and written in place; an invalid define is an error and nothing is written.
    """
    from daybreak_sdtm import api

    result = api.define(args.study, args.package, timestamp=args.timestamp, out_dir=args.out)
    print(result.study, file=sys.stderr)
    print(
        f"define.xml: {result.datasets} datasets, {result.variables} variables, {result.codelists} codelists, "
        f"{result.value_lists} value lists; valid Define-XML 2.1"
    )
    for path in result.files:
        print(f"  {path}")
    return ExitStatus.OK


def cmd_spec_export(args: argparse.Namespace) -> int:
    """Write the study's define metadata as a spec workbook (.xlsx) in the Pinnacle 21 define template's
    layout: sheets Study, Datasets, Variables, ValueLevel, WhereClauses, Codelists, Dictionaries,
    Methods, Comments and Documents, from the define the study gives (what define.xml says).

    The define needs the data (lengths, the terms used): the export is mapped in memory (--export,
    default the bundled sample export), or a converted package's files are read (--package).
    """
    from daybreak_sdtm import api

    result = api.spec_export(args.output, args.study, args.export, args.package)
    print(
        f"{result.path}: {result.datasets} datasets, {result.variables} variables, {result.value_level} "
        f"value-level items, {result.codelists} codelists (data: {result.data})"
    )
    return ExitStatus.OK


def cmd_spec_import(args: argparse.Namespace) -> int:
    """Bring a spec workbook's edits (or an existing define.xml 2.0 / 2.1) back into the study.

    Labels, origins, methods, comments, codelists and value-level items that differ from what the
    specs and the data give are written to the study's metadata file (study.yaml's metadata:, else
    metadata.yaml beside it), which convert and define apply to define.xml. What comes from the data
    or the standards (lengths, data types, keys) is not imported and is listed, and so is a row of
    the specs deleted from the workbook (it stays); a row the sponsor added and deleted is deleted.
    Dataset and variable labels are the XPT and Dataset-JSON files' too. A bad workbook (a missing
    sheet, an unknown column, a variable not in the study, an origin type Define-XML 2.1 does not
    have, a label over 40 characters or not ASCII, a term the data hold deleted from its codelist)
    is reported by sheet, row and column, exit status 3, and nothing is written.
    """
    from daybreak_sdtm import api

    result = api.spec_import(args.file, args.study, args.export, args.package)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"{result.path}: {result.datasets} datasets, {result.variables} variables, {result.value_level} "
        f"value-level items, {result.methods} methods, {result.comments} comments, {result.codelists} codelists edited"
    )
    return ExitStatus.OK


def cmd_sample_export(args: argparse.Namespace) -> int:
    """Write a synthetic EDC export of a bundled study (Daybreak-01, or MERIDIAN-02 with --study)."""
    from daybreak_sdtm import api

    if args.subjects is not None and args.subjects < 1:
        raise DaybreakError("--subjects must be at least 1")
    with _progress(args):
        sample = api.sample_export(args.dir, subjects=args.subjects, seed=args.seed, study=args.study)
    print(f"{sample.study} sample export, {sample.subjects} subjects, seed {sample.seed} -> {args.dir}")
    counts = sample.counts
    _print_table(sorted(counts.items()), ("form", "records"), sys.stdout)
    return ExitStatus.OK


def cmd_trace(args: argparse.Namespace) -> int:
    """Show an SDTM record and the raw export record it was made from."""
    from daybreak_sdtm import api

    for hit in api.trace(args.dataset, args.usubjid, args.seq, args.package, args.export):
        print(f"{hit.dataset} record:")
        for key, value in hit.record.items():
            shown = (
                ""
                if value is None or value != value
                else (int(value) if isinstance(value, float) and value.is_integer() else value)
            )
            print(f"  {key:<8} {shown}")
        for file, record, values in hit.sources:
            print(f"from {file} record {record}:")
            for key, value in values.items():
                print(f"  {key:<12} {value}")
    return ExitStatus.OK


def cmd_list_derivations(args: argparse.Namespace) -> int:
    """List the derivations a mapping spec can name."""
    from daybreak_sdtm.derive import DERIVATIONS

    for name, deriv in sorted(DERIVATIONS.items()):
        print(f"{name}: {deriv.doc.splitlines()[0]}")
        for pname, param in deriv.params.items():
            opt = "" if param.required else " (optional)"
            print(f"    {pname}{opt}: {param.kind.value}; {param.doc}")
        if deriv.decodes is not None:
            print(
                f"    (writes the decode of the {deriv.decodes.code} variable's codes through {deriv.decodes.source})"
            )
    return ExitStatus.OK


def cmd_lint_files(args: argparse.Namespace) -> int:
    """Lint the studies mapping files belong to, each once: a file's study is the nearest folder
    holding study.yaml, from the file's own folder up.

    For pre-commit (.pre-commit-hooks.yaml), which passes the changed files: a change to one domain
    spec lints its whole study, as the domains refer to each other. Prints one file:line:col
    message per problem (and one for a file outside any study folder); exit 3 when there is any,
    0 otherwise. The export's headers are not checked: `lint STUDY_DIR --export DIR` does that.
    """
    from daybreak_sdtm.validation import lint, study_folder

    studies: dict[Path, Path] = {}  # resolved -> as given
    problems = 0
    for file in args.files:
        folder = study_folder(file)
        if folder is None:
            print(f"{file.as_posix()}: not part of a study (no {STUDY_FILE} in its folder or above)")
            problems += 1
        else:
            studies.setdefault(folder.resolve(), folder)
    for folder in studies.values():
        errors = lint(folder, None)
        for error in errors:
            print(str(error))
        if errors:
            print(f"{len(errors)} problem(s) in {folder.as_posix()}", file=sys.stderr)
        else:
            print(f"{folder.as_posix()}: specs OK")
        problems += len(errors)
    return ExitStatus.INVALID_INPUT if problems else ExitStatus.OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print (or write, with -o) the JSON Schema (Draft 7) of study.yaml, of a domain spec, or of a
    trial design file that study.yaml names, for editors (the YAML language server) and CI.

    It is made from this version's vocabulary: the keys the spec loader reads and the derivation
    registry, every derivation with its parameters, so an editor completes and checks names and
    keys as they are typed. What a schema cannot know (codelists, raw columns, the variables of
    other domains) is for `lint`.
    """
    from daybreak_sdtm.spec.schema import schema_text

    text = schema_text(args.which)
    if args.output is None:
        sys.stdout.write(text)
        return ExitStatus.OK

    def write(out: TextIO) -> None:
        out.write(text)

    _write_report_file(args.output, write)
    print(f"{args.which} schema -> {args.output}")
    return ExitStatus.OK


def cmd_ct_import(args: argparse.Namespace) -> int:
    """Check an NCI EVS SDTM Terminology release file and store it for use by date.

    FILE is the tab-delimited 'SDTM Terminology.txt' NCI EVS publishes for each CDISC SDTM CT
    release (or the same gzip-compressed). Its release date comes from --date, else from the file
    name ('SDTM Terminology 2025-03-28.txt'). The file is checked whole first (columns, field
    counts, Codelist Extensible values, terms naming unknown codelists; each problem with its
    line); nothing is stored when it has problems. study.yaml's 'ct:' and 'validate --ct' then
    find the release by its date.
    """
    from daybreak_sdtm import api

    summary = api.ct_import(args.file, date=args.date, store=args.store)
    replaces = " (used instead of the bundled release of that date)" if summary.replaces_bundled else ""
    print(f"CT {summary.date}: {summary.codelists:,} codelists, {summary.terms:,} terms -> {summary.source}{replaces}")
    return ExitStatus.OK


def cmd_ct_list(args: argparse.Namespace) -> int:
    """List the CT releases that study.yaml's 'ct:' and 'validate --ct' can name: bundled and imported."""
    from daybreak_sdtm import api

    rows = []
    for r in api.ct_list(store=args.store):
        origin = "imported (replaces bundled)" if r.replaces_bundled else r.origin
        rows.append((r.date, origin, r.codelists, r.terms, str(r.source)))
    _print_table(rows, ("release", "origin", "codelists", "terms", "file"), sys.stdout)
    return ExitStatus.OK


def _path(text: str) -> Path:
    return Path(text)


def _encoding(text: str) -> str:
    from daybreak_sdtm.codec import codec_name

    try:
        return codec_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _study_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--study",
        type=_path,
        default=None,
        metavar="DIR",
        help="mapping spec folder with study.yaml (default: the bundled Daybreak-01 mapping)",
    )


def _timestamp_option(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument(
        "--timestamp",
        default=None,
        metavar="ISO8601",
        help=f"creation time written into {where} (default: SOURCE_DATE_EPOCH if set, else now)",
    )


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _report_options(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument(
        "--max-per-rule",
        type=_count,
        default=None,
        metavar="N",
        help=f"findings detailed per rule in {where}, each rule with its exact counts "
        f"(default: 5 in text, 100 in HTML); JSON and JUnit list every finding",
    )


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line on stderr (it is shown only when stderr is a terminal)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="daybreak-sdtm",
        description="Turn raw clinical-trial exports into CDISC SDTM packages (XPT v5) with mapping specs.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        return _subcommand(sub, name, fn, help_text)

    p = add("convert", cmd_convert, "convert a raw export into an SDTM package")
    _study_option(p)
    p.add_argument(
        "--export",
        type=_path,
        default=None,
        metavar="DIR",
        help="raw export folder (default: the bundled Daybreak-01 sample export)",
    )
    p.add_argument(
        "--out",
        type=_path,
        default=Path("sdtm-out"),
        metavar="DIR",
        help="package folder (default: ./sdtm-out): a new or empty folder, or a package written "
        "before by convert, which is then replaced atomically; anything else is refused",
    )
    _timestamp_option(p, "the files")
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default="error",
        help="validation findings at or above this severity stop the publication (default: error); "
        "'never' publishes with validation.json/html beside the data",
    )
    p.add_argument(
        "--encoding",
        type=_encoding,
        default=None,
        metavar="CODEC",
        help="text encoding of the raw export, e.g. cp1252 (default: study.yaml export: encoding:, else utf-8)",
    )
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        default=None,
        metavar="FORMATS",
        help="dataset files to write: xpt (SAS XPT v5, the default), json and/or ndjson (CDISC "
        "Dataset-JSON v1.1), comma-separated or repeated; with several, each is read back and must "
        "hold the same records as the others",
    )
    p.add_argument(
        "--max-dataset-size",
        default="5GB",
        metavar="SIZE",
        help="an XPT file over this size (5GB, 500MB, 20KB, or bytes; default FDA's 5GB) is also "
        "written split in record order into split/<name>1.xpt, <name>2.xpt ... under it, with the "
        "same variables and lengths, as FDA's Technical Conformance Guide asks",
    )
    p.add_argument(
        "--xlsx-report",
        action="store_true",
        help="also publish the findings as validation.xlsx, an Excel workbook in CDISC CORE's sheet layout",
    )
    _report_options(p, "the findings printed and validation.html")
    _quiet_option(p)

    p = add("validate", cmd_validate, "validate an SDTM package folder of XPT files")
    p.add_argument("dir", type=_path, metavar="DIR", help="package folder holding the .xpt files")
    p.add_argument(
        "--define",
        type=_path,
        default=None,
        metavar="FILE",
        help="define.xml to check against the data (default: DIR/define.xml when present)",
    )
    p.add_argument(
        "--study",
        type=_path,
        default=None,
        metavar="DIR",
        help="mapping spec folder: adds its protocol checks, epochs and value-level codelists "
        "(default: the copy of the specs a package written by convert carries in DIR/mapping)",
    )
    p.add_argument(
        "--sdtmig",
        default=None,
        choices=KNOWN_SDTMIG,
        metavar="VERSION",
        help=f"SDTMIG version the package follows, one of {', '.join(KNOWN_SDTMIG)} (default: the version "
        "its define.xml declares, else the study's, else 3.4); it is checked against the bundled "
        "SDTMIG 3.4 metadata and what differs between the versions is reported as notes",
    )
    p.add_argument(
        "--ct",
        default=None,
        metavar="DATE",
        help="CT release date, bundled or imported with 'ct import' (default: the study's; 'ct list' lists them)",
    )
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default="error",
        help="lowest severity that makes the exit status 1 (default: error)",
    )
    p.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="report format (default: text); sarif is SARIF 2.1.0 for code-review tools, each finding at "
        "its dataset file or spec line; xlsx (an Excel workbook in CDISC CORE's sheet layout) needs -o FILE",
    )
    p.add_argument(
        "-o", "--output", type=_path, default=None, metavar="FILE", help="write the report here (default: stdout)"
    )
    p.add_argument(
        "--encoding",
        type=_encoding,
        default=None,
        metavar="CODEC",
        help="text encoding of the XPT files, e.g. cp1252 (default: utf-8, and Windows-1252 for a "
        "file whose text is not UTF-8, reported as DB113)",
    )
    p.add_argument(
        "--max-dataset-size",
        default="5GB",
        metavar="SIZE",
        help="the largest XPT file FDA takes unsplit (5GB, 500MB, 20KB, or bytes; default FDA's 5GB): a "
        "larger one without its parts in split/, named in define.xml, is reported (DB703)",
    )
    p.add_argument(
        "--dispositions",
        type=_path,
        default=None,
        metavar="FILE",
        help="the study's dispositions of findings (YAML; default: dispositions.yaml of --study, else of "
        "the mapping the package carries): explained and false-positive findings do not fail --fail-on",
    )
    p.add_argument(
        "--baseline",
        type=_path,
        default=None,
        metavar="OLD.json",
        help="an earlier run's JSON report (validation.json): mark each finding new or persisting by its "
        "fingerprint (rule, dataset, variable, the record's key values) and list those resolved since",
    )
    _report_options(p, "text and HTML reports")
    _quiet_option(p)

    p = add("lint", cmd_lint, "check mapping specs without converting")
    p.add_argument(
        "study_dir",
        type=_path,
        nargs="?",
        default=None,
        metavar="STUDY_DIR",
        help="mapping spec folder with study.yaml (default: the bundled Daybreak-01 mapping)",
    )
    p.add_argument(
        "--export",
        type=_path,
        default=None,
        metavar="DIR",
        help="raw export folder whose headers the specs must match (default: the bundled export "
        "for the bundled mapping; none otherwise)",
    )
    p.add_argument(
        "--values",
        action="store_true",
        help="also map every raw value of the export (nothing is written) and report what cannot be "
        "mapped, grouped by cause with counts and examples",
    )
    p.add_argument(
        "--format",
        choices=LINT_FORMATS,
        default="text",
        help="text (file:line:col lines, the default) or sarif (SARIF 2.1.0, each problem at its spec "
        "line, for code-review tools)",
    )
    p.add_argument(
        "-o", "--output", type=_path, default=None, metavar="FILE", help="write the report here (default: stdout)"
    )

    p = add("sdrg", cmd_sdrg, "write a reviewer's guide conformance section (findings with their explanations)")
    p.add_argument("dir", type=_path, metavar="DIR", help="package folder")
    _study_option(p)
    p.add_argument(
        "--dispositions",
        type=_path,
        default=None,
        metavar="FILE",
        help="the study's dispositions (default: dispositions.yaml of --study, else of the package's mapping)",
    )
    p.add_argument("--format", choices=("markdown", "html"), default="markdown", help="default: markdown")
    p.add_argument("-o", "--output", type=_path, default=None, metavar="FILE", help="default: stdout")
    _quiet_option(p)

    p = add("explain", cmd_explain, "print a validation check's documentation")
    p.add_argument("code", metavar="CHECK", help="check id (DB201) or name (ct.value_in_codelist)")
    add("list-checks", cmd_list_checks, "list the validation checks")

    p = add("define", cmd_define, "(re)generate define.xml and define.html of a package")
    p.add_argument(
        "--study",
        type=_path,
        default=None,
        metavar="DIR",
        help="mapping spec folder with study.yaml (default: the copy of the specs the package carries)",
    )
    p.add_argument(
        "--package",
        type=_path,
        default=Path("sdtm-out"),
        metavar="DIR",
        help="package folder holding the .xpt files (default: ./sdtm-out)",
    )
    p.add_argument(
        "--out",
        type=_path,
        default=None,
        metavar="DIR",
        help="folder to write define.xml and define.html into (default: the package folder; "
        "define files there that daybreak-sdtm did not write are never replaced)",
    )
    _timestamp_option(p, "define.xml")

    p = add("sample-export", cmd_sample_export, "write a synthetic EDC export of a bundled study")
    p.add_argument(
        "dir",
        type=_path,
        metavar="DIR",
        help="folder to write the CSV forms into: a new or empty one, or an earlier sample export",
    )
    p.add_argument(
        "--study",
        choices=("daybreak-01", "meridian-02"),
        default="daybreak-01",
        help="which bundled study (default: daybreak-01)",
    )
    p.add_argument(
        "--subjects", type=int, default=None, metavar="N", help="number of subjects (default: 32; MERIDIAN-02: 48)"
    )
    p.add_argument(
        "--seed", type=int, default=None, metavar="S", help="random seed (default: 20251004; MERIDIAN-02: 20250303)"
    )
    _quiet_option(p)

    p = add("trace", cmd_trace, "show where an SDTM record came from in the raw export")
    p.add_argument("dataset", metavar="DATASET", help="dataset name, e.g. AE or SUPPAE")
    p.add_argument("usubjid", metavar="USUBJID", help="unique subject identifier")
    p.add_argument(
        "seq", nargs="?", default=None, metavar="SEQ", help="--SEQ (IDVARVAL for SUPP--); all records when omitted"
    )
    p.add_argument(
        "--package", type=_path, default=Path("sdtm-out"), metavar="DIR", help="package folder (default: ./sdtm-out)"
    )
    p.add_argument(
        "--export",
        type=_path,
        default=None,
        metavar="DIR",
        help="raw export folder the package was converted from, checked against the SHA-256 in "
        "its manifest.json (default: the bundled sample export, when it is that one)",
    )

    add("list-derivations", cmd_list_derivations, "list the derivations mapping specs can name")

    p = add("schema", cmd_schema, "print the JSON Schema of study.yaml, a domain spec or a trial design file")
    p.add_argument(
        "which",
        nargs="?",
        choices=SCHEMAS,
        default="study",
        help="study (study.yaml), domain (a domain spec) or design (a trial design file); default: study",
    )
    p.add_argument("-o", "--output", type=_path, default=None, metavar="FILE", help="write it here (default: stdout)")

    p = add("lint-files", cmd_lint_files, "lint the studies mapping spec files belong to (the pre-commit hook)")
    p.add_argument(
        "files",
        type=_path,
        nargs="+",
        metavar="FILE",
        help="mapping spec files (study.yaml, domain specs, a trial design file); each study is linted once",
    )

    _spec_commands(sub)

    ct_sub = _command_group(
        sub,
        "ct",
        "CDISC controlled terminology releases: import, list",
        "CDISC SDTM controlled terminology releases, bundled and imported.",
    )
    store_help = "user store folder (default: $DAYBREAK_SDTM_HOME, else ~/.local/share/daybreak-sdtm)"
    p = _subcommand(ct_sub, "import", cmd_ct_import, "check and store an NCI EVS SDTM Terminology file")
    p.add_argument(
        "file", type=_path, metavar="FILE", help="'SDTM Terminology.txt' as NCI EVS publishes it (.txt or .txt.gz)"
    )
    p.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="release date (default: the date in FILE's name)")
    p.add_argument("--store", type=_path, default=None, metavar="DIR", help=store_help)
    p = _subcommand(ct_sub, "list", cmd_ct_list, "list the CT releases there are")
    p.add_argument("--store", type=_path, default=None, metavar="DIR", help=store_help)
    return parser


def _command_group(sub: Any, name: str, help_text: str, description: str) -> Any:
    """A command with commands of its own (``ct import``, ``spec export``): their subparsers."""
    group = sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    commands.required = True
    return commands


def _subcommand(
    commands: Any, name: str, fn: Callable[[argparse.Namespace], int], help_text: str
) -> argparse.ArgumentParser:
    """One command (of the program, or of a group), described by its function's docstring."""
    p: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=fn.__doc__,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=fn)
    return p


def _spec_commands(sub: Any) -> None:
    """``spec export`` and ``spec import``: the study's define metadata as a spec workbook and back."""
    spec_sub = _command_group(
        sub,
        "spec",
        "the study's define metadata as a spec workbook (.xlsx) and back: export, import",
        "The study's define metadata in the Pinnacle 21 define template's layout, and back.",
    )

    def data_options(p: argparse.ArgumentParser) -> None:
        data = p.add_mutually_exclusive_group()
        data.add_argument(
            "--export",
            type=_path,
            default=None,
            metavar="DIR",
            help="raw export the define's lengths and terms are read from, mapped in memory (default: "
            "the bundled sample export)",
        )
        data.add_argument(
            "--package", type=_path, default=None, metavar="DIR", help="a converted package to read them from instead"
        )

    p = _subcommand(spec_sub, "export", cmd_spec_export, "write the study's define metadata as a spec workbook")
    _study_option(p)
    data_options(p)
    p.add_argument("-o", "--output", type=_path, required=True, metavar="FILE", help="the workbook to write (.xlsx)")
    p = _subcommand(
        spec_sub, "import", cmd_spec_import, "bring a spec workbook's (or a define.xml's) metadata back into the study"
    )
    p.add_argument("file", type=_path, metavar="FILE", help="a spec workbook (.xlsx) or a define.xml (2.0 or 2.1)")
    p.add_argument(
        "--study", type=_path, required=True, metavar="DIR", help="mapping spec folder whose metadata file is written"
    )
    data_options(p)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors are printed without a traceback and mapped to exit codes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DaybreakError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return int(exc.exit_status)
    except KeyboardInterrupt:  # Ctrl-C: a temporary package or report is removed on the way out
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
