"""The registry of derivations a mapping spec can name, with their typed parameters.

A derivation is a pure column function: ``fn(ctx, **params) -> pd.Series`` aligned to the
domain's rows. It does no I/O. It declares its parameters so that a spec is checked before
anything runs (unknown parameter, raw column or variable) and so that the engine knows which
SDTM variables it reads, in this domain or another, and orders the work accordingly.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from daybreak_sdtm.spec.model import StudySpec
    from daybreak_sdtm.standards import Standards


class Kind(Enum):
    """What a derivation parameter holds, which decides how the spec value is checked."""

    RAW = "raw column"  # a column of the domain's raw rows
    RAWS = "list of raw columns"
    TEMPLATE = "text with {RAW_COLUMN} placeholders"  # reads the raw columns it names
    VAR = "SDTM variable"  # AESTDTC (this domain) or DM.RFSTDTC (another)
    VARS = "list of SDTM variables"
    DATE_VAR = "ISO 8601 date variable"  # an SDTM variable whose SDTMIG format is ISO 8601
    DATE_FORMAT = "date format"  # a pattern such as MM/DD/YYYY (derive.date_formats)
    VALUE = "text value"
    NUMBER = "number"
    MAP = "mapping of collected to submission values"
    TEXT_STEPS = "list of text steps (upper, lower, strip, squeeze, extract, substring, split, replace)"
    CODELIST = "codelist"  # NCI code or short name; defaults to the variable's IG codelist
    WHERE = "filter {VARIABLE: value or [values]}"
    DOMAIN = "domain"
    FLAG = "true/false"


@dataclass(frozen=True)
class Param:
    """One declared parameter of a derivation, and what lint and define.xml may know of it.

    Attributes:
        kind: What the spec value is (decides how it is checked and typed).
        required: Whether the spec must give it.
        doc: One line for ``list-derivations``.
        term: The value is written into the variable (or, for ``compared``, compared with values
            written): lint checks it against the variable's codelist and SDTMIG type.
        choice: The value is one of the finite set the derivation chooses between; define.xml
            lists that set as the variable's codelist when no CT codelist applies. A ``MAP`` is
            always a choice (its values).
        allows: Values accepted besides the codelist's (MULTIPLE, SDTMIG 4.2.8.3).
        phrase: How the value reads in the derivation's ``method`` sentence when given: ``{}``
            stands for it (" where {}" for a filter); by default the value alone.
        absent: What the ``method`` sentence says in its place when the spec does not give it
            (the default it stands for, "DM.RFSTDTC"); by default nothing.
    """

    kind: Kind
    required: bool = True
    doc: str = ""
    term: bool = False
    choice: bool = False
    allows: tuple[str, ...] = ()
    phrase: str = "{}"
    absent: str = ""

    @property
    def writes_terms(self) -> bool:
        """Whether lint checks its value(s) as values of the variable."""
        return self.term or self.choice or self.kind is Kind.MAP


def written_values(
    deriv: DerivationDef, params: Mapping[str, Any], *, choices_only: bool = False
) -> list[tuple[str, str]]:
    """(parameter, value) for every value a resolved derivation writes into its variable, per its declaration.

    ``choices_only``: just the values it chooses between (a map's values, then/otherwise, ...).
    """
    out: list[tuple[str, str]] = []
    for name, param in deriv.params.items():
        wanted = (param.choice or param.kind is Kind.MAP) if choices_only else param.writes_terms
        value = params.get(name)
        if not wanted or value is None:
            continue
        if isinstance(value, Mapping):
            out += [(name, str(v)) for v in value.values()]
        elif isinstance(value, str):
            out.append((name, value))
    return out


@dataclass(frozen=True)
class Decode:
    """A derivation writes the decode of a code variable through a list the study declares.

    define.xml gives the code variable a codelist of its codes with their decodes, and the
    derivation's variable a codelist of the decodes, both in the order the study declares them.

    Attributes:
        code: The parameter (an SDTM variable) naming the code variable.
        terms: The study's (code, decode) pairs, in the order it declares them.
        source: What the pairs are, for ``list-derivations`` ("the study file's arms").
        code_name: The Name of the code variable's codelist ("Arm Code").
        decode_name: The Name of the decode variable's codelist ("Arm").
    """

    code: str
    terms: Callable[[StudySpec], Sequence[tuple[str, str]]] = field(compare=False)
    source: str
    code_name: str
    decode_name: str


@dataclass(frozen=True)
class VarRef:
    """A reference to an SDTM variable: ``AESTDTC`` resolves to this domain, ``DM.RFSTDTC`` to DM."""

    domain: str
    name: str

    def __str__(self) -> str:
        return f"{self.domain}.{self.name}"


class Context(Protocol):
    """What a derivation may read: this domain's rows, built variables, study and standards."""

    domain: str
    raw: pd.DataFrame
    sdtm: pd.DataFrame
    study: StudySpec
    standards: Standards

    def column(self, ref: VarRef) -> pd.Series:
        """A built variable of this domain."""
        ...

    def frame(self, domain: str) -> pd.DataFrame:
        """Another domain's SDTM variables built so far (one row per record)."""
        ...

    def per_subject(self, values: pd.Series) -> pd.Series:
        """Align a Series indexed by USUBJID to this domain's rows."""
        ...

    def sort_keys(self) -> tuple[str, ...]:
        """The domain's natural keys (spec override or SDTMIG)."""
        ...


class RowProblems(Exception):
    """Values a derivation could not map; the engine reports each with its raw record."""

    def __init__(self, positions: np.ndarray, values: Sequence[str], message: str, column: str = "") -> None:
        self.positions = np.asarray(positions, dtype=np.int64)
        self.values = list(values)
        self.message = message
        self.column = column
        super().__init__(message)


Derivation = Callable[..., pd.Series]
Reads = Callable[[Mapping[str, Any], "StudySpec", str], list[VarRef]]


@dataclass(frozen=True)
class DerivationDef:
    """A registered derivation: its function, parameters and what it reads implicitly."""

    name: str
    fn: Derivation
    params: Mapping[str, Param]
    needs: tuple[str, ...] = ()  # variables of the same domain read implicitly (e.g. USUBJID)
    runs_last: bool = False  # after every other variable of the domain (--SEQ)
    reads: Reads | None = None  # extra variables read, from the study file
    origin: str = "Derived"  # define.xml def:Origin type of what it produces
    # The part of study.yaml's trial_design: it reads (derive_visitnum: "visits"); lint refuses a
    # spec that uses it in a study that does not declare that part.
    design_part: str = ""
    decodes: Decode | None = None  # its variable decodes another through a list of the study
    doc: str = field(default="", compare=False)
    # What it does in a sentence a reviewer reads (define.xml MethodDef), each ``{parameter}`` the
    # parameter's phrase (``Param.phrase``/``absent``): "Study day of {date} relative to {reference}".
    method: str = field(default="", compare=False)


DERIVATIONS: dict[str, DerivationDef] = {}


ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor")


def derivation(
    name: str,
    params: Mapping[str, Param] | None = None,
    *,
    needs: tuple[str, ...] = (),
    runs_last: bool = False,
    reads: Reads | None = None,
    origin: str = "Derived",
    design_part: str = "",
    decodes: Decode | None = None,
    method: str,
) -> Callable[[Derivation], Derivation]:
    """Register ``fn`` as ``derivation: <name>`` for mapping specs.

    ``origin`` is the Define-XML origin of the values it produces: ``Collected`` for values copied
    from the CRF, ``Assigned`` for values the sponsor sets, ``Derived`` for computed ones,
    ``Protocol`` for the protocol's own facts that the study file declares (an arm's name, a
    planned visit's number).
    ``design_part`` names the part of the study's ``trial_design:`` it reads (``visits``).
    ``decodes``: the values are the decodes of the code variable one of its parameters names.
    ``method``: what it does, in a sentence for a reviewer (define.xml MethodDef), naming its
    parameters as ``{parameter}``; ``Param.phrase`` and ``Param.absent`` say how each one reads.
    """
    if origin not in ORIGINS:
        raise RuntimeError(f"derivation {name!r}: origin {origin!r} not one of {ORIGINS}")
    _check_method(name, method, params or {})
    code = (params or {}).get(decodes.code) if decodes is not None else None
    if decodes is not None and (code is None or code.kind is not Kind.VAR):
        raise RuntimeError(f"derivation {name!r}: decodes names {decodes.code!r}, not one of its variable parameters")

    def register(fn: Derivation) -> Derivation:
        if name in DERIVATIONS:
            raise RuntimeError(f"derivation {name!r} registered twice")
        if not fn.__doc__:
            raise RuntimeError(f"derivation {name!r} has no docstring")
        DERIVATIONS[name] = DerivationDef(
            name=name,
            fn=fn,
            params=dict(params or {}),
            needs=needs,
            runs_last=runs_last,
            reads=reads,
            origin=origin,
            design_part=design_part,
            decodes=decodes,
            doc=fn.__doc__.strip(),
            method=method,
        )
        return fn

    return register


def method_fields(method: str) -> list[str]:
    """The parameters a ``method`` sentence names, in order (``{date}`` -> ``date``)."""
    return [f for _, f, _, _ in string.Formatter().parse(method) if f is not None]


def _check_method(name: str, method: str, params: Mapping[str, Param]) -> None:
    """A derivation's method sentence is given and names only its parameters, each plainly."""
    if not method.strip():
        raise RuntimeError(f"derivation {name!r} has no method sentence")
    try:
        fields = method_fields(method)
    except ValueError as exc:
        raise RuntimeError(f"derivation {name!r}: method {method!r}: {exc}") from None
    unknown = [f for f in fields if f not in params]
    if unknown:
        raise RuntimeError(f"derivation {name!r}: method names {unknown}, not among its parameters")
    for param_name, param in params.items():
        if "{}" not in param.phrase:
            raise RuntimeError(f"derivation {name!r}: parameter {param_name!r}: phrase without {{}}")
