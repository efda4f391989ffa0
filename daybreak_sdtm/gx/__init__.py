"""The great-expectations adapter: every expectation a check declares runs through here.

great-expectations is the validation library data teams know, so part of our checks are written
as its expectations. They are checks like the others: registered with ``checks.registry.expectation``
(id, name, severity, references, docstring; ``list-checks`` and ``explain`` show them alike), and
what they find comes back as ``Finding``s of the same shape, from the same ``Dataset`` helpers.
The only difference is what the check's function yields: ``Expect``s for a dataset (which gx
expectation, its arguments, the finding's message) instead of findings.

The interface is two calls: ``start(package, ctx, checks)`` builds each dataset's expectations
and hands them to gx, and the ``Pending`` it returns gives the ``findings()`` (waiting for them).
Everything else is private to this package:

* ``_worker``: where the suites run. Importing great_expectations takes about 2 s, more than
  mapping and writing a small study; a command calls ``warm()`` first, which starts a worker
  process importing gx on another core while this process reads and maps, and ``start`` then
  hands the suites to it. Without ``warm()`` (library callers) they run in this process.
* ``_frames``: the frame gx sees (char columns as categoricals of small integer codes) and the
  findings made of gx's outcomes;
* ``_suite``: gx itself: suites built whole, validated in two passes, results parsed into
  ``Outcome``s (plain data that crosses the process boundary).

This module is light to import (no pandas, no gx): the commands import it and call ``warm()``
before anything heavy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daybreak_sdtm import progress
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.gx._worker import SuiteRunner, WorkerError, runner, shutdown, warm

if TYPE_CHECKING:
    from daybreak_sdtm.checks.package import Package
    from daybreak_sdtm.checks.registry import CheckContext, CheckDef

__all__ = ["Expect", "Pending", "WorkerError", "shutdown", "start", "warm"]

KIND = "expectation"  # the registry kind of the checks this adapter runs


@dataclass(frozen=True)
class Expect:
    """One great-expectations expectation to run, and how to report its failures.

    Attributes:
        code: The registered check id that generated it (``DB201``).
        severity: Severity of each finding.
        variable: The variable it is about ("" for table-level expectations).
        type: The expectation class name (``ExpectColumnValuesToBeInSet``).
        kwargs: Its arguments; a ``row_condition`` is a list of (variable, values, is_in) terms, all of
            which a record must meet.
        message: Finding message; ``{value}`` is replaced by the offending value, ``{missing}`` by
            the missing columns of a table-level expectation.
    """

    code: str
    severity: Severity
    variable: str
    type: str
    kwargs: dict[str, Any] = field(hash=False)
    message: str


class Pending:
    """One package's expectations, handed to great-expectations; ``findings`` waits for them."""

    def __init__(self, pkg: Package, plans: dict[str, list[Expect]], suites: SuiteRunner) -> None:
        self._pkg, self._plans, self._suites = pkg, plans, suites
        self._findings: list[Finding] | None = None

    @property
    def count(self) -> int:
        """How many expectations were handed over (every dataset's)."""
        return sum(len(plan) for plan in self._plans.values())

    def findings(self) -> list[Finding]:
        """What the expectations found, against the package's datasets (the same list when asked again).

        Raises:
            RuntimeError: gx failed to run an expectation (a bug of ours: the message names the
                dataset, the check and the expectation), or the worker failed (``WorkerError``).
        """
        if self._findings is None:
            self._findings = []
            if self.count:
                from daybreak_sdtm.gx._frames import findings_of

                progress.step("great-expectations suites")
                outcomes = self._suites.collect()
                for name, ds in self._pkg.datasets.items():
                    self._findings.extend(findings_of(ds, self._plans[name], outcomes.get(name, ())))
        return self._findings


def start(pkg: Package, ctx: CheckContext, checks: Iterable[CheckDef]) -> Pending:
    """Build each dataset's expectations from the expectation checks among ``checks``, and hand them over.

    They run in the worker process when ``warm()`` started one (meanwhile the caller goes on with
    its own checks), else in this process, here.
    """
    builders = [c for c in checks if c.kind == KIND]
    plans = {name: [e for c in builders for e in c.fn(ds, ctx)] for name, ds in pkg.datasets.items()}
    suites = runner()
    if any(plans.values()):
        from daybreak_sdtm.gx._frames import gx_frame

        for name, ds in pkg.datasets.items():
            if plans[name]:
                suites.submit(name, gx_frame(ds), plans[name])
    return Pending(pkg, plans, suites)
