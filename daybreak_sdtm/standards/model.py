"""Frozen lookups over SDTMIG metadata, SDTM class variables and CDISC controlled terminology."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

# The general observation classes (def:Class values), whose domains take the SDTM class variables.
INTERVENTIONS, EVENTS, FINDINGS, FINDINGS_ABOUT = "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT"
GENERAL_CLASSES = (INTERVENTIONS, EVENTS, FINDINGS, FINDINGS_ABOUT)
# Identifiers and timing variables shared by every general observation class (SDTM v2.0 section 3.1).
GENERAL_OBSERVATIONS = "GENERAL OBSERVATIONS"
# Where a class takes its variables from, most specific first: Findings About is Findings plus --OBJ.
CLASS_SOURCES = {
    INTERVENTIONS: (INTERVENTIONS, GENERAL_OBSERVATIONS),
    EVENTS: (EVENTS, GENERAL_OBSERVATIONS),
    FINDINGS: (FINDINGS, GENERAL_OBSERVATIONS),
    FINDINGS_ABOUT: (FINDINGS_ABOUT, FINDINGS, GENERAL_OBSERVATIONS),
}
# Natural keys of a sponsor domain by class convention (SDTMIG 3.4 section 3.2.1 shows these shapes).
CLASS_KEYS = {
    INTERVENTIONS: ("STUDYID", "USUBJID", "--TRT", "--STDTC"),
    EVENTS: ("STUDYID", "USUBJID", "--DECOD", "--STDTC"),
    FINDINGS: ("STUDYID", "USUBJID", "--TESTCD", "VISITNUM", "--TPTREF", "--TPTNUM"),
    FINDINGS_ABOUT: ("STUDYID", "USUBJID", "--TESTCD", "--OBJ", "VISITNUM", "--TPTREF", "--TPTNUM"),
}
# The structure a sponsor domain states when its spec gives none.
CLASS_STRUCTURES = {
    INTERVENTIONS: "One record per intervention occurrence per subject",
    EVENTS: "One record per event per subject",
    FINDINGS: "One record per finding per subject",
    FINDINGS_ABOUT: "One record per finding per object per subject",
}
SUPPQUAL = "SUPPQUAL"
DICTIONARY_NAME = "C66788"  # Dictionary Name (DICTNAM): the reference terminologies data are coded with
# Names of dictionaries that CT's DICTNAM does not carry as a submission value or synonym but that
# packages use: SDTMIG 3.2's TS examples (and CDISC rule CG0289) write CDISC CT as "CDISC", and
# define.xml files commonly name WHODrug (DICTNAM WHODD) "WHODRUG" or "WHO DRUG".
DICTIONARY_ALIASES = {"CDISC": "C163415", "WHODRUG": "C49475", "WHO DRUG": "C49475", "WHODRUG GLOBAL": "C49475"}
# SDTMIG 3.4 section 2.6 e: codes no custom domain may take.
RESERVED_DOMAIN_CODES = ("AD", "AX", "AP", "SQ", "SA")


def class_name(text: str) -> str:
    """A class as Define-XML names it: ``Special-Purpose`` -> ``SPECIAL PURPOSE``."""
    return " ".join(text.replace("-", " ").upper().split())


def domain_code(dataset: str) -> str:
    """The domain code a dataset's records carry in DOMAIN (RDOMAIN for SUPP--).

    SDTMIG 3.4 section 4.1.7: a domain split into several datasets names each with the domain
    code plus up to two characters (LBCH, QSCO), and their SUPP-- datasets SUPP + that name
    (SUPPLBCH); every record keeps the domain's code (LB). Domain codes are two characters; the
    other datasets of more than two (RELREC, SUPPQUAL, ...) are at least six.
    """
    name = dataset.upper()
    if name.startswith("SUPP") and len(name) > 4:
        name = name[4:]
    return name[:2] if 3 <= len(name) <= 4 else name


@dataclass(frozen=True)
class VariableMeta:
    """One SDTMIG variable: name, label, type, role, core and codelist as the IG states them.

    A variable the IG's domain table does not list but the domain's SDTM class allows
    (VISITNUM in EX, AEDTC in AE), and every variable of a sponsor domain, has ``model_allowed``
    set: its label is the class's generic one, not an IG table's.
    """

    dataset: str
    order: int
    name: str
    label: str
    type: str  # "Char" or "Num"
    role: str
    core: str  # "Req", "Exp" or "Perm"
    codelist: str = ""  # NCI C-code of the codelist, several joined by ";", "ISO3166", "" when none
    format: str = ""  # "ISO 8601" for --DTC/--DUR/--ELTM...
    value_domain: str = ""  # the IG's described value domain: "ISO 8601 datetime or interval", "MedDRA", ...
    value_list: tuple[str, ...] = ()  # the IG's value list (DOMAIN: the domain code)
    notes: str = ""  # CDISC Notes
    model_allowed: bool = False

    @property
    def is_numeric(self) -> bool:
        """Whether the variable is stored as a SAS numeric."""
        return self.type == "Num"

    @property
    def codelists(self) -> tuple[str, ...]:
        """The codes of the variable's codelists (several for e.g. RSCAT, DSDECOD)."""
        return tuple(c.strip() for c in self.codelist.split(";") if c.strip())


def dictionary_derived(meta: VariableMeta) -> bool:
    """Whether SDTMIG's notes say the variable's values come from a coding dictionary (AEDECOD, CMDECOD)."""
    return bool(re.match(r"(standardized or )?dictionary[- ]derived", meta.notes.strip(), re.IGNORECASE))


@dataclass(frozen=True)
class ClassVariable:
    """A variable of an SDTM class in its generic form (``--STDTC``, ``VISITNUM``)."""

    klass: str  # GENERAL_OBSERVATIONS or one of GENERAL_CLASSES
    order: int
    name: str
    label: str
    type: str
    role: str
    codelist: str = ""
    value_domain: str = ""

    @property
    def prefixed(self) -> bool:
        return self.name.startswith("--")

    def name_in(self, domain: str) -> str:
        """The variable's name in a domain: ``--STDTC`` -> ``AESTDTC``."""
        return domain + self.name[2:] if self.prefixed else self.name

    def for_domain(self, domain: str, core: str = "Perm", *, model_allowed: bool = True) -> VariableMeta:
        return VariableMeta(
            dataset=domain,
            order=self.order,
            name=self.name_in(domain),
            label=self.label,
            type=self.type,
            role=self.role,
            core=core,
            codelist=self.codelist,
            format=iso8601_format(self.value_domain),
            value_domain=self.value_domain,
            model_allowed=model_allowed,
        )


def iso8601_format(value_domain: str) -> str:
    """``ISO 8601`` for the IG's ISO 8601 value domains, else ""."""
    return "ISO 8601" if value_domain.startswith("ISO 8601") else ""


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
    custom: bool = False  # a sponsor domain declared with its class


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
    """A CDISC codelist with its terms."""

    code: str
    name: str
    submission_value: str
    extensible: bool
    terms: tuple[Term, ...] = ()
    lookup: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    synonyms: tuple[str, ...] = field(default=(), compare=False)
    definition: str = field(default="", compare=False, repr=False)
    preferred_term: str = field(default="", compare=False)
    # An external dictionary standing in for a codelist ("ISO 3166"): define.xml names it as an
    # ExternalCodeList rather than listing its terms.
    dictionary: str = field(default="", compare=False)
    dictionary_version: str = field(default="", compare=False)  # the dictionary's release, when known
    # Made from the terms by __post_init__.
    _by_value: dict[str, Term] = field(default_factory=dict, init=False, compare=False, repr=False)
    _values: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

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
        by_value = {t.submission_value: t for t in reversed(self.terms)}
        object.__setattr__(self, "_by_value", by_value)
        object.__setattr__(self, "_values", frozenset(by_value))

    @property
    def submission_values(self) -> frozenset[str]:
        """The submission values of the terms held."""
        return self._values

    def term(self, submission_value: str) -> Term | None:
        """The term with this submission value, if the codelist holds it."""
        return self._by_value.get(submission_value)


def union_codelist(codelists: Sequence[Codelist]) -> Codelist:
    """The terms of several codelists as one, in order (a term of an earlier one wins a shared value).

    A variable SDTMIG gives several codelists (RSCAT: ONCRSCAT for response criteria, CCCAT for
    clinical classifications) holds a term of any of them. The union is extensible if any part is;
    its code and short name join the parts' with ``;`` (no NCI code of its own, so define.xml lists
    it as the study's codelist, each term with its own NCI code).
    """
    return Codelist(
        code=";".join(c.code for c in codelists),
        name="; ".join(c.name for c in codelists),
        submission_value=";".join(c.submission_value for c in codelists),
        extensible=any(c.extensible for c in codelists),
        terms=tuple(t for c in codelists for t in c.terms),
    )


class CodelistTable(Mapping[str, Codelist]):
    """Codelists by NCI code, also found by short name; a subclass may build them on first use."""

    def __init__(self, codelists: Mapping[str, Codelist] | None = None) -> None:
        self._built: dict[str, Codelist] = dict(codelists or {})
        self._names: dict[str, str] | None = None

    # What a lazy table overrides: its codes, the short name of a code, and how to build one.
    def _codes(self) -> Collection[str]:
        return self._built.keys()

    def _short_name(self, code: str) -> str:
        return self._built[code].submission_value

    def _build(self, code: str) -> Codelist:
        raise KeyError(code)

    def __getitem__(self, code: str) -> Codelist:
        found = self._built.get(code)
        if found is None:
            found = self._built[code] = self._build(code)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes())

    def __len__(self) -> int:
        return len(self._codes())

    def __contains__(self, code: object) -> bool:
        return code in self._built or code in self._codes()

    def counts(self) -> tuple[int, int]:
        """How many codelists and terms the table holds."""
        return len(self), sum(len(self[code].terms) for code in self)

    def code_of(self, short_name: str) -> str | None:
        """The code of the codelist with this short name (CDISC submission value), if any."""
        if self._names is None:
            names: dict[str, str] = {}
            for code in self._codes():
                names.setdefault(self._short_name(code), code)
            self._names = names
        return self._names.get(short_name)


@dataclass(frozen=True)
class Standards:
    """SDTMIG version plus a CT package: everything the engine looks up, read once.

    ``domain_variables`` is the IG's table of a domain; ``variable`` also answers for the
    variables the domain's SDTM class allows. Split datasets (LBCH) and SUPP-- datasets resolve to
    their domain's metadata (``dataset_domain``); ``with_custom_domain`` adds a sponsor domain of
    a general observation class.
    """

    sdtmig_version: str
    ct_version: str
    datasets: dict[str, DatasetMeta]
    variables: dict[str, tuple[VariableMeta, ...]]  # dataset -> variables in IG order
    codelists: Mapping[str, Codelist]  # by NCI code
    class_variables: dict[str, tuple[ClassVariable, ...]] = field(default_factory=dict)  # class -> variables

    def __post_init__(self) -> None:
        index = {name: {v.name: v for v in vs} for name, vs in self.variables.items()}
        generic: dict[str, dict[str, ClassVariable]] = {}
        for klass, cvs in self.class_variables.items():
            generic[klass] = {cv.name: cv for cv in cvs}
        if not isinstance(self.codelists, CodelistTable):
            object.__setattr__(self, "codelists", CodelistTable(self.codelists))
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_generic", generic)

    # -- datasets

    def dataset_domain(self, name: str) -> str | None:
        """The dataset whose metadata describes ``name``: LB for LBCH, SUPPQUAL for SUPPLBCH, else itself.

        None when the standards know no such dataset (nor a domain it is a split of).
        """
        name = name.upper()
        if name in self.datasets:
            return name
        if name.startswith("SUPP") and len(name) > 4:
            return SUPPQUAL if SUPPQUAL in self.datasets else None
        code = domain_code(name)
        parent = self.datasets.get(code)
        if code != name and parent is not None and parent.klass in GENERAL_CLASSES:
            return code
        return None

    def dataset(self, name: str) -> DatasetMeta | None:
        """Metadata of a dataset; SUPP-- datasets share SUPPQUAL's, split datasets their domain's."""
        key = self.dataset_domain(name)
        return self.datasets.get(key) if key is not None else None

    def with_custom_domain(
        self, name: str, klass: str, label: str, structure: str = "", keys: Iterable[str] = ()
    ) -> Standards:
        """These standards plus a sponsor domain ``name`` of a general observation class.

        The domain takes every variable of its class, prefixed with its code (``--TESTCD`` ->
        ``XXTESTCD``): STUDYID, DOMAIN, USUBJID, --SEQ and the class's topic variable Req, the
        others Perm. Its keys are ``keys`` or the class convention.
        """
        from daybreak_sdtm.errors import StandardsError

        code, cls = name.upper(), class_name(klass)
        if len(code) != 2 or not code.isalpha():
            raise StandardsError(f"custom domain {name!r}: a domain code is two letters (SDTMIG 3.4 section 2.6)")
        if code in self.datasets and not self.datasets[code].custom:
            raise StandardsError(f"custom domain {code}: SDTMIG {self.sdtmig_version} already defines {code}")
        if code in RESERVED_DOMAIN_CODES:
            raise StandardsError(
                f"custom domain {code}: {', '.join(RESERVED_DOMAIN_CODES)} may not be used as "
                f"custom domain codes (SDTMIG 3.4 section 2.6)"
            )
        domains = self.codelist("DOMAIN")
        if domains is not None and domains.term(code) is not None:
            raise StandardsError(
                f"custom domain {code}: {code} is a CDISC domain code (SDTM Domain Abbreviation "
                f"codelist {domains.code}, CT {self.ct_version}); a custom domain takes another code"
            )
        if cls not in GENERAL_CLASSES:
            raise StandardsError(
                f"custom domain {code}: class {klass!r} is not a general observation class "
                f"(one of {', '.join(c.title() for c in GENERAL_CLASSES)})"
            )
        variables = self._class_members(cls)
        required = {"STUDYID", "DOMAIN", "USUBJID", "--SEQ"}
        metas = tuple(
            cv.for_domain(code, "Req" if cv.name in required or cv.role == "Topic" else "Perm") for cv in variables
        )
        key_names = tuple(keys) or tuple(k.replace("--", code, 1) for k in CLASS_KEYS[cls])
        meta = DatasetMeta(
            code,
            label,
            cls,
            structure or CLASS_STRUCTURES[cls],
            key_names,
            repeating=True,
            reference_data=False,
            custom=True,
        )
        return dataclasses.replace(
            self, datasets={**self.datasets, code: meta}, variables={**self.variables, code: metas}
        )

    # -- variables

    def domain_variables(self, domain: str) -> tuple[VariableMeta, ...]:
        """The variables the IG defines for a domain (a split dataset: its domain's), in IG order."""
        key = self.dataset_domain(domain)
        return self.variables.get(key, ()) if key is not None else ()

    def variable(self, domain: str, name: str) -> VariableMeta | None:
        """One variable of a domain: the IG's, else one its SDTM class allows; None when neither."""
        key = self.dataset_domain(domain)
        if key is None:
            return None
        found = self._index.get(key, {}).get(name)  # type: ignore[attr-defined]
        if found is not None:
            return found
        meta = self.datasets[key]
        if meta.klass not in GENERAL_CLASSES:
            return None
        code = domain_code(domain)
        for klass in CLASS_SOURCES[meta.klass]:
            table = self._generic.get(klass, {})  # type: ignore[attr-defined]
            cv = table.get(name) or (table.get("--" + name[2:]) if name.startswith(code) else None)
            if cv is not None:
                return cv.for_domain(code)
        return None

    def topic_variable(self, domain: str) -> str:
        """The domain's topic variable (EXTRT, AETERM, LBTESTCD: SDTMIG role Topic), "" when it has none."""
        return next((v.name for v in self.domain_variables(domain) if v.role == "Topic"), "")

    def unit_qualifier(self, domain: str, name: str) -> str:
        """The variable holding the unit of ``name`` (EXDOSE: EXDOSU; LBORRES: LBORRESU), "" when none.

        SDTMIG's notes of a unit variable name the variables it qualifies ("Units for EXDOSE,
        EXDOSTOT, or EXDOSTXT"; "The unit for LBORRES"), and its label says it holds units.
        """
        for meta in self.domain_variables(domain):
            unit_like = meta.name.endswith("U") and "unit" in meta.label.lower()
            if meta.name == name or meta.role != "Variable Qualifier" or not unit_like:
                continue
            if re.search(rf"\b{re.escape(name)}\b", meta.notes):
                return meta.name
        return ""

    def _class_members(self, klass: str) -> list[ClassVariable]:
        """Every variable a class allows, in model order (a more specific class's first on a clash)."""
        seen: dict[str, ClassVariable] = {}
        for source in CLASS_SOURCES[klass]:
            for cv in self.class_variables.get(source, ()):
                seen.setdefault(cv.name, cv)
        return sorted(seen.values(), key=lambda cv: cv.order)

    def model_variables(self, domain: str) -> tuple[VariableMeta, ...]:
        """The variables a domain's SDTM class allows that its IG table does not list."""
        key = self.dataset_domain(domain)
        if key is None or self.datasets[key].klass not in GENERAL_CLASSES:
            return ()
        code = domain_code(domain)
        listed = self._index.get(key, {})  # type: ignore[attr-defined]
        return tuple(
            cv.for_domain(code)
            for cv in self._class_members(self.datasets[key].klass)
            if cv.name_in(code) not in listed
        )

    def ordered(self, domain: str, names: Iterable[str]) -> list[str]:
        """``names`` in standard order: the IG's order, a model-allowed variable after the IG
        variable that precedes it in its class, names the standards do not know last as given."""
        ig = self.domain_variables(domain)
        position = {v.name: float(i) for i, v in enumerate(ig)}
        model = self.model_variables(domain)
        if model:
            code = domain_code(domain)
            klass = self.datasets[self.dataset_domain(domain) or ""].klass
            class_order = {cv.name_in(code): cv.order for cv in self._class_members(klass)}
            anchors = sorted((class_order[v.name], position[v.name]) for v in ig if v.name in class_order)
            for m in model:
                before = [pos for order, pos in anchors if order <= m.order]
                position[m.name] = (max(before) if before else -1.0) + 0.5 + m.order / 1e6
        unknown = len(position) + 1.0
        ranked = sorted((position.get(n, unknown), i, n) for i, n in enumerate(names))
        return [n for _, _, n in ranked]

    # -- terminology

    def dictionary(self, name: str) -> Term | None:
        """The DICTNAM term (C66788) a dictionary name stands for: its submission value, a CT synonym
        or a known alias, case and spacing ignored ("MEDDRA", "WHODrug Global", "WHODRUG"); None when none."""
        codelist = self.codelist(DICTIONARY_NAME)
        if codelist is None:
            return None
        wanted = " ".join(name.split()).upper()
        alias = DICTIONARY_ALIASES.get(wanted)
        for term in codelist.terms:
            names = (term.submission_value, *term.synonyms)
            if term.code == alias or any(" ".join(n.split()).upper() == wanted for n in names):
                return term
        return None

    def coding_dictionary(self, domain: str, name: str) -> Term | None:
        """The dictionary SDTMIG says a variable is coded with (AEDECOD: MedDRA), None when it names none.

        Its described value domain names it (MedDRA), or its CDISC notes call it dictionary-derived
        and name exactly one dictionary (AEBODSYS: "e.g., MedDRA"). A variable the IG calls
        dictionary-derived without naming one (CMDECOD) is coded with whatever the study says.
        """
        meta = self.variable(domain, name)
        if meta is None:
            return None
        if meta.value_domain:
            term = self.dictionary(meta.value_domain)
            if term is not None:
                return term
        if not dictionary_derived(meta):
            return None
        codelist = self.codelist(DICTIONARY_NAME)
        named = {
            t.code: t
            for t in (codelist.terms if codelist is not None else ())
            if re.search(rf"\b{re.escape(t.submission_value)}\b", meta.notes)
        }
        return next(iter(named.values())) if len(named) == 1 else None

    def codelist(self, code: str) -> Codelist | None:
        """A codelist by NCI code (``C66731``) or by short name (``SEX``).

        Several codes joined by ``;`` (as SDTMIG lists RSCAT's ``C124298; C118971``) give the
        union of those codelists (``union_codelist``); None if any of them is unknown.
        """
        if ";" in code:
            parts = [self.codelist(c.strip()) for c in code.split(";") if c.strip()]
            if not parts or any(p is None for p in parts):
                return None
            found = [p for p in parts if p is not None]
            return found[0] if len(found) == 1 else union_codelist(found)
        table = self.codelists
        assert isinstance(table, CodelistTable)
        if code in table:
            return table[code]
        found_code = table.code_of(code)
        return table[found_code] if found_code is not None else None
