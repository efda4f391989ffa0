"""Findings: what validation says about the data, as values that are collected and never raised.

A finding is not an error of the program or of its input (that is a ``DaybreakError``): the input
was usable, and the data it holds breaks a rule. The exit status follows ``--fail-on``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from daybreak_sdtm.errors import ExitStatus


class Severity(IntEnum):
    """How bad a finding is; ordered so that ``NEVER`` is above every real severity."""

    NOTE = 1
    WARNING = 2
    ERROR = 3
    NEVER = 99  # only as a --fail-on threshold: no finding reaches it

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"warning"`` -> ``Severity.WARNING`` (case-insensitive)."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use note, warning, error or never") from None

    def __str__(self) -> str:
        return self.name.lower()


FAIL_ON_CHOICES = ("note", "warning", "error", "never")
# Dispositions a study may record for a finding; the first two excuse it from --fail-on.
DISPOSITIONS = ("explained", "false positive", "will fix")
EXCUSED = frozenset({"explained", "false positive"})


@dataclass(frozen=True)
class Finding:
    """One rule broken by one record (or by a dataset or variable as a whole, then ``row`` is None).

    Attributes:
        rule: The check id (``DB201``); stable, never reused for another meaning.
        severity: How bad it is.
        dataset: Dataset name (``AE``, ``SUPPAE``); "" for package-level findings.
        variable: Variable name, "" when the finding is about a record or dataset.
        row: 1-based record number in the XPT file, as a reviewer counts; None for dataset-level.
        usubjid: The subject of the record, "" when unknown.
        seq: The record's --SEQ, None when the dataset has none.
        value: The offending value as text ("" when not about one value).
        message: What is wrong, in a sentence.
        source: Raw file and record that produced the record, when the package was just converted.
        spec: Spec line that produced the value (``mappings/daybreak-01/ae.yaml:9:12``), when known.
        core: The CDISC CORE rule the finding is of (``CORE-000026``), when its check tests
            several rules of the rule table (``checks/rules/``); "" otherwise.
    """

    rule: str
    severity: Severity
    dataset: str
    variable: str
    row: int | None
    message: str
    usubjid: str = ""
    seq: int | None = None
    value: str = ""
    source: str = ""
    spec: str = ""
    core: str = ""
    # Stable identity across runs: rule, dataset, variable and the record's natural key values
    # (never its row number); see ``fingerprint``. "" until the validation run gives it.
    fingerprint: str = field(default="", compare=False)
    # What the study's dispositions file says of it (explained, will fix, false positive), and why.
    disposition: str = field(default="", compare=False)
    explanation: str = field(default="", compare=False)

    def sort_key(self) -> tuple[Any, ...]:
        """Order of findings in every report: dataset, record, rule, variable."""
        return (self.dataset, self.row if self.row is not None else 0, self.rule, self.variable, self.message)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary; the key order is the documented one (that of the fields)."""
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "dataset": self.dataset,
            "variable": self.variable,
            "row": self.row,
            "message": self.message,
            "usubjid": self.usubjid,
            "seq": self.seq,
            "value": self.value,
            "source": self.source,
            "spec": self.spec,
            "core": self.core,
            "fingerprint": self.fingerprint,
            "disposition": self.disposition,
            "explanation": self.explanation,
        }


def fingerprint(finding: Finding, keys: Mapping[str, str] | None = None) -> str:
    """What identifies a finding from one run to the next: its rule, dataset and variable, and the
    natural key values of its record (``keys``: USUBJID, AETERM, AESTDTC ...), else its subject and
    --SEQ, else (a dataset-level finding) its message. Row numbers move when records are added; keys do not.
    A finding of a rule-table check counts its CORE rule too (two rules of one check on one
    record and variable are two findings); the others' fingerprints are as they always were.
    """
    import hashlib
    import json

    if keys:
        where: Any = dict(sorted(keys.items()))
    elif finding.row is not None:
        where = {"USUBJID": finding.usubjid, "SEQ": finding.seq, "value": finding.value}
    else:
        where = {"message": finding.message}
    parts: list[Any] = [finding.rule, finding.dataset, finding.variable, where]
    if finding.core:
        parts.append(finding.core)
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class BaselineChange:
    """How a run's findings compare with an earlier run's (``validate --baseline OLD.json``).

    Attributes:
        new: Fingerprints found now and not before.
        persisting: Fingerprints found in both runs.
        resolved: The earlier findings (as their JSON records) found no more.
    """

    new: frozenset[str]
    persisting: frozenset[str]
    resolved: tuple[dict[str, Any], ...]

    def status(self, finding: Finding) -> str:
        """``new`` or ``persisting``."""
        return "persisting" if finding.fingerprint in self.persisting else "new"

    def summary(self) -> dict[str, int]:
        """Counts of new, persisting and resolved findings."""
        return {"new": len(self.new), "persisting": len(self.persisting), "resolved": len(self.resolved)}


def compare_with(findings: Iterable[Finding], earlier: Iterable[Mapping[str, Any]]) -> BaselineChange:
    """Classify findings against an earlier run's (the ``findings`` of its validation.json)."""
    before = {str(f.get("fingerprint", "")): dict(f) for f in earlier if f.get("fingerprint")}
    now = {f.fingerprint for f in findings if f.fingerprint}
    return BaselineChange(
        new=frozenset(now - set(before)),
        persisting=frozenset(now & set(before)),
        resolved=tuple(before[k] for k in sorted(set(before) - now)),
    )


DEFAULT_TEXT_EXAMPLES = 5  # findings shown per rule in the terminal report
DEFAULT_HTML_DETAILS = 100  # findings detailed per rule in the HTML report


@dataclass(frozen=True)
class RuleGroup:
    """The findings of one rule, counted exactly, with at most a few of them kept as examples.

    Attributes:
        rule: The check id.
        severity: The highest severity among the rule's findings.
        by_severity: Number of findings per severity, highest first.
        by_dataset: Number of findings per dataset ("" for package-level findings), by name.
        examples: Findings to show, in report order, drawn from every dataset in turn.
    """

    rule: str
    severity: Severity
    by_severity: dict[Severity, int]
    by_dataset: dict[str, int]
    examples: tuple[Finding, ...]

    @property
    def total(self) -> int:
        """Number of findings of the rule."""
        return sum(self.by_severity.values())

    @property
    def not_shown(self) -> int:
        """Findings of the rule that are not among the examples."""
        return self.total - len(self.examples)


def group_by_rule(findings: Iterable[Finding], examples: int) -> list[RuleGroup]:
    """Findings grouped by rule, most severe rules first, then by rule id.

    One pass, and memory in the number of rules and datasets, not of findings: each group keeps
    exact counts and at most ``examples`` findings, taken from its datasets in turn (the first
    findings of each dataset in report order) so that a rule broken in several datasets shows
    each of them.
    """
    limit = max(0, examples)
    severities: dict[str, Counter[Severity]] = {}
    datasets: dict[str, Counter[str]] = {}
    firsts: dict[str, dict[str, list[Finding]]] = {}
    for f in findings:
        if f.rule not in severities:
            severities[f.rule], datasets[f.rule], firsts[f.rule] = Counter(), Counter(), {}
        severities[f.rule][f.severity] += 1
        datasets[f.rule][f.dataset] += 1
        kept = firsts[f.rule].setdefault(f.dataset, [])
        if len(kept) < limit:
            kept.append(f)
    groups = []
    for rule, counts in severities.items():
        queues = [firsts[rule][name] for name in sorted(firsts[rule])]
        chosen = sorted(_fair(queues, limit), key=Finding.sort_key)
        groups.append(
            RuleGroup(
                rule,
                max(counts),
                dict(sorted(counts.items(), reverse=True)),
                dict(sorted(datasets[rule].items())),
                tuple(chosen),
            )
        )
    return sorted(groups, key=lambda g: (-g.severity, g.rule))


def _fair(queues: list[list[Finding]], limit: int) -> list[Finding]:
    """Up to ``limit`` findings taken from the queues in turn, one from each per round."""
    chosen: list[Finding] = []
    depth = 0
    while len(chosen) < limit:
        taken = [q[depth] for q in queues if depth < len(q)]
        if not taken:
            break
        chosen.extend(taken[: limit - len(chosen)])
        depth += 1
    return chosen


@dataclass(frozen=True)
class Report:
    """Every finding of one validation run, sorted, with counts and the exit status they imply."""

    findings: tuple[Finding, ...]
    datasets: tuple[str, ...] = ()  # datasets validated, for summaries and JUnit suites
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    # Which standards the package was checked against ("declared SDTMIG 3.2; checked against SDTMIG 3.4 metadata, CT ...").
    standards: str = ""
    # How the findings compare with an earlier run's (``validate --baseline``), when asked.
    baseline: BaselineChange | None = field(default=None, compare=False)
    # Dispositions of the study that matched no finding ("dispositions.yaml:12: DB201 AE EPOCH ...").
    unmatched_dispositions: tuple[str, ...] = field(default=(), compare=False)
    # The file each dataset was read from (``sdtm-out/ae.xpt``, as the path was given) and, under
    # "", the package folder: where a report that points at files (SARIF) places a finding that
    # names no spec line.
    files: dict[str, str] = field(default_factory=dict, compare=False)
    # The rules the run applied, for a report that describes them (SARIF); () for every registered check.
    rules: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, findings: Iterable[Finding], datasets: Iterable[str] = (), timings: dict[str, float] | None = None
    ) -> Report:
        """A report with its findings sorted and de-duplicated."""
        unique = dict.fromkeys(findings)
        return cls(tuple(sorted(unique, key=Finding.sort_key)), tuple(datasets), dict(timings or {}))

    def count(self, severity: Severity) -> int:
        """Number of findings of one severity."""
        return sum(1 for f in self.findings if f.severity == severity)

    def at_or_above(self, threshold: Severity) -> tuple[Finding, ...]:
        """Findings whose severity reaches ``threshold``."""
        return tuple(f for f in self.findings if f.severity >= threshold)

    def exit_status(self, fail_on: Severity = Severity.ERROR) -> ExitStatus:
        """``FINDINGS`` when any finding is at or above ``fail_on`` and not explained away, else ``OK``."""
        failing = [f for f in self.at_or_above(fail_on) if f.disposition not in EXCUSED]
        return ExitStatus.FINDINGS if failing else ExitStatus.OK

    def by_rule(self, examples: int, threshold: Severity = Severity.NOTE) -> list[RuleGroup]:
        """The findings at or above ``threshold`` grouped by rule (``group_by_rule``)."""
        return group_by_rule((f for f in self.findings if f.severity >= threshold), examples)

    def summary(self) -> dict[str, Any]:
        """Counts by severity, rule and dataset (the ``summary`` object of the JSON report)."""
        by_rule: Counter[str] = Counter(f.rule for f in self.findings)
        by_dataset: Counter[str] = Counter(f.dataset for f in self.findings)
        return {
            "standards": self.standards,
            "datasets": list(self.datasets),
            "total": len(self.findings),
            "error": self.count(Severity.ERROR),
            "warning": self.count(Severity.WARNING),
            "note": self.count(Severity.NOTE),
            "by_rule": dict(sorted(by_rule.items())),
            "by_dataset": dict(sorted(by_dataset.items())),
            **({"baseline": self.baseline.summary()} if self.baseline is not None else {}),
            "dispositions": dict(sorted(Counter(f.disposition for f in self.findings if f.disposition).items())),
            "unmatched_dispositions": list(self.unmatched_dispositions),
        }
