"""The terminal report: findings grouped by rule (exact counts, a few example lines each), then a summary.

An example line starts with the spec's file:line:col when it is known, so an editor can jump to it.
"""

from __future__ import annotations

from collections import Counter

from daybreak_sdtm.findings import DEFAULT_TEXT_EXAMPLES, Finding, Report, RuleGroup, Severity
from daybreak_sdtm.report.rules import implements_line

MORE_HINT = "--max-per-rule N shows more; --format json lists every finding"


def finding_where(f: Finding) -> str:
    """``AE.AESEV row 2 USUBJID=X SEQ=1``: the dataset, variable and record a finding is about
    (``package`` when it is about the package as a whole)."""
    where = f"{f.dataset}.{f.variable}" if f.variable else f.dataset or "package"
    if f.row is not None:
        where += f" row {f.row}"
    if f.usubjid:
        where += f" USUBJID={f.usubjid}"
    if f.seq is not None:
        where += f" SEQ={f.seq}"
    return where


def finding_text(f: Finding) -> str:
    """``AE.AESEV row 2 USUBJID=X SEQ=1: message [ae.csv record 3]`` (and the disposition, when there is one)."""
    text = f"{finding_where(f)}: {f.message}"
    if f.source:
        text += f" [{f.source}]"
    if f.disposition:
        text += f" ({f.disposition}: {f.explanation})"
    return text


def finding_line(f: Finding) -> str:
    """``ae.yaml:9:12: DB201 error: AE.AESEV row 2 USUBJID=X AESEQ=1: message [ae.csv record 3]``."""
    text = f"{f.rule} {f.severity}: {finding_text(f)}"
    return f"{f.spec}: {text}" if f.spec else text


def group_header(group: RuleGroup) -> str:
    """``DB106 range.value_in_range: 199971 error(s); EX 199971`` (the check's name when it is registered)."""
    from daybreak_sdtm.checks import CHECKS

    check = CHECKS.get(group.rule)
    name = f"{group.rule} {check.name}" if check is not None else group.rule
    severities = ", ".join(f"{n} {sev}(s)" for sev, n in group.by_severity.items())
    datasets = ", ".join(f"{ds or 'package'} {n}" for ds, n in group.by_dataset.items())
    return f"{name}: {severities}; {datasets}"


def render_summary(report: Report) -> str:
    """Counts by severity, and by rule and dataset for the findings present."""
    s = report.summary()
    lines = [
        f"validation: {s['error']} error(s), {s['warning']} warning(s), {s['note']} note(s) in "
        f"{len(s['datasets'])} dataset(s)"
    ]
    pairs = Counter((f.rule, f.severity, f.dataset) for f in report.findings)
    for (rule, sev, dataset), n in sorted(pairs.items(), key=lambda kv: (-kv[0][1], kv[0][0], kv[0][2])):
        lines.append(f"  {rule} {sev!s:<7} {dataset or '-':<8} {n}")
    said = s.get("dispositions") or {}
    if said:
        lines.append("dispositions: " + ", ".join(f"{n} {status}" for status, n in said.items()))
    for entry in report.unmatched_dispositions:
        lines.append(f"disposition matches no finding: {entry}")
    if report.baseline is not None:
        b = report.baseline.summary()
        lines.append(f"against the baseline: {b['new']} new, {b['persisting']} persisting, {b['resolved']} resolved")
    return "\n".join(lines)


def render_text(
    report: Report,
    threshold: Severity = Severity.NOTE,
    max_per_rule: int = DEFAULT_TEXT_EXAMPLES,
    more_hint: str = MORE_HINT,
) -> str:
    """The findings at or above ``threshold`` by rule: a header with the rule's exact counts per
    severity and dataset, the published rules it implements, at most ``max_per_rule`` finding lines, and how many are not shown; then
    the summary of every finding.

    Args:
        report: The validation report.
        threshold: Lowest severity listed (the summary counts every finding).
        max_per_rule: Finding lines shown per rule.
        more_hint: Where the findings not shown can be seen, said after their count.
    """
    blocks = []
    for group in report.by_rule(max_per_rule, threshold):
        official = implements_line(group.rule)
        lines = [
            group_header(group),
            *([f"  {official}"] if official else []),
            *(finding_line(f) for f in group.examples),
        ]
        if group.not_shown:
            lines.append(f"... {group.not_shown} more {group.rule} finding(s) not shown ({more_hint})")
        blocks.append("\n".join(lines))
    blocks.append(render_summary(report))
    return "\n\n".join(blocks) + "\n"
