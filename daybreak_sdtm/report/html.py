"""A self-contained HTML page a data manager reads: summary by rule and dataset, findings by rule, check docs.

The summary counts every finding; the details are capped per rule (``max_per_rule``) so that a
package with hundreds of thousands of findings still gives a page a browser opens at once. The
page says how many findings of each rule it does not show and where the full list is.
"""

from __future__ import annotations

import io
from collections import Counter
from html import escape
from typing import TextIO

from daybreak_sdtm.findings import DEFAULT_HTML_DETAILS, Report

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.error{color:#a00;font-weight:bold}.warning{color:#a60}.note{color:#555}
tr.more td{font-style:italic;background:#fafafa}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5em}
"""

_COLUMNS = ("rule", "severity", "dataset", "variable", "row", "USUBJID", "SEQ", "value", "message", "source", "spec")


def write_html(
    report: Report,
    out: TextIO,
    title: str = "SDTM validation report",
    max_per_rule: int = DEFAULT_HTML_DETAILS,
    full_report: str | None = None,
) -> None:
    """Write the page; rule ids link to their documentation section further down the same page.

    Args:
        report: The validation report.
        out: Where the page goes.
        title: Page title and heading.
        max_per_rule: Findings detailed per rule; the summary counts them all.
        full_report: Relative link to the JSON report holding every finding (``validation.json``
            beside the page in a published package); None when there is none beside the page.
    """
    from daybreak_sdtm.checks import CHECKS

    s = report.summary()
    out.write(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>\n"
        f"<style>{_STYLE}</style></head><body>\n<h1>{escape(title)}</h1>\n"
        f"<p id='totals'><span class='error'>{s['error']} error(s)</span>, "
        f"<span class='warning'>{s['warning']} warning(s)</span>, <span class='note'>{s['note']} note(s)</span> "
        f"in {len(s['datasets'])} dataset(s): {escape(', '.join(s['datasets']))}</p>\n"
        + (f"<p id='standards'>Checked against: {escape(s['standards'])}</p>\n" if s["standards"] else "")
        + "<h2>Summary by rule and dataset</h2>\n<table id='summary'><tr><th>rule</th><th>severity</th>"
        "<th>dataset</th><th>findings</th><th>implements</th></tr>\n"
    )
    pairs = Counter((f.rule, str(f.severity), f.dataset) for f in report.findings)
    official = {rule: " ".join(CHECKS[rule].implements.ids) if rule in CHECKS else "" for rule, _, _ in pairs}
    out.writelines(
        f"<tr><td><a href='#{escape(rule)}'>{escape(rule)}</a></td><td class='{sev}'>{sev}</td>"
        f"<td>{escape(dataset)}</td><td>{n}</td><td>{escape(official[rule])}</td></tr>\n"
        for (rule, sev, dataset), n in sorted(pairs.items())
    )
    out.write("</table>\n<h2>Findings</h2>\n")

    groups = report.by_rule(max_per_rule)
    shown = sum(len(g.examples) for g in groups)
    if full_report is not None:
        where = f"<a class='full-report' href='{escape(full_report)}'>{escape(full_report)}</a>"
    else:
        where = "the JSON report (<code>daybreak-sdtm validate DIR --format json -o FILE</code>)"
    if shown < s["total"]:
        out.write(
            f"<p id='shown'>{shown} of {s['total']} findings shown, at most {max_per_rule} per rule; "
            f"every finding is in {where}.</p>\n"
        )
    out.write("<table id='findings'><tr>" + "".join(f"<th>{h}</th>" for h in _COLUMNS) + "</tr>\n")
    for group in groups:
        for f in group.examples:
            cells = (
                f"<a href='#{escape(f.rule)}'>{escape(f.rule)}</a>",
                escape(str(f.severity)),
                escape(f.dataset),
                escape(f.variable),
                "" if f.row is None else str(f.row),
                escape(f.usubjid),
                "" if f.seq is None else str(f.seq),
                escape(f.value),
                escape(f.message),
                escape(f.source),
                escape(f.spec),
            )
            out.write(f"<tr class='{f.severity}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>\n")
        if group.not_shown:
            out.write(
                f"<tr class='more' data-rule='{escape(group.rule)}' data-not-shown='{group.not_shown}'>"
                f"<td colspan='{len(_COLUMNS)}'>{group.not_shown} more {escape(group.rule)} finding(s) "
                f"not shown (of {group.total}); every finding is in {where}</td></tr>\n"
            )
    out.write("</table>\n<h2>Checks</h2>\n")
    for code, item in sorted(CHECKS.items()):
        refs = "; ".join(item.references)
        out.write(
            f"<section id='{code}'><h3>{code} {escape(item.name)} ({item.severity})</h3>"
            f"<pre>{escape(item.doc)}</pre><p class='implements'>Implements: {escape(item.implements.describe())}</p>"
            f"<p>References: {escape(refs)}</p></section>\n"
        )
    out.write("</body></html>\n")


def render_html(
    report: Report,
    title: str = "SDTM validation report",
    max_per_rule: int = DEFAULT_HTML_DETAILS,
    full_report: str | None = None,
) -> str:
    """The page as one string (``write_html`` into memory)."""
    buffer = io.StringIO()
    write_html(report, buffer, title, max_per_rule, full_report)
    return buffer.getvalue()
