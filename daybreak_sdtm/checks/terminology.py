"""DB2xx: controlled terminology, generated from each variable's SDTMIG codelist (and the spec's value lists)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, Implements, check, expectation
from daybreak_sdtm.checks.versions import VALUES
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.gx import Expect
from daybreak_sdtm.standards import Codelist, Standards, VariableMeta
from daybreak_sdtm.text import text_codes

# SDTMIG 3.4 section 4.2.8.3: MULTIPLE stands for several values of a non-result qualifier.
IG_MULTIPLE = "MULTIPLE"
# A number written as text, as --ORRES/--STRESC hold numeric results, possibly with the comparator
# of a result beyond a limit of quantitation (SDTMIG 3.4 section 4.5.1: LBSTRESC "<2", LBSTRESN null).
_NUMBER = re.compile(r"^(?:<|<=|>|>=|=)?\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _allowed(codelists: list[Codelist], meta: VariableMeta, ctx: CheckContext) -> set[str]:
    """Every value the codelists (with the study's sponsor terms and MULTIPLE) allow."""
    allowed = {v for c in codelists for v in c.submission_values}
    for c in codelists:
        if c.extensible:
            allowed |= ctx.declared_terms.get(c.submission_value, frozenset())
    if "Qualifier" in meta.role and "Result" not in meta.role:
        allowed.add(IG_MULTIPLE)
    return allowed


def _present(allowed: set[str], meta: VariableMeta, ds: Dataset) -> tuple[list[str], list[str]]:
    """(the allowed values the column holds, the values it holds that are not allowed).

    A codelist such as UNIT has a thousand terms; the expectation only needs those present to
    flag the same values, and never gets an empty set.
    """
    present = {v for v in ds.codes(meta.name)[1] if v}
    values = allowed & present
    if meta.role == "Result Qualifier":
        # A result codelist (LBSTRESC, C102580) lists character results; a numeric result in
        # --ORRES/--STRESC is a number written as text, which no codelist lists (SDTMIG 3.4 section 4.5.1).
        values |= {v for v in present if _NUMBER.match(v)}
    return sorted(values) or [min(allowed)], sorted(present - values)


_SIBLINGS: dict[int, tuple[object, dict[str, frozenset[str]]]] = {}


def _sibling_codelists(std: Standards, meta: VariableMeta) -> frozenset[str]:
    """The codelists SDTMIG gives the same variable of other domains, and no other variable (FTCAT for QSCAT: both --CAT).

    Made once per standards object: generic name (``--CAT``) -> the codelist codes of every
    domain's variable of that name that no variable of another name uses.
    """
    made = _SIBLINGS.get(id(std))
    if made is None or made[0] is not std:
        index: dict[str, set[str]] = {}
        users: dict[str, set[str]] = {}  # codelist -> the generic names of the variables that use it
        for domain, variables in std.variables.items():
            for var in variables:
                generic = var.name[2:] if len(domain) == 2 and var.name.startswith(domain) else var.name
                for code in var.codelists:
                    users.setdefault(code, set()).add(generic)
                    index.setdefault(generic, set()).add(code)
        # A codelist shared with other variables (NY, UNIT) says nothing of what a value of this one means.
        made = _SIBLINGS[id(std)] = (std, {k: frozenset(c for c in v if users[c] == {k}) for k, v in index.items()})
    domain = meta.dataset if len(meta.dataset) == 2 else ""
    return made[1].get(meta.name[2:], frozenset()) if domain and meta.name.startswith(domain) else frozenset()


def _explained(
    value: str, codelists: list[Codelist], ds: Dataset, meta: VariableMeta, ctx: CheckContext
) -> tuple[str, bool]:
    """Why a value outside the codelists is still a controlled term, or one the declared SDTMIG
    names (("", False) when it is neither); the flag says the declared SDTMIG names it.

    CT itself records the value as a name of one of the codelists' terms (a CDISC synonym or the
    NCI preferred term: "sec" for s, "NDF-RT" for MED-RT), or as a term of the codelist SDTMIG
    gives the same variable in another domain (QSCAT "ADAS-COG" is a term of FTCAT: CT now has the
    instrument as a functional test); or the SDTMIG version the package declares names it as a
    value of the variable.
    """
    for c in codelists:
        for item in c.terms:
            if value in item.synonyms or value == item.preferred_term:
                return (
                    f"CT {ctx.standards.ct_version} records it as a name of term {item.code} of {c.submission_value}, "
                    f"whose submission value is {item.submission_value!r}"
                ), False
    own = {c.code for c in codelists}
    for code in sorted(_sibling_codelists(ctx.standards, meta) - own):
        other = ctx.standards.codelist(code)
        found = other.term(value) if other is not None else None
        if other is not None and found is not None:
            return (
                f"CT {ctx.standards.ct_version} has it as term {found.code} of {other.submission_value} "
                f"({other.name}, {code}), the codelist of the same variable in another domain"
            ), False
    change = ctx.difference(ds, meta.name, VALUES)
    if change is not None and value in change.values:
        return f"SDTMIG {ctx.declared_sdtmig} names it as a value of {meta.name} ({change.why})", True
    return "", False


def _conditions(
    where: dict[str, tuple[str, ...]], earlier: list[dict[str, tuple[str, ...]]]
) -> list[tuple[str, list[str], bool]]:
    """(variable, values, is_in) terms ANDed into a row condition for one value-level case.

    The first matching case wins, as in the spec, so a case excludes the records of earlier cases;
    an earlier case on several variables would need an OR and is not excluded (its records are
    then checked against both codelists, which can only add findings, never hide one).
    """
    terms = [(var, list(values), True) for var, values in where.items()]
    terms += [(var, list(values), False) for w in earlier if len(w) == 1 for var, values in w.items()]
    return terms


@expectation(
    "DB201",
    "ct.value_in_codelist",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 section 4.3 (coding and controlled terminology)",
        "SDTMIG 3.4 section 4.2.8.3 (MULTIPLE for several qualifier values)",
    ),
    implements=Implements(fda=("CT2001", "CT2002", "CT2004", "CT2005")),
)
def value_in_codelist(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """A variable with a codelist holds only that codelist's submission values.

    Anti-pattern: AESEV = "Mild" (the collected text), SEX = "Male".
    Fix: map it with ``derivation: assign_ct`` (or a ``map:``) to the submission value.
    Severity: error for a non-extensible codelist; warning for an extensible one, where sponsor
    terms are allowed but should be checked (terms the study declares, such as its epochs, pass).
    MULTIPLE passes for non-result qualifiers, and a number written as text passes in a result
    qualifier, with the comparator of a result beyond a limit (LBSTRESC = "6.84", "<2.2204").
    When the mapping spec gives value-level codelists (RSSTRESC of RSTESTCD = NEWLIND uses NY),
    each case is checked against its own codelist.
    A value CT still records as a name of one of the codelist's terms (a CDISC synonym or NCI
    preferred term: "sec" for s), or as a term of the codelist of the same variable in another
    domain (QSCAT "ADAS-COG" is now an FTCAT term), or that the package's declared SDTMIG names
    (TSVCDREF "CDISC" in 3.2), gets a message saying so; for a package that declares an older
    SDTMIG than the one checked, such a value of an extensible codelist is a note.
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
        older = ctx.difference_applies
        for where, code in cases:
            codelists = [std.codelist(c.strip()) for c in code.split(";")]
            found = [c for c in codelists if c is not None and c.terms]
            if not found or any(v not in ds.frame.columns for v in where):
                continue  # a codelist the CT release does not carry cannot be checked
            extensible = any(c.extensible for c in found)
            severity = Severity.WARNING if extensible else Severity.ERROR
            names = "/".join(f"{c.submission_value} ({c.code})" for c in found)
            kind = "extensible" if extensible else "non-extensible"
            value_set, outside = _present(_allowed(found, meta, ctx), meta, ds)
            special = {v: why for v in outside if (why := _explained(v, found, ds, meta, ctx))[0]}
            terms = _conditions(where, taken)
            if where:
                taken.append(where)
            kwargs: dict[str, object] = {"column": meta.name, "value_set": sorted({*value_set, *special})}
            if terms:
                kwargs["row_condition"] = tuple(terms)  # built into gx Condition objects by the runner
            yield Expect(
                "DB201",
                severity,
                meta.name,
                "ExpectColumnValuesToBeInSet",
                kwargs,
                f"{{value!r}} is not in {kind} codelist {names}",
            )
            for value, (reason, named_by_ig) in sorted(special.items()):
                # The IG version the package declares may have had it (older CT, older examples): a note.
                as_note = older and (extensible or named_by_ig)
                escaped = reason.replace("{", "{{").replace("}", "}}")
                message = f"{{value!r}} is not in {kind} codelist {names}: {escaped}"
                if as_note:
                    message += (
                        f"; reported as a note: the package declares SDTMIG {ctx.declared_sdtmig}, "
                        f"whose terminology may have had it"
                    )
                single: dict[str, object] = {"column": meta.name, "value_set": [value]}
                if terms:
                    single["row_condition"] = tuple(terms)
                yield Expect(
                    "DB201",
                    Severity.NOTE if as_note else severity,
                    meta.name,
                    "ExpectColumnValuesToNotBeInSet",
                    single,
                    message,
                )


# Short name and name variables that CT pairs term by term (SDTMIG 3.4 section 4.5.3).
PAIRS = (("TESTCD", "TEST"), ("PARMCD", "PARM"))


def _codelists_of(std: Standards, ds: Dataset, variable: str) -> list[Codelist]:
    meta = std.variable(ds.name, variable)
    found = [std.codelist(c) for c in meta.codelists] if meta is not None else []
    return [c for c in found if c is not None and c.terms]


_CATEGORIES: dict[tuple[int, str], tuple[object, dict[str, tuple[Codelist, Codelist]]]] = {}


def _category_codelists(std: Standards, ds: Dataset) -> dict[str, tuple[Codelist, Codelist]]:
    """--CAT value -> (short name codelist, name codelist) that CT publishes for that category.

    CT names the test code and test name codelists of an instrument after the CDISC synonym of its
    category term: QSCAT "DAD" (synonym DAD01) has DAD01TC and DAD01TN. Only --CAT values that are
    terms of the variable's own codelist count.
    """
    made = _CATEGORIES.get((id(std), ds.domain))
    if made is not None and made[0] is std:
        return made[1]
    found: dict[str, tuple[Codelist, Codelist]] = {}
    _CATEGORIES[(id(std), ds.domain)] = (std, found)
    for codelist in _codelists_of(std, ds, f"{ds.domain}CAT"):
        for item in codelist.terms:
            for synonym in item.synonyms:
                short, name = std.codelist(f"{synonym}TC"), std.codelist(f"{synonym}TN")
                if short is not None and name is not None and short.terms and name.terms:
                    found[item.submission_value] = (short, name)
                    break
    return found


def _distinct_rows(ds: Dataset, variables: list[str]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """The distinct value combinations of char variables, and each record's index among them.

    Made from the dataset's own factorisations (``Dataset.codes``): one integer key per record.
    """
    coded = [ds.codes(v) if ds.frame[v].dtype == object else text_codes(ds.text(v)) for v in variables]
    key = np.zeros(len(ds.frame), dtype=np.int64)
    for codes, table in coded:
        key = key * (len(table) + 1) + (np.where(codes < 0, len(table) - 1, codes))
    rows, uniques = pd.factorize(key)
    distinct = []
    for number in uniques.tolist():
        combo = []
        rest = number
        for _codes, table in reversed(coded):
            rest, at = divmod(rest, len(table) + 1)
            combo.append(str(table[at]))
        distinct.append(tuple(reversed(combo)))
    return rows, distinct


def _codes(codelists: list[Codelist], value: str) -> list[str]:
    return [t.code for c in codelists if (t := c.term(value)) is not None]


@check(
    "DB202",
    "ct.paired_terms",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 section 4.5.3 (--TESTCD and --TEST)",
        "SDTMIG 3.4 section 4.3 (controlled terminology)",
    ),
    implements=Implements(fda=("CT2003", "CT2006")),
)
def paired_terms(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """--TESTCD and --TEST (--PARMCD and --PARM) name the same test: the same NCI term code in their paired codelists.

    The codelists are the variables' own (LBTESTCD C65047 with LBTEST C67154), or, where CT
    publishes them for the record's category, the instrument's: a QSCAT term whose CDISC synonym
    is S has test codes in codelist S+TC and names in S+TN (QSCAT "DAD": DAD01TC/DAD01TN). A code
    or name the codelists lack is not judged here (an instrument's own codes may predate its CT
    codelists). Judged once per distinct (category, code, name).
    Anti-pattern: LBTESTCD = "ALT" with LBTEST = "Aspartate Aminotransferase" (AST's name).
    Fix: take the name from the same term as the code (``assign_ct`` on both).
    """
    std = ctx.standards
    for ds in pkg.datasets.values():
        if ds.is_supp:
            continue
        by_category = _category_codelists(std, ds)
        category = f"{ds.domain}CAT"
        for short_suffix, name_suffix in PAIRS:
            short_var, name_var = f"{ds.domain}{short_suffix}", f"{ds.domain}{name_suffix}"
            if short_var not in ds.frame.columns or name_var not in ds.frame.columns:
                continue
            own = (_codelists_of(std, ds, short_var), _codelists_of(std, ds, name_var))
            if not (own[0] and own[1]) and not (
                by_category and short_suffix == "TESTCD" and category in ds.frame.columns
            ):
                continue
            with_category = category in ds.frame.columns and short_suffix == "TESTCD"
            rows, distinct = _distinct_rows(ds, [short_var, name_var] + ([category] if with_category else []))
            bad_of: dict[int, tuple[str, str]] = {}
            for i, combo in enumerate(distinct):
                short, name = combo[0], combo[1]
                cat = combo[2] if with_category else ""
                if not short and not name:
                    continue
                lists = by_category.get(cat) if cat else None
                short_lists, name_lists = ([lists[0]], [lists[1]]) if lists else own
                if not short_lists or not name_lists:
                    continue
                short_codes, name_codes = _codes(short_lists, short), _codes(name_lists, name)
                where = f" for {category} = {cat!r}" if lists else ""
                # Only the pairing is judged: a package may use an instrument's own codes from
                # before CT published codelists for it, which a later CT release cannot fault.
                if short_codes and name_codes and not set(short_codes) & set(name_codes):
                    paired = [t.submission_value for c in name_lists for t in c.terms if t.code in short_codes]
                    bad_of[i] = (
                        name_var,
                        f"{name_var} {name!r} is term {name_codes[0]}, {short_var} {short!r} is term "
                        f"{short_codes[0]}: the name paired with {short!r} is "
                        f"{paired[0] if paired else '(none)'!r}{where}",
                    )
            for variable in (short_var, name_var):
                picked = {i: m for i, (v, m) in bad_of.items() if v == variable}
                if not picked:
                    continue
                flagged = np.isin(rows, list(picked))
                positions = np.flatnonzero(flagged)
                yield from ds.findings(
                    "DB202", Severity.ERROR, positions, variable, [picked[r] for r in rows[positions].tolist()]
                )
