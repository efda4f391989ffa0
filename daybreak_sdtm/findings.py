"""Findings: what validation says about the data, as values that are collected and never raised.

A finding is not an error of the program or of its input (that is a ``DaybreakError``): the input
was usable, and the data it holds breaks a rule. The exit status follows ``--fail-on``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
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
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use note, warning, error or never") from None

    def __str__(self) -> str:
        return self.name.lower()


FAIL_ON_CHOICES = ("note", "warning", "error", "never")


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

    def sort_key(self) -> tuple[Any, ...]:
        """Order of findings in every report: dataset, record, rule, variable."""
        return (self.dataset, self.row if self.row is not None else 0, self.rule, self.variable, self.message)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary; the key order is the documented one."""
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


@dataclass(frozen=True)
class Report:
    """Every finding of one validation run, sorted, with counts and the exit status they imply."""

    findings: tuple[Finding, ...]
    datasets: tuple[str, ...] = ()  # datasets validated, for summaries and JUnit suites
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, findings: Iterable[Finding], datasets: Iterable[str] = (), timings: dict[str, float] | None = None) -> Report:
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
        """``FINDINGS`` when any finding is at or above ``fail_on``, else ``OK``."""
        return ExitStatus.FINDINGS if self.at_or_above(fail_on) else ExitStatus.OK

    def summary(self) -> dict[str, Any]:
        """Counts by severity, rule and dataset (the ``summary`` object of the JSON report)."""
        by_rule: Counter[str] = Counter(f.rule for f in self.findings)
        by_dataset: Counter[str] = Counter(f.dataset for f in self.findings)
        return {
            "datasets": list(self.datasets),
            "total": len(self.findings),
            "error": self.count(Severity.ERROR),
            "warning": self.count(Severity.WARNING),
            "note": self.count(Severity.NOTE),
            "by_rule": dict(sorted(by_rule.items())),
            "by_dataset": dict(sorted(by_dataset.items())),
        }
