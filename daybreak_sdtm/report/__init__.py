"""Render a validation Report for people (terminal, HTML) and for machines (JSON, JUnit XML, SARIF).

Renderers are pure: Report in, text out (``render_*``), or written to a stream as it is made
(``write_json``, ``write_html``, ``write_sarif``: large reports are never held whole); the CLI and
``api`` decide where the text goes.
"""

from __future__ import annotations

from typing import TextIO

from daybreak_sdtm.findings import DEFAULT_HTML_DETAILS, DEFAULT_TEXT_EXAMPLES, Report, Severity
from daybreak_sdtm.report.html import render_html, write_html
from daybreak_sdtm.report.json import render_json, write_json
from daybreak_sdtm.report.junit import render_junit
from daybreak_sdtm.report.sarif import render_sarif, write_sarif
from daybreak_sdtm.report.text import render_summary, render_text

RENDERERS = {
    "text": render_text,
    "json": render_json,
    "html": render_html,
    "junit": render_junit,
    "sarif": render_sarif,
}
FORMATS = tuple(RENDERERS)


def write_report(
    report: Report,
    fmt: str,
    out: TextIO,
    *,
    threshold: Severity = Severity.ERROR,
    max_per_rule: int | None = None,
    more_hint: str | None = None,
) -> None:
    """Write ``report`` in format ``fmt`` (text, json, html, junit, sarif) to ``out``.

    Args:
        report: The validation report.
        fmt: One of ``FORMATS``.
        out: The stream written to.
        threshold: JUnit: lowest severity that fails a testcase.
        max_per_rule: Text and HTML: findings detailed per rule (their defaults when None);
            JSON, JUnit and SARIF always hold every finding.
        more_hint: Text: where the findings not shown can be seen.
    """
    if fmt == "json":
        write_json(report, out)
    elif fmt == "html":
        write_html(report, out, max_per_rule=DEFAULT_HTML_DETAILS if max_per_rule is None else max_per_rule)
    elif fmt == "junit":
        out.write(render_junit(report, threshold))
    elif fmt == "sarif":
        write_sarif(report, out)
    elif fmt == "text":
        limit = DEFAULT_TEXT_EXAMPLES if max_per_rule is None else max_per_rule
        out.write(
            render_text(report, max_per_rule=limit)
            if more_hint is None
            else render_text(report, max_per_rule=limit, more_hint=more_hint)
        )
    else:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "RENDERERS",
    "render_html",
    "render_json",
    "render_junit",
    "render_sarif",
    "render_summary",
    "render_text",
    "write_html",
    "write_json",
    "write_report",
    "write_sarif",
]
