"""Run every registered check on a package and collect one Report; bad data never raises."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

from daybreak_sdtm import gx, progress
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.registry import CHECKS, CheckContext, CheckDef
from daybreak_sdtm.findings import Finding, Report


class Validation:
    """A validation under way: the expectations are with great-expectations, our own checks have run.

    ``findings`` (our own checks') can be looked at before ``finish`` waits for the expectations,
    so a caller can give up early or do other work (write the package) while they run.
    """

    def __init__(
        self,
        pkg: Package,
        expectations: gx.Pending,
        findings: list[Finding],
        timings: dict[str, float],
        standards: str = "",
    ) -> None:
        self.pkg, self._expectations, self.findings, self._timings = pkg, expectations, findings, timings
        self._standards = standards
        self._report: Report | None = None

    def finish(self) -> Report:
        """Wait for the expectations; the report of both (the same report when asked again)."""
        if self._report is not None:
            return self._report
        start = time.perf_counter()
        findings = [*self.findings, *self._expectations.findings()]
        self._timings["expectations"] = self._timings.get("expectations", 0.0) + time.perf_counter() - start
        self._report = dataclasses.replace(
            Report.of(findings, self.pkg.datasets, self._timings), standards=self._standards
        )
        return self._report


def start_validation(pkg: Package, ctx: CheckContext, *, only: Iterable[str] | None = None) -> Validation:
    """Hand the expectation checks to great-expectations (``daybreak_sdtm.gx``), then run our own checks.

    Args:
        pkg: The package; ``pkg.define`` is read here when given (unreadable: PackageError).
        ctx: Standards, protocol rules and what else checks consult.
        only: Check ids to run (all when None), for tests and ``validate --check``.
    """
    from daybreak_sdtm.checks.metadata import read_define

    wanted = None if only is None else set(only)
    selected: list[CheckDef] = [c for code, c in sorted(CHECKS.items()) if wanted is None or code in wanted]
    if pkg.define is not None and pkg.define_meta is None:
        pkg.define_meta = read_define(pkg.define)
    timings: dict[str, float] = {}

    start = time.perf_counter()
    expectations = gx.start(pkg, ctx, selected)
    timings["expectations"] = time.perf_counter() - start
    timings["expectation_count"] = float(expectations.count)

    start = time.perf_counter()
    findings: list[Finding] = []
    checks = [item for item in selected if item.kind == "check"]
    for i, item in enumerate(checks, 1):
        progress.step(f"{item.code} {item.name}", i, len(checks))
        findings.extend(item.fn(pkg, ctx))
    timings["checks"] = time.perf_counter() - start
    # great-expectations has its frames and our checks have run: the caches that served them go
    # (about 1 GiB at 100,000 subjects) before the caller writes the package.
    pkg.drop_caches()
    return Validation(pkg, expectations, findings, timings, f"{ctx.versions_note}, CT {ctx.standards.ct_version}")


def validate_package(pkg: Package, ctx: CheckContext, *, only: Iterable[str] | None = None) -> Report:
    """Run the expectation checks (great-expectations, one suite per dataset) and our own checks."""
    return start_validation(pkg, ctx, only=only).finish()
