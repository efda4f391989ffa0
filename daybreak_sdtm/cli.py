"""The command line: argument parsing and printing only; the work is in ``daybreak_sdtm.api``.

Heavy libraries (pandas, pyreadstat, great-expectations) are imported by the commands that use
them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from daybreak_sdtm import __version__
from daybreak_sdtm.errors import DaybreakError, ExitStatus

EXIT_CODES = """exit status:
  0  success
  1  findings at or above --fail-on
  2  usage error (bad options)
  3  unusable input: missing or malformed export, spec or standards
  4  the package could not be written"""


def _print_table(rows: Sequence[Sequence[object]], headers: Sequence[str], out: TextIO) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    numeric = [all(isinstance(r[j], int) for r in rows) and bool(rows) for j in range(len(headers))]
    for i, row in enumerate([headers, *rows]):
        cells = (str(v).rjust(w) if numeric[j] else str(v).ljust(w) for j, (v, w) in enumerate(zip(row, widths)))
        print("  ".join(cells).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert a raw export into an SDTM package."""
    from daybreak_sdtm import api

    result = api.convert(args.study, args.export, args.out, timestamp=args.timestamp)
    for warning in result.build.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{result.study.studyid}: SDTMIG {result.standards.sdtmig_version}, CT {result.standards.ct_version} -> {result.out_dir}")
    _print_table([(d.name, d.records, d.variables, d.file) for d in result.datasets],
                 ("dataset", "records", "variables", "file"), sys.stdout)
    return ExitStatus.OK


def cmd_sample_export(args: argparse.Namespace) -> int:
    """Write a synthetic Daybreak-01 EDC export."""
    from daybreak_sdtm import api

    if args.subjects < 1:
        raise DaybreakError("--subjects must be at least 1")
    counts = api.sample_export(args.dir, subjects=args.subjects, seed=args.seed)
    print(f"Daybreak-01 sample export, {args.subjects} subjects, seed {args.seed} -> {args.dir}")
    _print_table(sorted(counts.items()), ("form", "records"), sys.stdout)
    return ExitStatus.OK


def cmd_trace(args: argparse.Namespace) -> int:
    """Show an SDTM record and the raw export record it was made from."""
    from daybreak_sdtm import api

    for hit in api.trace(args.dataset, args.usubjid, args.seq, args.package, args.export):
        print(f"{hit.dataset} record:")
        for key, value in hit.record.items():
            shown = "" if value is None or value != value else (int(value) if isinstance(value, float) and value.is_integer() else value)
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
    return ExitStatus.OK


def _path(text: str) -> Path:
    return Path(text)


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
        p = sub.add_parser(name, help=help_text, description=fn.__doc__, epilog=EXIT_CODES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=fn)
        return p

    p = add("convert", cmd_convert, "convert a raw export into an SDTM package")
    p.add_argument("--study", type=_path, default=None, metavar="DIR",
                   help="mapping spec folder with study.yaml (default: the bundled Daybreak-01 mapping)")
    p.add_argument("--export", type=_path, default=None, metavar="DIR",
                   help="raw export folder (default: the bundled Daybreak-01 sample export)")
    p.add_argument("--out", type=_path, default=Path("sdtm-out"), metavar="DIR",
                   help="package folder, replaced atomically (default: ./sdtm-out)")
    p.add_argument("--timestamp", default=None, metavar="ISO8601",
                   help="creation time written into the files (default: SOURCE_DATE_EPOCH if set, else now)")

    p = add("sample-export", cmd_sample_export, "write a synthetic Daybreak-01 EDC export")
    p.add_argument("dir", type=_path, metavar="DIR", help="folder to write the CSV forms into")
    p.add_argument("--subjects", type=int, default=32, metavar="N", help="number of subjects (default: 32)")
    p.add_argument("--seed", type=int, default=20251004, metavar="S", help="random seed (default: 20251004)")

    p = add("trace", cmd_trace, "show where an SDTM record came from in the raw export")
    p.add_argument("dataset", metavar="DATASET", help="dataset name, e.g. AE or SUPPAE")
    p.add_argument("usubjid", metavar="USUBJID", help="unique subject identifier")
    p.add_argument("seq", nargs="?", default=None, metavar="SEQ", help="--SEQ (IDVARVAL for SUPP--); all records when omitted")
    p.add_argument("--package", type=_path, default=Path("sdtm-out"), metavar="DIR", help="package folder (default: ./sdtm-out)")
    p.add_argument("--export", type=_path, default=None, metavar="DIR",
                   help="raw export folder (default: the one recorded in the package manifest)")

    add("list-derivations", cmd_list_derivations, "list the derivations mapping specs can name")
    return parser


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
    except KeyboardInterrupt:
        print("interrupted; nothing was published", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
