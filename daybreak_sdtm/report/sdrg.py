"""The conformance section of a reviewer's guide (cSDRG section 4): the findings left, by rule, with their explanations.

One row per rule and explanation: the rule, its severity, what it checks (the check's name and
a message it gave), the datasets and number of findings, and the explanation the study's
dispositions give (explained, false positive, will fix), or "not explained" for a reviewer to
see at once what still needs words. Markdown to paste into a document, or a self-contained HTML
page; both list every rule with findings and nothing else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from html import escape

from daybreak_sdtm.findings import Finding, Report, Severity

NOT_EXPLAINED = "not explained"


@dataclass(frozen=True)
class SdrgRow:
    """One row of the conformance table."""

    rule: str
    check: str
    severity: Severity
    message: str
    datasets: dict[str, int]
    disposition: str
    explanation: str

    @property
    def count(self) -> int:
        """Number of findings the row stands for."""
        return sum(self.datasets.values())


def sdrg_rows(report: Report) -> list[SdrgRow]:
    """The table: findings grouped by rule and explanation, the most severe rules first."""
    from daybreak_sdtm.checks import CHECKS

    groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[(f.rule, f.disposition, f.explanation)].append(f)
    rows = []
    for (rule, disposition, explanation), found in groups.items():
        check = CHECKS.get(rule)
        rows.append(
            SdrgRow(
                rule,
                check.name if check is not None else "",
                max(f.severity for f in found),
                found[0].message,
                dict(sorted(Counter(f.dataset or "package" for f in found).items())),
                disposition or NOT_EXPLAINED,
                explanation,
            )
        )
    return sorted(rows, key=lambda r: (-r.severity, r.rule, r.disposition, r.explanation))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_sdrg_markdown(report: Report, title: str = "Conformance findings") -> str:
    """The table in Markdown (a pipe table), with a line of totals above it."""
    rows = sdrg_rows(report)
    unexplained = sum(r.count for r in rows if r.disposition == NOT_EXPLAINED)
    lines = [
        f"## {title}",
        "",
        f"{len(report.findings)} finding(s) of {len({r.rule for r in rows})} rule(s); {unexplained} not explained. "
        f"Checked against {report.standards}."
        if report.standards
        else f"{len(report.findings)} finding(s) of {len({r.rule for r in rows})} rule(s); {unexplained} not explained.",
        "",
        "| Rule | Severity | Finding | Datasets (findings) | Disposition | Explanation |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        datasets = ", ".join(f"{ds} ({n})" for ds, n in r.datasets.items())
        what = f"{r.check}: {r.message}" if r.check else r.message
        lines.append(
            f"| {r.rule} | {r.severity} | {_cell(what)} | {datasets} | {r.disposition} | {_cell(r.explanation)} |"
        )
    return "\n".join(lines) + "\n"


def render_sdrg_html(report: Report, title: str = "Conformance findings") -> str:
    """The table as a self-contained HTML page."""
    rows = sdrg_rows(report)
    body = []
    for r in rows:
        datasets = ", ".join(f"{escape(ds)} ({n})" for ds, n in r.datasets.items())
        what = escape(f"{r.check}: {r.message}" if r.check else r.message)
        css = ' class="open"' if r.disposition == NOT_EXPLAINED else ""
        body.append(
            f"<tr{css}><td>{escape(r.rule)}</td><td>{r.severity}</td><td>{what}</td><td>{datasets}</td>"
            f"<td>{escape(r.disposition)}</td><td>{escape(r.explanation)}</td></tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top}tr.open td{background:#fff3cd}</style></head>"
        f"<body><h1>{escape(title)}</h1><p>{len(report.findings)} finding(s); {escape(report.standards)}</p>"
        "<table><thead><tr><th>Rule</th><th>Severity</th><th>Finding</th><th>Datasets (findings)</th>"
        "<th>Disposition</th><th>Explanation</th></tr></thead><tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table></body></html>\n"
    )
