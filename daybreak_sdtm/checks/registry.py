"""The registry of named checks: each has a stable id, a dotted name, a severity, references and docs.

Two kinds share one registry so that ``list-checks`` and ``explain`` show them alike:

* ``check``: our own vectorised function ``fn(package, ctx) -> Iterator[Finding]``;
* ``expectation``: a builder ``fn(dataset, ctx) -> Iterator[Expect]`` of great-expectations
  expectations, which the adapter ``daybreak_sdtm.gx`` runs in one suite per dataset and turns
  into findings of the same shape as the checks' own.

Ids are ``DB`` + 3 digits; the first digit is the family (1 structure, 2 terminology, 3 keys,
4 dates, 5 metadata/define, 6 protocol, 7 submission: the FDA's technical rejection criteria).
Published CORE / FDA ids are cited in ``references``, never borrowed as our own ids.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daybreak_sdtm.findings import Severity

if TYPE_CHECKING:
    from daybreak_sdtm.checks.package import Dataset
    from daybreak_sdtm.checks.versions import Difference
    from daybreak_sdtm.spec.model import ProtocolRule
    from daybreak_sdtm.standards import Standards

_ID = re.compile(r"^DB[1-7]\d\d$")
FAMILIES = {
    "1": "structure",
    "2": "terminology",
    "3": "keys",
    "4": "dates",
    "5": "metadata",
    "6": "protocol",
    "7": "submission",
}


@dataclass(frozen=True)
class EpochRule:
    """One epoch a study declares (study.yaml ``epochs:``, in order) and where a subject's start of it is read.

    Attributes:
        epoch: The EPOCH value.
        dataset: The dataset holding the start (``DM``).
        variable: The variable (``RFXSTDTC``).
        how: ``value`` (the subject's value), ``first`` (the subject's earliest in the dataset,
            among the records ``filters`` selects) or ``day_after`` (the day after the subject's value).
        filters: Variable -> values a record must hold to count (``first`` only).
    """

    epoch: str
    dataset: str
    variable: str
    how: str = "value"
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    """What checks may consult besides the data: standards, the study's protocol rules, define.xml."""

    standards: Standards
    protocol: tuple[ProtocolRule, ...] = ()  # the study's protocol_checks:, evaluated by checks/protocol.py
    studyid: str = ""  # expected STUDYID when the study is known
    # Sponsor terms a study declares for an extensible codelist (its epochs, by codelist short name).
    declared_terms: dict[str, frozenset[str]] = field(default_factory=dict)
    # Value-level codelists from the mapping spec: (dataset, variable) -> ((where, codelist code), ...).
    value_codelists: dict[tuple[str, str], tuple[tuple[dict[str, tuple[str, ...]], str], ...]] = field(
        default_factory=dict
    )
    # The SDTMIG version the package declares ("" when unknown); checks report what differs between
    # it and the version of ``standards`` as notes (``checks.versions``).
    declared_sdtmig: str = ""
    # The study's epochs in order, with their start rules (no SE dataset: DB406 judges EPOCH by them).
    epochs: tuple[EpochRule, ...] = ()
    # The natural keys the study declares for its datasets (its domain specs' ``keys:``, else the
    # SDTMIG's), which the define.xml of its package declares too: dataset -> keys, in order.
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The versions of the external dictionaries the study's data are coded with: DICTNAM term code
    # (C43820 MedDRA) -> version, from study.yaml's ``dictionaries:``.
    dictionaries: dict[str, str] = field(default_factory=dict)

    def difference(self, ds: Dataset, variable: str, kind: str) -> Difference | None:
        """Where SDTMIG differs for ``variable`` of ``ds`` between the declared version and the one checked."""
        from daybreak_sdtm.checks.versions import difference

        meta = self.standards.dataset(ds.name)
        return difference(
            self.declared_sdtmig,
            self.standards.sdtmig_version,
            ds.name,
            ds.domain,
            meta.klass if meta is not None else "",
            variable,
            kind,
        )

    @property
    def difference_applies(self) -> bool:
        """Whether the package declares an SDTMIG version older than the one checked against."""
        from daybreak_sdtm.checks.versions import is_older

        return is_older(self.declared_sdtmig, self.standards.sdtmig_version)

    @property
    def versions_note(self) -> str:
        """How the package's declared SDTMIG relates to the metadata it is checked against."""
        checked = self.standards.sdtmig_version
        if self.declared_sdtmig and self.declared_sdtmig != checked:
            return f"declared SDTMIG {self.declared_sdtmig}; checked against SDTMIG {checked} metadata"
        return f"SDTMIG {checked}"


@dataclass(frozen=True)
class CheckDef:
    """A registered check."""

    code: str
    name: str
    severity: Severity
    references: tuple[str, ...]
    fn: Callable[..., Any]
    kind: str = "check"  # "check" or "expectation"
    doc: str = field(default="", compare=False)

    @property
    def family(self) -> str:
        """The family named by the id's first digit."""
        return FAMILIES[self.code[2]]

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        return self.doc.splitlines()[0] if self.doc else ""


CHECKS: dict[str, CheckDef] = {}


def _register(code: str, name: str, severity: Severity, references: tuple[str, ...], kind: str) -> Callable[[Any], Any]:
    if not _ID.match(code):
        raise RuntimeError(f"check id {code!r} must be DB followed by a family digit 1-7 and two digits")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if code in CHECKS:
            raise RuntimeError(f"check {code} registered twice ({CHECKS[code].name} and {name})")
        if any(c.name == name for c in CHECKS.values()):
            raise RuntimeError(f"check name {name!r} registered twice")
        doc = inspect.getdoc(fn) or ""
        if not doc.strip():
            raise RuntimeError(f"check {code} ({name}) has no docstring; the docstring is its documentation")
        if not references:
            raise RuntimeError(f"check {code} ({name}) cites no SDTMIG, FDA or CORE reference")
        CHECKS[code] = CheckDef(code, name, severity, tuple(references), fn, kind, doc)
        return fn

    return register


def check(code: str, name: str, *, severity: Severity, references: tuple[str, ...]) -> Callable[[Any], Any]:
    """Register ``fn(package, ctx) -> Iterator[Finding]`` as a check."""
    return _register(code, name, severity, references, "check")


def expectation(code: str, name: str, *, severity: Severity, references: tuple[str, ...]) -> Callable[[Any], Any]:
    """Register ``fn(dataset, ctx) -> Iterator[Expect]`` as a great-expectations expectation builder."""
    return _register(code, name, severity, references, "expectation")


def get_check(code: str) -> CheckDef | None:
    """A check by id (case-insensitive) or dotted name."""
    key = code.strip().upper()
    if key in CHECKS:
        return CHECKS[key]
    for item in CHECKS.values():
        if item.name == code.strip():
            return item
    return None
