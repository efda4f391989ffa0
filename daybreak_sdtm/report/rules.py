"""The published rules each check implements, as every report shows them (``Implements`` of the registry)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daybreak_sdtm.checks.registry import Implements


def implements_of(code: str) -> Implements | None:
    """What check ``code`` declares it implements; None for a rule id no check has."""
    from daybreak_sdtm.checks import CHECKS

    check = CHECKS.get(code)
    return check.implements if check is not None else None


def implements_line(code: str) -> str:
    """``implements CDISC CG0014; CORE CORE-000355; FDA SD0056``, or ``implements no published rule``; "" when unknown."""
    official = implements_of(code)
    if official is None:
        return ""
    return f"implements {official.describe()}" if official.ids else "implements no published rule"


def rules_object(codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Check id -> its name and the CDISC, CORE and FDA ids it implements (``no_counterpart``: why it has none).

    The ``rules`` object of the JSON report, for the rules of its findings, by id.
    """
    from daybreak_sdtm.checks import CHECKS

    found: dict[str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        check = CHECKS.get(code)
        if check is None:
            continue
        official = check.implements
        found[code] = {
            "name": check.name,
            "cdisc": list(official.cdisc),
            "core": list(official.core),
            "fda": list(official.fda),
            "no_counterpart": official.none,
        }
    return found
