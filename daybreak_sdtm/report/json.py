"""The JSON report: ``{"findings": [...], "summary": {...}}``, documented in the README."""

from __future__ import annotations

import json as _json

from daybreak_sdtm.findings import Report


def render_json(report: Report) -> str:
    """Every finding as an object (rule, severity, dataset, variable, row, usubjid, seq, value, message,
    source, spec) and the summary counts."""
    doc = {"findings": [f.to_dict() for f in report.findings], "summary": report.summary()}
    return _json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
