"""The mapping spec as written, every node remembering its file:line:col."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from daybreak_sdtm.errors import Location
from daybreak_sdtm.findings import Severity


@dataclass(frozen=True)
class VariableSpec:
    """One target variable: the derivation that produces it and its parameters."""

    name: str
    derivation: str
    params: dict[str, Any]
    where: Location
    param_where: dict[str, Location] = field(default_factory=dict)
    origin: str = ""  # define.xml def:Origin type; inferred from the derivation when empty
    method: str = ""  # a human description of the derivation, for define.xml MethodDef
    comment: str = ""
    transliterate: bool = False  # replace accented letters by ASCII ones instead of refusing them
    dictionary: str = ""  # the coding dictionary of its values (a study dictionary), when SDTMIG names none
    # Value-level cases: the first case whose ``case_where`` (SDTM variables of the domain) holds
    # derives the value; a case with no condition takes the remaining records.
    cases: tuple[VariableSpec, ...] = ()
    case_where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def located(self, param: str) -> Location:
        """Where a parameter is written (the variable's line when it is not)."""
        return self.param_where.get(param, self.where)


@dataclass(frozen=True)
class SuppSpec:
    """A supplemental qualifier (SUPP-- record) of the domain's records."""

    qnam: str
    qlabel: str
    qorig: str
    qeval: str
    variable: VariableSpec  # derivation of QVAL, named by QNAM


@dataclass(frozen=True)
class JoinSpec:
    """Another form joined to the source rows by subject and ``on`` columns (at most one row per key)."""

    form: str
    where: Location
    on: tuple[str, ...] = ()  # raw columns both forms hold (visit, line number), besides the subject


@dataclass(frozen=True)
class VariantSpec:
    """One SDTM record made from each raw row: fixed values plus columns renamed to common names."""

    values: dict[str, str]
    columns: dict[str, str | None]
    where: Location


@dataclass(frozen=True)
class ExcludeSpec:
    """Rows left out on purpose, with the reason the reconciliation report gives."""

    when: dict[str, tuple[str, ...]]
    reason: str
    where: Location


@dataclass(frozen=True)
class SourceSpec:
    """Where a domain's records come from."""

    form: str
    where: Location
    joins: tuple[JoinSpec, ...] = ()
    variants: tuple[VariantSpec, ...] = ()
    excludes: tuple[ExcludeSpec, ...] = ()


@dataclass(frozen=True)
class DomainSpec:
    """One domain's mapping spec."""

    name: str
    file: Path
    where: Location
    # Where the records come from: one form, or several stacked in order (``source:`` as a list),
    # each with its own joins, unpivot and exclusions, giving the same raw columns.
    sources: tuple[SourceSpec, ...]
    variables: tuple[VariableSpec, ...]
    supplemental: tuple[SuppSpec, ...] = ()
    keys: tuple[str, ...] = ()  # overrides the IG keys when given
    # A custom (sponsor) domain declares its general observation class and label (SDTMIG 3.4 section 2.6).
    klass: str = ""
    label: str = ""
    class_where: Location | None = None  # where ``class:`` is written

    @property
    def variants(self) -> tuple[VariantSpec, ...]:
        """The unpivot variants of every source, in order: a raw row's ``_variant`` indexes this."""
        return tuple(v for src in self.sources for v in src.variants)

    @property
    def forms(self) -> tuple[str, ...]:
        """The forms the domain's records are read from (sources and joined forms), each once."""
        return tuple(dict.fromkeys(f for src in self.sources for f in (src.form, *(j.form for j in src.joins))))

    def variable(self, name: str) -> VariableSpec | None:
        """The spec of one variable, if mapped."""
        for var in self.variables:
            if var.name == name:
                return var
        return None


@dataclass(frozen=True)
class ArmElementSpec:
    """One planned element of an arm, in order (a TA record)."""

    etcd: str
    epoch: str
    where: Location
    branch: str = ""  # TABRANCH: the outcome of this element that assigns the subject to the arm
    transition: str = ""  # TATRANS: when the subject does not go on to the next element


@dataclass(frozen=True)
class ArmSpec:
    """A planned arm of the trial design."""

    armcd: str
    arm: str
    description: str
    where: Location
    elements: tuple[ArmElementSpec, ...] = ()  # the arm's path (TA), when the study declares a trial design


@dataclass(frozen=True)
class EpochStart:
    """How a subject's epoch start date is found in the built domains."""

    variable: str  # DOMAIN.VARIABLE
    how: str  # "value" (subject-level variable), "first" (earliest of a domain), "day_after"
    filters: dict[str, tuple[str, ...]]
    where: Location


@dataclass(frozen=True)
class EpochSpec:
    """An epoch and where each subject's start of it is read."""

    epoch: str
    start: EpochStart
    where: Location


@dataclass(frozen=True)
class SummaryValue:
    """A TS value computed from the built domains: ``count`` of distinct values, ``first`` or ``last``."""

    how: str  # "count", "first", "last"
    variable: str  # DOMAIN.VARIABLE
    where: Location


@dataclass(frozen=True)
class SummaryParameterSpec:
    """One trial summary parameter value (a TS record) as the study declares it."""

    tsparmcd: str
    tsval: str
    where: Location
    tsparm: str = ""  # from CT (C67152) when not given
    tsgrpid: str = ""
    tsvalnf: str = ""  # ISO 21090 null flavor, when there is no value
    tsvalcd: str = ""
    tsvcdref: str = ""
    tsvcdver: str = ""
    codelist: str = ""  # the CDISC codelist of a coded value, when SDTMIG's TS appendix names none
    computed: SummaryValue | None = None  # TSVAL computed from the data (ACTSUB)


@dataclass(frozen=True)
class ElementSpec:
    """A planned element (a TE record) and where each subject's actual start of it is read (SE)."""

    etcd: str
    element: str
    testrl: str
    teenrl: str
    tedur: str
    start: EpochStart | None
    where: Location


@dataclass(frozen=True)
class VisitSpec:
    """A planned visit (a TV record)."""

    visitnum: float
    visit: str
    tvstrl: str
    where: Location
    visitdy: float | None = None
    armcd: str = ""
    tvenrl: str = ""
    # The study days around VISITDY that count as this visit (``window: [-3, 3]``): derive_visit_window.
    window: tuple[float, float] | None = None


@dataclass(frozen=True)
class CriterionSpec:
    """An inclusion or exclusion criterion (a TI record)."""

    ietestcd: str
    ietest: str
    iecat: str
    where: Location
    iescat: str = ""
    tirl: str = ""
    tivers: str = ""


@dataclass(frozen=True)
class VisitSourceSpec:
    """Where subjects' actual visits (SV) are read: records of a domain carrying VISITNUM/VISIT and
    a date (``variable``), or one planned visit (``visit``) dated by a subject-level variable."""

    variable: str  # DOMAIN.VARIABLE: the date
    where: Location
    visit: str = ""  # "" for a domain's records with their own VISITNUM/VISIT
    end: str = ""  # DOMAIN.VARIABLE: the records' end date, when it differs from the start


@dataclass(frozen=True)
class TrialDesignSpec:
    """The trial design of study.yaml: TS, TE, TA (with the study's arms), TV, TI and how SE/SV are derived."""

    where: Location
    summary: tuple[SummaryParameterSpec, ...] = ()
    elements: tuple[ElementSpec, ...] = ()
    visits: tuple[VisitSpec, ...] = ()
    criteria: tuple[CriterionSpec, ...] = ()
    subject_visits: tuple[VisitSourceSpec, ...] = ()
    file: Path | None = None  # a trial design file of its own, when study.yaml names one

    def element(self, etcd: str) -> ElementSpec | None:
        """A planned element by code."""
        for element in self.elements:
            if element.etcd == etcd:
                return element
        return None

    def visit(self, name: str) -> VisitSpec | None:
        """A planned visit by name."""
        for visit in self.visits:
            if visit.visit == name:
                return visit
        return None


@dataclass(frozen=True)
class ProtocolRule:
    """One rule of ``protocol_checks:``: its id, what the protocol says, its kind and parameters.

    ``kind`` is one of ``spec.protocol.KINDS`` (``value``, ``count``, ...), and ``params`` hold
    that kind's parameters as written (numbers as float, lists, ``{VAR: value}`` mappings and
    selectors as plain values); ``checks/protocol.py`` evaluates them.
    """

    id: str
    kind: str
    description: str
    params: dict[str, Any]
    where: Location
    severity: Severity = Severity.ERROR
    param_where: dict[str, Location] = field(default_factory=dict)  # where each parameter is written

    def located(self, param: str) -> Location:
        """Where a parameter is written (the rule's line when it is not)."""
        return self.param_where.get(param, self.where)


@dataclass(frozen=True)
class CodingDictionary:
    """An external dictionary the study's data are coded with (study.yaml ``study: dictionaries:``).

    ``name`` is as written; spec/check.py resolves it to a term of CT's Dictionary Name codelist
    (DICTNAM, C66788), whose submission value define.xml's ExternalCodeList names.
    """

    name: str
    version: str
    where: Location
    href: str = ""  # where reviewers find the dictionary (define.xml ExternalCodeList href)


@dataclass(frozen=True)
class UnitConversion:
    """study.yaml ``unit_conversions:``: a result collected in one unit given in another.

    standard = collected x ``factor`` + ``offset`` (F -> C: factor 0.5555556, offset -17.7777778),
    rounded to ``decimals`` places when given; ``test`` limits it to one --TESTCD (GLUC mg/dL ->
    mmol/L differs from CHOL's).
    """

    from_unit: str
    to_unit: str
    factor: float
    where: Location
    offset: float = 0.0
    test: str = ""
    decimals: int | None = None


ACRF = "acrf"  # the document kind of the annotated CRF


@dataclass(frozen=True)
class DocumentSpec:
    """A document published with the package (study.yaml ``documents:``): the annotated CRF, a reviewer's guide ...

    ``file`` is relative to study.yaml; the package holds it as ``href`` (its file name), next to
    define.xml. The annotated CRF (kind ``acrf``) gives the pages of each form (``pages``), which
    define.xml cites for every variable collected on the form.
    """

    kind: str  # acrf, csdrg, ... (define.xml leaf ID LF.<kind>)
    file: str
    where: Location  # where the file is named
    title: str = ""  # "" = the kind's conventional title
    pages: dict[str, tuple[int, ...]] = field(default_factory=dict)  # form -> its pages, in order
    page_where: dict[str, Location] = field(default_factory=dict)  # where each form's pages are written

    @property
    def href(self) -> str:
        """Where the package holds the document: its file name, next to define.xml."""
        return PurePosixPath(self.file).name


@dataclass(frozen=True)
class ItemEdit:
    """What the study's metadata file changes of a variable or value-level item (None: unchanged).

    ``method``, ``comment`` and ``codelist`` are OIDs (of the file's methods, comments and
    codelists, or of those the define makes); "" removes the reference.
    """

    where: Location
    label: str | None = None
    origin: str | None = None  # Define-XML 2.1 def:Origin Type ("" for none)
    source: str | None = None  # def:Origin Source
    predecessor: str | None = None  # def:Origin Description (the predecessor variable)
    method: str | None = None
    comment: str | None = None
    codelist: str | None = None


@dataclass(frozen=True)
class VariableEdit:
    """A variable's edits (``variables: AE.AETERM: {...}``)."""

    dataset: str
    variable: str
    edit: ItemEdit


@dataclass(frozen=True)
class ValueLevelEdit:
    """A value-level item's edits, or a new value-level item (``new``: with its data type and length)."""

    dataset: str
    variable: str
    where_clauses: tuple[str, ...]  # the OIDs of its where clauses, which identify it
    edit: ItemEdit
    new: bool = False
    data_type: str = ""
    length: int | None = None
    significant_digits: int | None = None
    mandatory: bool = False


@dataclass(frozen=True)
class WhereCheckSpec:
    """One condition of a where clause: ``dataset.variable`` compared with ``values``."""

    dataset: str
    variable: str
    comparator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class WhereClauseSpec:
    """A where clause the metadata file defines or redefines."""

    oid: str
    checks: tuple[WhereCheckSpec, ...]
    where: Location


@dataclass(frozen=True)
class MethodSpec:
    """A method the metadata file defines or redefines."""

    oid: str
    name: str
    type: str
    description: str
    where: Location


@dataclass(frozen=True)
class CommentSpec:
    """A comment the metadata file defines or redefines (``documents``: leaf IDs it refers to)."""

    oid: str
    text: str
    where: Location
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermSpec:
    """One term of a codelist in the metadata file."""

    term: str
    decode: str = ""
    nci_code: str = ""


@dataclass(frozen=True)
class CodelistSpec:
    """A codelist the metadata file defines or redefines, with all its terms in order."""

    oid: str
    name: str
    data_type: str
    terms: tuple[TermSpec, ...]
    where: Location
    nci_code: str = ""
    terminology: bool = False  # a CDISC CT codelist (def:StandardOID of the study's CT)
    comment: str = ""


@dataclass(frozen=True)
class DatasetEdit:
    """A dataset's edits (``datasets: AE: {label, comment}``)."""

    name: str
    where: Location
    label: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class StudyMetadata:
    """The study's edits of its define metadata (``metadata.yaml``, written by ``spec import``).

    define.xml applies them over what the specs, the standards and the data give: labels,
    origins, methods, comments, codelists, value-level items.
    """

    file: Path
    datasets: tuple[DatasetEdit, ...] = ()
    variables: tuple[VariableEdit, ...] = ()
    value_level: tuple[ValueLevelEdit, ...] = ()
    where_clauses: tuple[WhereClauseSpec, ...] = ()
    methods: tuple[MethodSpec, ...] = ()
    comments: tuple[CommentSpec, ...] = ()
    codelists: tuple[CodelistSpec, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the file changes nothing."""
        return not (
            self.datasets
            or self.variables
            or self.value_level
            or self.where_clauses
            or self.methods
            or self.comments
            or self.codelists
        )

    def label_edits(self) -> Iterator[tuple[str, str, str]]:
        """The dataset and variable labels the file edits: (dataset, variable or "" for the dataset's own, label)."""
        for edit in self.datasets:
            if edit.label is not None:
                yield edit.name, "", edit.label
        for variable in self.variables:
            if variable.edit.label is not None:
                yield variable.dataset, variable.variable, variable.edit.label


@dataclass(frozen=True)
class StudySpec:
    """The study file plus its domain specs."""

    folder: Path
    file: Path
    studyid: str
    title: str
    protocol: str
    sdtmig: str
    ct: str
    subject_column: str
    cutoff: str
    arms: tuple[ArmSpec, ...]
    epochs: tuple[EpochSpec, ...]
    forms_not_mapped: dict[str, str]
    domains: tuple[DomainSpec, ...]
    columns_not_mapped: dict[str, tuple[str, ...]] = field(default_factory=dict)
    protocol_checks: tuple[ProtocolRule, ...] = ()  # protocol_checks: the study's protocol rules (DB6xx)
    dictionaries: tuple[CodingDictionary, ...] = ()  # study: dictionaries: (MedDRA, WHODrug ... by version)
    unit_conversions: tuple[UnitConversion, ...] = ()  # unit_conversions: (derive_stresc, derive_stresn)
    documents: tuple[DocumentSpec, ...] = ()  # documents: the annotated CRF, reviewer's guides ...
    # Forms the export may lack because nothing was collected on them (form -> reason); a domain
    # mapped from one that is missing is empty, described in define.xml with def:HasNoData.
    forms_not_collected: dict[str, str] = field(default_factory=dict)
    date_format: str = ""  # export.date_format: the raw dates' pattern (derive.date_formats); "" = DD-MMM-YYYY
    encoding: str = ""  # export.encoding: the raw export's text encoding (a Python codec name); "" = UTF-8
    trial_design: TrialDesignSpec | None = None  # study.yaml trial_design: (TS, TA, TE, TV, TI; SE, SV)
    metadata: StudyMetadata | None = None  # metadata.yaml (or the file study.yaml's metadata: names)

    def files(self) -> tuple[Path, ...]:
        """The spec files of the study: study.yaml, its trial design and metadata files if any and each domain spec it lists."""
        design = (self.trial_design.file,) if self.trial_design is not None and self.trial_design.file else ()
        metadata = (self.metadata.file,) if self.metadata is not None else ()
        return (self.file, *design, *metadata, *dict.fromkeys(d.file for d in self.domains))

    def document(self, kind: str) -> DocumentSpec | None:
        """One document by kind (``acrf``)."""
        for doc in self.documents:
            if doc.kind == kind:
                return doc
        return None

    def domain(self, name: str) -> DomainSpec | None:
        """One domain spec by domain name."""
        for dom in self.domains:
            if dom.name == name:
                return dom
        return None
