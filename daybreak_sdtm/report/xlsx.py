"""The validation report as an Excel workbook, in the sheet layout of CDISC CORE's report.

Sheets: Conformance Details (what was validated against what), Dataset Details (each dataset's
records), Issue Summary (findings per dataset and rule), Issue Details (one row per finding,
with the CORE, CDISC and FDA rule ids beside our check id) and Rules Report (every check run,
with the rules it implements). Written with XlsxWriter in constant-memory mode, row by row: a
report of 300,000 findings never sits in memory as a workbook.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from daybreak_sdtm import __version__
from daybreak_sdtm.findings import Report
from daybreak_sdtm.report.rules import implements_of

SHEETS = ("Conformance Details", "Dataset Details", "Issue Summary", "Issue Details", "Rules Report")
ISSUE_COLUMNS = (
    "Check",
    "CORE-ID",
    "CDISC RuleID",
    "FDA RuleID",
    "Message",
    "Severity",
    "Dataset Name",
    "USUBJID",
    "Record",
    "Sequence",
    "Variables",
    "Values",
    "Source",
    "Spec",
    "Fingerprint",
    "Disposition",
    "Explanation",
)


def rule_ids(code: str, core: str = "") -> tuple[str, str, str]:
    """The CORE, CDISC and FDA ids (comma-separated) check ``code`` declares it implements; for a
    finding of a rule-table check (``core`` given), those of its CORE rule alone."""
    if core:
        from daybreak_sdtm.checks.rule_table import rule_of

        row = rule_of(core)
        return (core, ", ".join(row.cdisc), ", ".join(row.fda)) if row is not None else (core, "", "")
    official = implements_of(code)
    if official is None:
        return "", "", ""
    return ", ".join(official.core), ", ".join(official.cdisc), ", ".join(official.fda)


def write_xlsx(
    report: Report, path: Path, title: str = "SDTM validation report", sizes: dict[str, int] | None = None
) -> None:
    """Write the workbook to ``path`` (``sizes``: dataset -> file bytes, for Dataset Details)."""
    import xlsxwriter  # type: ignore[import-untyped]

    from daybreak_sdtm.checks import CHECKS

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    try:
        bold = book.add_format({"bold": True})

        def sheet(name: str, header: tuple[str, ...]) -> Any:
            ws = book.add_worksheet(name)
            ws.write_row(0, 0, header, bold)
            ws.freeze_panes(1, 0)
            return ws

        summary = report.summary()
        ws = sheet("Conformance Details", ("Item", "Value"))
        rows: list[tuple[str, Any]] = [
            ("Report", title),
            ("Engine", f"daybreak-sdtm {__version__}"),
            ("Report Generation", dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()),
            ("Standards", report.standards),
            ("Datasets", len(report.datasets)),
            ("Findings", summary["total"]),
            ("Errors", summary["error"]),
            ("Warnings", summary["warning"]),
            ("Notes", summary["note"]),
        ]
        for i, (item, value) in enumerate(rows, start=1):
            ws.write_row(i, 0, (item, value))

        ws = sheet("Dataset Details", ("Dataset Name", "File Size", "Findings"))
        by_dataset = summary["by_dataset"]
        for i, name in enumerate(report.datasets, start=1):
            ws.write_row(i, 0, (name, (sizes or {}).get(name, ""), by_dataset.get(name, 0)))

        ws = sheet("Issue Summary", ("Dataset Name", "Check", "CORE-ID", "Message", "Severity", "Issues"))
        groups = Counter((f.dataset, f.rule, f.core, f.severity) for f in report.findings)
        first_message: dict[tuple[str, str, str, Any], str] = {}
        for f in report.findings:
            first_message.setdefault((f.dataset, f.rule, f.core, f.severity), f.message)
        for i, ((dataset, rule, core_id, severity), n) in enumerate(
            sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])), 1
        ):
            ws.write_row(
                i,
                0,
                (
                    dataset,
                    rule,
                    rule_ids(rule, core_id)[0],
                    first_message[(dataset, rule, core_id, severity)],
                    str(severity),
                    n,
                ),
            )

        ws = sheet("Issue Details", ISSUE_COLUMNS)
        ids = {key: rule_ids(*key) for key in {(f.rule, f.core) for f in report.findings}}
        for i, f in enumerate(report.findings, start=1):
            core, cdisc, fda = ids[(f.rule, f.core)]
            ws.write_row(
                i,
                0,
                (
                    f.rule,
                    core,
                    cdisc,
                    fda,
                    f.message,
                    str(f.severity),
                    f.dataset,
                    f.usubjid,
                    f.row if f.row is not None else "",
                    f.seq if f.seq is not None else "",
                    f.variable,
                    f.value,
                    f.source,
                    f.spec,
                    f.fingerprint,
                    f.disposition,
                    f.explanation,
                ),
            )

        ws = sheet(
            "Rules Report", ("Check", "Name", "Severity", "CORE-ID", "CDISC RuleID", "FDA RuleID", "Issues", "Status")
        )
        by_rule = summary["by_rule"]
        for i, (code, check) in enumerate(sorted(CHECKS.items()), start=1):
            core, cdisc, fda = rule_ids(code)
            n = by_rule.get(code, 0)
            ws.write_row(
                i, 0, (code, check.name, str(check.severity), core, cdisc, fda, n, "ISSUES" if n else "SUCCESS")
            )
    finally:
        book.close()
