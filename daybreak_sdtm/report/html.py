"""A self-contained HTML page a data manager reads: summary by rule and dataset, all findings, check docs."""

from __future__ import annotations

from collections import Counter
from html import escape

from daybreak_sdtm.findings import Report

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.error{color:#a00;font-weight:bold}.warning{color:#a60}.note{color:#555}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5em}
"""


def render_html(report: Report, title: str = "SDTM validation report") -> str:
    """The page; rule ids link to their documentation section further down the same page."""
    from daybreak_sdtm.checks import CHECKS

    s = report.summary()
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
           f"<style>{_STYLE}</style></head><body>", f"<h1>{escape(title)}</h1>",
           f"<p id='totals'><span class='error'>{s['error']} error(s)</span>, "
           f"<span class='warning'>{s['warning']} warning(s)</span>, <span class='note'>{s['note']} note(s)</span> "
           f"in {len(s['datasets'])} dataset(s): {escape(', '.join(s['datasets']))}</p>",
           "<h2>Summary by rule and dataset</h2><table id='summary'><tr><th>rule</th><th>severity</th><th>dataset</th><th>findings</th></tr>"]
    pairs = Counter((f.rule, str(f.severity), f.dataset) for f in report.findings)
    for (rule, sev, dataset), n in sorted(pairs.items()):
        out.append(f"<tr><td><a href='#{escape(rule)}'>{escape(rule)}</a></td><td class='{sev}'>{sev}</td>"
                   f"<td>{escape(dataset)}</td><td>{n}</td></tr>")
    out.append("</table><h2>Findings</h2><table id='findings'><tr>"
               + "".join(f"<th>{h}</th>" for h in ("rule", "severity", "dataset", "variable", "row", "USUBJID", "SEQ",
                                                   "value", "message", "source", "spec")) + "</tr>")
    for f in report.findings:
        cells = [f"<a href='#{escape(f.rule)}'>{escape(f.rule)}</a>", escape(str(f.severity)), escape(f.dataset),
                 escape(f.variable), "" if f.row is None else str(f.row), escape(f.usubjid),
                 "" if f.seq is None else str(f.seq), escape(f.value), escape(f.message), escape(f.source), escape(f.spec)]
        out.append(f"<tr class='{f.severity}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table><h2>Checks</h2>")
    for code, item in sorted(CHECKS.items()):
        refs = "; ".join(item.references)
        out.append(f"<section id='{code}'><h3>{code} {escape(item.name)} ({item.severity})</h3>"
                   f"<pre>{escape(item.doc)}</pre><p>References: {escape(refs)}</p></section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
