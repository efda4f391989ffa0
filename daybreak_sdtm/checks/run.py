"""Run every registered check on a package and collect one Report; bad data never raises."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping

import numpy as np

from daybreak_sdtm import gx, progress
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.registry import CHECKS, CheckContext, CheckDef
from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.findings import Finding, Report, fingerprint


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
        keys: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.pkg, self._expectations, self.findings, self._timings = pkg, expectations, findings, timings
        self._standards = standards
        self._keys = dict(keys or {})
        self._report: Report | None = None

    def finish(self) -> Report:
        """Wait for the expectations; the report of both (the same report when asked again)."""
        if self._report is not None:
            return self._report
        start = time.perf_counter()
        findings = fingerprinted([*self.findings, *self._expectations.findings()], self.pkg, self._keys)
        self._timings["expectations"] = self._timings.get("expectations", 0.0) + time.perf_counter() - start
        self._report = dataclasses.replace(
            Report.of(findings, self.pkg.datasets, self._timings),
            standards=self._standards,
            files=package_files(self.pkg),
        )
        return self._report


def package_files(pkg: Package) -> dict[str, str]:
    """The file each dataset was read from, by name, and the package folder under "" (when they are files)."""
    files = {name: ds.file for name, ds in pkg.datasets.items() if ds.file}
    return files | ({"": str(pkg.folder)} if pkg.folder is not None else {})


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
    keys = {name: natural_keys(ds, ctx) for name, ds in pkg.datasets.items()}
    return Validation(pkg, expectations, findings, timings, f"{ctx.versions_note}, CT {ctx.standards.ct_version}", keys)


def natural_keys(ds: Dataset, ctx: CheckContext) -> tuple[str, ...]:
    """The variables that identify a record of the dataset: the study's (or define's) keys, else
    SDTMIG's, without STUDYID; those the dataset holds."""
    meta = ctx.standards.dataset(ds.name)
    keys = ctx.keys.get(ds.name) or (meta.keys if meta is not None else ())
    return tuple(k for k in keys if k != "STUDYID" and k in ds.frame.columns)


def fingerprinted(findings: Iterable[Finding], pkg: Package, keys: Mapping[str, tuple[str, ...]]) -> list[Finding]:
    """Each finding with its fingerprint: record-level ones by their record's natural key values.

    Where the keys do not identify records (duplicates, DB306), the n-th record with the same key
    values is told from the others by n, in record order.
    """
    out = []
    occurrences: dict[str, np.ndarray] = {}
    for f in findings:
        ds = pkg.datasets.get(f.dataset)
        names = keys.get(f.dataset, ())
        values = None
        if ds is not None and f.row is not None and names and 0 < f.row <= len(ds.frame):
            if f.dataset not in occurrences:
                occurrences[f.dataset] = ds.frame.groupby(list(names), sort=False, dropna=False).cumcount().to_numpy()
            values = {k: str(ds.frame[k].iat[f.row - 1]) for k in names}
            values["#"] = str(int(occurrences[f.dataset][f.row - 1]))
        out.append(dataclasses.replace(f, fingerprint=fingerprint(f, values)))
    return out


def validate_package(pkg: Package, ctx: CheckContext, *, only: Iterable[str] | None = None) -> Report:
    """Run the expectation checks (great-expectations, one suite per dataset) and our own checks."""
    return start_validation(pkg, ctx, only=only).finish()
