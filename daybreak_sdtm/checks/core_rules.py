"""The rule table's checks: CDISC CORE rules written as rows (``checks/rules/*.yaml``), tested by their kinds.

Four checks report the table's rows, each in the family its rules belong to: DB114 (variables
that come together, datasets as a whole), DB205 (values of a record that must agree), DB309
(values that must correspond within a dataset or occur in another) and DB412 (dates of a record
in order). Each declares, in ``implements``, every CDISC, CORE and FDA id of its rows; each
finding names its CORE rule (``Finding.core`` and the message), so two rules of one check on
one record are two findings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, Implements, check
from daybreak_sdtm.checks.rule_kinds import KINDS, Rule, Table, needed
from daybreak_sdtm.checks.rule_table import rules
from daybreak_sdtm.findings import Finding, Severity

REFERENCE = "CDISC CORE rules for SDTMIG 3.4 (the rule table daybreak_sdtm/checks/rules/, one file per CORE class)"


def implements_of(code: str) -> Implements:
    """Every CDISC, CORE and FDA id of the rows reported under check ``code``, sorted."""
    mine = [r for r in rules() if r.check == code]
    return Implements(
        cdisc=tuple(sorted({i for r in mine for i in r.cdisc})),
        core=tuple(sorted(r.core for r in mine)),
        fda=tuple(sorted({i for r in mine for i in r.fda})),
        none="" if mine else "the rule table has no row for this check yet",
    )


def dataset_class(ds: Dataset, ctx: CheckContext) -> str:
    """The SDTM class of a dataset as CORE names them: SUPP-- datasets are RELATIONSHIP; "" when unknown."""
    if ds.is_supp:
        return "RELATIONSHIP"
    meta = ctx.standards.dataset(ds.name)
    return meta.klass if meta is not None else ""


def applies(rule: Rule, table: Table, klass: str) -> bool:
    """Whether the rule applies to the table's dataset: in its scope, holding every variable it needs."""
    return (
        rule.scope.holds(table.ds, klass)
        and all(table.has(v) for v in needed(rule))
        and not any(table.has(v) for v in rule.without)
    )


def message(rule: Rule, table: Table, detail: str) -> str:
    """``CORE-000026: VSTPTNUM is not present while VSTPT is`` (``--`` read as the domain prefix)."""
    text = rule.message.replace("--", table.ds.domain) if not table.ds.is_supp else rule.message
    return f"{rule.core}: {text}" + (f" ({detail})" if detail else "")


def for_version(rule: Rule, declared: str) -> Rule:
    """The rule as it applies to a package declaring SDTMIG ``declared``: a rule CORE gives only
    for other versions (CORE-000211, SDTMIG 3.3 and 3.4, on a 3.2 package) reports notes, never
    errors, saying so."""
    if not declared or not rule.sdtmig or declared in rule.sdtmig:
        return rule
    versions = ", ".join(rule.sdtmig)
    return dataclasses.replace(
        rule,
        severity=Severity.NOTE,
        message=f"{rule.message} [a rule of SDTMIG {versions}; the package declares SDTMIG {declared}]",
    )


def rule_findings(code: str, selected: tuple[Rule, ...], pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """The findings of ``selected`` rows on every dataset they apply to, reported under check ``code``."""
    tables = [(Table(pkg, ds, ctx), dataset_class(ds, ctx)) for ds in pkg.datasets.values()]
    for row in selected:
        rule = for_version(row, ctx.declared_sdtmig)
        fn = KINDS[rule.kind].fn
        for table, klass in tables:
            if not applies(rule, table, klass):
                continue
            for hit in fn(table, rule):
                variable = table.name(hit.variable)
                if hit.rows is None:
                    yield table.ds.finding(
                        code, rule.severity, variable, message(rule, table, str(hit.detail)), rule.core
                    )
                    continue
                text = (
                    message(rule, table, hit.detail)
                    if isinstance(hit.detail, str)
                    else [message(rule, table, d) for d in hit.detail]
                )
                yield from table.ds.findings(code, rule.severity, hit.rows, variable, text, core=rule.core)


def _table_check(code: str) -> Callable[[Package, CheckContext], Iterator[Finding]]:
    def run(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
        yield from rule_findings(code, tuple(r for r in rules() if r.check == code), pkg, ctx)

    return run


def _register(code: str, name: str, doc: str) -> None:
    fn = _table_check(code)
    fn.__doc__ = doc
    fn.__name__ = name.split(".")[1]
    check(code, name, severity=Severity.ERROR, references=(REFERENCE,), implements=implements_of(code))(fn)


_register(
    "DB114",
    "structure.core_rules",
    """CDISC CORE rules of the rule table about a dataset's variables and the dataset as a whole.

    Variables that come together (--TPT with --TPTNUM, --SCAT with --CAT, --STTPT with
    --STRTPT ...) and datasets without records. Each finding names its CORE rule; its severity is
    the rule's. The rows (kinds ``requires_variable`` and ``dataset``) are in
    daybreak_sdtm/checks/rules/; ``explain`` lists every id they implement.
    Fix: add the missing variable (null where not collected) or drop the one it qualifies.
    """,
)
_register(
    "DB205",
    "ct.core_rules",
    """CDISC CORE rules of the rule table about values of one record that must agree.

    A condition on a record (``condition`` rows: when --SCAT is given --CAT is, ARM and ARMCD are
    given together, an unplanned element has no TAETORD ...). Each finding names its CORE rule;
    its severity is the rule's.
    Fix: correct the value the message names, or the one it must agree with.
    """,
)
_register(
    "DB309",
    "keys.core_rules",
    """CDISC CORE rules of the rule table about values that must correspond: one to one within a
    dataset, at most once per group, or found in another dataset.

    ``one_to_one``, ``at_most_one`` and ``in_dataset`` rows (VISIT and VISITNUM one to one,
    SUBJID unique, a planned visit in TV ...). A rule that reads another dataset judges nothing
    when that dataset is not in the package. Each finding names its CORE rule.
    Fix: make the values correspond (one name per code), or add the missing record where it belongs.
    """,
)
_register(
    "DB412",
    "dates.core_rules",
    """CDISC CORE rules of the rule table about dates of one record in order (RFSTDTC not after
    RFENDTC, informed consent not after first treatment ...).

    Dates are compared as ISO 8601 at the precision both have; a blank or partial-past-the-other
    date is compared as far as both go, an invalid one not at all (DB401 reports it).
    Fix: correct the date that is out of order.
    """,
)
