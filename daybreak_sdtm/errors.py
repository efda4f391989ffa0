"""Errors the user can fix, each naming the place (file, line, column, row) that caused it.

Three kinds of failure are kept apart:

* a ``DaybreakError`` means the input (spec, raw export, standards, output folder) is unusable;
  the CLI prints it without a traceback and exits with a documented code;
* a finding (``daybreak_sdtm.findings``) means the data does not conform; findings are values;
* anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # click's own code for bad options
    INVALID_INPUT = 3  # spec, raw export or standards unusable
    WRITE_FAILED = 4  # the output folder could not be written


@dataclass(frozen=True)
class Location:
    """A place in a text file, 1-based as editors expect (``file:line:col``)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line and self.col:
            return f"{self.file}:{self.line}:{self.col}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True)
class RecordRef:
    """A record of a raw export: file, 1-based record number and column."""

    file: str
    record: int
    column: str = ""

    def __str__(self) -> str:
        text = f"{self.file} record {self.record}"
        return f"{text} column {self.column}" if self.column else text


def suggest(name: str, known: Sequence[str]) -> str:
    """A 'did you mean' hint for a misspelt name ("" when nothing known is close)."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


class DaybreakError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""

    exit_status: ExitStatus = ExitStatus.INVALID_INPUT

    def lines(self) -> list[str]:
        """The message, one problem per line."""
        return [str(self)]


class SpecError(DaybreakError):
    """A mapping spec or study file is malformed or names something that does not exist."""

    def __init__(self, where: Location, key: str, problem: str, hint: str = "") -> None:
        self.where, self.key, self.problem, self.hint = where, key, problem, hint
        super().__init__(self._text())

    def _text(self) -> str:
        text = f"{self.where}: {self.key}: {self.problem}" if self.key else f"{self.where}: {self.problem}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class StandardsError(DaybreakError):
    """The standard metadata in specs/ is missing or inconsistent."""


class RawDataError(DaybreakError):
    """A raw export file is missing, unreadable or lacks what a spec needs."""


@dataclass(frozen=True)
class DataProblem:
    """One raw value that cannot be mapped: where it is, what is wrong, and the spec line that asked for it."""

    file: str
    record: int
    column: str
    message: str
    value: str
    spec: str  # "mappings/x/ae.yaml:12:5 AE.AESTDTC"

    def __str__(self) -> str:
        return f"{self.file} record {self.record} column {self.column}: {self.message}: {self.value!r} [{self.spec}]"

    @property
    def cause(self) -> tuple[str, str, str, str]:
        """What problems of one cause share: the file, column, problem and spec line."""
        return (self.file, self.column, self.message, self.spec)


class DataErrors(DaybreakError):
    """Several raw values could not be mapped (malformed dates, unknown codes, wrong types).

    Up to MAX_SHOWN problems are listed one per line; more are summarised by cause (file, column,
    problem, spec line) with their count and a few examples each (``lines()`` has every one).
    """

    MAX_SHOWN = 25
    EXAMPLES = 3

    def __init__(self, problems: Sequence[DataProblem | str]) -> None:
        self.problems = list(problems)
        super().__init__(self._text())

    def causes(self) -> list[tuple[tuple[str, str, str, str], list[DataProblem]]]:
        """The value problems grouped by cause, the most frequent first (then in order met)."""
        groups: dict[tuple[str, str, str, str], list[DataProblem]] = {}
        for problem in self.problems:
            if isinstance(problem, DataProblem):
                groups.setdefault(problem.cause, []).append(problem)
        return sorted(groups.items(), key=lambda item: -len(item[1]))

    def _text(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) <= self.MAX_SHOWN:
            return "\n".join(lines)
        out = [f"{len(lines)} problems in the raw export; by cause:"]
        for (file, column, message, spec), found in self.causes():
            first: dict[str, int] = {}
            for p in found:
                first.setdefault(p.value, p.record)
            examples = ", ".join(f"{v!r} (record {r})" for v, r in list(first.items())[: self.EXAMPLES])
            out.append(
                f"  {len(found)} x {file} column {column}: {message} [{spec}]; "
                f"{len(first)} distinct value(s), e.g. {examples}"
            )
        others = [str(p) for p in self.problems if not isinstance(p, DataProblem)]
        if others:
            out.append(f"  {len(others)} other problem(s):")
            out.extend(f"  {line}" for line in others[: self.MAX_SHOWN])
            if len(others) > self.MAX_SHOWN:
                out.append(f"  ... and {len(others) - self.MAX_SHOWN} more")
        return "\n".join(out)

    def lines(self) -> list[str]:
        """All problems, one per line (not truncated)."""
        return [str(p) for p in self.problems]


class SpecErrors(DaybreakError):
    """Every problem found in the mapping specs, reported at once."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.where.file, e.where.line, e.where.col, e.key))
        super().__init__("\n".join(str(e) for e in self.errors))

    def lines(self) -> list[str]:
        """One line per spec problem."""
        return [str(e) for e in self.errors]


class WriteError(DaybreakError):
    """The package cannot be written (names, labels or values break XPT v5, folder not writable)."""

    exit_status = ExitStatus.WRITE_FAILED
