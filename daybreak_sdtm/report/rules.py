"""What reports say of each rule: the published rules a check implements (``Implements`` of the
registry), and each rule's name, severity and documentation, the checks' and lint's alike (``rule_text``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daybreak_sdtm.findings import Severity

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


# Problems lint reports, as rules of their own: lint's findings are not the checks' (they are
# about the specs and the raw values, not a package), and reports that describe rules (SARIF)
# name them as they name the checks.
LINT_SPEC = "LINT001"
LINT_VALUE = "LINT002"


@dataclass(frozen=True)
class RuleText:
    """What a report says of a rule: a check of the registry, or a problem lint reports.

    Attributes:
        code: The rule id (``DB201``, ``LINT001``).
        name: Its dotted name (``ct.value_in_codelist``).
        severity: The severity of its findings unless a finding says otherwise.
        summary: One sentence.
        doc: What it checks (the check's docstring).
        help: Its whole documentation, as ``explain`` prints it (with the rules it implements and
            its references).
        references: The texts it follows (SDTMIG sections, FDA guides); a URL among them is its help page.
        tags: Words to group rules by (``sdtm``, the check's family).
        implements: The published rules a check implements; None for lint's.
    """

    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    help: str
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    implements: Implements | None = None


def _lint_rule(code: str, name: str, summary: str, doc: str, reference: str) -> RuleText:
    """One of lint's rules (an error, documented in the README section ``reference``)."""
    text = f"{code} {name} (error, lint)\n\n{doc}\n\nReferences:\n  - {reference}\n"
    return RuleText(code, name, Severity.ERROR, summary, doc, text, (reference,), ("lint",))


LINT_RULES = {
    LINT_SPEC: _lint_rule(
        LINT_SPEC,
        "lint.spec",
        "A mapping spec or study file is malformed or names something that does not exist.",
        "`daybreak-sdtm lint` checks the mapping specs without converting: their keys, the variables "
        "they name against SDTMIG, derivations and their parameters against the registry, codelists "
        "against CT, raw columns against the export's headers, types, and the protocol rules. Each "
        "problem is at the spec's file:line:col, with a hint when a known name is close.",
        "README: Checking specs as you write them",
    ),
    LINT_VALUE: _lint_rule(
        LINT_VALUE,
        "lint.raw_value",
        "A raw value of the export cannot be mapped as the spec says.",
        "`daybreak-sdtm lint --export DIR --values` maps every raw value of the export without "
        "writing anything. Each value that cannot be mapped (a date not in the spec's format, a "
        "code in no codelist nor in the spec's map, a number that is not one) is at the spec entry "
        "that reads it; the message names the raw file, record, column and value.",
        "README: Command line (lint --values)",
    ),
}


def rule_text(code: str) -> RuleText | None:
    """What to say of rule ``code``: its check's name, severity, summary and documentation, else
    lint's rule of that id; None for an id neither knows."""
    if code in LINT_RULES:  # before the registry's import: lint's report needs none of the checks
        return LINT_RULES[code]
    from daybreak_sdtm.checks import CHECKS
    from daybreak_sdtm.checks.registry import explanation

    check = CHECKS.get(code)
    if check is None:
        return None
    return RuleText(
        code,
        check.name,
        check.severity,
        check.summary,
        check.doc,
        explanation(check),
        check.references,
        ("sdtm", check.family),
        check.implements,
    )
