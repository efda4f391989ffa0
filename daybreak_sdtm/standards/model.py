"""Frozen lookups over SDTMIG metadata and CDISC controlled terminology."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VariableMeta:
    """One SDTMIG variable: name, label, type, role, core and codelist as the IG states them."""

    dataset: str
    order: int
    name: str
    label: str
    type: str  # "Char" or "Num"
    role: str
    core: str  # "Req", "Exp" or "Perm"
    codelist: str = ""  # NCI C-code of the codelist, "" when none
    format: str = ""  # "ISO 8601" for --DTC/--DUR

    @property
    def is_numeric(self) -> bool:
        """Whether the variable is stored as a SAS numeric."""
        return self.type == "Num"


@dataclass(frozen=True)
class DatasetMeta:
    """One SDTMIG dataset: label, class, structure and natural keys."""

    name: str
    label: str
    klass: str
    structure: str
    keys: tuple[str, ...]
    repeating: bool
    reference_data: bool


@dataclass(frozen=True)
class Term:
    """One controlled term of a codelist."""

    code: str
    submission_value: str
    synonyms: tuple[str, ...] = ()
    preferred_term: str = ""
    definition: str = ""


@dataclass(frozen=True)
class Codelist:
    """A CDISC codelist with its terms (the package may hold only the terms studies use)."""

    code: str
    name: str
    submission_value: str
    extensible: bool
    terms: tuple[Term, ...] = ()
    lookup: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Case-insensitive match on submission values, synonyms and NCI preferred terms, so
        # collected "Male" finds M; a submission value always wins over another term's synonym.
        lookup: dict[str, str] = {}
        for term in self.terms:
            for text in (*term.synonyms, term.preferred_term):
                if text:
                    lookup.setdefault(text.strip().upper(), term.submission_value)
        for term in self.terms:
            lookup[term.submission_value.upper()] = term.submission_value
        object.__setattr__(self, "lookup", lookup)

    @property
    def submission_values(self) -> frozenset[str]:
        """The submission values of the terms held."""
        return frozenset(t.submission_value for t in self.terms)

    def term(self, submission_value: str) -> Term | None:
        """The term with this submission value, if the package holds it."""
        for term in self.terms:
            if term.submission_value == submission_value:
                return term
        return None


@dataclass(frozen=True)
class Standards:
    """SDTMIG version plus a CT package: everything the engine looks up, read once."""

    sdtmig_version: str
    ct_version: str
    datasets: dict[str, DatasetMeta]
    variables: dict[str, tuple[VariableMeta, ...]]  # dataset -> variables in IG order
    codelists: dict[str, Codelist]  # by NCI code

    def dataset(self, name: str) -> DatasetMeta | None:
        """Metadata of a dataset; SUPP-- datasets share SUPPQUAL's."""
        if name.startswith("SUPP") and name not in self.datasets:
            return self.datasets.get("SUPPQUAL")
        return self.datasets.get(name)

    def domain_variables(self, domain: str) -> tuple[VariableMeta, ...]:
        """The variables the IG defines for a domain, in IG order."""
        if domain.startswith("SUPP") and domain not in self.variables:
            return self.variables.get("SUPPQUAL", ())
        return self.variables.get(domain, ())

    def variable(self, domain: str, name: str) -> VariableMeta | None:
        """One variable of a domain, or None when the IG has no such variable."""
        for var in self.domain_variables(domain):
            if var.name == name:
                return var
        return None

    def codelist(self, code: str) -> Codelist | None:
        """A codelist by NCI code (``C66731``) or by short name (``SEX``)."""
        if code in self.codelists:
            return self.codelists[code]
        for codelist in self.codelists.values():
            if codelist.submission_value == code:
                return codelist
        return None
