"""The registry of named checks: each has a stable id, a dotted name, a severity, references and docs.

Two kinds share one registry so that ``list-checks`` and ``explain`` show them alike:

* ``check``: our own vectorised function ``fn(package, ctx) -> Iterator[Finding]``;
* ``expectation``: a builder ``fn(dataset, ctx) -> Iterator[Expect]`` of great-expectations
  expectations, which the adapter ``daybreak_sdtm.gx`` runs in one suite per dataset and turns
  into findings of the same shape as the checks' own.

Ids are ``DB`` + 3 digits; the first digit is the family (1 structure, 2 terminology, 3 keys,
4 dates, 5 metadata/define, 6 protocol, 7 submission: the FDA's technical rejection criteria).
Published rule ids are never borrowed as our own: each check declares, in ``implements``, the
CDISC conformance rules, CDISC CORE rules and FDA rules it implements (``Implements``), or that it
has no published counterpart and why (``no_counterpart``); ``references`` cites the texts (SDTMIG
sections, FDA guides) it follows.
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
# The published rule ids a check may implement: CDISC SDTM conformance rules (CG0014), CDISC CORE
# rules (CORE-000355), and FDA rules: the FDA Validator Rules as the FDA validator numbers them
# (SD0002, CT2001), the FDA Business Rules (FB0603) and the technical rejection criteria (TRC1736a).
CDISC_ID = re.compile(r"^CG\d{4}$")
CORE_ID = re.compile(r"^CORE-\d{6}$")
FDA_ID = re.compile(r"^(?:SD\d{4}|CT\d{4}|FB\d{4}|TRC\d{4}[a-z]?)$")
FDA_MAX_DATASET_SIZE = 5 * 1000**3  # bytes: the FDA Study Data Technical Conformance Guide's 5 GB
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
    # The largest dataset file the agency takes unsplit, in bytes (``validate --max-dataset-size``;
    # FDA's Study Data Technical Conformance Guide: 5 GB).
    max_dataset_size: int = FDA_MAX_DATASET_SIZE

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
class Implements:
    """The published rules a check implements, or why it has no published counterpart.

    A rule is claimed only when the check tests the same condition (it may test more: DB106 holds
    AGE below 130 as well as not negative); a rule the check covers in part is not claimed.

    Attributes:
        cdisc: CDISC SDTM conformance rule ids (``CG0014``).
        core: CDISC CORE rule ids (``CORE-000355``).
        fda: FDA rule ids: FDA Validator Rules (``SD0002``, ``CT2001``), FDA Business Rules
            (``FB0603``), technical rejection criteria as CORE records them (``TRC1736a``).
        none: Why no published rule is the check's counterpart ("" when it names rules).
    """

    cdisc: tuple[str, ...] = ()
    core: tuple[str, ...] = ()
    fda: tuple[str, ...] = ()
    none: str = ""

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id: CDISC, then CORE, then FDA."""
        return (*self.cdisc, *self.core, *self.fda)

    def problems(self) -> list[str]:
        """What is wrong with the declaration: a malformed id, or neither ids nor a reason (or both)."""
        found = [
            f"{what} id {i!r} is not of the form {example}"
            for what, ids, pattern, example in (
                ("CDISC", self.cdisc, CDISC_ID, "CG0014"),
                ("CORE", self.core, CORE_ID, "CORE-000355"),
                ("FDA", self.fda, FDA_ID, "SD0002, CT2001, FB0603 or TRC1736a"),
            )
            for i in ids
            if not pattern.match(i)
        ]
        if bool(self.ids) == bool(self.none.strip()):
            found.append("name the rules it implements or, with no_counterpart, why it has none (not both)")
        return found

    def describe(self) -> str:
        """``CDISC CG0014; CORE CORE-000355; FDA SD0056``, or ``no published counterpart: why``."""
        if not self.ids:
            return f"no published counterpart: {self.none}"
        parts = (("CDISC", self.cdisc), ("CORE", self.core), ("FDA", self.fda))
        return "; ".join(f"{what} {', '.join(ids)}" for what, ids in parts if ids)


def no_counterpart(reason: str) -> Implements:
    """The declaration of a check no published rule corresponds to, with the reason."""
    return Implements(none=reason)


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
    implements: Implements = field(default_factory=Implements)  # the published rules it implements

    @property
    def family(self) -> str:
        """The family named by the id's first digit."""
        return FAMILIES[self.code[2]]

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        return self.doc.splitlines()[0] if self.doc else ""


CHECKS: dict[str, CheckDef] = {}


def _register(
    code: str, name: str, severity: Severity, references: tuple[str, ...], implements: Implements, kind: str
) -> Callable[[Any], Any]:
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
        problems = implements.problems()
        if problems:
            raise RuntimeError(f"check {code} ({name}) implements: {'; '.join(problems)}")
        CHECKS[code] = CheckDef(code, name, severity, tuple(references), fn, kind, doc, implements)
        return fn

    return register


def check(
    code: str, name: str, *, severity: Severity, references: tuple[str, ...], implements: Implements
) -> Callable[[Any], Any]:
    """Register ``fn(package, ctx) -> Iterator[Finding]`` as a check."""
    return _register(code, name, severity, references, implements, "check")


def expectation(
    code: str, name: str, *, severity: Severity, references: tuple[str, ...], implements: Implements
) -> Callable[[Any], Any]:
    """Register ``fn(dataset, ctx) -> Iterator[Expect]`` as a great-expectations expectation builder."""
    return _register(code, name, severity, references, implements, "expectation")


def explanation(item: CheckDef) -> str:
    """What ``daybreak-sdtm explain`` prints of a check: id, name, severity, family, docstring,
    the published rules it implements and its references."""
    engine = "great-expectations expectation" if item.kind == "expectation" else "daybreak check"
    refs = "\n".join(f"  - {r}" for r in item.references)
    official = item.implements
    if official.ids:
        rules = "\n".join(
            f"  {what}: {', '.join(ids)}"
            for what, ids in (
                ("CDISC conformance rules", official.cdisc),
                ("CDISC CORE rules", official.core),
                ("FDA rules", official.fda),
            )
            if ids
        )
    else:
        rules = f"  no published counterpart: {official.none}"
    return (
        f"{item.code} {item.name} ({item.severity}, {item.family}, {engine})\n\n{item.doc}\n\n"
        f"Implements:\n{rules}\n\nReferences:\n{refs}\n"
    )


def get_check(code: str) -> CheckDef | None:
    """A check by id (case-insensitive) or dotted name."""
    key = code.strip().upper()
    if key in CHECKS:
        return CHECKS[key]
    for item in CHECKS.values():
        if item.name == code.strip():
            return item
    return None
