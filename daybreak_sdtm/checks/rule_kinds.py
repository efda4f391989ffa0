"""The kinds of rule the rule table (``checks/rules/*.yaml``) is written in, and the operators of their conditions.

A row of the table names a kind (``condition``, ``requires_variable``, ``one_to_one``,
``at_most_one``, ``in_dataset``, ``dataset``) and gives its parameters; the kind is a function
``fn(table, rule) -> Iterator[Hit]`` registered with ``@kind``, vectorised over whole columns.
A condition is ``[variable, operator]`` or ``[variable, operator, operand]``; an operator is a
function registered with ``@operator`` that answers, for every record, whether the condition
holds (and, for comparisons, whether the values could be compared at all: an uncomparable pair
never gives a finding).

Variable names are as CORE writes them: ``--TPT`` is the dataset's domain prefix plus ``TPT``
(``VSTPT`` in VS and in VSxx), ``DM.RFSTDTC`` the subject's value in DM. Adding a kind or an
operator is adding a decorated function here; ``checks.rule_table`` checks every row against
their declared parameters when it loads the table.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from daybreak_sdtm.date_formats import DATETIME
from daybreak_sdtm.findings import Severity

if TYPE_CHECKING:
    from daybreak_sdtm.checks.package import Dataset, Package
    from daybreak_sdtm.checks.registry import CheckContext

# The shapes a parameter or operand can take; ``checks.rule_table`` checks each when it loads a row.
VARIABLE = "variable"  # one variable name: --TPT, VISITNUM, DM.RFSTDTC
VARIABLES = "variables"  # a list of variable names
CONDITIONS = "conditions"  # a list of [variable, operator(, operand)]
DATASET = "dataset"  # a dataset name: TV, DM
TEXT = "text"  # a value: Y, UNPLAN
TEXTS = "texts"  # a list of values
NUMBER = "number"  # an integer: a length
BOOLEAN = "boolean"
REGEX = "regex"  # a Python regular expression, matched against the whole value
NOTHING = "nothing"  # an operator without operand (empty, not_empty)
COLUMN = "column"  # another dataset's variable: TV.VISITNUM
SHAPES = (VARIABLE, VARIABLES, CONDITIONS, DATASET, TEXT, TEXTS, NUMBER, BOOLEAN, REGEX, NOTHING, COLUMN)

# A variable as a rule names it: --XXX (the domain prefix), a full name, or DM.NAME (the subject's DM value).
VARIABLE_NAME = re.compile(r"^(?:--[A-Z][A-Z0-9]{0,5}|[A-Z][A-Z0-9]{0,7}|DM\.[A-Z][A-Z0-9]{0,7})$")
DATASET_NAME = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
COLUMN_NAME = re.compile(r"^[A-Z][A-Z0-9]{1,7}\.[A-Z][A-Z0-9]{0,7}$")

# The components of an ISO 8601 date/time known from its start (year, month, day, hour, minute,
# second), as far as they are given without a gap.
_DATE_PARTS = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?")


@dataclass(frozen=True)
class Condition:
    """``[--STAT, equal_to, NOT DONE]``: a variable, an operator and the operand it takes (None for none)."""

    variable: str
    operator: str
    operand: str | int | tuple[str, ...] | None = None


ParamValue = str | int | bool | tuple[str, ...] | tuple[Condition, ...]


@dataclass(frozen=True)
class Scope:
    """The datasets a rule applies to: every one, or those of some domains or SDTM classes, minus some domains.

    ``domains`` are domain codes (LB applies to LB, LBCH, LBHE ...) or ``SUPP--`` (every SUPP--
    dataset); ``classes`` are SDTM classes as Define-XML names them (SUPP-- datasets are of
    RELATIONSHIP); ``except_domains`` (domains, dataset names or classes) are left out.
    """

    domains: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    except_domains: tuple[str, ...] = ()

    def holds(self, ds: Dataset, klass: str) -> bool:
        """Whether the rule applies to ``ds`` (of SDTM class ``klass``)."""
        code = "SUPP--" if ds.is_supp else ds.domain
        if code in self.except_domains or ds.name in self.except_domains or klass in self.except_domains:
            return False
        if not self.domains and not self.classes:
            return True
        return code in self.domains or ds.name in self.domains or klass in self.classes


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: a CORE rule, the published ids it carries, where it applies and how it is tested.

    Attributes:
        core: The CDISC CORE id (``CORE-000026``).
        cdisc: Its CDISC conformance rule ids (``CG0468``).
        fda: Its FDA rule ids (``FB0922``).
        severity: The severity of its findings.
        scope: The datasets it applies to.
        kind: The kind that tests it (``KINDS``).
        params: The kind's parameters, checked against the kind's declaration.
        message: The finding's message, ``--`` read as the dataset's domain prefix.
        check: The check id the rule is reported under (DB114, DB205, DB309, DB412).
        where: ``file:line`` of the row.
        fails: Example packages (dataset -> records) that must give this rule's finding, with ``at``.
        passes: Example packages that must give none.
        sdtmig: The SDTMIG versions CORE gives the rule for (``3.3``, ``3.4``); () for every one.
    """

    core: str
    cdisc: tuple[str, ...]
    fda: tuple[str, ...]
    severity: Severity
    scope: Scope
    kind: str
    params: Mapping[str, ParamValue]
    message: str
    check: str
    where: str = ""
    without: tuple[str, ...] = ()  # variables the dataset must not hold for the rule to apply
    fails: tuple[Mapping[str, object], ...] = field(default=(), compare=False)
    passes: tuple[Mapping[str, object], ...] = field(default=(), compare=False)
    sdtmig: tuple[str, ...] = ()

    def text(self, name: str, default: str = "") -> str:
        """A text, variable or dataset parameter."""
        value = self.params.get(name, default)
        return value if isinstance(value, str) else default

    def number(self, name: str, default: int = 0) -> int:
        """A number parameter."""
        value = self.params.get(name, default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter."""
        value = self.params.get(name, default)
        return value if isinstance(value, bool) else default

    def names(self, name: str) -> tuple[str, ...]:
        """A list-of-variables (or of values) parameter; () when not given."""
        value = self.params.get(name, ())
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, tuple) else ()

    def conditions(self, name: str) -> tuple[Condition, ...]:
        """A list-of-conditions parameter; () when not given."""
        value = self.params.get(name, ())
        return tuple(v for v in value if isinstance(v, Condition)) if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class Hit:
    """What a kind found: the records (0-based positions; None for the dataset as a whole) and the variable."""

    rows: np.ndarray | None
    variable: str
    detail: str | list[str] = ""  # said after the rule's message, one for all or one per record


class Table:
    """One dataset as a rule sees it: its variables by CORE's names, its text, the package around it."""

    def __init__(self, pkg: Package, ds: Dataset, ctx: CheckContext) -> None:
        self.pkg, self.ds, self.ctx = pkg, ds, ctx
        self.size = len(ds.frame)
        self.columns = set(ds.frame.columns)
        self._texts: dict[str, np.ndarray] = {}
        self._dates: dict[str, np.ndarray] = {}

    def name(self, variable: str) -> str:
        """``--TPT`` -> ``VSTPT`` in VS; other names as they are."""
        return f"{self.ds.domain}{variable[2:]}" if variable.startswith("--") else variable

    def has(self, variable: str) -> bool:
        """Whether the dataset holds the variable (``DM.X``: whether DM does)."""
        if variable.startswith("DM."):
            dm = self.pkg.get("DM")
            return dm is not None and variable[3:] in dm.frame.columns and "USUBJID" in self.columns
        return self.name(variable) in self.columns

    def is_numeric(self, variable: str) -> bool:
        """Whether the variable is a Num variable of the dataset."""
        name = self.name(variable)
        return name in self.columns and pd.api.types.is_numeric_dtype(self.ds.frame[name])

    def text(self, variable: str) -> np.ndarray:
        """Each record's value as text ("" for null or an absent variable), an object array."""
        if variable not in self._texts:
            if variable.startswith("DM."):
                values = self.pkg.subject_values(self.ds, variable[3:]).to_numpy(dtype=object)
            elif self.has(variable):
                column = self.ds.frame[self.name(variable)]
                # A char column in written form holds str only ("" for null): read as it is, no copy.
                values = column.to_numpy() if column.dtype == object else self.ds.text(self.name(variable)).to_numpy()
            else:
                values = np.full(self.size, "", dtype=object)
            self._texts[variable] = values
        return self._texts[variable]

    def per_value(self, variable: str, fact: Callable[[pd.Series], object]) -> np.ndarray:
        """``fact`` of each record's value, judged once per distinct value of a char variable."""
        name = self.name(variable)
        if name in self.columns and self.ds.frame[name].dtype == object and not variable.startswith("DM."):
            return np.asarray(self.ds.per_value(name, fact), dtype=bool)
        codes, distinct = pd.factorize(self.text(variable))
        return np.asarray(fact(pd.Series(distinct, dtype=object)), dtype=bool)[codes]

    def date_parts(self, variable: str) -> np.ndarray:
        """Each record's ISO 8601 date/time as 6 integers (year ... second), -1 past its precision;
        all -1 for a blank value or one that is no ISO 8601 date/time. Judged once per distinct value."""
        if variable not in self._dates:
            name = self.name(variable)
            if name in self.columns and self.ds.frame[name].dtype == object and not variable.startswith("DM."):
                codes, table = self.ds.codes(name)
                self._dates[variable] = _parts(pd.Series(table, dtype=object))[codes]
            elif variable.startswith("DM."):
                self._dates[variable] = self._from_dm(variable, lambda dm: dm.date_parts(variable[3:]), (6,), -1)
            else:
                codes, distinct = pd.factorize(np.asarray(self.text(variable), dtype=object))
                self._dates[variable] = _parts(pd.Series(distinct, dtype=object))[codes]
        return self._dates[variable]

    def _from_dm(
        self, variable: str, fact: Callable[[Table], np.ndarray], shape: tuple[int, ...], fill: float
    ) -> np.ndarray:
        """``fact`` of DM (``DM.NAME``: of its NAME) spread to each record by its subject; ``fill`` where DM has none."""
        dm = self.pkg.get("DM")
        out = np.full((self.size, *shape), fill, dtype=np.int64 if isinstance(fill, int) else float)
        if dm is None or variable[3:] not in dm.frame.columns:
            return out
        rows = self.pkg.subject_rows(self.ds)
        found = rows >= 0
        out[found] = fact(Table(self.pkg, dm, self.ctx))[rows[found]]
        return out

    def numbers(self, variable: str) -> np.ndarray:
        """Each record's value as a float (NaN where it is no number)."""
        name = self.name(variable)
        if self.is_numeric(variable) and not variable.startswith("DM."):
            return self.ds.frame[name].to_numpy(dtype=float)
        if variable.startswith("DM."):
            return self._from_dm(variable, lambda dm: dm.numbers(variable[3:]), (), float("nan"))
        if name in self.columns and self.ds.frame[name].dtype == object:
            codes, table = self.ds.codes(name)
            return pd.to_numeric(pd.Series(table, dtype=object), errors="coerce").to_numpy(dtype=float)[codes]
        return pd.to_numeric(pd.Series(self.text(variable), dtype=object), errors="coerce").to_numpy(dtype=float)


_DATETIME = re.compile(DATETIME)


def _parts(values: pd.Series) -> np.ndarray:
    """The date/time components of each value (see ``Table.date_parts``).

    A plain loop over the (distinct) values: pandas' string methods loop in Python too, at a
    fixed cost per call that dominates for the few hundred dates of DM.
    """
    rows: list[tuple[int, ...]] = []
    blank = (-1, -1, -1, -1, -1, -1)
    for value in values.tolist():
        found = _DATE_PARTS.match(value) if isinstance(value, str) and _DATETIME.fullmatch(value) else None
        rows.append(tuple(int(g) if g else -1 for g in found.groups()) if found else blank)
    return np.array(rows, dtype=np.int64).reshape(len(rows), 6)


Verdict = np.ndarray | tuple[np.ndarray, np.ndarray]  # holds, or (holds, could be judged)


@dataclass(frozen=True)
class OperatorDef:
    """A registered operator: its name, the shape of its operand and its function."""

    name: str
    operand: str
    fn: Callable[[Table, str, object], Verdict]
    doc: str = ""


OPERATORS: dict[str, OperatorDef] = {}


def operator(name: str, operand: str = NOTHING) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Register ``fn(table, variable, operand) -> holds`` (or ``(holds, judged)``) as a condition operator."""
    if operand not in SHAPES:
        raise RuntimeError(f"operator {name}: unknown operand shape {operand!r}")

    def register(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if name in OPERATORS:
            raise RuntimeError(f"operator {name} registered twice")
        OPERATORS[name] = OperatorDef(name, operand, fn, (fn.__doc__ or "").strip())
        return fn

    return register


@dataclass(frozen=True)
class KindDef:
    """A registered kind: its parameters (name -> shape), which of them a row must give, and the check it reports under."""

    name: str
    params: dict[str, str]
    required: frozenset[str]
    check: str
    fn: Callable[[Table, Rule], Iterator[Hit]]
    needs: tuple[str, ...] = ()  # the parameters whose variables a dataset must hold for the rule to apply
    doc: str = ""


KINDS: dict[str, KindDef] = {}


def kind(
    name: str, *, params: dict[str, str], required: tuple[str, ...], check: str, needs: tuple[str, ...] = ()
) -> Callable[[Callable[[Table, Rule], Iterator[Hit]]], Callable[[Table, Rule], Iterator[Hit]]]:
    """Register ``fn(table, rule) -> Iterator[Hit]`` as a kind.

    ``params`` are its parameters (name -> shape), ``required`` those a row must give, ``check``
    the check id its rows report under unless a row says ``check:``, ``needs`` the parameters whose
    variables (those of conditions included) a dataset must hold for a row to apply to it, less
    the row's ``optional`` variables.
    """

    def register(fn: Callable[[Table, Rule], Iterator[Hit]]) -> Callable[[Table, Rule], Iterator[Hit]]:
        if name in KINDS:
            raise RuntimeError(f"rule kind {name} registered twice")
        unknown = [p for p in params.values() if p not in SHAPES]
        if unknown or not set(required) <= set(params) or not set(needs) <= set(params):
            raise RuntimeError(f"rule kind {name}: bad parameter declaration")
        KINDS[name] = KindDef(
            name, dict(params), frozenset(required), check, fn, tuple(needs), (fn.__doc__ or "").strip()
        )
        return fn

    return register


def needed(rule: Rule) -> tuple[str, ...]:
    """The variables a dataset must hold for the rule to apply: those of its kind's ``needs``
    parameters (conditions' operands included), less its ``optional`` ones."""
    declared = KINDS[rule.kind]
    optional = set(rule.names("optional"))
    found: list[str] = []
    for pname in declared.needs:
        shape = declared.params[pname]
        value = rule.params.get(pname)
        if value is None:
            continue
        if shape == VARIABLE and isinstance(value, str):
            found.append(value)
        elif shape == VARIABLES and isinstance(value, tuple):
            found += [v for v in value if isinstance(v, str)]
        elif shape == CONDITIONS and isinstance(value, tuple):
            for c in value:
                if isinstance(c, Condition):
                    found.append(c.variable)
                    if OPERATORS[c.operator].operand == VARIABLE and isinstance(c.operand, str):
                        found.append(c.operand)
    return tuple(v for v in dict.fromkeys(found) if v not in optional)


# -- conditions


def holds(table: Table, condition: Condition) -> tuple[np.ndarray, np.ndarray]:
    """Whether the condition holds on each record, and whether it could be judged there."""
    verdict = OPERATORS[condition.operator].fn(table, condition.variable, condition.operand)
    if isinstance(verdict, tuple):
        return np.asarray(verdict[0], dtype=bool), np.asarray(verdict[1], dtype=bool)
    return np.asarray(verdict, dtype=bool), np.ones(table.size, dtype=bool)


def selected(table: Table, every: tuple[Condition, ...], some: tuple[Condition, ...] = ()) -> np.ndarray:
    """The records where every condition of ``every`` and, when given, one of ``some`` holds (judged)."""
    chosen = np.ones(table.size, dtype=bool)
    for c in every:
        ok, judged = holds(table, c)
        chosen &= ok & judged
        if not chosen.any():  # the usual case of a clean package: the other conditions are not read
            return chosen
    if some:
        anyone = np.zeros(table.size, dtype=bool)
        for c in some:
            ok, judged = holds(table, c)
            anyone |= ok & judged
        chosen &= anyone
    return chosen


@operator("empty")
def _empty(table: Table, variable: str, operand: object) -> Verdict:
    """The value is null ("" or a missing number); an absent variable is empty."""
    return table.per_value(variable, lambda v: v.eq(""))


@operator("not_empty")
def _not_empty(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given."""
    return table.per_value(variable, lambda v: v.ne(""))


def _number(operand: object) -> float | None:
    """The operand as a number, None when it is none."""
    try:
        return float(str(operand))
    except ValueError:
        return None


@operator("equal_to", TEXT)
def _equal_to(table: Table, variable: str, operand: object) -> Verdict:
    """The value is the operand (numbers compared as numbers; a Num variable is never a text operand)."""
    if table.is_numeric(variable):
        number = _number(operand)
        return table.numbers(variable) == number if number is not None else np.zeros(table.size, bool)
    return table.per_value(variable, lambda v: v.eq(str(operand)))


@operator("not_equal_to", TEXT)
def _not_equal_to(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and is not the operand."""
    if table.is_numeric(variable):
        numbers, number = table.numbers(variable), _number(operand)
        return ~np.isnan(numbers) & (numbers != number if number is not None else True)
    return table.per_value(variable, lambda v: v.ne("") & v.ne(str(operand)))


@operator("in", TEXTS)
def _in(table: Table, variable: str, operand: object) -> Verdict:
    """The value is one of the operand's."""
    values = list(operand) if isinstance(operand, tuple) else []
    return table.per_value(variable, lambda v: v.isin(values))


@operator("not_in", TEXTS)
def _not_in(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and is none of the operand's."""
    values = list(operand) if isinstance(operand, tuple) else []
    return table.per_value(variable, lambda v: v.ne("") & ~v.isin(values))


@operator("numeric")
def _numeric(table: Table, variable: str, operand: object) -> Verdict:
    """The value is a number (a Num variable's given values, a Char one's that read as a number)."""
    return ~np.isnan(table.numbers(variable))


@operator("not_numeric")
def _not_numeric(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and does not read as a number."""
    return table.per_value(variable, lambda v: v.ne("") & pd.to_numeric(v, errors="coerce").isna())


@operator("negative")
def _negative(table: Table, variable: str, operand: object) -> Verdict:
    """The value is a number below zero (for --DUR: an ISO 8601 duration that starts with ``-``)."""
    if table.is_numeric(variable):
        return table.numbers(variable) < 0
    return table.per_value(variable, lambda v: v.str.startswith("-"))


@operator("longer_than", NUMBER)
def _longer_than(table: Table, variable: str, operand: object) -> Verdict:
    """The value has more than ``operand`` characters."""
    limit = int(str(operand))
    return table.per_value(variable, lambda v: v.str.len().gt(limit))


@operator("matches", REGEX)
def _matches(table: Table, variable: str, operand: object) -> Verdict:
    """The whole value matches the regular expression."""
    pattern = str(operand)
    return table.per_value(variable, lambda v: v.str.fullmatch(pattern).fillna(False).astype(bool))


@operator("not_matches", REGEX)
def _not_matches(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and does not match the regular expression as a whole."""
    pattern = str(operand)
    return table.per_value(variable, lambda v: v.ne("") & ~v.str.fullmatch(pattern).fillna(False).astype(bool))


@operator("equal_to_variable", VARIABLE)
def _equal_to_variable(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and is the other variable's (as text)."""
    mine, other = table.text(variable), table.text(str(operand))
    return (mine != "") & (mine == other)


@operator("not_equal_to_variable", VARIABLE)
def _not_equal_to_variable(table: Table, variable: str, operand: object) -> Verdict:
    """Both values are given and differ (as text)."""
    mine, other = table.text(variable), table.text(str(operand))
    return (mine != "") & (other != "") & (mine != other)


@operator("equal_to_dataset_label")
def _equal_to_dataset_label(table: Table, variable: str, operand: object) -> Verdict:
    """The value is the dataset's label (case ignored)."""
    label = table.ds.label.strip().upper()
    return (
        table.per_value(variable, lambda v: v.ne("") & v.str.upper().eq(label)) if label else np.zeros(table.size, bool)
    )


def _column_values(table: Table, column: str) -> pd.Index | None:
    """The distinct values (as text) of another dataset's variable (``TV.VISITNUM``); None when absent."""
    name, variable = column.split(".", 1)
    other = table.pkg.get(name)
    if other is None or variable not in other.frame.columns:
        return None
    return pd.Index(pd.unique(other.text(variable).to_numpy(dtype=object)), dtype=object)


@operator("in_column", COLUMN)
def _in_column(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and occurs among another dataset's values of a variable (TV.VISITNUM); not
    judged when that dataset or variable is absent."""
    known = _column_values(table, str(operand))
    if known is None:
        return np.zeros(table.size, bool), np.zeros(table.size, bool)
    return table.per_value(variable, lambda v: v.ne("") & v.isin(known))


@operator("not_in_column", COLUMN)
def _not_in_column(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and does not occur among another dataset's values of a variable; not judged
    when that dataset or variable is absent (CORE's false positive when a related dataset is missing)."""
    known = _column_values(table, str(operand))
    if known is None:
        return np.zeros(table.size, bool), np.zeros(table.size, bool)
    return table.per_value(variable, lambda v: v.ne("") & ~v.isin(known))


@operator("not_domain_in_package")
def _not_domain_in_package(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and is the domain of no dataset of the package (RDOMAIN LB with LBCH counts as present)."""
    domains = {ds.domain for ds in table.pkg.datasets.values() if not ds.is_supp}
    domains |= {ds.name for ds in table.pkg.datasets.values()}
    return table.per_value(variable, lambda v: v.ne("") & ~v.isin(domains))


@operator("no_dataset", DATASET)
def _no_dataset(table: Table, variable: str, operand: object) -> Verdict:
    """The package has no dataset of that name (the variable is not read): ``[USUBJID, no_dataset, SUPPDM]``."""
    return np.full(table.size, table.pkg.get(str(operand)) is None, dtype=bool)


def _compare(table: Table, variable: str, other: str) -> tuple[np.ndarray, np.ndarray]:
    """Each record's -1/0/1 of ``variable`` against ``other``, and whether the two could be compared.

    Two numbers (Num variables, or Char values that read as numbers) compare as numbers; else two
    ISO 8601 dates compare as CORE compares them, at the precision both have (2020-03 and
    2020-03-15 are equal to the month). Blank or invalid values are not compared.
    """
    a, b = table.numbers(variable), table.numbers(other)
    numeric = ~np.isnan(a) & ~np.isnan(b)
    order = np.sign(np.where(numeric, a, 0.0) - np.where(numeric, b, 0.0)).astype(np.int8)
    if numeric.all() or (table.is_numeric(variable) and table.is_numeric(other)):
        return order, numeric  # two Num variables: a blank is no date either
    pa, pb = table.date_parts(variable), table.date_parts(other)
    known = np.minimum((pa >= 0).sum(axis=1), (pb >= 0).sum(axis=1))
    dated = ~numeric & (known > 0)
    decided = numeric.copy()
    for k in range(pa.shape[1]):
        step = np.sign(pa[:, k] - pb[:, k]).astype(np.int8)
        now = dated & ~decided & (k < known) & (step != 0)
        order[now] = step[now]
        decided |= now
    return order, numeric | dated


def _comparison(name: str, test: Callable[[np.ndarray], np.ndarray], doc: str) -> None:
    def compare(table: Table, variable: str, operand: object) -> Verdict:
        order, judged = _compare(table, variable, str(operand))
        return test(order) & judged, judged

    compare.__doc__ = doc
    operator(name, VARIABLE)(compare)


_comparison("less_than_variable", lambda o: o < 0, "The value is before (below) the other variable's.")
_comparison("less_than_or_equal_to_variable", lambda o: o <= 0, "The value is not after (above) the other's.")
_comparison("greater_than_variable", lambda o: o > 0, "The value is after (above) the other variable's.")
_comparison("greater_than_or_equal_to_variable", lambda o: o >= 0, "The value is not before (below) the other's.")


# -- kinds


@kind(
    "condition",
    params={
        "when": CONDITIONS,
        "when_any": CONDITIONS,
        "then": CONDITIONS,
        "then_any": CONDITIONS,
        "variable": VARIABLE,
        "optional": VARIABLES,
    },
    required=("when", "variable"),
    check="DB205",
    needs=("when", "when_any", "then", "then_any", "variable"),
)
def condition(table: Table, rule: Rule) -> Iterator[Hit]:
    """Records where every ``when`` condition (and one of ``when_any``) holds and ``then`` (every one; or one of ``then_any``) does not.

    Without ``then``/``then_any`` every record ``when`` selects is a finding. A condition that
    cannot be judged on a record (a date compared with a blank) gives no finding there. The
    finding is at ``variable``. Variables in ``optional`` may be absent from the dataset (read as
    null); the others must all be present for the rule to apply.
    """
    chosen = selected(table, rule.conditions("when"), rule.conditions("when_any"))
    then, then_any = rule.conditions("then"), rule.conditions("then_any")
    if (then or then_any) and chosen.any():
        broken = np.zeros(table.size, dtype=bool)
        for c in then:
            ok, judged = holds(table, c)
            broken |= ~ok & judged
        if then_any:
            none = np.ones(table.size, dtype=bool)
            for c in then_any:
                ok, judged = holds(table, c)
                none &= ~ok & judged
            broken |= none
        chosen &= broken
    if chosen.any():
        yield Hit(np.flatnonzero(chosen), rule.text("variable"))


@kind(
    "requires_variable",
    params={"variable": VARIABLE, "requires": VARIABLES, "requires_any": VARIABLES, "populated": BOOLEAN},
    required=("variable",),
    check="DB114",
    needs=("variable",),
)
def requires_variable(table: Table, rule: Rule) -> Iterator[Hit]:
    """A dataset holding ``variable`` holds every variable of ``requires`` and one at least of ``requires_any``.

    With ``populated: true`` only a dataset where ``variable`` is given on some record is held to
    it. One dataset-level finding at the first variable missing (at ``variable`` when none of
    ``requires_any`` is there).
    """
    if rule.flag("populated") and not (table.text(rule.text("variable")) != "").any():
        return
    missing = [v for v in rule.names("requires") if not table.has(v)]
    anyof = rule.names("requires_any")
    if missing:
        yield Hit(None, table.name(missing[0]))
    elif anyof and not any(table.has(v) for v in anyof):
        yield Hit(None, table.name(rule.text("variable")))


def _group_codes(table: Table, names: tuple[str, ...]) -> np.ndarray:
    """One integer per record for its values of ``names`` (0 for all when none is named)."""
    if not names:
        return np.zeros(table.size, dtype=np.int64)
    frame = pd.DataFrame({n: table.text(n) for n in names})
    return frame.groupby(list(names), sort=False).ngroup().to_numpy(dtype=np.int64)


def _many(group: np.ndarray, key: np.ndarray, value: np.ndarray) -> np.ndarray:
    """For each record, whether its (group, key) goes with more than one value (integer codes)."""
    width = int(value.max()) + 1 if len(value) else 1
    keys = group.astype(np.int64) * (int(key.max()) + 1 if len(key) else 1) + key
    distinct_keys, at = np.unique(keys, return_inverse=True)
    pairs = np.unique(at.astype(np.int64) * width + value)
    return np.bincount(pairs // width, minlength=len(distinct_keys))[at] > 1


@kind(
    "one_to_one",
    params={"variables": VARIABLES, "within": VARIABLES, "when": CONDITIONS, "optional": VARIABLES},
    required=("variables",),
    check="DB309",
    needs=("variables", "within", "when"),
)
def one_to_one(table: Table, rule: Rule) -> Iterator[Hit]:
    """The two ``variables`` correspond one to one (within each group of ``within``), among the records ``when`` selects.

    Records where both are given are compared; each record whose value of the first goes with
    more than one value of the second, or whose second goes with more than one first, is a
    finding at the first variable.
    """
    first, second = rule.names("variables")[:2]
    a, b = table.text(first), table.text(second)
    chosen = selected(table, rule.conditions("when")) & (a != "") & (b != "")
    if not chosen.any():
        return
    group = _group_codes(table, rule.names("within"))[chosen]
    ca, cb = pd.factorize(a[chosen])[0], pd.factorize(b[chosen])[0]
    bad = np.flatnonzero(chosen)[_many(group, ca, cb) | _many(group, cb, ca)]
    if len(bad):
        yield Hit(bad, table.name(first))


@kind(
    "at_most_one",
    params={"per": VARIABLES, "when": CONDITIONS, "variable": VARIABLE, "optional": VARIABLES},
    required=("per",),
    check="DB309",
    needs=("per", "when", "variable"),
)
def at_most_one(table: Table, rule: Rule) -> Iterator[Hit]:
    """At most one record of each group of ``per`` values among those ``when`` selects; every record of a larger group is a finding.

    Records with a blank ``per`` value are not counted. The finding is at ``variable``, else at
    the last of ``per``.
    """
    per = rule.names("per")
    chosen = selected(table, rule.conditions("when"))
    for name in per:
        chosen &= table.text(name) != ""
    if not chosen.any():
        return
    frame = pd.DataFrame({n: table.text(n)[chosen] for n in per})
    dup = frame.duplicated(keep=False).to_numpy()
    if dup.any():
        yield Hit(np.flatnonzero(chosen)[dup], table.name(rule.text("variable") or per[-1]))


@kind(
    "in_dataset",
    params={
        "variable": VARIABLE,
        "dataset": DATASET,
        "values_of": VARIABLE,
        "when": CONDITIONS,
        "other_when": CONDITIONS,
        "by": VARIABLES,
        "present": BOOLEAN,
        "at_least": NUMBER,
        "report": VARIABLE,
        "optional": VARIABLES,
    },
    required=("variable", "dataset"),
    check="DB309",
    needs=("variable", "when", "by"),
)
def in_dataset(table: Table, rule: Rule) -> Iterator[Hit]:
    """Each given value of ``variable`` (on the records ``when`` selects) occurs among ``dataset``'s ``values_of``
    (default: the same variable), on its records ``other_when`` selects, with the same values of ``by``.

    ``present: false`` turns it round: the value must not occur there; ``at_least: N`` asks for N
    such records of the other dataset (SUPPDM's races of a subject of RACE MULTIPLE). When the
    other dataset (or its variable) is absent, nothing is judged: a package without TV cannot be
    held to it. The finding is at ``report``, else at ``variable``.
    """
    other_ds = table.pkg.get(rule.text("dataset"))
    target = rule.text("values_of") or rule.text("variable")
    by = rule.names("by")
    if other_ds is None or other_ds is table.ds:
        return
    other = Table(table.pkg, other_ds, table.ctx)
    if not other.has(target) or not all(other.has(b) for b in by):
        return
    keep = selected(other, rule.conditions("other_when"))
    values = table.text(rule.text("variable"))
    chosen = selected(table, rule.conditions("when")) & (values != "")
    if not chosen.any():
        return
    theirs = pd.DataFrame({str(i): other.text(n)[keep] for i, n in enumerate((*by, target))})
    counts = theirs.value_counts()
    wanted = max(1, rule.number("at_least", 1))
    known = counts[counts >= wanted].index
    if by:
        found = pd.MultiIndex.from_arrays([table.text(n) for n in (*by, rule.text("variable"))]).isin(known)
    else:
        found = pd.Index(values, dtype=object).isin(pd.Index([k[0] for k in known], dtype=object))
    bad = chosen & (found if not rule.flag("present", True) else ~found)
    if bad.any():
        yield Hit(np.flatnonzero(bad), table.name(rule.text("report") or rule.text("variable")))


def _split_name_bad(table: Table) -> bool:
    """A dataset of a domain split over datasets (its DOMAIN another code that its name starts with)
    whose name is not of 3 or 4 characters (SDTMIG 4.1.7)."""
    if "DOMAIN" not in table.columns or table.ds.is_supp or not table.size:
        return False
    code = str(table.ds.frame["DOMAIN"].iat[0])
    name = table.ds.name
    return len(code) == 2 and name != code and name.startswith(code) and len(name) not in (3, 4)


def _findings_about_parent_missing(table: Table) -> bool:
    """A Findings About dataset named for a parent domain (FACM) the package lacks."""
    name = table.ds.name
    if not name.startswith("FA") or len(name) != 4 or table.ds.is_supp:
        return False
    return not any(ds.domain == name[2:] and not ds.is_supp for ds in table.pkg.datasets.values())


def _out_of_order(table: Table) -> bool:
    """Whether the dataset's variables that SDTMIG lists for its domain are not in SDTMIG's order.

    Not judged for a package that declares an older SDTMIG than the one checked: the versions
    order some variables differently (SDTMIG 3.2 has SEUPDES after ELEMENT, 3.4 last).
    """
    if table.ctx.difference_applies:
        return False
    order = {v.name: v.order for v in table.ctx.standards.domain_variables(table.ds.name)}
    known = [order[c] for c in table.ds.frame.columns if c in order]
    return any(b < a for a, b in itertools.pairwise(known))


DATASET_TESTS: dict[str, Callable[[Table, int], bool]] = {
    "variables_out_of_order": lambda table, length: _out_of_order(table),
    "no_records": lambda table, length: table.size == 0,
    "name_longer_than": lambda table, length: len(table.ds.name) > length,
    "split_name_length": lambda table, length: _split_name_bad(table),
    "findings_about_parent_missing": lambda table, length: _findings_about_parent_missing(table),
}


@kind("dataset", params={"test": TEXT, "length": NUMBER}, required=("test",), check="DB114")
def dataset(table: Table, rule: Rule) -> Iterator[Hit]:
    """A test of the dataset as a whole (``DATASET_TESTS``): ``no_records``, ``name_longer_than``
    ``length``, ``split_name_length`` (a split dataset's name is not of 3 or 4 characters),
    ``findings_about_parent_missing`` (FACM without CM), ``variables_out_of_order``.

    One dataset-level finding.
    """
    if DATASET_TESTS[rule.text("test")](table, rule.number("length")):
        yield Hit(None, "")


@kind("every_variable", params={"test": TEXT, "length": NUMBER, "value": TEXT}, required=("test",), check="DB114")
def every_variable(table: Table, rule: Rule) -> Iterator[Hit]:
    """A test of each variable of the dataset: ``label_longer_than`` / ``name_longer_than`` ``length``
    (one dataset-level finding per variable), ``value_is`` ``value`` (each char variable's records
    holding exactly that value as a whole, ``.`` say).
    """
    test = rule.text("test")
    for name in table.ds.frame.columns:
        measured = table.ds.labels.get(name, "") if test == "label_longer_than" else name
        if test in ("label_longer_than", "name_longer_than") and len(measured) > rule.number("length"):
            yield Hit(None, name)
        elif test == "value_is" and table.ds.frame[name].dtype == object:
            rows = table.ds.positions_where(name, lambda v: v.eq(rule.text("value")))
            if len(rows):
                yield Hit(rows, name)


EVERY_VARIABLE_TESTS = ("label_longer_than", "name_longer_than", "value_is")


@kind("variable_elsewhere", params={"variable": VARIABLE}, required=("variable",), check="DB114", needs=("variable",))
def variable_elsewhere(table: Table, rule: Rule) -> Iterator[Hit]:
    """A dataset holding ``variable`` (``--LNKID``) is not the only one: another dataset of the
    package holds it too, with its own prefix. One dataset-level finding otherwise."""
    suffix = rule.text("variable")
    for ds in table.pkg.datasets.values():
        if ds is not table.ds and not ds.is_supp:
            other = f"{ds.domain}{suffix[2:]}" if suffix.startswith("--") else suffix
            if other in ds.frame.columns:
                return
    yield Hit(None, suffix)


@kind(
    "same_value",
    params={"variable": VARIABLE, "per": VARIABLES, "when": CONDITIONS, "optional": VARIABLES},
    required=("variable", "per"),
    check="DB309",
    needs=("variable", "per", "when"),
)
def same_value(table: Table, rule: Rule) -> Iterator[Hit]:
    """``variable`` has one value within each group of ``per`` values, among the records ``when``
    selects where it is given; every record of a group holding several is a finding at it."""
    values = table.text(rule.text("variable"))
    chosen = selected(table, rule.conditions("when")) & (values != "")
    if not chosen.any():
        return
    group = _group_codes(table, rule.names("per"))
    frame = pd.DataFrame({"g": group[chosen], "v": values[chosen]})
    many = frame.groupby("g")["v"].transform("nunique").to_numpy() > 1
    if many.any():
        yield Hit(np.flatnonzero(chosen)[many], rule.text("variable"))


@kind(
    "sequence",
    params={"per": VARIABLES, "order": VARIABLE, "test": TEXT, "variable": VARIABLE, "next": VARIABLE},
    required=("per", "order", "test", "variable"),
    check="DB412",
    needs=("per", "order", "variable", "next"),
)
def sequence(table: Table, rule: Rule) -> Iterator[Hit]:
    """The records of each group of ``per`` values (a subject's), in the order of ``order`` (a
    number, or ISO 8601 text), tested one against the next (``SEQUENCE_TESTS``):

    * ``ends_at_next_start``: ``variable`` (SEENDTC) is the next record's ``next`` (SESTDTC), where both are given;
    * ``given_unless_last``: ``variable`` is given on every record but the last;
    * ``not_decreasing``: ``variable`` (--STDTC) is not before the previous record's, compared as
      ISO 8601 at the precision both have.

    The finding is at ``variable`` of the record that breaks it.
    """
    test = rule.text("test")
    per = rule.names("per")
    key = table.numbers(rule.text("order"))
    frame = pd.DataFrame({str(i): table.text(n) for i, n in enumerate(per)})
    frame["key"] = key if not np.isnan(key).all() else table.text(rule.text("order"))
    frame["pos"] = np.arange(table.size)
    ordered = frame.sort_values([*map(str, range(len(per))), "key", "pos"], kind="stable")
    pos = ordered["pos"].to_numpy()
    groups = ordered[[str(i) for i in range(len(per))]]
    same_next = np.zeros(len(pos), dtype=bool)
    if len(pos) > 1:
        same_next[:-1] = (groups.iloc[:-1].to_numpy() == groups.iloc[1:].to_numpy()).all(axis=1)
    values = table.text(rule.text("variable"))[pos]
    bad = np.zeros(len(pos), dtype=bool)
    if test == "ends_at_next_start":
        following = np.empty(len(pos), dtype=object)
        following[:-1] = table.text(rule.text("next"))[pos][1:]
        following[-1:] = ""
        bad = same_next & (values != "") & (following != "") & (values != following)
    elif test == "given_unless_last":
        bad = same_next & (values == "")
    elif test == "not_decreasing":
        parts = table.date_parts(rule.text("variable"))[pos]
        prev_same = np.zeros(len(pos), dtype=bool)
        prev_same[1:] = same_next[:-1]
        for i in np.flatnonzero(prev_same):
            a, b = parts[i - 1], parts[i]
            n = min(int((a >= 0).sum()), int((b >= 0).sum()))
            if n and tuple(b[:n]) < tuple(a[:n]):
                bad[i] = True
    rows = np.sort(pos[bad])
    if len(rows):
        yield Hit(rows, rule.text("variable"))


SEQUENCE_TESTS = ("ends_at_next_start", "given_unless_last", "not_decreasing")

# -- operators and kinds of the EVENTS, INTERVENTIONS and TRIAL DESIGN rows


@operator("absent")
def _absent(table: Table, variable: str, operand: object) -> Verdict:
    """The dataset does not hold the variable (every record; list it under ``optional``)."""
    return np.full(table.size, not table.has(variable), dtype=bool)


@operator("not_integer")
def _not_integer(table: Table, variable: str, operand: object) -> Verdict:
    """The value is given and is no whole number (a Char value that does not read as a number is none)."""
    numbers = table.numbers(variable)
    whole = ~np.isnan(numbers) & (numbers == np.floor(np.where(np.isnan(numbers), 0.0, numbers)))
    return (table.text(variable) != "") & ~whole


@kind(
    "one_value",
    params={"variable": VARIABLE, "when": CONDITIONS},
    required=("variable",),
    check="DB114",
    needs=("variable", "when"),
)
def one_value(table: Table, rule: Rule) -> Iterator[Hit]:
    """The records ``when`` selects (two at least) all hold one and the same given value of ``variable``:
    the variable groups nothing. One dataset-level finding at ``variable``, naming the value.
    """
    chosen = selected(table, rule.conditions("when"))
    values = table.text(rule.text("variable"))[chosen]
    if len(values) > 1 and values[0] != "" and (values == values[0]).all():
        yield Hit(None, rule.text("variable"), f"every record holds {values[0]}")


@kind(
    "unique_for",
    params={"variables": VARIABLES, "each": VARIABLE, "when": CONDITIONS, "optional": VARIABLES},
    required=("variables", "each"),
    check="DB309",
    needs=("variables", "each", "when"),
)
def unique_for(table: Table, rule: Rule) -> Iterator[Hit]:
    """Each given value of ``each`` goes with one combination of ``variables`` at most (blank values
    included, as values), among the records ``when`` selects: "the combination of TESTRL, TEENRL and
    TEDUR must be unique for each ETCD".

    Every record of a value of ``each`` that goes with more than one combination is a finding at
    ``each``, saying how many combinations it has.
    """
    each = table.text(rule.text("each"))
    chosen = selected(table, rule.conditions("when")) & (each != "")
    if not chosen.any():
        return
    frame = pd.DataFrame({"e": each[chosen], "g": _group_codes(table, rule.names("variables"))[chosen]})
    counts = frame.groupby("e")["g"].transform("nunique").to_numpy()
    if (counts > 1).any():
        shown = ", ".join(table.name(v) for v in rule.names("variables"))
        detail = [f"{n} different combinations of {shown}" for n in counts[counts > 1]]
        yield Hit(np.flatnonzero(chosen)[counts > 1], rule.text("each"), detail)


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@kind(
    "numbered_without_gaps",
    params={"variable": VARIABLE},
    required=("variable",),
    check="DB205",
    needs=("variable",),
)
def numbered_without_gaps(table: Table, rule: Rule) -> Iterator[Hit]:
    """The numbered variables from ``variable`` on (``TSVAL1``, ``TSVAL2`` ... as the dataset holds them) are
    filled in order: a record where one is blank and the next is given is a finding at the blank one
    (a number missing from the dataset counts as blank).
    """
    first = rule.text("variable")
    found = _NUMBERED.match(table.name(first))
    if found is None:
        return
    stem, start = found.group(1), int(found.group(2))
    numbers = [int(m.group(2)) for c in table.columns if (m := _NUMBERED.match(c)) and m.group(1) == stem]
    last = max((n for n in numbers if n >= start), default=start)
    for n in range(start, last):
        gap = (table.text(f"{stem}{n}") == "") & (table.text(f"{stem}{n + 1}") != "")
        if gap.any():
            yield Hit(np.flatnonzero(gap), f"{stem}{n}", f"{stem}{n + 1} is given")


@kind(
    "not_after_latest",
    params={
        "variable": VARIABLE,
        "dataset": DATASET,
        "values_of": VARIABLE,
        "when": CONDITIONS,
        "other_when": CONDITIONS,
        "optional": VARIABLES,
    },
    required=("variable", "dataset", "values_of"),
    check="DB412",
    needs=("variable", "when"),
)
def not_after_latest(table: Table, rule: Rule) -> Iterator[Hit]:
    """Each date of ``variable`` (on the records ``when`` selects) is not after the latest date of
    ``values_of`` among the subject's records of ``dataset`` that ``other_when`` selects (AESTDTC not
    after the last disposition event's DSSTDTC). Dates compare at the precision both have.

    Only the other dataset's valid ISO 8601 dates count; a subject without one there, a blank or
    invalid date, or a package without that dataset is not judged.
    """
    other_ds = table.pkg.get(rule.text("dataset"))
    if other_ds is None or other_ds is table.ds or "USUBJID" not in table.columns:
        return
    other = Table(table.pkg, other_ds, table.ctx)
    target = rule.text("values_of")
    if not other.has(target) or not other.has("USUBJID"):
        return
    dates = pd.Series(other.text(target), dtype=object)
    keep = selected(other, rule.conditions("other_when")) & dates.str.fullmatch(DATETIME).fillna(False).to_numpy(bool)
    # ISO 8601 values sort as text in time order (a longer value of the same prefix is the later).
    latest = pd.Series(dates[keep].to_numpy(), index=other.text("USUBJID")[keep]).groupby(level=0).max()
    key = f"latest {rule.text('dataset')}.{target}"  # no variable's name: the subject's latest date, as a column
    mapped = pd.Series(table.text("USUBJID"), dtype=object).map(latest).astype(object)
    table._texts[key] = mapped.where(mapped.notna(), "").to_numpy(dtype=object)
    order, judged = _compare(table, rule.text("variable"), key)
    bad = selected(table, rule.conditions("when")) & judged & (order > 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        yield Hit(rows, rule.text("variable"), [f"latest {target} {d}" for d in table.text(key)[rows]])


@kind(
    "parent_record",
    params={"when": CONDITIONS, "then": CONDITIONS, "variable": VARIABLE},
    required=("when", "then", "variable"),
    check="DB309",
    needs=("when", "variable"),
)
def parent_record(table: Table, rule: Rule) -> Iterator[Hit]:
    """Each SUPP-- record ``when`` selects (QNAM = AESOSP) qualifies a parent record on which every
    ``then`` condition holds (AESMIE = Y); the parent is the record of the dataset the SUPP-- name
    follows (AE for SUPPAE, LBCH for SUPPLBCH) with the same USUBJID whose IDVAR variable holds IDVARVAL.

    A record with a blank IDVAR, an IDVAR the parent dataset lacks, or no parent record is not
    judged here; nor is anything when the parent dataset is absent. The finding is at ``variable``.
    """
    parent_ds = table.pkg.get(table.ds.name[4:]) if table.ds.is_supp else None
    if parent_ds is None or not {"USUBJID", "IDVAR", "IDVARVAL"} <= table.columns:
        return
    parent = Table(table.pkg, parent_ds, table.ctx)
    chosen = selected(table, rule.conditions("when"))
    if not chosen.any() or not parent.has("USUBJID"):
        return
    good = selected(parent, rule.conditions("then"))
    idvar, value, subject = table.text("IDVAR"), table.text("IDVARVAL"), table.text("USUBJID")
    bad = np.zeros(table.size, dtype=bool)
    for name in sorted(set(idvar[chosen]) - {""}):
        if not parent.has(name) or name.startswith("DM."):
            continue
        keys = pd.MultiIndex.from_arrays([parent.text("USUBJID"), parent.text(name)])
        mine = chosen & (idvar == name)
        wanted = pd.MultiIndex.from_arrays([subject[mine], value[mine]])
        bad[np.flatnonzero(mine)[wanted.isin(keys) & ~wanted.isin(keys[good])]] = True
    if bad.any():
        yield Hit(np.flatnonzero(bad), rule.text("variable"))


# -- kinds and operators of the FINDINGS, RELATIONSHIP and several-class rows


@operator("equal_in_number_to_variable", VARIABLE)
def _equal_in_number_to_variable(table: Table, variable: str, operand: object) -> Verdict:
    """Both values are numbers and equal, to a relative 1e-9 (an XPT double's rounding is no difference).

    Judged only where both are numbers: ``5.10`` and 5.1 are equal, ``5.1`` and 5.0999999999999 too.
    """
    mine, other = table.numbers(variable), table.numbers(str(operand))
    judged = ~np.isnan(mine) & ~np.isnan(other)
    close = np.isclose(np.where(judged, mine, 0.0), np.where(judged, other, 0.0), rtol=1e-9, atol=0.0)
    return close & judged, judged


@kind("present_variable", params={"variable": VARIABLE}, required=("variable",), check="DB114", needs=("variable",))
def present_variable(table: Table, rule: Rule) -> Iterator[Hit]:
    """A dataset (of the rule's datasets) holds ``variable``, which it must not: one dataset-level finding at it."""
    yield Hit(None, table.name(rule.text("variable")))


def _value_codes(table: Table, variable: str) -> np.ndarray:
    """Each record's value of ``variable`` as an integer: equal values, equal integers; 0 for every
    blank (and for all records when the dataset does not hold the variable)."""
    if not table.has(variable):
        return np.zeros(table.size, dtype=np.int64)
    name = table.name(variable)
    if variable.startswith("DM."):
        codes, uniques = pd.factorize(pd.Series(table.text(variable), dtype=object))
        distinct = np.append(np.asarray(uniques, dtype=object), "")
    else:
        codes, distinct = table.ds.codes(name)  # the dataset's own factorisation, made once per variable
    blank = np.append(np.asarray(distinct[:-1] == "", dtype=bool), True)  # code -1 (the last entry) is blank
    return np.where(blank[codes], 0, codes.astype(np.int64) + 1)


def _compact(table: Table, variable: str, chosen: np.ndarray) -> np.ndarray:
    """The ``chosen`` records' values of ``variable`` as integers 0 .. distinct values - 1."""
    _, codes = np.unique(_value_codes(table, variable)[chosen], return_inverse=True)
    return codes.reshape(-1).astype(np.int64)


def _combine(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One integer (0 .. pairs - 1) per distinct pair of ``first`` and ``second`` (integers 0 .. n - 1)."""
    _, ids = np.unique(first * (int(second.max(initial=0)) + 1) + second, return_inverse=True)
    return ids.reshape(-1).astype(np.int64)


def _several(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each record, whether its ``key`` (integers 0 .. n - 1) goes with more than one of ``values``."""
    width = int(values.max(initial=0)) + 1
    pairs = np.unique(key * width + values)  # each (key, value) once
    return np.bincount(pairs // width, minlength=int(key.max(initial=0)) + 1)[key] > 1


def _group_ids(table: Table, names: tuple[str, ...], chosen: np.ndarray) -> np.ndarray:
    """For the ``chosen`` records, one integer per distinct combination of their values of ``names``
    (0 .. groups - 1), a blank being a value like any other."""
    ids = np.zeros(int(chosen.sum()), dtype=np.int64)
    for name in names:
        if table.has(name):
            ids = _combine(ids, _compact(table, name, chosen))
    return ids


@kind(
    "at_most_one_within",
    params={"per": VARIABLES, "when": CONDITIONS, "variable": VARIABLE, "optional": VARIABLES},
    required=("per", "variable"),
    check="DB309",
    needs=("per", "when", "variable"),
)
def at_most_one_within(table: Table, rule: Rule) -> Iterator[Hit]:
    """At most one record ``when`` selects per group of ``per`` values, a blank value (or an absent
    ``optional`` variable) counting as a value; every record of a larger group is a finding at ``variable``.

    Unlike ``at_most_one``, a record with a blank --CAT is grouped with the others of blank --CAT,
    not left out.
    """
    chosen = selected(table, rule.conditions("when"))
    if chosen.sum() < 2:
        return
    ids = _group_ids(table, rule.names("per"), chosen)
    dup = np.bincount(ids)[ids] > 1
    if dup.any():
        yield Hit(np.flatnonzero(chosen)[dup], table.name(rule.text("variable")))


@kind(
    "one_value_within",
    params={"variable": VARIABLE, "within": VARIABLES, "when": CONDITIONS, "optional": VARIABLES},
    required=("variable", "within"),
    check="DB309",
    needs=("variable", "within", "when"),
)
def one_value_within(table: Table, rule: Rule) -> Iterator[Hit]:
    """``variable`` takes one value within each group of ``within`` values (a blank, or an absent
    ``optional`` variable, counting as a value), among the records ``when`` selects where it is given.

    Every record of a group with more than one value is a finding at ``variable``, the group's
    values named.
    """
    values = table.text(rule.text("variable"))
    chosen = selected(table, rule.conditions("when")) & (values != "")
    if chosen.sum() < 2:
        return
    groups = _group_ids(table, rule.names("within"), chosen)
    many = _several(groups, _compact(table, rule.text("variable"), chosen))
    if not many.any():
        return
    rows = np.flatnonzero(chosen)[many]
    shown = {g: ", ".join(sorted(set(values[rows[groups[many] == g]]))) for g in np.unique(groups[many]).tolist()}
    yield Hit(
        rows, table.name(rule.text("variable")), [f"values in the group: {shown[g]}" for g in groups[many].tolist()]
    )


def _referenced(table: Table, domain: str) -> list[Dataset]:
    """The datasets a record of ``table`` whose RDOMAIN is ``domain`` refers to: a SUPP-- dataset's
    parent (LBCH for SUPPLBCH) when it is of that domain, else every dataset of the domain (LB: LBCH, LBHE ...)."""
    parent = table.pkg.get(table.ds.parent_name) if table.ds.is_supp else None
    if parent is not None and parent.domain == domain:
        return [parent]
    return [d for d in table.pkg.datasets.values() if not d.is_supp and d.domain == domain and d is not table.ds]


@kind(
    "refers_to_record",
    params={"variable": VARIABLE, "names": VARIABLE, "domain": VARIABLE, "by": VARIABLES, "optional": VARIABLES},
    required=("variable", "names", "domain"),
    check="DB309",
    needs=("variable", "names", "domain", "by"),
)
def refers_to_record(table: Table, rule: Rule) -> Iterator[Hit]:
    """Where ``names`` (IDVAR) is given, ``variable`` (IDVARVAL) is a value of the variable it names
    in the dataset(s) of the domain ``domain`` (RDOMAIN) names, on a record with the same ``by``
    values (USUBJID) when those are given.

    Numbers compare as numbers (IDVARVAL ``7`` and AESEQ 7.0). A domain without a dataset in the
    package, or one without the variable named, is not judged (other checks report those).
    """
    values, names, domains = (
        table.text(rule.text("variable")),
        table.text(rule.text("names")),
        table.text(rule.text("domain")),
    )
    by = rule.names("by")
    chosen = (names != "") & (values != "") & (domains != "")
    if not chosen.any():
        return
    bad = np.zeros(table.size, dtype=bool)
    pairs = pd.DataFrame({"d": domains[chosen], "n": names[chosen]}).drop_duplicates()
    for domain, name in pairs.itertuples(index=False):
        mine = chosen & (domains == domain) & (names == name)
        targets = [d for d in _referenced(table, str(domain)) if str(name) in d.frame.columns]
        if not targets:
            continue
        known, anywhere = [], []
        for target in targets:
            other = Table(table.pkg, target, table.ctx)
            value = _comparable(other.text(str(name)))
            known.append(_keys([other.text(b) for b in by], value))
            anywhere.append(value)
        given = [table.text(b)[mine] for b in by]
        wanted = _comparable(values[mine])
        found = pd.Index(_keys(given, wanted), dtype=object).isin(pd.Index(np.concatenate(known), dtype=object))
        if by:
            # A record without a subject (a dataset-level relationship) is looked up by value alone.
            loose = np.logical_and.reduce([g == "" for g in given])
            if loose.any():
                found[loose] = pd.Index(wanted[loose], dtype=object).isin(
                    pd.Index(np.concatenate(anywhere), dtype=object)
                )
        bad[np.flatnonzero(mine)[~found]] = True
    if bad.any():
        yield Hit(np.flatnonzero(bad), table.name(rule.text("variable")))


def _keys(parts: list[np.ndarray], value: np.ndarray) -> np.ndarray:
    """One text key per record of its ``parts`` values and ``value`` (joined by a unit separator)."""
    key = np.asarray(value, dtype=object)
    for part in reversed(parts):
        key = np.asarray(part, dtype=object) + "\x1f" + key
    return key


def _comparable(values: np.ndarray) -> np.ndarray:
    """Values as a key: a number as its canonical text (``7``, ``7.0`` and ``07`` alike), other text as it is.

    Judged once per distinct value.
    """
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(dtype=float)
    keys = np.asarray(distinct, dtype=object).copy()
    for i in np.flatnonzero(~np.isnan(numbers)):
        keys[i] = str(int(numbers[i])) if float(numbers[i]).is_integer() else repr(float(numbers[i]))
    return keys[codes]


@operator("not_one_of", TEXTS)
def _not_one_of(table: Table, variable: str, operand: object) -> Verdict:
    """The value is none of the operand's, a blank value included (``not_in`` wants a given value)."""
    values = list(operand) if isinstance(operand, tuple) else []
    return table.per_value(variable, lambda v: ~v.isin(values))


@kind("custom_domain_prefix", params={}, required=(), check="DB114")
def custom_domain_prefix(table: Table, rule: Rule) -> Iterator[Hit]:
    """In a custom domain (a dataset SDTMIG does not define, or a sponsor domain of the study), every
    variable the SDTM classes name with a prefix (``--TESTCD``, not STUDYID or VISITNUM) starts
    with the dataset's DOMAIN value; one dataset-level finding at each variable that does not.
    """
    meta = table.ctx.standards.dataset(table.ds.name)
    if table.ds.is_supp or (meta is not None and not meta.custom):
        return
    domains = [d for d in dict.fromkeys(table.text("DOMAIN").tolist()) if d] if table.has("DOMAIN") else []
    prefix = domains[0] if len(domains) == 1 else table.ds.domain
    unprefixed = {
        cv.name for cvs in table.ctx.standards.class_variables.values() for cv in cvs if not cv.name.startswith("--")
    }
    for name in table.ds.frame.columns:
        if name not in unprefixed and not str(name).startswith(prefix):
            yield Hit(None, str(name), f"{name} does not start with {prefix}")


@operator("names_sdtm_variable")
def _names_sdtm_variable(table: Table, variable: str, operand: object) -> Verdict:
    """The value (a SUPP-- dataset's QNAM) is the name of a variable SDTM defines for the parent
    domain: a variable of the domain's SDTMIG table, or one of its class (and of every general
    observation class: identifiers and timing) with the domain's prefix (AEACNOTH, AEEVAL).
    """
    standards, domain = table.ctx.standards, table.ds.domain
    meta = standards.dataset(domain)
    classes = ("GENERAL OBSERVATIONS", meta.klass if meta is not None else "")
    names = {v.name for v in standards.variables.get(domain, ())}
    names |= {cv.name.replace("--", domain, 1) for k in classes for cv in standards.class_variables.get(k, ())}
    return table.per_value(variable, lambda v: v.isin(sorted(names)))


@operator("on_or_after_variable", VARIABLE)
def _on_or_after_variable(table: Table, variable: str, operand: object) -> Verdict:
    """The value is known to be on or after the other's: a date after it at the precision both
    have, or equal to it there and given at least to the other's precision (2025-10 and
    2025-09-27 are after 2025-09-27; 2025 and 2025-09 are not known to be), or a number not below it."""
    other = str(operand)
    order, judged = _compare(table, variable, other)
    numeric = ~np.isnan(table.numbers(variable)) & ~np.isnan(table.numbers(other))
    precise = numeric | ((table.date_parts(variable) >= 0).sum(axis=1) >= (table.date_parts(other) >= 0).sum(axis=1))
    return ((order > 0) | ((order == 0) & precise)) & judged, judged
