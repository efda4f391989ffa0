"""Validation of SDTM packages: the registry of checks, the package model and the runner.

Importing this package registers every built-in check (explicit imports, no directory scanning).
The expectation checks run through the great-expectations adapter (``daybreak_sdtm.gx``), which
imports gx only when they run.
"""

from __future__ import annotations

from daybreak_sdtm.checks import (  # noqa: F401  (registration)
    consistency,
    core_rules,
    dates,
    keys,
    metadata,
    protocol,
    structure,
    submission,
    terminology,
)
from daybreak_sdtm.checks.package import Dataset, Package, PackageError, read_package
from daybreak_sdtm.checks.registry import CHECKS, CheckContext, CheckDef, get_check
from daybreak_sdtm.checks.run import validate_package

__all__ = [
    "CHECKS",
    "CheckContext",
    "CheckDef",
    "Dataset",
    "Package",
    "PackageError",
    "get_check",
    "read_package",
    "validate_package",
]
