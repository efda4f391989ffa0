"""The study's metadata file (``metadata.yaml``): sponsor edits of the define, with their positions.

``spec import`` writes it from a spec workbook or a define.xml (``metadata_yaml``);
``load_study`` reads it once (``load_metadata``) into ``StudySpec.metadata``, and
``define.build_define`` applies it (``define.metadata``). Its sections mirror the spec workbook's
sheets, and name variables (``AE.AETERM``), methods, comments, where clauses and codelists by the
define's OIDs:

```yaml
datasets:
  AE: {label: Adverse Events, comment: COM.AE}
variables:
  AE.AETERM: {label: Reported Term, origin: Collected, source: Investigator, comment: COM.AE.AETERM}
value_level:
  - {dataset: RS, variable: RSORRES, where_clauses: [WC.RS.RSORRES.OVRLRESP], label: Overall response}
where_clauses:
  WC.X: [{dataset: RS, variable: RSTESTCD, comparator: EQ, values: [OVRLRESP]}]
methods:
  MT.AE.AESTDY: {name: Study day, type: Computation, description: AESTDTC - RFSTDTC (+1 on or after)}
comments:
  COM.AE.AETERM: {text: As reported, documents: [LF.acrf]}
codelists:
  CL.AETOXGR: {name: Toxicity Grade, data_type: text, terms: [{term: "1", decode: Mild}]}
```

Only what differs from what the specs and the data give is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from daybreak_sdtm.errors import Location, SpecErrors
from daybreak_sdtm.spec.load import _Reader, load_yaml, plain
from daybreak_sdtm.spec.model import (
    CodelistSpec,
    CommentSpec,
    DatasetEdit,
    ItemEdit,
    MethodSpec,
    StudyMetadata,
    TermSpec,
    ValueLevelEdit,
    VariableEdit,
    WhereCheckSpec,
    WhereClauseSpec,
)
from daybreak_sdtm.text import xpt_label_problem

METADATA_FILE = "metadata.yaml"
SECTIONS = ("datasets", "variables", "value_level", "where_clauses", "methods", "comments", "codelists")
ITEM_KEYS = ("label", "origin", "source", "predecessor", "method", "comment", "codelist")
VALUE_LEVEL_KEYS = (
    "dataset",
    "variable",
    "where_clauses",
    "new",
    "data_type",
    "length",
    "significant_digits",
    "mandatory",
    *ITEM_KEYS,
)
HEADER = (
    "# Edits of the define's metadata (labels, origins, methods, comments, codelists, value level),\n"
    "# written by `daybreak-sdtm spec import`; define.xml applies them over what the specs and the data give.\n"
)


def _section(reader: _Reader, top: CommentedMap, key: str) -> CommentedMap:
    if top.get(key) is None:
        return CommentedMap()
    return reader.mapping(top[key], reader.at(top, key, value=True), key) or CommentedMap()


def _entry(reader: _Reader, node: CommentedMap, key: Any, what: str, allowed: tuple[str, ...]) -> CommentedMap | None:
    entry = reader.mapping(node[key], reader.at(node, key, value=True), what)
    if entry is not None:
        reader.unknown_keys(entry, allowed, what)
    return entry


def _optional(reader: _Reader, entry: CommentedMap, key: str, what: str) -> str | None:
    """A text value when the key is given ("" for an empty one), None when it is not."""
    if key not in entry:
        return None
    return reader.text(entry, key, what, required=False)


def _number(reader: _Reader, entry: CommentedMap, key: str, what: str) -> int | None:
    text = reader.text(entry, key, what, required=False)
    if not text:
        return None
    if not text.isdigit():
        reader.error(reader.at(entry, key, value=True), f"{what}.{key}", f"expected a whole number, found {text!r}")
        return None
    return int(text)


def _item_edit(reader: _Reader, entry: CommentedMap, where: Location, what: str) -> ItemEdit:
    fields = {key: _optional(reader, entry, key, what) for key in ITEM_KEYS}
    return ItemEdit(where, **fields)


def _xpt_label(reader: _Reader, entry: CommentedMap, label: str | None, what: str) -> None:
    """A dataset's or variable's label is also its XPT file's: at most 40 ASCII characters."""
    problem = xpt_label_problem(label) if label else ""
    if problem:
        reader.error(reader.at(entry, "label", value=True), f"{what}.label", f"{problem} (the XPT file holds it too)")


def _split_name(reader: _Reader, name: str, where: Location, what: str) -> tuple[str, str]:
    dataset, dot, variable = name.partition(".")
    if not dot or not dataset or not variable:
        reader.error(where, what, f"{name!r}: name a variable as DATASET.VARIABLE (AE.AETERM)")
    return dataset, variable


def _texts(value: Any) -> tuple[str, ...]:
    value = plain(value)
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple("" if v is None else str(v) for v in value)
    return (str(value),)


def _datasets(reader: _Reader, top: CommentedMap) -> tuple[DatasetEdit, ...]:
    node = _section(reader, top, "datasets")
    out = []
    for name in node:
        entry = _entry(reader, node, name, f"datasets.{name}", ("label", "comment"))
        if entry is not None:
            what = f"datasets.{name}"
            label = _optional(reader, entry, "label", what)
            _xpt_label(reader, entry, label, what)
            out.append(DatasetEdit(str(name), reader.at(node, name), label, _optional(reader, entry, "comment", what)))
    return tuple(out)


def _variables(reader: _Reader, top: CommentedMap) -> tuple[VariableEdit, ...]:
    node = _section(reader, top, "variables")
    out = []
    for name in node:
        what, where = f"variables.{name}", reader.at(node, name)
        entry = _entry(reader, node, name, what, ITEM_KEYS)
        if entry is not None:
            dataset, variable = _split_name(reader, str(name), where, what)
            edit = _item_edit(reader, entry, where, what)
            _xpt_label(reader, entry, edit.label, what)
            out.append(VariableEdit(dataset, variable, edit))
    return tuple(out)


def _value_level(reader: _Reader, top: CommentedMap) -> tuple[ValueLevelEdit, ...]:
    out = []
    for i, item in enumerate(reader.sequence(top, "value_level", "value_level")):
        where, what = reader.at(top["value_level"], i), f"value_level[{i + 1}]"
        entry = reader.mapping(item, where, what)
        if entry is None:
            continue
        reader.unknown_keys(entry, VALUE_LEVEL_KEYS, what)
        clauses = _texts(entry.get("where_clauses"))
        if not clauses:
            reader.error(where, what, "give the OIDs of its where clauses: where_clauses: [WC...]")
        new = entry.get("new", False)
        if not isinstance(new, bool):
            reader.error(reader.at(entry, "new", value=True), f"{what}.new", "expected true or false")
        mandatory = entry.get("mandatory", False)
        out.append(
            ValueLevelEdit(
                reader.text(entry, "dataset", what),
                reader.text(entry, "variable", what),
                clauses,
                _item_edit(reader, entry, where, what),
                new=bool(new),
                data_type=reader.text(entry, "data_type", what, required=bool(new)),
                length=_number(reader, entry, "length", what),
                significant_digits=_number(reader, entry, "significant_digits", what),
                mandatory=mandatory is True,
            )
        )
    return tuple(out)


def _where_clauses(reader: _Reader, top: CommentedMap) -> tuple[WhereClauseSpec, ...]:
    node = _section(reader, top, "where_clauses")
    out = []
    for oid in node:
        what, where = f"where_clauses.{oid}", reader.at(node, oid)
        checks = []
        for i, item in enumerate(reader.sequence(node, oid, what)):
            entry = reader.mapping(item, reader.at(node[oid], i), f"{what}[{i + 1}]")
            if entry is None:
                continue
            reader.unknown_keys(entry, ("dataset", "variable", "comparator", "values"), f"{what}[{i + 1}]")
            checks.append(
                WhereCheckSpec(
                    reader.text(entry, "dataset", what),
                    reader.text(entry, "variable", what),
                    reader.text(entry, "comparator", what),
                    _texts(entry.get("values")),
                )
            )
        if not checks:
            reader.error(where, what, "give at least one condition")
        out.append(WhereClauseSpec(str(oid), tuple(checks), where))
    return tuple(out)


def _methods(reader: _Reader, top: CommentedMap) -> tuple[MethodSpec, ...]:
    node = _section(reader, top, "methods")
    out = []
    for oid in node:
        what = f"methods.{oid}"
        entry = _entry(reader, node, oid, what, ("name", "type", "description"))
        if entry is not None:
            out.append(
                MethodSpec(
                    str(oid),
                    reader.text(entry, "name", what, required=False) or str(oid),
                    reader.text(entry, "type", what, required=False) or "Computation",
                    reader.text(entry, "description", what),
                    reader.at(node, oid),
                )
            )
    return tuple(out)


def _comments(reader: _Reader, top: CommentedMap) -> tuple[CommentSpec, ...]:
    node = _section(reader, top, "comments")
    out = []
    for oid in node:
        what = f"comments.{oid}"
        entry = _entry(reader, node, oid, what, ("text", "documents"))
        if entry is not None:
            out.append(
                CommentSpec(
                    str(oid), reader.text(entry, "text", what), reader.at(node, oid), _texts(entry.get("documents"))
                )
            )
    return tuple(out)


def _codelists(reader: _Reader, top: CommentedMap) -> tuple[CodelistSpec, ...]:
    node = _section(reader, top, "codelists")
    out = []
    for oid in node:
        what = f"codelists.{oid}"
        entry = _entry(reader, node, oid, what, ("name", "data_type", "nci_code", "terminology", "comment", "terms"))
        if entry is None:
            continue
        terms = []
        for i, item in enumerate(reader.sequence(entry, "terms", f"{what}.terms")):
            term = reader.mapping(item, reader.at(entry["terms"], i), f"{what}.terms[{i + 1}]")
            if term is None:
                continue
            reader.unknown_keys(term, ("term", "decode", "nci_code"), f"{what}.terms[{i + 1}]")
            terms.append(
                TermSpec(
                    reader.text(term, "term", what),
                    reader.text(term, "decode", what, required=False),
                    reader.text(term, "nci_code", what, required=False),
                )
            )
        out.append(
            CodelistSpec(
                str(oid),
                reader.text(entry, "name", what),
                reader.text(entry, "data_type", what, required=False) or "text",
                tuple(terms),
                reader.at(node, oid),
                reader.text(entry, "nci_code", what, required=False),
                entry.get("terminology") is True,
                reader.text(entry, "comment", what, required=False),
            )
        )
    return tuple(out)


def load_metadata(path: Path) -> StudyMetadata:
    """Read a study's metadata file; raises SpecErrors listing every structural problem."""
    tree = load_yaml(path)
    reader = _Reader(path)
    if tree is None:  # an empty file changes nothing
        return StudyMetadata(path)
    top = reader.mapping(tree, Location(path.as_posix(), 1, 1), "<file>")
    if top is None:
        raise SpecErrors(reader.errors)
    reader.unknown_keys(top, SECTIONS, "<file>")
    metadata = StudyMetadata(
        path,
        datasets=_datasets(reader, top),
        variables=_variables(reader, top),
        value_level=_value_level(reader, top),
        where_clauses=_where_clauses(reader, top),
        methods=_methods(reader, top),
        comments=_comments(reader, top),
        codelists=_codelists(reader, top),
    )
    if reader.errors:
        raise SpecErrors(reader.errors)
    return metadata


# ---- writing ------------------------------------------------------------------------------------


def _item_fields(edit: ItemEdit) -> dict[str, Any]:
    return {key: getattr(edit, key) for key in ITEM_KEYS if getattr(edit, key) is not None}


def _value_level_entry(vl: ValueLevelEdit) -> dict[str, Any]:
    entry: dict[str, Any] = {"dataset": vl.dataset, "variable": vl.variable, "where_clauses": list(vl.where_clauses)}
    if vl.new:
        entry.update(new=True, data_type=vl.data_type, mandatory=vl.mandatory)
        if vl.length is not None:
            entry["length"] = vl.length
        if vl.significant_digits is not None:
            entry["significant_digits"] = vl.significant_digits
    entry.update(_item_fields(vl.edit))
    return entry


def _codelist_entry(cl: CodelistSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": cl.name, "data_type": cl.data_type}
    if cl.nci_code:
        entry["nci_code"] = cl.nci_code
    if cl.terminology:
        entry["terminology"] = True
    if cl.comment:
        entry["comment"] = cl.comment
    entry["terms"] = [
        {k: v for k, v in (("term", t.term), ("decode", t.decode), ("nci_code", t.nci_code)) if v or k == "term"}
        for t in cl.terms
    ]
    return entry


def metadata_tree(metadata: StudyMetadata) -> dict[str, Any]:
    """The metadata file's content as plain data, only the sections that hold something."""
    tree: dict[str, Any] = {
        "datasets": {
            d.name: {k: v for k, v in (("label", d.label), ("comment", d.comment)) if v is not None}
            for d in metadata.datasets
        },
        "variables": {f"{v.dataset}.{v.variable}": _item_fields(v.edit) for v in metadata.variables},
        "value_level": [_value_level_entry(v) for v in metadata.value_level],
        "where_clauses": {
            w.oid: [
                {"dataset": c.dataset, "variable": c.variable, "comparator": c.comparator, "values": list(c.values)}
                for c in w.checks
            ]
            for w in metadata.where_clauses
        },
        "methods": {m.oid: {"name": m.name, "type": m.type, "description": m.description} for m in metadata.methods},
        "comments": {
            c.oid: {"text": c.text, **({"documents": list(c.documents)} if c.documents else {})}
            for c in metadata.comments
        },
        "codelists": {c.oid: _codelist_entry(c) for c in metadata.codelists},
    }
    return {key: value for key, value in tree.items() if value}


def metadata_yaml(metadata: StudyMetadata) -> str:
    """The metadata file's text: a header, then each section in block style (``{}`` when empty)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # a description stays on its line
    yaml.allow_unicode = True
    yaml.representer.sort_base_mapping_type_on_output = False  # sections and keys in the order written
    out = io.StringIO()
    yaml.dump(metadata_tree(metadata), out)
    return HEADER + out.getvalue()
