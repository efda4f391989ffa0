"""Run every registered check on a package and collect one Report; bad data never raises."""

from __future__ import annotations

import time
from collections.abc import Iterable

from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.registry import CHECKS, CheckContext
from daybreak_sdtm.findings import Finding, Report


def validate_package(pkg: Package, ctx: CheckContext, *, only: Iterable[str] | None = None) -> Report:
    """Run the expectations (great-expectations, one suite per dataset) and our own checks.

    Args:
        pkg: The package; ``pkg.define`` is read here when given (unreadable: PackageError).
        ctx: Standards, protocol rules and what else checks consult.
        only: Check ids to run (all when None), for tests and ``validate --check``.
    """
    from daybreak_sdtm.checks.metadata import read_define

    selected = [c for code, c in sorted(CHECKS.items()) if only is None or code in set(only)]
    if pkg.define is not None and pkg.define_meta is None:
        pkg.define_meta = read_define(pkg.define)
    timings: dict[str, float] = {}
    findings: list[Finding] = []

    expectation_defs = [c for c in selected if c.kind == "expectation"]
    if expectation_defs:
        start = time.perf_counter()
        plans = {name: [e for c in expectation_defs for e in c.fn(ds, ctx)] for name, ds in pkg.datasets.items()}
        if any(plans.values()):
            from daybreak_sdtm.checks.expect import GxRunner

            runner = GxRunner()
            timings["gx_setup"] = time.perf_counter() - start
            for name, ds in pkg.datasets.items():
                findings.extend(runner.run(ds, plans[name]))
        timings["expectations"] = time.perf_counter() - start
        timings["expectation_count"] = float(sum(len(p) for p in plans.values()))

    start = time.perf_counter()
    for item in selected:
        if item.kind == "check":
            findings.extend(item.fn(pkg, ctx))
    timings["checks"] = time.perf_counter() - start
    return Report.of(findings, pkg.datasets, timings)
