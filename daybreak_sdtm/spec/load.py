"""Load the study file and domain specs with ruamel.yaml, keeping every node's position.

Spec content is data: the round-trip loader builds only mappings, sequences and scalars,
never Python objects, and nothing in a spec is evaluated.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from daybreak_sdtm.codec import codec_name
from daybreak_sdtm.errors import Location, SpecError, SpecErrors, suggest
from daybreak_sdtm.spec.model import (
    ACRF,
    ArmSpec,
    CodingDictionary,
    DocumentSpec,
    DomainSpec,
    EpochSpec,
    EpochStart,
    ExcludeSpec,
    JoinSpec,
    SourceSpec,
    StudyMetadata,
    StudySpec,
    SuppSpec,
    UnitConversion,
    VariableSpec,
    VariantSpec,
)

STUDY_FILE = "study.yaml"
# A form is named, never given as a path: a spec cannot make the reader leave the export folder.
_FORM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Keys of a variable entry that describe it rather than parameterise its derivation.
VARIABLE_META_KEYS = ("derivation", "origin", "method", "comment", "where", "transliterate", "dictionary")
SUPP_KEYS = ("label", "origin", "evaluator")
# The keys each part of a spec may hold (``unknown_keys`` refuses any other; ``spec.schema`` gives
# them to editors).
STUDY_SECTIONS = (
    "study",
    "standards",
    "export",
    "arms",
    "epochs",
    "forms_not_mapped",
    "forms_not_collected",
    "columns_not_mapped",
    "domains",
    "documents",
    "protocol_checks",  # spec/protocol.py
    "trial_design",  # spec/design.py
    "unit_conversions",
    "metadata",
)
REQUIRED_SECTIONS = ("study", "standards", "export", "domains")
STUDY_KEYS = ("studyid", "title", "protocol", "meddra", "dictionaries")
STANDARDS_KEYS = ("sdtmig", "ct")
EXPORT_KEYS = ("subject", "cutoff", "encoding", "date_format")
STUDY_ARM_KEYS = ("ARMCD", "ARM", "description")
EPOCH_KEYS = ("EPOCH", "start")
EPOCH_STARTS = ("first", "day_after")
EPOCH_START_KEYS = (*EPOCH_STARTS, "where")
DICTIONARY_KEYS = ("version", "href")
UNIT_CONVERSION_KEYS = ("from", "to", "factor", "offset", "test", "decimals")
DOCUMENT_KEYS = ("file", "title", "pages")
DOMAIN_KEYS = ("domain", "class", "label", "source", "keys", "variables", "supplemental", "description")
SOURCE_KEYS = ("form", "join", "unpivot", "exclude")
JOIN_KEYS = ("form", "on")
UNPIVOT_KEYS = ("values", "columns")
EXCLUDE_KEYS = ("when", "reason")


def _display(path: Path) -> str:
    return path.as_posix()


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; a syntax error becomes a SpecError at its line and column."""
    if not path.is_file():
        raise SpecError(Location(_display(path)), "", "spec file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(Location(_display(path)), "", f"not UTF-8 text ({exc.reason})") from None
    try:
        return YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(_display(path), mark.line + 1, mark.column + 1) if mark else Location(_display(path))
        raise SpecError(where, "", f"YAML syntax error: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise SpecError(Location(_display(path)), "", f"YAML error: {exc}") from None


class _Reader:
    """Walks a parsed YAML tree, collecting every structural problem with its position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[SpecError] = []

    def at(self, node: Any, key: Any = None, *, value: bool = False) -> Location:
        """Location of a key (or its value) in a mapping, or of an item in a sequence."""
        file = _display(self.path)
        try:
            if isinstance(node, CommentedMap) and key is not None:
                line, col = node.lc.value(key) if value else node.lc.key(key)
                return Location(file, line + 1, col + 1)
            if isinstance(node, CommentedSeq) and isinstance(key, int):
                line, col = node.lc.item(key)
                return Location(file, line + 1, col + 1)
            if hasattr(node, "lc"):
                return Location(file, node.lc.line + 1, node.lc.col + 1)
        except (KeyError, TypeError, AttributeError):
            pass
        return Location(file, 1, 1)

    def error(self, where: Location, key: str, problem: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, key, problem, hint))

    def mapping(self, node: Any, where: Location, what: str) -> CommentedMap | None:
        if isinstance(node, CommentedMap):
            return node
        self.error(where, what, f"expected a mapping, found {_kind(node)}")
        return None

    def sequence(self, node: CommentedMap, key: str, what: str) -> list[Any]:
        """The list under ``key`` (empty when absent); anything else is an error at its position."""
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, CommentedSeq):
            self.error(self.at(node, key, value=True), what, f"expected a list, found {_kind(value)}")
            return []
        return list(value)

    def text(self, node: CommentedMap, key: str, what: str, *, required: bool = True) -> str:
        if key not in node or node[key] is None:
            if required:
                self.error(self.at(node), what, f"missing required key {key!r}")
            return ""
        value = node[key]
        if isinstance(value, (CommentedMap, CommentedSeq, bool)):
            # YAML reads true/false/yes/no as booleans: never a text the spec meant.
            self.error(self.at(node, key, value=True), f"{what}.{key}", f"expected a text value, found {_kind(value)}")
            return ""
        return str(plain(value))

    def unknown_keys(self, node: CommentedMap, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if str(key) not in allowed:
                self.error(self.at(node, key), what, f"unknown key {key!r}", suggest(str(key), allowed))


def _kind(node: Any) -> str:
    if isinstance(node, CommentedMap):
        return "a mapping"
    if isinstance(node, CommentedSeq):
        return "a list"
    if node is None:
        return "nothing"
    return f"{type(node).__name__} {node!r}"


def plain(value: Any) -> Any:
    """YAML node -> plain Python: dicts, lists and strings (dates and numbers as text)."""
    if isinstance(value, (CommentedMap, dict)):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (CommentedSeq, list)):
        return [plain(v) for v in value]
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (CommentedSeq, list)):
        return tuple("" if v is None else str(plain(v)) for v in value)
    return ("" if value is None else str(plain(value)),)


def _filters(reader: _Reader, node: Any, where: Location, what: str) -> dict[str, tuple[str, ...]]:
    mapping = reader.mapping(node, where, what)
    if mapping is None:
        return {}
    return {str(k): _value_list(v) for k, v in mapping.items()}


def _variable(reader: _Reader, name: str, node: Any, where: Location, what: str) -> VariableSpec | None:
    if isinstance(node, str):  # `AESEQ: derive_seq`, a derivation with no parameters
        return VariableSpec(name=name, derivation=node, params={}, where=where)
    if isinstance(node, CommentedSeq):  # value-level cases, each with its own `where`
        cases = []
        for i, item in enumerate(node):
            case = _variable(reader, name, item, reader.at(node, i), f"{what}[{i + 1}]")
            if case is None:
                continue
            if "where" not in item and i < len(node) - 1:
                reader.error(case.where, what, "only the last case may omit 'where'")
            cases.append(case)
        if not cases:
            reader.error(where, what, "give at least one case")
            return None
        return VariableSpec(
            name=name,
            derivation="(cases)",
            params={},
            where=where,
            cases=tuple(cases),
            origin=cases[0].origin,
            method=cases[0].method,
        )
    entry = reader.mapping(node, where, what)
    if entry is None:
        return None
    derivation = reader.text(entry, "derivation", what)
    params = {str(k): plain(v) for k, v in entry.items() if str(k) not in VARIABLE_META_KEYS + SUPP_KEYS}
    param_where = {str(k): reader.at(entry, k, value=True) for k in entry}
    return VariableSpec(
        name=name,
        derivation=derivation,
        params=params,
        where=reader.at(entry) if entry.lc.line is not None else where,
        param_where=param_where,
        origin=reader.text(entry, "origin", what, required=False),
        method=reader.text(entry, "method", what, required=False),
        comment=reader.text(entry, "comment", what, required=False),
        transliterate=_flag(reader, entry, "transliterate", what),
        dictionary=reader.text(entry, "dictionary", what, required=False),
        case_where=_filters(reader, entry["where"], reader.at(entry, "where"), f"{what}.where")
        if "where" in entry
        else {},
    )


def _dictionaries(reader: _Reader, study: CommentedMap) -> tuple[CodingDictionary, ...]:
    """``study: dictionaries:`` (name -> version, or -> {version, href}); ``meddra: "28.0"`` is short for MedDRA's."""
    out: list[CodingDictionary] = []
    if study.get("meddra") is not None:
        if "dictionaries" in study:
            reader.error(reader.at(study, "meddra"), "study.meddra", "give MedDRA's version under dictionaries: only")
        out.append(CodingDictionary("MedDRA", reader.text(study, "meddra", "study"), reader.at(study, "meddra")))
    if study.get("dictionaries") is None:
        return tuple(out)
    node = reader.mapping(study["dictionaries"], reader.at(study, "dictionaries", value=True), "study.dictionaries")
    for key, value in (node or {}).items():
        where, what = reader.at(node, key), f"study.dictionaries.{key}"
        if isinstance(value, CommentedMap):
            reader.unknown_keys(value, DICTIONARY_KEYS, what)
            version, href = reader.text(value, "version", what), reader.text(value, "href", what, required=False)
        elif isinstance(value, CommentedSeq) or value is None:
            reader.error(where, what, f"expected a version or {{version, href}}, found {_kind(value)}")
            continue
        else:
            version, href = plain(value), ""
        if not version.strip() and not (isinstance(value, CommentedMap) and "version" not in value):
            reader.error(where, what, "give the dictionary's version (define.xml names it, FDA asks for it)")
        out.append(CodingDictionary(str(key), version.strip(), where, href))
    return tuple(out)


def _unit_conversions(reader: _Reader, top: CommentedMap) -> tuple[UnitConversion, ...]:
    """``unit_conversions:``: [{from, to, factor, offset?, test?, decimals?}, ...], each pair (per test) once."""
    out: list[UnitConversion] = []
    seen: set[tuple[str, str, str]] = set()
    for i, item in enumerate(reader.sequence(top, "unit_conversions", "unit_conversions")):
        where = reader.at(top["unit_conversions"], i)
        what = f"unit_conversions[{i + 1}]"
        entry = reader.mapping(item, where, what)
        if entry is None:
            continue
        reader.unknown_keys(entry, UNIT_CONVERSION_KEYS, what)
        source, target = reader.text(entry, "from", what), reader.text(entry, "to", what)
        test = reader.text(entry, "test", what, required=False)
        numbers: dict[str, float] = {}
        for key, required in (("factor", True), ("offset", False), ("decimals", False)):
            text = reader.text(entry, key, what, required=required)
            if not text:
                continue
            try:
                numbers[key] = float(text)
            except ValueError:
                reader.error(reader.at(entry, key, value=True), f"{what}.{key}", f"expected a number, found {text!r}")
        decimals = numbers.get("decimals")
        if decimals is not None and (decimals < 0 or decimals != int(decimals)):
            reader.error(reader.at(entry, "decimals", value=True), f"{what}.decimals", "expected a whole number >= 0")
            decimals = None
        if source and source == target:
            reader.error(where, what, f"converts {source!r} to itself")
        if (source, target, test) in seen:
            reader.error(where, what, f"{source} -> {target}{f' for {test}' if test else ''} is declared twice")
        seen.add((source, target, test))
        if source and target and "factor" in numbers:
            out.append(
                UnitConversion(
                    source,
                    target,
                    numbers["factor"],
                    where,
                    numbers.get("offset", 0.0),
                    test,
                    int(decimals) if decimals is not None else None,
                )
            )
    return tuple(out)


def _check_form_name(reader: _Reader, form: str, where: Location, what: str) -> None:
    if form and not _FORM_NAME.match(form):
        reader.error(where, what, f"{form!r} is not a form name (letters, digits, _ and -; no paths)")


def _flag(reader: _Reader, node: CommentedMap, key: str, what: str) -> bool:
    if key not in node:
        return False
    if not isinstance(node[key], bool):
        reader.error(reader.at(node, key, value=True), f"{what}.{key}", "expected true or false")
        return False
    return bool(node[key])


def _source(reader: _Reader, node: Any, where: Location) -> SourceSpec:
    entry = reader.mapping(node, where, "source")
    if entry is None:
        return SourceSpec(form="", where=where)
    reader.unknown_keys(entry, SOURCE_KEYS, "source")
    form = reader.text(entry, "form", "source")
    _check_form_name(
        reader, form, reader.at(entry, "form", value=True) if "form" in entry else reader.at(entry), "source.form"
    )
    joins: list[JoinSpec] = []
    for i, item in enumerate(reader.sequence(entry, "join", "source.join")):
        item_map = reader.mapping(item, reader.at(entry["join"], i), "source.join")
        if item_map is not None:
            reader.unknown_keys(item_map, JOIN_KEYS, "source.join")
            join_form = reader.text(item_map, "form", "source.join")
            _check_form_name(reader, join_form, reader.at(item_map), "source.join.form")
            on = plain(item_map.get("on") or [])
            on = [on] if isinstance(on, str) else on
            if not isinstance(on, list) or not all(isinstance(c, str) and c for c in on):
                reader.error(
                    reader.at(item_map, "on", value=True),
                    "source.join.on",
                    "give the raw column(s) both forms hold, e.g. on: [FOLDER]",
                )
                on = []
            joins.append(JoinSpec(join_form, reader.at(item_map), tuple(on)))
    variants: list[VariantSpec] = []
    for i, item in enumerate(reader.sequence(entry, "unpivot", "source.unpivot")):
        item_map = reader.mapping(item, reader.at(entry["unpivot"], i), "source.unpivot")
        if item_map is None:
            continue
        reader.unknown_keys(item_map, UNPIVOT_KEYS, "source.unpivot")
        values = plain(item_map.get("values") or {})
        columns = plain(item_map.get("columns") or {})
        if not isinstance(values, dict) or not isinstance(columns, dict):
            reader.error(reader.at(item_map), "source.unpivot", "values and columns must be mappings")
            continue
        variants.append(
            VariantSpec({k: "" if v is None else v for k, v in values.items()}, columns, reader.at(item_map))
        )
    if variants:
        names = [set(v.values) | set(v.columns) for v in variants]
        if any(n != names[0] for n in names):
            reader.error(
                reader.at(entry, "unpivot"), "source.unpivot", "every variant must name the same values and columns"
            )
    excludes: list[ExcludeSpec] = []
    for i, item in enumerate(reader.sequence(entry, "exclude", "source.exclude")):
        item_map = reader.mapping(item, reader.at(entry["exclude"], i), "source.exclude")
        if item_map is None:
            continue
        reader.unknown_keys(item_map, EXCLUDE_KEYS, "source.exclude")
        reason = reader.text(item_map, "reason", "source.exclude")
        when = _filters(reader, item_map.get("when"), reader.at(item_map), "source.exclude.when")
        excludes.append(ExcludeSpec(when, reason, reader.at(item_map)))
    return SourceSpec(form, reader.at(entry), tuple(joins), tuple(variants), tuple(excludes))


def _sources(reader: _Reader, top: CommentedMap) -> tuple[SourceSpec, ...]:
    """``source:``, one form's mapping or a list of them whose records are stacked in order."""
    if "source" not in top:
        reader.error(reader.at(top), "source", "missing required key 'source'")
        return (SourceSpec(form="", where=reader.at(top)),)
    node = top["source"]
    if not isinstance(node, list):
        return (_source(reader, node, reader.at(top, "source")),)
    if not node:
        reader.error(reader.at(top, "source", value=True), "source", "an empty list: name at least one form")
        return (SourceSpec(form="", where=reader.at(top, "source")),)
    return tuple(_source(reader, item, reader.at(node, i)) for i, item in enumerate(node))


def load_domain(path: Path) -> DomainSpec:
    """Load one domain spec; raises SpecErrors listing every structural problem."""
    tree = load_yaml(path)
    reader = _Reader(path)
    top = reader.mapping(tree, Location(_display(path), 1, 1), "<file>")
    if top is None:
        raise SpecErrors(reader.errors)
    reader.unknown_keys(top, DOMAIN_KEYS, "<file>")
    domain = reader.text(top, "domain", "domain")
    sources = _sources(reader, top)
    keys = tuple(_value_list(top["keys"])) if "keys" in top else ()
    klass = reader.text(top, "class", "class", required=False)
    label = reader.text(top, "label", "label", required=False)
    if klass and not label:
        reader.error(
            reader.at(top, "class"), "label", "a custom domain (one with class:) needs its dataset label: label:"
        )

    variables: list[VariableSpec] = []
    var_node = reader.mapping(
        top.get("variables"), reader.at(top, "variables") if "variables" in top else reader.at(top), "variables"
    )
    for name, node in (var_node or {}).items():
        var = _variable(reader, str(name), node, reader.at(var_node, name), str(name))
        if var is not None:
            variables.append(var)

    supps: list[SuppSpec] = []
    supp_node = top.get("supplemental")
    if supp_node is not None:
        supp_map = reader.mapping(supp_node, reader.at(top, "supplemental"), "supplemental")
        for qnam, node in (supp_map or {}).items():
            where = reader.at(supp_map, qnam)
            var = _variable(reader, str(qnam), node, where, f"supplemental.{qnam}")
            if var is None or not isinstance(node, CommentedMap):
                continue
            supps.append(
                SuppSpec(
                    qnam=str(qnam),
                    qlabel=reader.text(node, "label", f"supplemental.{qnam}"),
                    qorig=reader.text(node, "origin", f"supplemental.{qnam}", required=False) or "CRF",
                    qeval=reader.text(node, "evaluator", f"supplemental.{qnam}", required=False),
                    variable=var,
                )
            )
    if reader.errors:
        raise SpecErrors(reader.errors)
    return DomainSpec(
        name=domain,
        file=path,
        where=reader.at(top, "domain") if "domain" in top else reader.at(top),
        sources=sources,
        variables=tuple(variables),
        supplemental=tuple(supps),
        keys=keys,
        klass=klass,
        label=label,
        class_where=reader.at(top, "class") if "class" in top else None,
    )


def _epoch_start(reader: _Reader, node: Any, where: Location) -> EpochStart:
    if isinstance(node, str):
        return EpochStart(variable=node, how="value", filters={}, where=where)
    entry = reader.mapping(node, where, "epochs.start")
    if entry is None:
        return EpochStart("", "value", {}, where)
    reader.unknown_keys(entry, EPOCH_START_KEYS, "epochs.start")
    hows = [k for k in EPOCH_STARTS if k in entry]
    if len(hows) != 1:
        reader.error(reader.at(entry), "epochs.start", "give exactly one of 'first' or 'day_after'")
        return EpochStart("", "value", {}, where)
    filters = (
        _filters(reader, entry["where"], reader.at(entry, "where"), "epochs.start.where") if "where" in entry else {}
    )
    return EpochStart(str(plain(entry[hows[0]])), hows[0], filters, reader.at(entry, hows[0], value=True))


def _documents(reader: _Reader, top: CommentedMap) -> tuple[DocumentSpec, ...]:
    """``documents:``: kind -> a PDF file (relative to study.yaml), or -> {file, title, pages}."""
    if top.get("documents") is None:
        return ()
    node = reader.mapping(top["documents"], reader.at(top, "documents", value=True), "documents")
    if node is None:
        return ()
    docs: list[DocumentSpec] = []
    for kind, value in node.items():
        doc = _document(reader, node, str(kind), value)
        if doc is None:
            continue
        same = next((d for d in docs if d.href.lower() == doc.href.lower()), None)
        if same is not None:
            reader.error(
                doc.where,
                f"documents.{kind}.file",
                f"{doc.href!r} is also the file of {same.kind} ({same.where}): the package holds both by file name",
            )
            continue
        docs.append(doc)
    return tuple(docs)


def _document(reader: _Reader, node: CommentedMap, kind: str, value: Any) -> DocumentSpec | None:
    """One entry of ``documents:``; None (the problems reported) when it is unusable."""
    what = f"documents.{kind}"
    if not _FORM_NAME.match(kind):
        reader.error(reader.at(node, kind), what, f"{kind!r} is not a document kind (letters, digits, _ and -)")
        return None
    if isinstance(value, CommentedMap):
        reader.unknown_keys(value, DOCUMENT_KEYS, what)
        file = str(reader.text(value, "file", what))
        where = reader.at(value, "file", value=True) if "file" in value else reader.at(node, kind)
        title = str(reader.text(value, "title", what, required=False))
        pages, page_where = _pages(reader, value, kind, what) if "pages" in value else ({}, {})
    elif isinstance(value, CommentedSeq) or value is None:
        reader.error(
            reader.at(node, kind), what, f"expected a file name or {{file, title, pages}}, found {_kind(value)}"
        )
        return None
    else:
        file, where, title, pages, page_where = str(plain(value)), reader.at(node, kind, value=True), "", {}, {}
    if not file.strip():
        written = value.get("file") if isinstance(value, CommentedMap) else value
        if isinstance(written, str):  # blank text; a missing or non-text file: is reported already
            reader.error(where, f"{what}.file", "give the document's file (a PDF, relative to study.yaml)")
        return None
    if not _document_file(reader, file, where, what):
        return None
    return DocumentSpec(kind, file, where, title, pages, page_where)


def _document_file(reader: _Reader, file: str, where: Location, what: str) -> bool:
    """Whether a document's file is a PDF named relative to study.yaml, inside the study folder."""
    path = PurePosixPath(file.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", file):
        reader.error(where, f"{what}.file", f"{file!r} is not inside the study folder (give it relative to study.yaml)")
        return False
    if path.suffix.lower() != ".pdf":
        reader.error(where, f"{what}.file", f"{file!r} is not a PDF file: documents are submitted as PDF")
        return False
    return True


def _pages(
    reader: _Reader, entry: CommentedMap, kind: str, what: str
) -> tuple[dict[str, tuple[int, ...]], dict[str, Location]]:
    """``pages:`` of the annotated CRF: form -> a page number or a list of them (physical pages, from 1)."""
    if kind != ACRF:
        reader.error(
            reader.at(entry, "pages"), f"{what}.pages", f"only the annotated CRF ({ACRF}) gives the pages of forms"
        )
        return {}, {}
    node = reader.mapping(entry["pages"], reader.at(entry, "pages", value=True), f"{what}.pages")
    pages: dict[str, tuple[int, ...]] = {}
    where: dict[str, Location] = {}
    for form, value in (node or {}).items():
        at = reader.at(node, form, value=True)
        _check_form_name(reader, str(form), reader.at(node, form), f"{what}.pages")
        numbers = list(value) if isinstance(value, CommentedSeq) else [value]
        if not numbers or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers):
            reader.error(
                at, f"{what}.pages.{form}", f"expected a page number or a list of them (from 1), found {plain(value)!r}"
            )
            continue
        if len(set(numbers)) < len(numbers):
            reader.error(at, f"{what}.pages.{form}", "a page is listed twice")
            continue
        pages[str(form)], where[str(form)] = tuple(int(n) for n in numbers), at
    return pages, where


def load_study(folder: Path) -> StudySpec:
    """Load ``folder/study.yaml`` and the domain specs it lists; report every problem at once."""
    from daybreak_sdtm.spec.protocol import read_protocol_checks  # imported here: it builds on this module

    path = folder / STUDY_FILE
    tree = load_yaml(path)
    reader = _Reader(path)
    top = reader.mapping(tree, Location(_display(path), 1, 1), "<file>")
    if top is None:
        raise SpecErrors(reader.errors)
    reader.unknown_keys(top, STUDY_SECTIONS, "<file>")

    def section(key: str) -> CommentedMap:
        if key not in top:
            reader.error(reader.at(top), key, f"missing required section {key!r}")
            return CommentedMap()
        return reader.mapping(top[key], reader.at(top, key), key) or CommentedMap()

    study, standards, export = section("study"), section("standards"), section("export")
    reader.unknown_keys(study, STUDY_KEYS, "study")
    reader.unknown_keys(standards, STANDARDS_KEYS, "standards")
    reader.unknown_keys(export, EXPORT_KEYS, "export")
    date_format = ""
    if export.get("date_format") is not None:
        from daybreak_sdtm.date_formats import DateFormatError, check_format

        try:
            date_format = check_format(reader.text(export, "date_format", "export"))
        except DateFormatError as exc:
            reader.error(reader.at(export, "date_format", value=True), "export.date_format", str(exc))
    encoding = ""
    if export.get("encoding") is not None:
        try:
            encoding = codec_name(reader.text(export, "encoding", "export"))
        except ValueError as exc:
            reader.error(reader.at(export, "encoding", value=True), "export.encoding", str(exc))

    arms: list[ArmSpec] = []
    for i, item in enumerate(reader.sequence(top, "arms", "arms")):
        entry = reader.mapping(item, reader.at(top["arms"], i), "arms")
        if entry is not None:
            reader.unknown_keys(entry, STUDY_ARM_KEYS, "arms")
            arms.append(
                ArmSpec(
                    reader.text(entry, "ARMCD", "arms"),
                    reader.text(entry, "ARM", "arms"),
                    reader.text(entry, "description", "arms", required=False),
                    reader.at(entry),
                )
            )
    epochs: list[EpochSpec] = []
    for i, item in enumerate(reader.sequence(top, "epochs", "epochs")):
        entry = reader.mapping(item, reader.at(top["epochs"], i), "epochs")
        if entry is not None:
            reader.unknown_keys(entry, EPOCH_KEYS, "epochs")
            start_where = reader.at(entry, "start", value=True) if "start" in entry else reader.at(entry)
            if "start" not in entry:
                reader.error(reader.at(entry), "epochs", "missing required key 'start'")
            epochs.append(
                EpochSpec(
                    reader.text(entry, "EPOCH", "epochs"),
                    _epoch_start(reader, entry.get("start"), start_where),
                    reader.at(entry),
                )
            )

    design = None
    if "trial_design" in top:
        from daybreak_sdtm.spec.design import load_trial_design

        design, design_arms = load_trial_design(
            reader, top["trial_design"], reader.at(top, "trial_design", value=True), folder
        )
        if "arms" in top:
            reader.error(
                reader.at(top, "arms"),
                "arms",
                "the study declares its arms under trial_design: arms:, with their elements; remove this section",
            )
        arms = list(design_arms)
        if "epochs" in top:
            reader.error(
                reader.at(top, "epochs"),
                "epochs",
                "with a trial design, each record's EPOCH comes from the "
                "subject's elements (SE) and the arms' epochs (TA); remove this section",
            )

    not_mapped = plain(top.get("forms_not_mapped") or {})
    if not isinstance(not_mapped, dict):
        reader.error(reader.at(top, "forms_not_mapped"), "forms_not_mapped", "expected a mapping form: reason")
        not_mapped = {}
    for form in not_mapped:
        _check_form_name(reader, str(form), reader.at(top["forms_not_mapped"], form), "forms_not_mapped")
    not_collected = plain(top.get("forms_not_collected") or {})
    if not isinstance(not_collected, dict):
        reader.error(reader.at(top, "forms_not_collected"), "forms_not_collected", "expected a mapping form: reason")
        not_collected = {}
    for form, reason in not_collected.items():
        where = reader.at(top["forms_not_collected"], form)
        _check_form_name(reader, str(form), where, "forms_not_collected")
        if not reason:
            reader.error(where, "forms_not_collected", f"give the reason form {form!r} may be missing from the export")
    columns_not_mapped: dict[str, tuple[str, ...]] = {}
    if "columns_not_mapped" in top:
        col_map = reader.mapping(top["columns_not_mapped"], reader.at(top, "columns_not_mapped"), "columns_not_mapped")
        columns_not_mapped = {str(k): _value_list(v) for k, v in (col_map or {}).items()}
    listed = top.get("domains")
    domain_files: tuple[str, ...] = ()
    if isinstance(listed, (CommentedSeq, list)) and all(isinstance(v, str) for v in listed):
        domain_files = tuple(str(v) for v in listed)
    elif listed is not None and not isinstance(listed, (CommentedMap, CommentedSeq, list)):
        domain_files = _value_list(listed)
    if not domain_files:
        where = reader.at(top, "domains", value=True) if "domains" in top else reader.at(top)
        reader.error(where, "domains", "list the domain spec files, e.g. domains: [dm.yaml, ae.yaml]")

    domains: list[DomainSpec] = []
    for i, name in enumerate(domain_files):
        where = reader.at(top["domains"], i) if isinstance(listed, (CommentedSeq, list)) else reader.at(top, "domains")
        try:
            spec_path = (folder / name).resolve()
            if folder.resolve() not in spec_path.parents:
                reader.error(where, "domains", f"{name!r} is outside the study folder")
                continue
            domains.append(load_domain(folder / name))
        except SpecErrors as exc:
            reader.errors.extend(exc.errors)
        except SpecError as exc:
            reader.errors.append(exc)
        except OSError as exc:
            reader.error(where, "domains", f"{name!r} cannot be read as a spec file ({exc.strerror or exc})")
    fields = dict(
        studyid=reader.text(study, "studyid", "study"),
        title=reader.text(study, "title", "study", required=False),
        protocol=reader.text(study, "protocol", "study", required=False),
        sdtmig=reader.text(standards, "sdtmig", "standards"),
        ct=reader.text(standards, "ct", "standards"),
        subject_column=reader.text(export, "subject", "export"),
        cutoff=reader.text(export, "cutoff", "export", required=False),
        encoding=encoding,
        date_format=date_format,
    )
    dictionaries = _dictionaries(reader, study)
    conversions = _unit_conversions(reader, top)
    metadata = _metadata(reader, top, folder)
    protocol_checks = read_protocol_checks(reader, top)
    documents = _documents(reader, top)
    if reader.errors:
        raise SpecErrors(reader.errors)
    return StudySpec(
        trial_design=design,
        folder=folder,
        file=path,
        arms=tuple(arms),
        epochs=tuple(epochs),
        forms_not_mapped={str(k): str(v) for k, v in (not_mapped or {}).items()},
        forms_not_collected={str(k): str(v) for k, v in not_collected.items()},
        columns_not_mapped=columns_not_mapped,
        domains=tuple(domains),
        documents=documents,
        protocol_checks=protocol_checks,
        dictionaries=dictionaries,
        unit_conversions=conversions,
        metadata=metadata,
        **fields,
    )


def metadata_path(folder: Path, named: str = "") -> Path:
    """The study's metadata file: the one study.yaml's ``metadata:`` names, else metadata.yaml beside it."""
    from daybreak_sdtm.spec.metadata import METADATA_FILE

    return folder / (named or METADATA_FILE)


def _metadata(reader: _Reader, top: CommentedMap, folder: Path) -> StudyMetadata | None:
    """The study's metadata file (``spec import`` writes it), when study.yaml names one or one is beside it."""
    from daybreak_sdtm.spec.metadata import load_metadata

    named = reader.text(top, "metadata", "metadata", required=False)
    path = metadata_path(folder, named)
    if named and folder.resolve() not in path.resolve().parents:
        reader.error(reader.at(top, "metadata", value=True), "metadata", f"{named!r} is outside the study folder")
        return None
    if not path.is_file():  # named but not there yet: `spec import` writes it, nothing is changed until then
        return StudyMetadata(path) if named else None
    try:
        return load_metadata(path)
    except SpecErrors as exc:
        reader.errors.extend(exc.errors)
    except SpecError as exc:
        reader.errors.append(exc)
    return None
