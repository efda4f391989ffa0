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


class DataErrors(DaybreakError):
    """Several raw values could not be mapped (malformed dates, unknown codes, wrong types)."""

    MAX_SHOWN = 25

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(self._text())

    def _text(self) -> str:
        shown = self.problems[: self.MAX_SHOWN]
        more = len(self.problems) - len(shown)
        tail = [f"... and {more} more"] if more > 0 else []
        return "\n".join(shown + tail)

    def lines(self) -> list[str]:
        """All problems, one per line (not truncated)."""
        return list(self.problems)


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
