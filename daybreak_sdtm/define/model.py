"""The Define-XML 2.1 model of a package: pure functions from specs, standards and data to frozen values.

Everything here is derived from three sources and nothing else, so that the define cannot drift
from the data it describes:

* the study spec (which derivation made each variable, its origin, method and comment, the
  value-level cases, the supplemental qualifiers, the study documents);
* the standard metadata (SDTMIG dataset and variable metadata, the CT package);
* the datasets in their written form (``daybreak_sdtm.dataset``: as ``convert`` writes them, or as
  read back from a package's XPT files: names, labels, storage widths, values).

Ordering is explicit everywhere (dataset class order, IG variable order, CT term order) so the
same inputs give the same model, and the same bytes once rendered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm import __version__
from daybreak_sdtm.dataset import Dataset, dataset_of
from daybreak_sdtm.date_formats import DURATION_RE, INTERVAL_RE
from daybreak_sdtm.derive import VarRef
from daybreak_sdtm.derive.registry import Decode, DerivationDef, Kind, Param, written_values
from daybreak_sdtm.derive.text import TextStep
from daybreak_sdtm.errors import DaybreakError, ExitStatus, SpecError, SpecErrors
from daybreak_sdtm.spec.check import ResolvedVariable, resolve_domain, variable_dictionary
from daybreak_sdtm.spec.design import DESIGN_DATASETS, SUBJECT_DESIGN_DATASETS
from daybreak_sdtm.spec.model import (
    ACRF,
    CodingDictionary,
    DocumentSpec,
    DomainSpec,
    EpochStart,
    SourceSpec,
    StudySpec,
    SuppSpec,
    VisitSourceSpec,
)
from daybreak_sdtm.standards import Codelist, DatasetMeta, Standards
from daybreak_sdtm.text import text_byte_lengths
from daybreak_sdtm.trial_design import DECODES as DESIGN_DECODES

# Define-XML wants datasets grouped by observation class, in the order SDTMIG presents them.
CLASS_ORDER = (
    "TRIAL DESIGN",
    "SPECIAL PURPOSE",
    "INTERVENTIONS",
    "EVENTS",
    "FINDINGS",
    "FINDINGS ABOUT",
    "RELATIONSHIP",
)
# Document keys of study.yaml with a conventional title; other keys are titled by their name.
DOCUMENT_TITLES = {
    "acrf": "Annotated CRF",
    "csdrg": "Clinical Study Data Reviewer's Guide",
    "sdrg": "Study Data Reviewer's Guide",
    "protocol": "Protocol",
    "sap": "Statistical Analysis Plan",
}
STD_IG, STD_CT = "STD.SDTMIG", "STD.CT"
_OID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)\.[0-9]+$")
# ISO 8601 values by what the ODM 1.3.2 data types (which Define-XML 2.1 uses) admit: a complete
# date, a complete date and time (seconds required, optional fraction and UTC offset), a
# right-truncated date or date and time, one with a missing middle component ("-": 2003---15),
# a duration and an interval.
_ZONE = r"(?:Z|[+-]\d{2}:\d{2})?"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?{_ZONE}$")
_ISO_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{2})?$")
_ISO_PARTIAL_DATETIME = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}(?::\d{{2}})?{_ZONE}$")
_ISO_INCOMPLETE = re.compile(
    rf"^(?:\d{{4}}|-)-(?:\d{{2}}|-)-(?:\d{{2}}|-)(?:T(?:\d{{2}}|-)(?::(?:\d{{2}}|-)(?::(?:\d{{2}}(?:\.\d+)?|-))?)?)?{_ZONE}$"
)
_ISO_DURATION = re.compile(DURATION_RE)
_ISO_INTERVAL = re.compile(INTERVAL_RE)
# The Define-XML 2.1 data types of ISO 8601 text (all of them Char in the XPT file).
ISO8601_TYPES = (
    "date",
    "datetime",
    "partialDate",
    "partialDatetime",
    "incompleteDatetime",
    "durationDatetime",
    "intervalDatetime",
)
# Where a reviewer finds an external dictionary (ExternalCodeList href).
DICTIONARY_HREFS = {
    "MedDRA": "https://www.meddra.org/",
    "ISO 3166": "https://www.iso.org/iso-3166-country-codes.html",
}


class DefineError(DaybreakError):
    """The define cannot be built or is invalid: the package is not published."""

    exit_status = ExitStatus.WRITE_FAILED


@dataclass(frozen=True)
class Standard:
    """A def:Standard the datasets and codelists conform to."""

    oid: str
    name: str
    type: str
    version: str
    publishing_set: str = ""


@dataclass(frozen=True)
class Leaf:
    """A def:leaf: a file of the package (dataset) or a document next to it."""

    id: str
    href: str
    title: str


@dataclass(frozen=True)
class Origin:
    """def:Origin of an item."""

    type: str  # Collected, Derived, Assigned, Protocol, Predecessor
    source: str = ""  # Investigator, Sponsor, Subject, Vendor
    description: str = ""  # the predecessor variable, for Predecessor
    leaf_id: str = ""  # annotated CRF, for Collected
    pages: tuple[int, ...] = ()  # its pages of the annotated CRF (def:PDFPageRef, physical pages)


@dataclass(frozen=True)
class ItemRef:
    """A variable's place in a dataset (or a value-level item's place in a value list)."""

    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    role: str = ""
    method_oid: str = ""
    where_clause_oids: tuple[str, ...] = ()
    has_no_data: bool = False  # def:HasNoData: no record of the dataset (or of the where clause) has a value


@dataclass(frozen=True)
class ItemDef:
    """A variable (or a value-level item) and its definition."""

    oid: str
    name: str
    label: str
    data_type: str  # text, integer, float, or one of ISO8601_TYPES
    length: int | None
    significant_digits: int | None = None
    origin: Origin | None = None
    codelist_oid: str = ""
    value_list_oid: str = ""
    comment_oid: str = ""
    display_format: str = ""
    dataset: str = ""  # the ItemGroup it belongs to, for the rendering


@dataclass(frozen=True)
class ItemGroup:
    """A dataset."""

    oid: str
    name: str
    domain: str
    label: str
    klass: str
    structure: str
    repeating: bool
    reference_data: bool
    item_refs: tuple[ItemRef, ...]
    leaf: Leaf | None  # None: the dataset has no records and no file (def:HasNoData="Yes")
    records: int
    keys: tuple[str, ...]
    comment_oid: str = ""


@dataclass(frozen=True)
class RangeCheck:
    """One condition of a where clause: ``item`` compared with ``values``."""

    item_oid: str
    comparator: str  # EQ or IN
    values: tuple[str, ...]


@dataclass(frozen=True)
class WhereClause:
    """def:WhereClauseDef: all its range checks hold."""

    oid: str
    checks: tuple[RangeCheck, ...]


@dataclass(frozen=True)
class ValueList:
    """def:ValueListDef: the value-level items of one variable."""

    oid: str
    dataset: str
    variable: str
    item_refs: tuple[ItemRef, ...]


@dataclass(frozen=True)
class CodeListItem:
    """One term of a codelist as used in the data."""

    coded_value: str
    decode: str = ""
    nci_code: str = ""  # "" when the term code is not known: no Alias is written
    extended: bool = False
    order: int = 0


@dataclass(frozen=True)
class CodeList:
    """A CDISC codelist (restricted to the values used), a sponsor value list or an external dictionary."""

    oid: str
    name: str
    data_type: str
    items: tuple[CodeListItem, ...] = ()
    nci_code: str = ""
    standard_oid: str = ""
    extensible: bool | None = None  # None for sponsor lists
    dictionary: str = ""  # external dictionary (MedDRA, ISO 3166)
    dictionary_version: str = ""
    dictionary_href: str = ""  # where the dictionary is published (DICTIONARY_HREFS)
    comment_oid: str = ""

    @property
    def has_decodes(self) -> bool:
        """Whether the terms carry a decode other than their coded value (CodeListItem vs EnumeratedItem)."""
        return any(i.decode and i.decode != i.coded_value for i in self.items)


@dataclass(frozen=True)
class Method:
    """A MethodDef: how a derived value is computed."""

    oid: str
    name: str
    description: str
    type: str = "Computation"


@dataclass(frozen=True)
class Comment:
    """A def:CommentDef."""

    oid: str
    text: str
    leaf_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Define:
    """Everything a define.xml states about one package."""

    study_oid: str
    study_name: str
    study_description: str
    protocol_name: str
    mdv_oid: str
    mdv_name: str
    created: dt.datetime
    source_system_version: str
    standards: tuple[Standard, ...]
    acrf: tuple[str, ...]  # leaf IDs of the annotated CRF
    supplemental_docs: tuple[str, ...]  # leaf IDs
    value_lists: tuple[ValueList, ...]
    where_clauses: tuple[WhereClause, ...]
    item_groups: tuple[ItemGroup, ...]
    items: tuple[ItemDef, ...]
    codelists: tuple[CodeList, ...]
    methods: tuple[Method, ...]
    comments: tuple[Comment, ...]
    documents: tuple[Leaf, ...]
    comment_oid: str = ""  # of the whole MetaDataVersion
    part_leaves: tuple[
        Leaf, ...
    ] = ()  # the files of datasets split over a size limit, each named by its dataset's comment

    @property
    def file_oid(self) -> str:
        """The ODM FileOID."""
        return f"DEF.{self.study_oid}"

    def item(self, oid: str) -> ItemDef:
        """An ItemDef by OID."""
        for item in self.items:
            if item.oid == oid:
                return item
        raise KeyError(oid)

    def leaf(self, leaf_id: str) -> Leaf:
        """A document or dataset leaf by ID."""
        groups = (g.leaf for g in self.item_groups if g.leaf is not None)
        for leaf in (*self.documents, *self.part_leaves, *groups):
            if leaf.id == leaf_id:
                return leaf
        raise KeyError(leaf_id)


# ---- small value helpers -------------------------------------------------------------------------


def oid_part(text: str) -> str:
    """A value made safe for an OID (and an HTML id): runs of other characters become ``_``."""
    return _OID_UNSAFE.sub("_", text.strip()) or "_"


def text_values(values: pd.Series) -> list[str]:
    """Distinct non-blank text values in order of first appearance."""
    # The distinct values are found first, in the column's own dtype (Arrow's hash kernel for
    # the engine's strings), and only they are made Python text: making the text of distinct
    # values keeps the order of first appearance. pd.unique keeps it, as dict.fromkeys would.
    # An XPT file keeps no trailing blanks (it pads with them): the define lists values as read back.
    distinct = pd.Series(pd.unique(values.array), dtype=values.dtype)
    texts = distinct.fillna("").astype(str).str.rstrip(" ").to_numpy(dtype=object)
    return [v for v in pd.unique(texts).tolist() if v != ""]


def text_length(values: pd.Series) -> int:
    """The longest value in UTF-8 bytes, at least 1: what pyreadstat stores as an XPT width."""
    texts = values.fillna("").astype(str)
    if texts.empty:
        return 1
    if "".join(texts.tolist()).isascii():  # the common case: bytes are characters, no per-value encode
        return max(1, int(texts.str.len().max()))
    return max(1, int(text_byte_lengths(texts).max()))


def _positional(value: float) -> str:
    return str(np.format_float_positional(abs(float(value)), trim="-"))


def numeric_type(values: pd.Series) -> tuple[str, int, int | None]:
    """DataType, Length and SignificantDigits of a numeric variable, from its values.

    Define-XML 2.1 gives integer and float variables the number of digits they need, not the
    8 bytes every XPT numeric takes; float variables also get their decimal places.
    """
    # Every answer is a maximum over values, so each distinct value is looked at once.
    present = pd.Series(pd.unique(values.dropna().astype("float64").to_numpy()), dtype="float64")
    if present.empty:
        return "integer", 1, None
    if bool((present == present.round()).all()):
        return "integer", max(len(str(abs(int(v)))) for v in present.tolist()), None
    texts = [_positional(v) for v in present.tolist()]
    whole = max(len(t.partition(".")[0]) for t in texts)
    decimals = max(len(t.partition(".")[2]) for t in texts)
    return "float", whole + decimals, decimals


def text_value_type(values: Sequence[str]) -> tuple[str, int, int | None]:
    """DataType, Length and SignificantDigits of a text column holding one kind of value (SUPP-- QVAL)."""
    if values and all(_INTEGER.match(v) for v in values):
        return "integer", max(len(v.lstrip("-")) for v in values), None
    if values and all(_INTEGER.match(v) or _DECIMAL.match(v) for v in values):
        decimals = max(len(v.partition(".")[2]) for v in values)
        whole = max(len(v.lstrip("-").partition(".")[0]) for v in values)
        return "float", whole + decimals, decimals
    length = max([len(v.encode("utf-8")) for v in values] or [1])
    iso = iso8601_type(values, "text")  # dates, durations ... (after numbers: 2025 is an integer)
    return iso, length, None


def _iso8601_kind(value: str) -> str:
    """What an ISO 8601 value is, in the ODM data types' terms ("" when it is not ISO 8601)."""
    if _ISO_DATE.match(value):
        return "date"
    if _ISO_DATETIME.match(value):
        return "datetime"
    if _ISO_PARTIAL_DATE.match(value):
        return "partialDate"
    if _ISO_PARTIAL_DATETIME.match(value):
        return "partialDatetime"
    if _ISO_INCOMPLETE.match(value):
        return "incompleteDatetime"
    if _ISO_DURATION.match(value):
        return "durationDatetime"
    if "/" in value and _ISO_INTERVAL.match(value):
        return "intervalDatetime"
    return ""


def iso8601_type(values: Sequence[str], default: str) -> str:
    """The Define-XML 2.1 DataType of an ISO 8601 variable from the values it holds.

    ``date`` when every value is a complete date, ``datetime`` when every value is a complete
    date and time (to the second, as the ODM type requires); a mix of those with right-truncated
    values (2025-03, 2025-03-04T10:30) is ``partialDate`` when no value has a time, else
    ``partialDatetime``; any value with a missing middle component (2025---04) makes it
    ``incompleteDatetime``; ``durationDatetime`` and ``intervalDatetime`` when every value is a
    duration (P3W) or an interval (start/end). Values that mix kinds otherwise, or that are not
    ISO 8601 at all, are ``text``; no values give ``default``.
    """
    kinds = {_iso8601_kind(v) for v in values}
    if not kinds:
        return default
    if len(kinds) == 1 and "" not in kinds:
        return kinds.pop()
    if kinds <= {"date", "partialDate"}:
        return "partialDate"
    if kinds <= {"date", "datetime", "partialDate", "partialDatetime"}:
        return "partialDatetime"
    if kinds <= {"date", "datetime", "partialDate", "partialDatetime", "incompleteDatetime"}:
        return "incompleteDatetime"
    if kinds <= {"durationDatetime", "intervalDatetime"}:
        return "intervalDatetime"  # ISO 8601 admits a duration as an interval
    return "text"


def no_values(values: pd.Series) -> bool:
    """Whether a column of a dataset with records holds no value at all (def:HasNoData on its ItemRef)."""
    if values.empty:
        return False  # a dataset without records says so itself (ItemGroupDef def:HasNoData)
    if pd.api.types.is_numeric_dtype(values):
        return bool(values.isna().all())
    return not text_values(values)


def _value_text(param: Param, value: Any, domain: str) -> str:
    """A parameter's value as a reviewer reads it: variables by name (``DM.RFSTDTC`` from another
    domain), filters as conditions, maps as recodings, text steps in words; a blank value as "blank"."""
    if isinstance(value, VarRef):
        return value.name if value.domain == domain else str(value)
    if isinstance(value, Codelist):
        return f"{value.submission_value} ({value.code})" if value.submission_value else value.code
    if isinstance(value, TextStep):
        return value.describe()
    if param.kind is Kind.WHERE and isinstance(value, Mapping):
        return " and ".join(_condition(str(k), v) for k, v in value.items())
    if isinstance(value, Mapping):
        return ", ".join(f"{k} -> {_value_text(param, v, domain)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(param, v, domain) for v in value)
    if param.kind is Kind.RAW and "." in str(value):  # a column of a joined form: form.COLUMN
        form, _, column = str(value).partition(".")
        return f"{column} (form {form})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if str(value) != "" else "blank"


def _condition(variable: str, values: Any) -> str:
    """``VAR = value`` or ``VAR in (a, b)``: one condition of a filter."""
    listed = [str(v) for v in values] if isinstance(values, (list, tuple)) else [str(values)]
    return f"{variable} = {listed[0]}" if len(listed) == 1 else f"{variable} in ({', '.join(listed)})"


def derivation_method(
    derivation: DerivationDef, params: Mapping[str, Any], domain: str, keys: Sequence[str] = ()
) -> str:
    """The derivation's method sentence (``DerivationDef.method``) with its parameters filled in:
    each given one as its ``phrase``, each one left out as its ``absent`` text (where that names
    ``{keys}``, the dataset's keys, in order)."""
    texts = {}
    for name, param in derivation.params.items():
        value = params.get(name)
        given = value is not None and not (isinstance(value, (list, tuple, Mapping)) and not value)
        absent = param.absent.replace("{keys}", ", ".join(keys) or "none declared")
        texts[name] = param.phrase.format(_value_text(param, value, domain)) if given else absent
    return derivation.method.format_map(texts)


def method_text(item: ResolvedVariable, domain: str, keys: Sequence[str] = ()) -> str:
    """The description of a derived variable: the spec's ``method``, else its derivation's sentence;
    for a variable derived value by value, each case's, after its where clause. ``keys`` are the
    dataset's keys, which a sentence may name."""
    if item.spec.method:
        return item.spec.method
    if item.cases:
        parts = []
        for case in item.cases:
            where = " and ".join(f"{v} = {' or '.join(values)}" for v, values in case.spec.case_where.items())
            parts.append(f"{'Where ' + where if where else 'Otherwise'}: {method_text(case, domain, keys)}")
        if item.cases[-1].spec.case_where:
            parts.append("blank for other records")
        return "; ".join(parts)
    return derivation_method(item.derivation, item.params, domain, keys)


# ---- documents -------------------------------------------------------------------------------------


def _leaf_id(doc: DocumentSpec) -> str:
    return f"LF.{oid_part(doc.kind)}"


def _document_leaf(doc: DocumentSpec) -> Leaf:
    """The def:leaf of a document: its file in the package, its title (the kind's conventional one by default)."""
    return Leaf(_leaf_id(doc), doc.href, doc.title or DOCUMENT_TITLES.get(doc.kind.lower(), doc.kind))


def _forms_read(dom: DomainSpec, item: ResolvedVariable | None) -> tuple[str, ...]:
    """The forms a variable's values are read from, over every source of the domain: the joined
    form of each ``form.COLUMN`` it reads (directly or through an unpivoted column), the source's
    form for its other raw columns (or when it reads none)."""
    forms: list[str] = []
    for src in dom.sources:
        forms.extend(_source_forms_read(src, item.raw_columns if item is not None else ()))
    return tuple(dict.fromkeys(forms))


def _source_forms_read(src: SourceSpec, columns: tuple[str, ...]) -> list[str]:
    joined = {j.form for j in src.joins}
    forms = []
    for column in columns:
        unpivoted = [v.columns.get(column) for v in src.variants if v.columns.get(column)]
        for raw in unpivoted or [column]:
            form, dot, _ = str(raw).partition(".")
            forms.append(form if dot and form in joined else src.form)
    return forms or [src.form]


# ---- the builder ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    """The terms one item's codelist lists, and the list they are drawn from.

    Items drawing on one list (a CDISC codelist, a sponsor list) with the same terms share a
    codelist; one with other terms gets a codelist of its own (``_codelists``).
    """

    source: str  # what the terms are drawn from: "CT C66742", "sponsor CL.AETOXGR", "codes of ..."
    base_oid: str  # the list's OID (a subset of other terms gets a longer one)
    name: str
    terms: Mapping[str, str]  # coded value -> decode, in order ("" for a CDISC term: CT's decode)
    codelist: Codelist | None = None  # the CDISC codelist, None for a sponsor list
    data_type: str = "text"

    @property
    def term_set(self) -> frozenset[tuple[str, str]]:
        """What makes two uses one codelist: the same terms with the same decodes."""
        return frozenset(self.terms.items())


@dataclass
class _Codes:
    """Codelists being collected: the terms each item uses, per item OID, in the order met."""

    standards: Standards
    uses: dict[str, _Use] = field(default_factory=dict)  # item OID -> its terms
    external: dict[str, tuple[str, str, str, str]] = field(
        default_factory=dict
    )  # OID -> name, dictionary, version, href

    def use_ct(self, item_oid: str, codelist: Codelist, values: Iterable[str]) -> None:
        """The item lists these terms of a CDISC codelist (its codelist's OID is decided by ``_codelists``)."""
        base = f"CL.{oid_part(codelist.submission_value or codelist.code)}"
        terms = dict.fromkeys(values, "")
        self.uses[item_oid] = _Use(f"CT {codelist.code}", base, codelist.name, terms, codelist)

    def use_sponsor(
        self,
        item_oid: str,
        base_oid: str,
        name: str,
        values: Mapping[str, str],
        data_type: str = "text",
        source: str = "",
    ) -> None:
        """The item lists these sponsor-defined values (value -> decode); ``source`` names the list
        when other items draw on the same one (default: the list's OID)."""
        self.uses[item_oid] = _Use(source or f"sponsor {base_oid}", base_oid, name, dict(values), None, data_type)

    def use_external(self, oid: str, name: str, dictionary: str, version: str, href: str = "") -> str:
        """Reference an external dictionary (``href``: where reviewers find it)."""
        self.external.setdefault(oid, (name, dictionary, version, href))
        return oid


class _Builder:
    """Collects the define's parts while walking the datasets; ``finish`` freezes them."""

    def __init__(self, study: StudySpec, standards: Standards) -> None:
        self.study = study
        self.standards = standards
        self.codes = _Codes(standards)
        self.resolved: dict[str, dict[str, ResolvedVariable]] = {}  # dataset -> its resolved variables
        self.decoding: dict[tuple[str, str], tuple[str, Decode]] = {}  # (dataset, decode var) -> code var
        self.decoded: dict[tuple[str, str], Decode] = {}  # (dataset, code var) -> the list decoding it
        self.items: list[ItemDef] = []
        self.value_lists: list[ValueList] = []
        self.where_clauses: dict[str, WhereClause] = {}
        self.methods: dict[str, Method] = {}
        self.comments: dict[str, Comment] = {}
        self.codelist_comments: dict[str, str] = {}
        self.documents = tuple(_document_leaf(doc) for doc in sorted(study.documents, key=lambda d: d.kind))
        self.acrf = study.document(ACRF)
        self.part_leaves: list[Leaf] = []
        # (dataset, variable) -> the distinct values of a whole column: asked for by its ItemDef,
        # its codelist, its decode and its HasNoData, and hashing a column costs its records.
        self._column_texts: dict[tuple[str, str], list[str]] = {}

    def texts(self, dataset: str, values: pd.Series, frame: pd.DataFrame | None) -> list[str]:
        """``text_values(values)``, made once per whole column of ``frame`` (a subset is made each time)."""
        name = values.name
        if frame is None or not isinstance(name, str) or name not in frame.columns or len(values) != len(frame):
            return text_values(values)
        key = (dataset, name)
        if key not in self._column_texts:
            self._column_texts[key] = text_values(values)
        return self._column_texts[key]

    def no_values(self, dataset: str, values: pd.Series, frame: pd.DataFrame | None) -> bool:
        """``no_values(values)``, sharing the distinct values ``texts`` makes."""
        if values.empty or pd.api.types.is_numeric_dtype(values):
            return no_values(values)
        return not self.texts(dataset, values, frame)

    # -- origins, methods, comments

    def origin(self, kind: str, *, predecessor: str = "", forms: Sequence[str] = ()) -> Origin:
        """A def:Origin of the given type with the source Define-XML 2.1 expects for it; a collected
        one cites the annotated CRF's pages of ``forms`` (the forms its values are read from)."""
        if kind in ("Collected", "CRF"):
            if self.acrf is None:
                return Origin("Collected", "Investigator")
            pages = sorted({n for form in forms for n in self.acrf.pages.get(form, ())})
            return Origin("Collected", "Investigator", leaf_id=_leaf_id(self.acrf), pages=tuple(pages))
        if kind == "eDT":
            return Origin("Collected", "Vendor")
        if kind in ("Assigned", "Derived", "Protocol"):  # the sponsor assigns, derives, writes the protocol
            return Origin(kind, "Sponsor")
        if kind == "Predecessor":
            return Origin("Predecessor", description=predecessor)
        return Origin(kind)

    def method(self, oid: str, name: str, text: str) -> str:
        self.methods.setdefault(oid, Method(oid, name, text))
        return oid

    def parts(self, ds: Dataset) -> tuple[str, tuple[str, ...]]:
        """What a dataset's comment says of the files it is split into over a size limit, and
        the def:leaf of each (one per part, beside the documents); ("", ()) when it is not split."""
        if not ds.parts:
            return "", ()
        leaves = [Leaf(f"LF.{ds.name}.{n}", part.file, part.file) for n, part in enumerate(ds.parts, 1)]
        self.part_leaves.extend(leaves)
        files = "; ".join(f"{p.file}: records {p.first} to {p.first + p.records - 1}" for p in ds.parts)
        text = (
            f"Over the file size limit, also submitted split in record order into {len(ds.parts)} files "
            f"with the same variables and lengths ({files})."
        )
        return text, tuple(leaf.id for leaf in leaves)

    def comment(self, oid: str, text: str, leaf_ids: tuple[str, ...] = ()) -> str:
        if not text:
            return ""
        self.comments.setdefault(oid, Comment(oid, text, leaf_ids))
        return oid

    def resolved_origin(self, item: ResolvedVariable, dataset: str = "") -> str:
        """The origin type of a resolved variable: the spec's word, else its derivation's.

        A variable coded with one of the study's dictionaries (AEDECOD with MedDRA, CMDECOD with
        WHODrug) is Assigned by the sponsor's coding, whatever its derivation's default says (it
        copies the coded export).
        """
        if item.cases:
            kinds = {c.spec.origin or c.derivation.origin for c in item.cases}
            return kinds.pop() if len(kinds) == 1 else ""
        if not item.spec.origin and dataset and self._coding_dictionary(dataset, item.spec.name, item) is not None:
            return "Assigned"
        return item.spec.origin or item.derivation.origin

    # -- codelists

    def codelist_for(
        self,
        dataset: str,
        var: str,
        values: pd.Series,
        item: ResolvedVariable | None,
        ig_code: str,
        label: str,
        *,
        oid: str,
        frame: pd.DataFrame | None = None,
    ) -> str:
        """The codelist of a variable (or value-level item) ``oid``: an external dictionary's OID, or
        "" once the terms it can hold are registered (``_codelists`` gives their codelist its OID).

        The terms are its declared choices (a map's values, then/otherwise ...) and the values it
        holds. ``frame``: the dataset's records, where a decode variable finds its code variable.
        """
        used = self.texts(dataset, values, frame) if not pd.api.types.is_numeric_dtype(values) else []
        if not used:
            return ""
        coding = self._coding_dictionary(dataset, var, item)
        if coding is not None:
            name, dictionary = coding
            href = dictionary.href or DICTIONARY_HREFS.get(name, "")
            return self.codes.use_external(f"CL.{oid_part(name).upper()}", name, name, dictionary.version, href)
        codelist = item.codelist if item is not None else None
        if codelist is None and ig_code and ";" not in ig_code:
            codelist = self.standards.codelist(ig_code)
        if codelist is not None and codelist.dictionary:
            return self.codes.use_external(
                f"CL.{oid_part(codelist.code)}", codelist.name, codelist.dictionary, codelist.dictionary_version
            )
        terms = self._terms(used, self._declared_values(item) or [])
        if codelist is not None:
            self.codes.use_ct(oid, codelist, terms)
            return ""
        decoded = self.decoded.get((dataset, var))
        if decoded is not None:  # a code variable another variable decodes through a list of the study
            pairs = dict(decoded.terms(self.study))
            self.codes.use_sponsor(
                oid,
                f"CL.{oid_part(var)}",
                decoded.code_name,
                {v: pairs.get(v, v) for v in self._ordered(terms, list(pairs))},
                source=f"codes of {decoded.source}",
            )
            return ""
        decoding = self.decoding.get((dataset, var))
        if decoding is not None:  # the decode of a code variable: the decodes of the codes it can hold
            code_var, decode = decoding
            pairs = dict(decode.terms(self.study))
            codes: list[str] = []
            if frame is not None and code_var in frame.columns:
                code_item = self.resolved.get(dataset, {}).get(code_var)
                codes = self._terms(self.texts(dataset, frame[code_var], frame), self._declared_values(code_item) or [])
            decodes = [pairs[c] for c in self._ordered(codes, list(pairs)) if c in pairs]
            self.codes.use_sponsor(
                oid,
                f"CL.{oid_part(var)}",
                decode.decode_name,
                {v: v for v in self._terms(used, decodes)},
                source=f"decodes of {decode.source}",
            )
            return ""
        declared = self._declared_values(item)
        if declared is not None:
            self.codes.use_sponsor(oid, f"CL.{oid_part(var)}", label, {v: v for v in terms})
        return ""

    def note_decodes(
        self,
        dataset: str,
        domain: str,
        variables: Mapping[str, ResolvedVariable],
        design: Mapping[str, tuple[str, Decode]],
    ) -> None:
        """Record which variables of a dataset decode which (their derivation's ``decodes``, or the
        trial design's), so that both get their codelists from the study's list."""
        self.resolved[dataset] = dict(variables)
        found = dict(design)
        for name, item in variables.items():
            for case in item.cases or (item,):
                decode = case.derivation.decodes
                ref = case.params.get(decode.code) if decode is not None else None
                if decode is not None and isinstance(ref, VarRef) and ref.domain == domain:
                    found.setdefault(name, (ref.name, decode))
        for name, (code_var, decode) in found.items():
            self.decoding[(dataset, name)] = (code_var, decode)
            self.decoded.setdefault((dataset, code_var), decode)

    def _coding_dictionary(
        self, dataset: str, var: str, item: ResolvedVariable | None
    ) -> tuple[str, CodingDictionary] | None:
        """(DICTNAM name, the study's declaration) of the dictionary a variable is coded with: its
        spec's ``dictionary:``, else the one SDTMIG names for it; None when the study declares none."""
        domain = self.standards.dataset_domain(dataset)
        if domain is None:
            return None
        return variable_dictionary(self.study, self.standards, domain, item.spec if item is not None else None, var)

    @staticmethod
    def _ordered(used: list[str], declared: list[str]) -> list[str]:
        """Values used, in the declared order first, then the undeclared ones sorted."""
        first = [v for v in dict.fromkeys(declared) if v in used]
        return first + sorted(v for v in used if v not in first)

    @staticmethod
    def _terms(used: list[str], declared: list[str]) -> list[str]:
        """The terms an item can hold: its declared values in their order, then the other values it holds sorted."""
        first = [v for v in dict.fromkeys(declared) if v]
        return first + sorted(v for v in used if v not in first)

    @staticmethod
    def _declared_values(item: ResolvedVariable | None) -> list[str] | None:
        """The finite value set a spec's derivation chooses between (its declared choices), if any."""
        if item is None or item.cases:
            return None
        choices = written_values(item.derivation, item.params, choices_only=True)
        return [v for _, v in choices if v] if choices else None

    # -- items

    def item_def(
        self,
        ds: Dataset,
        var: str,
        oid: str,
        name: str,
        label: str,
        values: pd.Series,
        item: ResolvedVariable | None,
        origin: Origin | None,
        ig_code: str = "",
        ig_format: str = "",
        length: int | None = None,
        typed_text: bool = False,
    ) -> ItemDef:
        """An ItemDef for a variable or a value-level item from the values it holds."""
        significant = None
        if pd.api.types.is_numeric_dtype(values):
            data_type, length, significant = numeric_type(values)
        elif typed_text:
            data_type, length, significant = text_value_type(self.texts(ds.name, values, ds.frame))
        else:
            # ISO 8601 variables are typed by the values they hold (a variable without any: datetime,
            # or durationDatetime for --DUR); their Length is still the XPT width, which the FDA
            # compares with the data.
            data_type = "text"
            if ig_format == "ISO 8601":
                default = "durationDatetime" if var.endswith(("DUR", "ELTM")) else "datetime"
                data_type = iso8601_type(self.texts(ds.name, values, ds.frame), default)
            length = length if length is not None else text_length(values)
        coded = data_type == "text" and ig_format != "ISO 8601"  # a malformed date is text, not a term
        codelist = (
            self.codelist_for(ds.name, var, values, item, ig_code, label, oid=oid, frame=ds.frame) if coded else ""
        )
        comment = ""
        if item is not None and item.spec.comment:
            comment = self.comment(f"COM.{oid[3:]}", item.spec.comment)
        return ItemDef(
            oid=oid,
            name=name,
            label=label,
            data_type=data_type,
            length=length,
            significant_digits=significant,
            origin=origin,
            codelist_oid=codelist,
            comment_oid=comment,
            display_format="",
            dataset=ds.name,
        )

    def where(self, oid: str, checks: Sequence[RangeCheck]) -> str:
        self.where_clauses.setdefault(oid, WhereClause(oid, tuple(checks)))
        return oid


def _spec_tables(
    study: StudySpec, standards: Standards
) -> dict[str, tuple[DomainSpec, dict[str, ResolvedVariable], list[tuple[SuppSpec, ResolvedVariable]]]]:
    """Every domain's resolved variables and supplemental qualifiers, as the build resolved them."""
    errors: list[SpecError] = []
    tables = {}
    for dom in study.domains:
        resolved, supps = resolve_domain(dom, study, standards, None, errors)
        tables[dom.name] = (dom, {r.spec.name: r for r in resolved}, list(supps))
    if errors:
        raise SpecErrors(errors)
    return tables


def _dataset_comment(dom: DomainSpec) -> str:
    """Where a domain's records come from, and which raw records were left out on purpose."""
    return " ".join(_source_comment(dom.name, src) for src in dom.sources)


def _source_comment(domain: str, src: SourceSpec) -> str:
    """One source of a domain's records, in a sentence or three."""
    text = f"Source: EDC form '{src.form}'"
    if src.joins:
        text += " joined with " + ", ".join(
            f"'{j.form}'" + (" by subject and " + ", ".join(j.on) if j.on else " by subject") for j in src.joins
        )
    text += "."
    if src.variants:
        text += f" Each {src.form} record gives up to {len(src.variants)} {domain} records (one per "
        text += (
            ", ".join("/".join(value for value in variant.values.values() if value) for variant in src.variants) + ")."
        )
    if src.excludes:
        text += " Records left out: " + "; ".join(e.reason for e in src.excludes) + "."
    return text


def no_data_dataset(name: str, study: StudySpec, standards: Standards) -> Dataset:
    """A dataset the specs map that has no records, as its (unwritten) file would hold it: the
    spec's variables in SDTMIG order (SUPP--: the SUPPQUAL variables), no records, no file."""
    parent = name[4:] if name.startswith("SUPP") else ""
    dom = study.domain(parent or name)
    design = study.trial_design is not None and name in (*DESIGN_DATASETS, *SUBJECT_DESIGN_DATASETS)
    if dom is None and not design:
        raise DefineError(f"dataset {name} has no mapping spec in {study.file}")
    if design:
        names = [v.name for v in standards.domain_variables(name) if v.core in ("Req", "Exp")]
    elif parent:
        names = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
    else:
        assert dom is not None
        mapped = {v.name for v in dom.variables}
        names = [v.name for v in standards.domain_variables(name) if v.name in mapped]
    columns: dict[str, pd.Series] = {}
    for var in names:
        meta = standards.variable(name, var)
        columns[var] = pd.Series(dtype="float64" if meta and meta.is_numeric else object)
    return dataset_of(name, pd.DataFrame(columns), standards, file="")


def build_define(
    study: StudySpec,
    standards: Standards,
    datasets: Sequence[Dataset],
    created: dt.datetime,
    no_data: Mapping[str, str] | None = None,
) -> Define:
    """The define of a package: one ItemGroup per dataset given, one ItemDef per variable in it.

    ``no_data`` names datasets the specs map that have no records (and no file), with why: each
    is an ItemGroup with def:HasNoData and no def:leaf, its comment saying why.

    Raises DefineError when a dataset has no mapping spec in ``study`` (the define could not say
    where its values come from).
    """
    specs = _spec_tables(study, standards)
    b = _Builder(study, standards)
    groups: list[ItemGroup] = []
    no_data = {name: why for name, why in (no_data or {}).items() if name not in {ds.name for ds in datasets}}
    datasets = [*datasets, *(no_data_dataset(name, study, standards) for name in no_data)]

    def rank(ds: Dataset) -> tuple[int, str]:
        meta = standards.dataset(ds.name)
        klass = meta.klass if meta else ""
        return (CLASS_ORDER.index(klass) if klass in CLASS_ORDER else len(CLASS_ORDER), ds.name)

    for ds in sorted(datasets, key=rank):
        if study.trial_design is not None and ds.name in (*DESIGN_DATASETS, *SUBJECT_DESIGN_DATASETS):
            b.note_decodes(ds.name, ds.name, {}, DESIGN_DECODES.get(ds.name, {}))
            groups.append(_design_group(b, ds, no_data.get(ds.name)))
            continue
        is_supp = ds.name.startswith("SUPP") and ds.name[4:] in specs
        dom_name = ds.name[4:] if is_supp else ds.name
        if dom_name not in specs:
            raise DefineError(f"{ds.file}: dataset {ds.name} has no mapping spec in {study.file}")
        dom, resolved, supps = specs[dom_name]
        if not is_supp:
            b.note_decodes(ds.name, dom.name, resolved, {})
        meta = standards.dataset(ds.name)
        if meta is None:
            raise DefineError(f"{ds.file}: dataset {ds.name} is not in SDTMIG {standards.sdtmig_version}")
        keys = tuple(k for k in ((dom.keys if not is_supp else ()) or meta.keys) if k in ds.frame.columns)
        refs: list[ItemRef] = []
        for order, var in enumerate(ds.frame.columns, start=1):
            vmeta = standards.variable(ds.name, var)
            oid = f"IT.{ds.name}.{var}"
            values = ds.frame[var]
            label = ds.labels.get(var) or (vmeta.label if vmeta else var)
            method_oid = ""
            item = None if is_supp else resolved.get(var)
            first_vlm = len(b.items)  # value-level items are listed right after their variable
            if is_supp:
                origin, item_def, value_list = _supp_item(b, ds, dom, supps, var, oid, label, values, vmeta)
            else:
                kind = b.resolved_origin(item, ds.name) if item else ""
                origin = b.origin(kind, forms=_forms_read(dom, item)) if kind else None
                if item is not None and kind == "Derived":
                    method_oid = b.method(
                        f"MT.{ds.name}.{var}", f"Algorithm to derive {ds.name}.{var}", method_text(item, dom.name, keys)
                    )
                item_def = b.item_def(
                    ds,
                    var,
                    oid,
                    var,
                    label,
                    values,
                    item,
                    origin,
                    vmeta.codelist if vmeta else "",
                    vmeta.format if vmeta else "",
                    length=ds.widths.get(var),
                )
                value_list = _value_list(b, ds, dom, var, item, item_def, resolved)
            if value_list:
                item_def = _replace(item_def, value_list_oid=value_list)
            if item_def.data_type in ("text", *ISO8601_TYPES) and ds.widths.get(var) is not None:
                item_def = _replace(item_def, length=ds.widths[var])
            b.items.insert(first_vlm, item_def)
            refs.append(
                ItemRef(
                    oid,
                    order,
                    bool(vmeta and vmeta.core == "Req"),
                    keys.index(var) + 1 if var in keys else None,
                    vmeta.role if vmeta else "",
                    method_oid,
                    has_no_data=b.no_values(ds.name, values, ds.frame),
                )
            )
        leaf: Leaf | None = Leaf(f"LF.{ds.name}", ds.href, ds.href)
        text = "" if is_supp else _dataset_comment(dom)
        if ds.name in no_data:
            text = f"{text} No records: {no_data[ds.name]}; the dataset is not submitted.".lstrip()
            leaf = None
        split, part_ids = b.parts(ds)
        text = f"{text} {split}".strip()
        comment = b.comment(f"COM.{ds.name}", text, part_ids) if text else ""
        groups.append(_item_group(ds, meta, refs, leaf, keys, comment))

    mdv_comment = ""
    if study.forms_not_mapped:
        text = "EDC forms not mapped to SDTM: " + "; ".join(
            f"{k}: {v}" for k, v in sorted(study.forms_not_mapped.items())
        )
        mdv_comment = b.comment("COM.FORMS_NOT_MAPPED", text)
    codelists, codelist_refs = _codelists(b)
    define = Define(
        study_oid=oid_part(study.studyid),
        study_name=study.studyid,
        study_description=" ".join(study.title.split()) or study.studyid,
        protocol_name=study.protocol or study.studyid,
        mdv_oid=f"MDV.{oid_part(study.studyid)}.SDTMIG.{standards.sdtmig_version}",
        mdv_name=f"{study.studyid} SDTM (SDTMIG {standards.sdtmig_version})",
        created=created,
        source_system_version=__version__,
        standards=(
            Standard(STD_IG, "SDTMIG", "IG", standards.sdtmig_version),
            Standard(STD_CT, "CDISC/NCI", "CT", standards.ct_version, "SDTM"),
        ),
        acrf=(_leaf_id(b.acrf),) if b.acrf is not None else (),
        supplemental_docs=tuple(d.id for d in b.documents if b.acrf is None or d.id != _leaf_id(b.acrf)),
        value_lists=tuple(b.value_lists),
        where_clauses=tuple(b.where_clauses.values()),
        item_groups=tuple(groups),
        items=tuple(_replace(i, codelist_oid=codelist_refs[i.oid]) if i.oid in codelist_refs else i for i in b.items),
        codelists=codelists,
        methods=tuple(sorted(b.methods.values(), key=lambda m: m.oid)),
        comments=tuple(sorted(b.comments.values(), key=lambda c: c.oid)),
        documents=b.documents,
        comment_oid=mdv_comment,
        part_leaves=tuple(b.part_leaves),
    )
    return _with_study_metadata(define, study)


def _with_study_metadata(define: Define, study: StudySpec) -> Define:
    """The define with the study's metadata edits (metadata.yaml, from ``spec import``) applied."""
    from daybreak_sdtm.define.metadata import apply_metadata  # it builds on this module's values

    return apply_metadata(define, study.metadata)


# How SE and SV variables are derived (Define-XML MethodDefs), by variable; SESTDTC, SVSTDTC and
# SVENDTC add the study's own rules (``_design_method``).
_DESIGN_METHODS = {
    ("SE", "SESTDTC"): "The date each element the subject entered started, by the trial design's start rules",
    ("SE", "SEENDTC"): "SESTDTC of the subject's next element; for the last element DM.RFPENDTC (blank while the "
    "subject is in the study)",
    ("SE", "ETCD"): "The element whose start rule dated the record; UNPLAN when the subject's actual arm (DM.ACTARMCD) "
    "does not plan it there",
    ("SE", "TAETORD"): "The element's order in the subject's actual arm (TA); blank for an unplanned element",
    ("SE", "EPOCH"): "The element's epoch in TA; for an unplanned element, the epoch in effect when it started",
    ("SE", "SESEQ"): "Sequence number 1, 2, 3 and so on of the subject's elements, by start date",
    (
        "SE",
        "SEUPDES",
    ): "For an unplanned element (ETCD UNPLAN), the name of the element the subject entered (TE ELEMENT)",
    ("SE", "SESTDY"): "Study day of SESTDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0)",
    ("SE", "SEENDY"): "Study day of SEENDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0)",
    ("SV", "SVSTDTC"): "The earliest date of the subject's records of the visit",
    ("SV", "SVENDTC"): "The latest date of the subject's records of the visit",
    ("SV", "SVPRESP"): "Y for a visit the trial design plans (TV)",
    ("SV", "SVOCCUR"): "Y: the subject has dated records of the visit",
    ("SV", "SVSTDY"): "Study day of SVSTDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0)",
    ("SV", "SVENDY"): "Study day of SVENDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0)",
}


def _start_rule(start: EpochStart) -> str:
    """An element's start rule in words: "the first EX.EXSTDTC where EXCAT = INDUCTION"."""
    where = " and ".join(_condition(k, v) for k, v in start.filters.items())
    text = {"first": "the first ", "last": "the last ", "day_after": "the day after "}.get(start.how, "")
    return text + start.variable + (f" where {where}" if where else "")


def _visit_source(source: VisitSourceSpec, end: bool) -> str:
    """Where a subject's visits are dated, in words: "SCREENING: DM.RFICDTC", "EX.EXSTDTC of records with a VISIT"."""
    variable = source.end if end and source.end else source.variable
    return f"{source.visit}: {variable}" if source.visit else f"{variable} of records with a VISIT"


def _design_method(study: StudySpec, dataset: str, var: str) -> str:
    """The MethodDef text of an SE or SV variable, with the study's start rules and visit sources."""
    text = _DESIGN_METHODS.get((dataset, var), f"{dataset}.{var} from the subjects' records")
    design = study.trial_design
    if design is None:
        return text
    if (dataset, var) == ("SE", "SESTDTC"):
        rules = [f"{e.etcd} {_start_rule(e.start)}" for e in design.elements if e.start is not None]
        return f"{text} ({'; '.join(rules)}); elements a subject never entered have no record" if rules else text
    if dataset == "SV" and var in ("SVSTDTC", "SVENDTC") and design.subject_visits:
        sources = "; ".join(_visit_source(v, var == "SVENDTC") for v in design.subject_visits)
        return f"{text} ({sources})"
    return text


def _design_group(b: _Builder, ds: Dataset, no_data: str | None) -> ItemGroup:
    """A dataset made from the trial design: TS ... TI as the protocol declares them (origin Protocol),
    SE and SV derived from the subjects' records by the design's rules."""
    meta = b.standards.dataset(ds.name)
    if meta is None:
        raise DefineError(f"{ds.file}: dataset {ds.name} is not in SDTMIG {b.standards.sdtmig_version}")
    subject_level = ds.name in SUBJECT_DESIGN_DATASETS
    keys = tuple(k for k in meta.keys if k in ds.frame.columns)
    refs: list[ItemRef] = []
    for order, var in enumerate(ds.frame.columns, start=1):
        vmeta = b.standards.variable(ds.name, var)
        oid = f"IT.{ds.name}.{var}"
        method_oid = ""
        if var in ("STUDYID", "DOMAIN"):
            origin = b.origin("Assigned")
        elif var == "USUBJID" or (subject_level and var in ("VISITNUM", "VISIT", "VISITDY", "ELEMENT")):
            origin = b.origin(
                "Predecessor",
                predecessor="DM.USUBJID" if var == "USUBJID" else f"TV.{var}" if ds.name == "SV" else "TE.ELEMENT",
            )
        elif subject_level:
            origin = b.origin("Derived")
            text = _design_method(b.study, ds.name, var)
            method_oid = b.method(f"MT.{ds.name}.{var}", f"Algorithm to derive {ds.name}.{var}", text)
        else:
            origin = b.origin("Protocol")
        item_def = b.item_def(
            ds,
            var,
            oid,
            var,
            ds.labels.get(var) or (vmeta.label if vmeta else var),
            ds.frame[var],
            None,
            origin,
            vmeta.codelist if vmeta else "",
            vmeta.format if vmeta else "",
            length=ds.widths.get(var),
        )
        if item_def.data_type in ("text", *ISO8601_TYPES) and ds.widths.get(var) is not None:
            item_def = _replace(item_def, length=ds.widths[var])
        b.items.append(item_def)
        refs.append(
            ItemRef(
                oid,
                order,
                bool(vmeta and vmeta.core == "Req"),
                keys.index(var) + 1 if var in keys else None,
                vmeta.role if vmeta else "",
                method_oid,
                has_no_data=b.no_values(ds.name, ds.frame[var], ds.frame),
            )
        )
    source = (
        "Derived from the subjects' records by the trial design's rules (study.yaml trial_design:)."
        if subject_level
        else "From the protocol, as the study's trial design declares it (study.yaml trial_design:)."
    )
    leaf: Leaf | None = Leaf(f"LF.{ds.name}", ds.href, ds.href)
    if no_data is not None:
        source = f"{source} No records: {no_data}; the dataset is not submitted."
        leaf = None
    split, part_ids = b.parts(ds)
    comment = b.comment(f"COM.{ds.name}", f"{source} {split}".strip(), part_ids)
    return _item_group(ds, meta, refs, leaf, keys, comment)


def _item_group(
    ds: Dataset,
    meta: DatasetMeta,
    refs: Sequence[ItemRef],
    leaf: Leaf | None,
    keys: Sequence[str],
    comment_oid: str,
) -> ItemGroup:
    """The ItemGroupDef of a dataset: its SDTMIG metadata, the items and keys made for it, its file."""
    return ItemGroup(
        oid=f"IG.{ds.name}",
        name=ds.name,
        domain=ds.name,
        label=ds.label or meta.label,
        klass=meta.klass,
        structure=meta.structure,
        repeating=meta.repeating,
        reference_data=meta.reference_data,
        item_refs=tuple(refs),
        leaf=leaf,
        records=len(ds.frame),
        keys=tuple(keys),
        comment_oid=comment_oid,
    )


def _replace(item: ItemDef, **changes: Any) -> ItemDef:
    return replace(item, **changes)


def _supp_item(
    b: _Builder,
    ds: Dataset,
    dom: DomainSpec,
    supps: list[tuple[SuppSpec, ResolvedVariable]],
    var: str,
    oid: str,
    label: str,
    values: pd.Series,
    vmeta: Any,
) -> tuple[Origin | None, ItemDef, str]:
    """A SUPP-- variable: fixed columns are assigned or copied from the parent; QVAL has one item per QNAM."""
    parent = dom.name
    if var == "USUBJID":
        origin: Origin | None = b.origin("Predecessor", predecessor=f"{parent}.USUBJID")
    elif var == "IDVARVAL":
        # The parent's --SEQ, which IDVAR names (AE.AESEQ), as the build points at it (build/supp.py):
        # a parent without --SEQ (DM) has subject-level qualifiers, IDVAR and IDVARVAL blank.
        seq = f"{parent}SEQ"
        origin = (
            b.origin("Predecessor", predecessor=f"{parent}.{seq}")
            if dom.variable(seq) is not None
            else b.origin("Assigned")
        )
    elif var == "QVAL":
        origin = None
    else:
        origin = b.origin("Assigned")
    if var == "QNAM":
        labels = {s.qnam: s.qlabel for s, _ in supps}
        used = b.texts(ds.name, values, ds.frame) or list(labels)  # no records: the QNAMs the spec defines
        b.codes.use_sponsor(
            oid,
            f"CL.{ds.name}.QNAM",
            f"Qualifier Variable Names of {ds.name}",
            {q: labels.get(q, q) for q in b._ordered(used, list(labels))},
        )
        item = ItemDef(oid, var, label, "text", text_length(values), origin=origin, dataset=ds.name)
        return origin, item, ""
    item = b.item_def(
        ds,
        var,
        oid,
        var,
        label,
        values,
        None,
        origin,
        vmeta.codelist if vmeta else "",
        vmeta.format if vmeta else "",
        length=ds.widths.get(var),
    )
    if var != "QVAL" or "QNAM" not in ds.frame.columns:
        return origin, item, ""
    refs = []
    qnams = ds.frame["QNAM"].astype(str)
    for order, (supp, resolved) in enumerate([(s, r) for s, r in supps if (qnams == s.qnam).any()], start=1):
        mask = (qnams == supp.qnam).to_numpy()
        vl_oid = f"IT.{ds.name}.QVAL.{oid_part(supp.qnam)}"
        kind = supp.qorig
        origin_q = b.origin(kind, forms=_forms_read(dom, resolved))
        method_oid = ""
        if origin_q.type == "Derived":
            method_oid = b.method(
                f"MT.{ds.name}.{oid_part(supp.qnam)}",
                f"Algorithm to derive {ds.name}.QVAL where QNAM = {supp.qnam}",
                method_text(resolved, parent),
            )
        sub = values[mask]
        q_item = b.item_def(ds, supp.qnam, vl_oid, supp.qnam, supp.qlabel, sub, resolved, origin_q, typed_text=True)
        b.items.append(q_item)
        wc = b.where(f"WC.{ds.name}.QNAM.{oid_part(supp.qnam)}", [RangeCheck(f"IT.{ds.name}.QNAM", "EQ", (supp.qnam,))])
        refs.append(
            ItemRef(vl_oid, order, True, method_oid=method_oid, where_clause_oids=(wc,), has_no_data=no_values(sub))
        )
    if not refs:
        return origin, item, ""
    vl = f"VL.{ds.name}.QVAL"
    b.value_lists.append(ValueList(vl, ds.name, "QVAL", tuple(refs)))
    return origin, item, vl


def _value_list(
    b: _Builder,
    ds: Dataset,
    dom: DomainSpec,
    var: str,
    item: ResolvedVariable | None,
    parent: ItemDef,
    resolved: Mapping[str, ResolvedVariable],
) -> str:
    """Value-level metadata of a parent-domain variable: the spec's cases, or its values by topic
    when its unit differs between topics (EXDOSE of each EXTRT when mg and mg/m2 are both given)."""
    if item is not None and item.cases:
        return _case_value_list(b, ds, dom, var, item, parent)
    topic, unit = b.standards.topic_variable(dom.name), b.standards.unit_qualifier(dom.name, var)
    if topic and unit and {topic, unit} <= set(ds.frame.columns):
        return _unit_value_list(b, ds, var, topic, unit, item, parent)
    return ""


def _case_value_list(
    b: _Builder, ds: Dataset, dom: DomainSpec, var: str, item: ResolvedVariable, parent: ItemDef
) -> str:
    """One value-level item per spec case that selects records; the catch-all case by the values it got."""
    frame = ds.frame
    taken = np.zeros(len(frame), dtype=bool)
    condition_vars: list[str] = []
    refs: list[ItemRef] = []
    for index, case in enumerate(item.cases, start=1):
        where = case.spec.case_where
        mask = ~taken
        for cvar, values in where.items():
            mask &= frame[cvar].astype(str).isin(values).to_numpy()
            if cvar not in condition_vars:
                condition_vars.append(cvar)
        taken |= mask
        if not mask.any():
            continue
        if where:
            present = frame.loc[mask]
            combos = [
                tuple(
                    (cvar, tuple(v for v in values if (present[cvar].astype(str) == v).any()))
                    for cvar, values in where.items()
                )
            ]
        else:
            if not condition_vars:  # a lone case with no condition is not value-level metadata
                continue
            rows = frame.loc[mask, condition_vars].astype(str).drop_duplicates()
            if len(condition_vars) == 1:  # one IN list reads better than one clause per value
                combos = [((condition_vars[0], tuple(sorted(rows[condition_vars[0]].tolist()))),)]
            else:
                combos = sorted(tuple((c, (str(r[c]),)) for c in condition_vars) for _, r in rows.iterrows())
        single = len(combos) == 1 and all(len(vals) == 1 for _, vals in combos[0])
        suffix = oid_part("_".join(vals[0] for _, vals in combos[0])) if single else f"C{index}"
        vl_item_oid = f"{parent.oid}.{suffix}"
        wcs = []
        for k, combo in enumerate(combos, start=1):
            checks = [
                RangeCheck(f"IT.{ds.name}.{cvar}", "EQ" if len(vals) == 1 else "IN", tuple(vals))
                for cvar, vals in combo
            ]
            wc_oid = f"WC.{ds.name}.{var}.{suffix}" + (f".{k}" if len(combos) > 1 else "")
            wcs.append(b.where(wc_oid, checks))
        kind = case.spec.origin or case.derivation.origin
        origin = b.origin(kind, forms=_forms_read(dom, case))
        method_oid = ""
        if kind == "Derived":
            method_oid = b.method(
                f"MT.{ds.name}.{var}.{suffix}",
                f"Algorithm to derive {ds.name}.{var} ({suffix})",
                method_text(case, dom.name),
            )
        vmeta = b.standards.variable(ds.name, var)
        shown = " and ".join(f"{c} {'/'.join(v)}" for c, v in combos[0]) + (" ..." if len(combos) > 1 else "")
        label = f"{_value_level_stem(b, ds, parent)} where {shown}"
        sub_item = b.item_def(
            ds,
            var,
            vl_item_oid,
            var,
            label[:200],
            frame.loc[mask, var],
            case,
            origin,
            vmeta.codelist if vmeta else "",
            vmeta.format if vmeta else "",
        )
        b.items.append(sub_item)
        refs.append(
            ItemRef(
                vl_item_oid,
                len(refs) + 1,
                False,
                method_oid=method_oid,
                where_clause_oids=tuple(wcs),
                has_no_data=no_values(frame.loc[mask, var]),
            )
        )
    if not refs:
        return ""
    oid = f"VL.{ds.name}.{var}"
    b.value_lists.append(ValueList(oid, ds.name, var, tuple(refs)))
    return oid


def _value_level_stem(b: _Builder, ds: Dataset, parent: ItemDef) -> str:
    """What a value-level item's label starts with: the variable's SDTMIG label, not one the study's
    metadata file gives the variable (value-level labels are the define's own, edited on their own)."""
    meta = b.standards.variable(ds.name, parent.name)
    return meta.label if meta is not None else parent.label


def _unit_value_list(
    b: _Builder, ds: Dataset, var: str, topic: str, unit_var: str, item: ResolvedVariable | None, parent: ItemDef
) -> str:
    """One value-level item per value of the topic variable when the variable's units differ (mg vs mg/m2)."""
    frame = ds.frame
    topics = frame[topic].astype(str)
    units = frame[unit_var].astype(str)
    if len(set(text_values(units))) < 2:
        return ""
    refs: list[ItemRef] = []
    for value in sorted(text_values(topics)):
        mask = (topics == value).to_numpy()
        unit = ", ".join(sorted(text_values(units[mask]))) or "no unit"
        suffix = oid_part(value)
        oid = f"{parent.oid}.{suffix}"
        origin = parent.origin  # each topic's values come as the variable's do
        method_oid = f"MT.{ds.name}.{var}" if origin is not None and origin.type == "Derived" else ""
        b.items.append(
            b.item_def(
                ds,
                var,
                oid,
                var,
                f"{_value_level_stem(b, ds, parent)} of {value} in {unit}",
                frame.loc[mask, var],
                item,
                origin,
            )
        )
        wc = b.where(f"WC.{ds.name}.{topic}.{suffix}", [RangeCheck(f"IT.{ds.name}.{topic}", "EQ", (value,))])
        refs.append(
            ItemRef(
                oid,
                len(refs) + 1,
                False,
                method_oid=method_oid,
                where_clause_oids=(wc,),
                has_no_data=no_values(frame.loc[mask, var]),
            )
        )
    oid = f"VL.{ds.name}.{var}"
    b.value_lists.append(ValueList(oid, ds.name, var, tuple(refs)))
    return oid


def _parent_uses(b: _Builder) -> None:
    """A variable with value-level items lists the terms of its items when they all draw on one
    list (each record holds a term of it), and no codelist when they draw on several (the items
    state theirs): the response of a new-lesion test is not a term of the response codelist."""
    lists = {vl.oid: vl for vl in b.value_lists}
    for item in b.items:
        own = b.codes.uses.get(item.oid)
        if not item.value_list_oid or own is None or item.value_list_oid not in lists:
            continue
        subs = [b.codes.uses.get(ref.item_oid) for ref in lists[item.value_list_oid].item_refs]
        sources = {u.source for u in subs if u is not None}
        if None in subs or len(sources) != 1:
            del b.codes.uses[item.oid]
            continue
        first = next(u for u in subs if u is not None)
        terms = {v: d for u in subs if u is not None for v, d in u.terms.items()}
        terms.update({v: d for v, d in own.terms.items() if v not in terms})
        b.codes.uses[item.oid] = replace(first, terms=terms)


def _subset_name(name: str, values: Sequence[str]) -> str:
    """The Name of a codelist listing some of a list's terms: the list's name and the terms, or their count."""
    listed = ", ".join(values)
    return f"{name} ({listed})" if len(listed) <= 60 else f"{name} ({len(values)} terms)"


def _codelist_oids(b: _Builder) -> dict[tuple[str, frozenset[tuple[str, str]]], tuple[str, bool]]:
    """The OID of each codelist, per list drawn on and distinct set of terms, and whether it is a subset.

    The set with the most terms (then the one more items use, then the one met first) has the
    list's OID (CL.NY); each other set that of the list and the first item listing it
    (CL.NY.AESDTH, CL.NY.RSSTRESC.NEWLIND). Every input is in a fixed order, so the OIDs are the
    same on every run.
    """
    groups: dict[str, dict[frozenset[tuple[str, str]], list[str]]] = {}
    for item_oid, use in b.codes.uses.items():
        groups.setdefault(use.source, {}).setdefault(use.term_set, []).append(item_oid)
    datasets = {i.oid: i.dataset for i in b.items}
    taken = set(b.codes.external)
    bases: dict[str, str] = {}
    for source, sets in groups.items():
        use = b.codes.uses[next(iter(sets.values()))[0]]
        base = use.base_oid
        if base in taken and use.codelist is not None:
            base = f"CL.{oid_part(use.codelist.code)}"
        while base in taken:
            base = f"{base}.SP"
        taken.add(base)
        bases[source] = base
    oids: dict[tuple[str, frozenset[tuple[str, str]]], tuple[str, bool]] = {}
    for source, sets in groups.items():
        met = list(sets.items())
        ranked = sorted(range(len(met)), key=lambda i: (-len(met[i][0]), -len(met[i][1]), i))
        oids[(source, met[ranked[0]][0])] = (bases[source], False)
        # An item is named by its variable (AESDTH), with its dataset when the variable is in
        # several of the datasets drawing on the list (SUPPDM.RDOMAIN, EX.EPOCH).
        short = {o: o.removeprefix("IT.").removeprefix(f"{datasets.get(o, '')}.") for s in met for o in s[1]}
        where: dict[str, set[str]] = {}
        for o, name in short.items():
            where.setdefault(name, set()).add(datasets.get(o, ""))
        for i in ranked[1:]:
            term_set, items = met[i]
            tail = items[0].removeprefix("IT.")
            name = short[items[0]] if len(where[short[items[0]]]) == 1 else tail
            numbered = (f"{bases[source]}.{tail}.{n}" for n in itertools.count(2))
            oid = next(
                c
                for c in itertools.chain((f"{bases[source]}.{name}", f"{bases[source]}.{tail}"), numbered)
                if c not in taken
            )
            taken.add(oid)
            oids[(source, term_set)] = (oid, True)
    return oids


def _codelists(b: _Builder) -> tuple[tuple[CodeList, ...], dict[str, str]]:
    """Freeze the codelists, and give each item its codelist's OID.

    Each item's codelist lists the terms it can hold: items with the same terms of one list share
    it. CDISC terms in CT order then sponsor extensions sorted; sponsor lists in their order;
    dictionaries.
    """
    _parent_uses(b)
    oids = _codelist_oids(b)
    refs = {item_oid: oids[(use.source, use.term_set)][0] for item_oid, use in b.codes.uses.items()}
    out: list[CodeList] = []
    made: set[str] = set()
    for use in b.codes.uses.values():
        oid, subset = oids[(use.source, use.term_set)]
        if oid in made:
            continue
        made.add(oid)
        codelist = use.codelist
        if codelist is None:
            name = _subset_name(use.name, list(use.terms)) if subset else use.name
            sponsor_items = tuple(
                CodeListItem(v, d, "", False, i) for i, (v, d) in enumerate(use.terms.items(), start=1)
            )
            out.append(CodeList(oid, name, use.data_type, sponsor_items))
            continue
        items = []
        ct_order = {t.submission_value: i for i, t in enumerate(codelist.terms)}
        values = sorted(use.terms, key=lambda v: (v not in ct_order, ct_order.get(v, 0), v))
        extended = []
        for order, value in enumerate(values, start=1):
            term = codelist.term(value)
            if term is None:
                extended.append(value)
                items.append(CodeListItem(value, value, "", True, order))
            else:
                items.append(CodeListItem(value, term.preferred_term or value, term.code, False, order))
        comment = ""
        if extended and not codelist.extensible:
            why = (
                " (SDTMIG 3.4 section 4.2.8.3: MULTIPLE stands for several values of a qualifier)"
                if "MULTIPLE" in extended
                else ""
            )
            comment = b.comment(
                f"COM.{oid}", f"{', '.join(extended)}: not a term of this non-extensible CDISC codelist{why}."
            )
        nci = codelist.code if re.match(r"^C\d+$", codelist.code) else ""
        name = _subset_name(codelist.name, values) if subset else codelist.name
        out.append(CodeList(oid, name, "text", tuple(items), nci, STD_CT, codelist.extensible, comment_oid=comment))
    for oid, (name, dictionary, version, declared_href) in b.codes.external.items():
        href = declared_href or DICTIONARY_HREFS.get(dictionary, "")
        out.append(CodeList(oid, name, "text", dictionary=dictionary, dictionary_version=version, dictionary_href=href))
    return tuple(sorted(out, key=lambda c: c.oid)), refs
