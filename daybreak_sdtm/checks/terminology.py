"""DB2xx: controlled terminology, generated from each variable's SDTMIG codelist (and the spec's value lists)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from daybreak_sdtm.checks.expect import Expect
from daybreak_sdtm.checks.package import Dataset
from daybreak_sdtm.checks.registry import CheckContext, expectation
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.standards import Codelist, VariableMeta

# SDTMIG 3.4 section 4.2.8.3: MULTIPLE stands for several values of a non-result qualifier.
IG_MULTIPLE = "MULTIPLE"
# A number written as text, as --ORRES/--STRESC hold numeric results.
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _allowed(codelists: list[Codelist], meta: VariableMeta, ctx: CheckContext, ds: Dataset) -> list[str]:
    """The allowed values the column holds (a codelist such as UNIT has a thousand terms; the
    expectation only needs those present to flag the same values), never an empty set."""
    allowed = {v for c in codelists for v in c.submission_values}
    for c in codelists:
        if c.extensible:
            allowed |= ctx.declared_terms.get(c.submission_value, frozenset())
    if "Qualifier" in meta.role and "Result" not in meta.role:
        allowed.add(IG_MULTIPLE)
    present = {v for v in ds.codes(meta.name)[1] if v}
    values = allowed & present
    if meta.role == "Result Qualifier":
        # A result codelist (LBSTRESC, C102580) lists character results; a numeric result in
        # --ORRES/--STRESC is a number written as text, which no codelist lists (SDTMIG 3.4 section 4.5.1).
        values |= {v for v in present if _NUMBER.match(v)}
    return sorted(values) or [min(allowed)]


def _conditions(where: dict[str, tuple[str, ...]], earlier: list[dict[str, tuple[str, ...]]]) -> list[tuple[str, list[str], bool]]:
    """(variable, values, is_in) terms ANDed into a row condition for one value-level case.

    The first matching case wins, as in the spec, so a case excludes the records of earlier cases;
    an earlier case on several variables would need an OR and is not excluded (its records are
    then checked against both codelists, which can only add findings, never hide one).
    """
    terms = [(var, list(values), True) for var, values in where.items()]
    terms += [(var, list(values), False) for w in earlier if len(w) == 1 for var, values in w.items()]
    return terms


@expectation("DB201", "ct.value_in_codelist", severity=Severity.ERROR,
             references=("SDTMIG 3.4 section 4.3 (coding and controlled terminology)",
                         "SDTMIG 3.4 section 4.2.8.3 (MULTIPLE for several qualifier values)"))
def value_in_codelist(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """A variable with a codelist holds only that codelist's submission values.

    Anti-pattern: AESEV = "Mild" (the collected text), SEX = "Male".
    Fix: map it with ``derivation: assign_ct`` (or a ``map:``) to the submission value.
    Severity: error for a non-extensible codelist; warning for an extensible one, where sponsor
    terms are allowed but should be checked (terms the study declares, such as its epochs, pass).
    MULTIPLE passes for non-result qualifiers, and a number written as text passes in a result
    qualifier (LBSTRESC = "6.84"). When the mapping spec gives value-level codelists
    (RSSTRESC of RSTESTCD = NEWLIND uses NY), each case is checked against its own codelist.
    DOMAIN/RDOMAIN are DB107's business.
    Engine: great-expectations ``ExpectColumnValuesToBeInSet`` per coded variable, with a pandas
    ``row_condition`` per value-level case (blank values pass).
    """
    std = ctx.standards
    for column in ds.frame.columns:
        meta = std.variable(ds.name, column)  # the IG's, or one the domain's SDTM class allows (EPOCH)
        if meta is None or meta.name in ("DOMAIN", "RDOMAIN") or ds.frame[meta.name].dtype != object:
            continue  # a Num variable stored as such is DB104's; CT here applies to text
        cases: list[tuple[dict[str, tuple[str, ...]], str]] = list(ctx.value_codelists.get((ds.name, meta.name), ()))
        if not cases and meta.codelist:
            cases = [({}, meta.codelist)]
        taken: list[dict[str, tuple[str, ...]]] = []
        for where, code in cases:
            codelists = [std.codelist(c.strip()) for c in code.split(";")]
            found = [c for c in codelists if c is not None and c.terms]
            if not found or any(v not in ds.frame.columns for v in where):
                continue  # a codelist the CT release does not carry cannot be checked
            extensible = any(c.extensible for c in found)
            severity = Severity.WARNING if extensible else Severity.ERROR
            names = "/".join(f"{c.submission_value} ({c.code})" for c in found)
            kind = "extensible" if extensible else "non-extensible"
            kwargs: dict[str, object] = {"column": meta.name, "value_set": _allowed(found, meta, ctx, ds)}
            terms = _conditions(where, taken)
            if terms:
                kwargs["row_condition"] = tuple(terms)  # built into gx Condition objects by the runner
            if where:
                taken.append(where)
            yield Expect("DB201", severity, meta.name, "ExpectColumnValuesToBeInSet", kwargs,
                         f"{{value!r}} is not in {kind} codelist {names}")
