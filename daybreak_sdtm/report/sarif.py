"""SARIF 2.1.0 for code-review tools (GitHub code scanning, editors' SARIF viewers): one run, a result per finding.

A finding is placed at the spec line that made it (``file:line:col``: lint's problems, and the
findings of a study's protocol rules) when it has one, else at the file of the dataset it was
found in (the package folder for a finding about the package), the dataset, variable and record
named in the message and as a logical location. Paths are written relative to the working
directory, under the uriBaseId ``%SRCROOT%``, so that a tool that knows the checkout shows each
finding beside its line; a path outside the working directory is written as an absolute file URI.
The run describes every rule it applied (``tool.driver.rules``), each result naming its rule by
id and index. Written as a stream, one result a line, like the JSON report.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from daybreak_sdtm import __version__
from daybreak_sdtm.findings import EXCUSED, Finding, Report, Severity
from daybreak_sdtm.report.rules import RuleText, rule_text
from daybreak_sdtm.report.text import finding_where

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL = "daybreak-sdtm"
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
BASELINE_STATES = {"new": "new", "persisting": "unchanged"}
FINGERPRINT = "daybreakFingerprint/v1"  # partialFingerprints key: the finding's own fingerprint
_SPEC = re.compile(r"^(?P<file>.+?):(?P<line>[1-9]\d*)(?::(?P<col>[1-9]\d*))?(?=\s|$)")
_BATCH = 256  # result lines joined per write
# Finding fields kept as a result's properties (rule, severity and message are the result's own).
_PROPERTIES = ("dataset", "variable", "row", "usubjid", "seq", "value", "source", "spec", "core", "fingerprint")


def write_sarif(report: Report, out: TextIO, root: Path | None = None) -> None:
    """Write the report as a SARIF 2.1.0 log of one run.

    Args:
        report: The validation (or lint) report; ``report.files`` says where each dataset was read.
        out: The stream written to.
        root: The folder artifact URIs are relative to (``%SRCROOT%``); the working directory when None.
    """
    base = Path(os.path.abspath(root if root is not None else Path.cwd()))
    codes = rule_codes(report)
    index = {code: i for i, code in enumerate(codes)}
    run = {
        "tool": {
            "driver": {
                "name": TOOL,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(code) for code in codes],
            }
        },
        "invocations": [{"executionSuccessful": True}],
        "originalUriBaseIds": {
            SRCROOT: {
                "description": {"text": "The working directory daybreak-sdtm ran in: artifact URIs are relative to it."}
            }
        },
        "columnKind": "unicodeCodePoints",
    }
    out.write('{\n  "$schema": ' + json.dumps(SCHEMA) + ',\n  "version": "2.1.0",\n  "runs": [\n    {\n')
    out.writelines(f"      {json.dumps(key)}: {_indented(value, 6)},\n" for key, value in run.items())
    out.write('      "results": [')
    batch: list[str] = []
    first = True
    for f in report.findings:
        batch.append(json.dumps(sarif_result(f, index, report, base)))
        if len(batch) == _BATCH:
            out.write(("\n        " if first else ",\n        ") + ",\n        ".join(batch))
            first, batch = False, []
    if batch:
        out.write(("\n        " if first else ",\n        ") + ",\n        ".join(batch))
        first = False
    out.write("\n      ]" if not first else "]")
    # The JSON report's summary: standards, datasets, counts by severity, rule and dataset.
    out.write(f',\n      "properties": {_indented(report.summary(), 6)}\n    }}\n  ]\n}}\n')


def render_sarif(report: Report, root: Path | None = None) -> str:
    """The SARIF log as one string (``write_sarif`` into memory; for small reports and tests)."""
    buffer = io.StringIO()
    write_sarif(report, buffer, root)
    return buffer.getvalue()


def rule_codes(report: Report) -> list[str]:
    """The rules the run describes, in order: those it applied (every registered check unless the
    report names them), then any other rule one of its findings names."""
    if report.rules:
        applied = list(report.rules)
    else:
        from daybreak_sdtm.checks import CHECKS

        applied = sorted(CHECKS)
    others = sorted({f.rule for f in report.findings} - set(applied))
    return applied + others


def rule_descriptor(code: str) -> dict[str, Any]:
    """A SARIF reportingDescriptor: id, name, descriptions, help, the default level from the rule's
    severity, a help URI when one of its references is a web address, and the published rules it
    implements as properties."""
    text = rule_text(code)
    if text is None:
        return {"id": code}
    descriptor: dict[str, Any] = {
        "id": code,
        "name": text.name,
        "shortDescription": {"text": text.summary or text.name},
        "fullDescription": {"text": text.doc or text.summary or text.name},
        "help": {"text": text.help or text.doc},
    }
    uri = help_uri(text)
    if uri:
        descriptor["helpUri"] = uri
    descriptor["defaultConfiguration"] = {"level": LEVELS[text.severity]}
    descriptor["properties"] = _rule_properties(text)
    return descriptor


def help_uri(text: RuleText) -> str:
    """The first reference of a rule that is a web address ("" when none is)."""
    return next((r for r in text.references if r.startswith(("https://", "http://"))), "")


def _rule_properties(text: RuleText) -> dict[str, Any]:
    """Tags, references and the CDISC, CORE and FDA ids a check implements (or why it has none)."""
    props: dict[str, Any] = {"tags": list(text.tags), "references": list(text.references)}
    official = text.implements
    if official is not None:
        props |= {"cdisc": list(official.cdisc), "core": list(official.core), "fda": list(official.fda)}
        if official.none:
            props["no_counterpart"] = official.none
    return props


def sarif_result(f: Finding, index: dict[str, int], report: Report, base: Path) -> dict[str, Any]:
    """One finding as a SARIF result: rule, level, message, where it is, and what else it says."""
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": LEVELS.get(f.severity, "error"),
        "message": {"text": result_message(f)},
    }
    result |= finding_locations(f, report.files, base)
    if f.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT: f.fingerprint}
    if report.baseline is not None and f.fingerprint:
        result["baselineState"] = BASELINE_STATES[report.baseline.status(f)]
    if f.disposition in EXCUSED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f"{f.disposition}: {f.explanation}"}
        ]
    props = {k: v for k, v in f.to_dict().items() if k in _PROPERTIES and v not in ("", None)}
    if f.disposition:
        props |= {"disposition": f.disposition, "explanation": f.explanation}
    if props:
        result["properties"] = props
    return result


def result_message(f: Finding) -> str:
    """``AE.AESEV row 2 USUBJID=X SEQ=1: message [ae.csv record 3]``: what is wrong and in which
    record; just the message for a finding about no dataset (lint's, the package's)."""
    text = f"{finding_where(f)}: {f.message}" if f.dataset else f.message
    if f.source:
        text += f" [{f.source}]"
    if f.disposition:
        text += f" ({f.disposition}: {f.explanation})"
    return text


def finding_locations(f: Finding, files: dict[str, str], base: Path) -> dict[str, Any]:
    """``locations`` (and ``relatedLocations``) of a finding: its spec line when it has one (the
    dataset file then related), else its dataset's file, else the package folder."""
    logical = _logical_location(f)
    dataset_file = files.get(f.dataset) if f.dataset else None
    folder = files.get("")
    spec = spec_location(f.spec, base)
    if spec is not None:
        found: dict[str, Any] = {"locations": [{"physicalLocation": spec, **logical}]}
        if dataset_file:
            found["relatedLocations"] = [
                {
                    "id": 1,
                    "physicalLocation": {"artifactLocation": artifact_location(dataset_file, base)},
                    "message": {"text": f"the dataset {f.dataset}"},
                    **logical,
                }
            ]
        return found
    where = dataset_file or folder
    location: dict[str, Any] = {}
    if where:
        location["physicalLocation"] = {"artifactLocation": artifact_location(where, base, folder=where == folder)}
    location |= logical
    return {"locations": [location]} if location else {}


def spec_location(spec: str, base: Path) -> dict[str, Any] | None:
    """A physicalLocation of a spec reference: ``file:line:col`` (anything after a space is not
    the place: ``ae.yaml:12:5 AE.AESTDTC``), or a file alone; None when the finding names no spec."""
    if not spec:
        return None
    match = _SPEC.match(spec)
    if match is None:
        return {"artifactLocation": artifact_location(spec, base)}
    region = {"startLine": int(match["line"])}
    if match["col"]:
        region["startColumn"] = int(match["col"])
    return {"artifactLocation": artifact_location(match["file"], base), "region": region}


def artifact_location(path: str, base: Path, folder: bool = False) -> dict[str, str]:
    """``{"uri": "sdtm-out/ae.xpt", "uriBaseId": "%SRCROOT%"}`` for a path within ``base`` (as
    given, relative to the working directory, or absolute), else an absolute file URI; a folder's
    URI ends with a slash."""
    full = Path(os.path.normpath(base / path))
    try:
        uri = quote(full.relative_to(base).as_posix(), safe="/")
    except ValueError:
        uri = full.as_uri()
        return {"uri": uri + "/" if folder else uri}
    if folder:
        uri = "" if uri == "." else uri + "/"
    return {"uri": uri or "./", "uriBaseId": SRCROOT}


def _logical_location(f: Finding) -> dict[str, Any]:
    """``logicalLocations`` naming the dataset (and variable) of a finding; {} for one about neither."""
    if not f.dataset:
        return {}
    if f.variable:
        logical = {"name": f.variable, "fullyQualifiedName": f"{f.dataset}.{f.variable}", "kind": "variable"}
    else:
        logical = {"name": f.dataset, "fullyQualifiedName": f.dataset, "kind": "resource"}
    return {"logicalLocations": [logical]}


def _indented(value: Any, level: int) -> str:
    """``value`` as indented JSON, its lines after the first indented by ``level`` spaces."""
    return json.dumps(value, indent=2).replace("\n", "\n" + " " * level)
