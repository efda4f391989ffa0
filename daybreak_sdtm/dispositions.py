"""What a study says of its findings: a dispositions file (YAML beside the mapping specs).

Each entry names findings, by fingerprint or by rule with optional dataset, variable and a
regular expression searched in the message and value, and records a disposition:

    dispositions:
      - fingerprint: 3f1c2a9e0b7d4c15
        status: explained
        text: The subject withdrew consent before the end-of-treatment visit; the date is not known.
        by: J. Smith
        on: 2026-11-30
      - rule: DB201
        dataset: AE
        variable: EPOCH
        match: "MAINTENANCE"
        status: will fix
        text: Sponsor epoch names move to the CT terms in the next data cut.

``explained`` and ``false positive`` findings stay in every report with their explanation but
do not fail ``--fail-on``; ``will fix`` ones still do. An entry that matches no finding is
reported: a fixed finding's explanation should go with it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from daybreak_sdtm.errors import Location, SpecError, SpecErrors
from daybreak_sdtm.findings import DISPOSITIONS, Finding, Report

DISPOSITIONS_FILE = "dispositions.yaml"  # beside study.yaml
_KEYS = ("fingerprint", "rule", "dataset", "variable", "match", "status", "text", "by", "on")


@dataclass(frozen=True)
class Disposition:
    """One entry of a dispositions file: which findings it is about, and what is said of them."""

    status: str
    text: str
    where: Location
    fingerprint: str = ""
    rule: str = ""
    dataset: str = ""
    variable: str = ""
    match: re.Pattern[str] | None = None
    by: str = ""
    on: str = ""

    def matches(self, finding: Finding) -> bool:
        """Whether the entry is about this finding."""
        if self.fingerprint:
            return finding.fingerprint == self.fingerprint
        if self.rule != finding.rule:
            return False
        if (self.dataset and self.dataset != finding.dataset) or (self.variable and self.variable != finding.variable):
            return False
        return self.match is None or bool(self.match.search(finding.message) or self.match.search(finding.value))

    def describe(self) -> str:
        """The entry as a reviewer reads it in a list of unmatched dispositions."""
        what = self.fingerprint or " ".join(x for x in (self.rule, self.dataset, self.variable) if x)
        return f"{self.where}: {what}" + (f" /{self.match.pattern}/" if self.match is not None else "")


def load_dispositions(path: Path) -> tuple[Disposition, ...]:
    """Read a dispositions file; every problem in it is reported at once, at its line (SpecErrors)."""
    shown = path.as_posix()
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors([SpecError(Location(shown), "", f"cannot be read ({exc})")]) from None
    except YAMLError as exc:
        raise SpecErrors([SpecError(Location(shown), "", f"YAML error: {exc}")]) from None
    entries = doc.get("dispositions") if isinstance(doc, CommentedMap) else None
    if not isinstance(entries, CommentedSeq):
        raise SpecErrors([SpecError(Location(shown, 1, 1), "dispositions", "expected a list under dispositions:")])
    errors: list[SpecError] = []
    out: list[Disposition] = []
    for i, entry in enumerate(entries):
        line, col = entries.lc.item(i)
        where = Location(shown, line + 1, col + 1)
        if not isinstance(entry, CommentedMap):
            errors.append(SpecError(where, "dispositions", "expected a mapping"))
            continue
        unknown = [str(k) for k in entry if str(k) not in _KEYS]
        if unknown:
            errors.append(
                SpecError(where, "dispositions", f"unknown key(s) {', '.join(unknown)}; keys: {', '.join(_KEYS)}")
            )
        text = {k: str(entry[k]).strip() for k in _KEYS if entry.get(k) is not None}
        if text.get("status") not in DISPOSITIONS:
            errors.append(SpecError(where, "status", f"give status: one of {', '.join(DISPOSITIONS)}"))
        if not text.get("text"):
            errors.append(SpecError(where, "text", "say why (text:): the explanation goes into every report"))
        if not text.get("fingerprint") and not text.get("rule"):
            errors.append(
                SpecError(
                    where, "dispositions", "name the findings: a fingerprint, or a rule (with dataset, variable, match)"
                )
            )
        if "fingerprint" in text and not re.fullmatch(r"[0-9a-f]{16}", text["fingerprint"]):
            errors.append(
                SpecError(
                    where, "fingerprint", "a fingerprint is 16 hex digits, as the JSON report gives it (quote it)"
                )
            )
        pattern = None
        if "match" in text:
            try:
                pattern = re.compile(text["match"])
            except re.error as exc:
                errors.append(SpecError(where, "match", f"not a regular expression ({exc})"))
        if not errors:
            out.append(
                Disposition(
                    text.get("status", ""),
                    text.get("text", ""),
                    where,
                    text.get("fingerprint", ""),
                    text.get("rule", "").upper(),
                    text.get("dataset", "").upper(),
                    text.get("variable", "").upper(),
                    pattern,
                    text.get("by", ""),
                    text.get("on", ""),
                )
            )
    if errors:
        raise SpecErrors(errors)
    return tuple(out)


def apply_dispositions(report: Report, dispositions: tuple[Disposition, ...]) -> Report:
    """The report with each finding's disposition (the first entry that matches it) and the entries that matched none."""
    if not dispositions:
        return report
    used: set[int] = set()
    findings = []
    for finding in report.findings:
        said = finding
        for i, d in enumerate(dispositions):
            if d.matches(finding):
                used.add(i)
                who = ", ".join(x for x in (d.by, d.on) if x)
                said = dataclasses.replace(
                    finding, disposition=d.status, explanation=d.text + (f" ({who})" if who else "")
                )
                break
        findings.append(said)
    unmatched = tuple(d.describe() for i, d in enumerate(dispositions) if i not in used)
    return dataclasses.replace(report, findings=tuple(findings), unmatched_dispositions=unmatched)
