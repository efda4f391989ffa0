"""The JSON report: ``{"findings": [...], "rules": {...}, "summary": {...}}``, documented in the README.

Written as a stream, one finding a line: the memory it takes does not grow with the number of
findings (a report of 300,000 findings is about 100 MB of text, never held at once).
"""

from __future__ import annotations

import io
import json as _json
from typing import TextIO

from daybreak_sdtm.findings import Report
from daybreak_sdtm.report.rules import rules_object

_BATCH = 512  # finding lines joined per write


def write_json(report: Report, out: TextIO) -> None:
    """Write every finding as an object (rule, severity, dataset, variable, row, message, usubjid, seq,
    value, source, spec, fingerprint; with a baseline, whether it is new or persisting), one a
    line, then the earlier run's findings resolved since (with a baseline), the published rules each
    rule of the findings implements, and the summary counts."""
    out.write('{\n  "findings": [')
    dumps = _json.dumps  # the default encoder: ASCII only, ", " and ": " separators
    batch: list[str] = []
    first = True
    change = report.baseline
    for f in report.findings:
        batch.append(dumps(f.to_dict() if change is None else {**f.to_dict(), "baseline": change.status(f)}))
        if len(batch) == _BATCH:
            out.write(("\n    " if first else ",\n    ") + ",\n    ".join(batch))
            first, batch = False, []
    if batch:
        out.write(("\n    " if first else ",\n    ") + ",\n    ".join(batch))
        first = False
    out.write("\n  ]" if not first else "]")
    if change is not None:  # the earlier run's findings found no more
        resolved = ",\n    ".join(dumps({**f, "baseline": "resolved"}) for f in change.resolved)
        out.write(',\n  "resolved": [' + (f"\n    {resolved}\n  ]" if resolved else "]"))
    counts = report.summary()
    # The published rules (CDISC, CORE, FDA ids) each rule of the findings implements.
    rules = _json.dumps(rules_object(counts["by_rule"]), indent=2).replace("\n", "\n  ")
    out.write(f',\n  "rules": {rules}')
    summary = _json.dumps(counts, indent=2).replace("\n", "\n  ")
    out.write(f',\n  "summary": {summary}\n}}\n')


def render_json(report: Report) -> str:
    """The JSON report as one string (``write_json`` into memory; for small reports and tests)."""
    buffer = io.StringIO()
    write_json(report, buffer)
    return buffer.getvalue()
