"""The terminal report: one line per finding (file:line:col first when the spec is known), then a summary."""

from __future__ import annotations

from collections import Counter

from daybreak_sdtm.findings import Finding, Report, Severity

MAX_LINES = 200  # beyond this the terminal shows counts; the JSON/HTML reports keep everything


def finding_line(f: Finding) -> str:
    """``ae.yaml:9:12: DB201 error: AE.AESEV row 2 USUBJID=X AESEQ=1: message [ae.csv record 3]``."""
    where = f"{f.dataset}.{f.variable}" if f.variable else f.dataset or "package"
    if f.row is not None:
        where += f" row {f.row}"
    if f.usubjid:
        where += f" USUBJID={f.usubjid}"
    if f.seq is not None:
        where += f" SEQ={f.seq}"
    text = f"{f.rule} {f.severity}: {where}: {f.message}"
    if f.source:
        text += f" [{f.source}]"
    return f"{f.spec}: {text}" if f.spec else text


def render_summary(report: Report) -> str:
    """Counts by severity, and by rule and dataset for the findings present."""
    s = report.summary()
    lines = [f"validation: {s['error']} error(s), {s['warning']} warning(s), {s['note']} note(s) in "
             f"{len(s['datasets'])} dataset(s)"]
    pairs = Counter((f.rule, f.severity, f.dataset) for f in report.findings)
    for (rule, sev, dataset), n in sorted(pairs.items(), key=lambda kv: (-kv[0][1], kv[0][0], kv[0][2])):
        lines.append(f"  {rule} {str(sev):<7} {dataset or '-':<8} {n}")
    return "\n".join(lines)


def render_text(report: Report, threshold: Severity = Severity.NOTE) -> str:
    """Finding lines at or above ``threshold`` (at most MAX_LINES), then the summary."""
    shown = [f for f in report.findings if f.severity >= threshold]
    lines = [finding_line(f) for f in shown[:MAX_LINES]]
    if len(shown) > MAX_LINES:
        lines.append(f"... and {len(shown) - MAX_LINES} more (use --format json or html for all)")
    lines.append(render_summary(report))
    return "\n".join(lines) + "\n"
