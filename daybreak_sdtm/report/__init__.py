"""Render a validation Report for people (terminal, HTML) and for machines (JSON, JUnit XML).

Renderers are pure: Report in, text out; the CLI and ``api`` decide where the text goes.
"""

from __future__ import annotations

from daybreak_sdtm.report.html import render_html
from daybreak_sdtm.report.junit import render_junit
from daybreak_sdtm.report.json import render_json
from daybreak_sdtm.report.text import render_summary, render_text

RENDERERS = {"text": render_text, "json": render_json, "html": render_html, "junit": render_junit}

__all__ = ["RENDERERS", "render_html", "render_json", "render_junit", "render_summary", "render_text"]
