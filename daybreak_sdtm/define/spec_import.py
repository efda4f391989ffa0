"""``spec import``: a spec workbook, or a define.xml (2.0 or 2.1), back into the study's metadata.

A workbook in the Pinnacle 21 define template's layout (``define.tables``) is read with openpyxl,
a define.xml with lxml, into the same sheets of rows. They are compared with the rows of the define
the study gives without its metadata file: what a sponsor may edit and differs (labels, origins,
methods, comments, codelists, value-level items) becomes the ``StudyMetadata`` that
``metadata.yaml`` holds; what comes from the data or the standards and differs (lengths, data
types, keys) is reported as not imported. Every problem (a missing sheet, an unknown column, a
variable not in the study, an origin type Define-XML 2.1 does not have, a reference to a method
no sheet defines) is said with its sheet, row and column, or its define.xml line, all at once.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.define.metadata import ORIGIN_SOURCES, ORIGIN_TYPES
from daybreak_sdtm.define.model import ISO8601_TYPES, Define, text_values
from daybreak_sdtm.define.tables import CODELISTS, KEY_COLUMNS, SHEETS, Tables
from daybreak_sdtm.errors import DaybreakError, ExitStatus, Location, suggest
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

# Columns a sponsor edits, by sheet; the others come from the data, the specs or the standards.
ITEM_COLUMNS = {
    "Label": "label",
    "Origin": "origin",
    "Source": "source",
    "Predecessor": "predecessor",
    "Method": "method",
    "Comment": "comment",
    "Codelist": "codelist",
}
# Columns neither compared nor kept: free text of the template the define has no place for.
IGNORED = ("Developer Notes", "Assigned Value", "Common", "SubClass", "Standard")
DATA_TYPES = ("text", "integer", "float", "time", "partialTime", *ISO8601_TYPES)
METHOD_TYPES = ("Computation", "Imputation", "Transpose", "Other")
COMPARATORS = ("EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOTIN")
# Define-XML 2.0 origin types and the 2.1 type and source they stand for.
ORIGINS_20 = {
    "CRF": ("Collected", "Investigator"),
    "eDT": ("Collected", "Vendor"),
    "Derived": ("Derived", "Sponsor"),
    "Assigned": ("Assigned", "Sponsor"),
    "Protocol": ("Protocol", "Sponsor"),
    "Predecessor": ("Predecessor", ""),
}


class ImportErrors(DaybreakError):
    """The workbook or define.xml cannot be imported: every problem, one a line; nothing is written."""

    exit_status = ExitStatus.INVALID_INPUT

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def lines(self) -> list[str]:
        return self.problems


@dataclass(frozen=True)
class SheetRow:
    """One row as read: its cells as text, and where it is (for messages)."""

    values: dict[str, str]
    place: str  # "spec.xlsx, sheet Variables, row 12" or "define.xml:140: ItemDef IT.AE.AETERM"
    cells: dict[str, str] = field(default_factory=dict)  # column -> cell reference (D12)
    line: int = 0  # the row's number in its sheet, or its define.xml line

    def at(self, column: str) -> str:
        """The place of one of its cells."""
        cell = self.cells.get(column)
        return f"{self.place}, column {column} ({cell})" if cell else f"{self.place}, column {column}"

    def get(self, column: str) -> str:
        return self.values.get(column, "")


Sheets = dict[str, list[SheetRow]]


def cell_text(value: Any) -> str:
    """A cell's value as the define's text: whole numbers without a decimal point, blanks as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


# ---- reading a workbook -------------------------------------------------------------------------


def read_workbook(path: Path) -> Sheets:
    """The sheets of a spec workbook; raises ImportErrors for a missing sheet, an unknown or missing column."""
    import openpyxl  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, InvalidFileException) as exc:
        raise ImportErrors([f"{path}: cannot be read as an Excel workbook ({exc})"]) from None
    problems: list[str] = []
    sheets: Sheets = {}
    try:
        for name, columns in SHEETS.items():
            if name not in book.sheetnames:
                problems.append(
                    f"{path}: sheet {name} is missing (a spec workbook has the sheets {', '.join(SHEETS)})"
                    + (f"; {suggest(name, book.sheetnames)}" if suggest(name, book.sheetnames) else "")
                )
                continue
            rows = book[name].iter_rows(values_only=True)
            header = [cell_text(v) for v in next(rows, ())]
            index: dict[str, int] = {}
            for i, column in enumerate(header):
                if not column:
                    continue
                cell = f"{get_column_letter(i + 1)}1"
                if column not in columns:
                    hint = suggest(column, columns)
                    problems.append(
                        f"{path}, sheet {name}, column {column!r} ({cell}): unknown column"
                        + (f"; {hint}" if hint else f" (the sheet's columns: {', '.join(columns)})")
                    )
                elif column in index:
                    problems.append(f"{path}, sheet {name}, column {column!r} ({cell}): given twice")
                else:
                    index[column] = i
            for column in KEY_COLUMNS[name]:
                if column not in index:
                    problems.append(f"{path}, sheet {name}: column {column!r} is missing")
            out = []
            for number, values in enumerate(rows, start=2):
                texts = {c: cell_text(values[i]) if i < len(values) else "" for c, i in index.items()}
                if not any(texts.values()):
                    continue
                cells = {c: f"{get_column_letter(i + 1)}{number}" for c, i in index.items()}
                out.append(SheetRow(texts, f"{path}, sheet {name}, row {number}", cells, number))
            sheets[name] = out
    finally:
        book.close()
    if problems:
        raise ImportErrors(problems)
    return sheets


# ---- reading a define.xml -----------------------------------------------------------------------

ODM = "http://www.cdisc.org/ns/odm/v1.3"
XLINK = "http://www.w3.org/1999/xlink"
DEF_NS = {"2.0": "http://www.cdisc.org/ns/def/v2.0", "2.1": "http://www.cdisc.org/ns/def/v2.1"}


class _Xml:
    """Namespaced lookups in one define.xml."""

    def __init__(self, path: Path, root: Any, version: str) -> None:
        self.path, self.root, self.version = path, root, version
        self.ns = {"odm": ODM, "def": DEF_NS[version], "xlink": XLINK}

    def all(self, node: Any, path: str) -> list[Any]:
        return list(node.xpath(path, namespaces=self.ns))

    def first(self, node: Any, path: str) -> Any:
        found = self.all(node, path)
        return found[0] if found else None

    def attr(self, node: Any, name: str) -> str:
        if node is None:
            return ""
        prefix, _, local = name.rpartition(":")
        key = f"{{{self.ns[prefix]}}}{local}" if prefix else local
        return str(node.get(key, "")).strip()

    def text(self, node: Any, path: str = "odm:Description/odm:TranslatedText") -> str:
        found = self.first(node, path) if node is not None else None
        return " ".join((found.text or "").split()) if found is not None else ""

    def row(self, node: Any, what: str, values: dict[str, str]) -> SheetRow:
        line = node.sourceline or 0
        return SheetRow(values, f"{self.path}:{line}: {what}", line=line)


def _parse_define(path: Path) -> _Xml:
    from lxml import etree

    try:
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except (OSError, etree.XMLSyntaxError) as exc:
        raise ImportErrors([f"{path}: cannot be read as XML ({exc})"]) from None
    root = tree.getroot()
    namespaces = set(root.nsmap.values()) | {n for el in root.iter() for n in el.nsmap.values()}
    version = next((v for v, ns in DEF_NS.items() if ns in namespaces), "")
    if root.tag != f"{{{ODM}}}ODM" or not version:
        raise ImportErrors([f"{path}: not a Define-XML 2.0 or 2.1 document (an ODM 1.3 root with the def namespace)"])
    return _Xml(path, root, version)


def _origin(x: _Xml, item: Any) -> dict[str, str]:
    origin = x.first(item, "def:Origin")
    if origin is None:
        return {"Origin": "", "Source": "", "Predecessor": "", "Pages": ""}
    kind, source = x.attr(origin, "Type"), x.attr(origin, "Source")
    if x.version == "2.0" and kind in ORIGINS_20:
        kind, source = ORIGINS_20[kind]
    pages = " ".join(x.attr(p, "PageRefs") for p in x.all(origin, "def:DocumentRef/def:PDFPageRef"))
    return {"Origin": kind, "Source": source, "Predecessor": x.text(origin), "Pages": pages.strip()}


def _item_values(x: _Xml, item: Any, ref: Any) -> dict[str, str]:
    return {
        "Label": x.text(item),
        "Data Type": x.attr(item, "DataType"),
        "Length": x.attr(item, "Length"),
        "Significant Digits": x.attr(item, "SignificantDigits"),
        "Format": x.attr(item, "def:DisplayFormat"),
        "Mandatory": x.attr(ref, "Mandatory"),
        "Codelist": x.attr(x.first(item, "odm:CodeListRef"), "CodeListOID"),
        **_origin(x, item),
        "Method": x.attr(ref, "MethodOID"),
        "Has No Data": "Yes" if x.attr(ref, "def:HasNoData") == "Yes" else "",
        "Comment": x.attr(item, "def:CommentOID"),
    }


def read_define(path: Path) -> Sheets:
    """The sheets of an existing define.xml (2.0 or 2.1), as a workbook of its metadata would hold them."""
    x = _parse_define(path)
    mdv = x.first(x.root, "odm:Study/odm:MetaDataVersion")
    if mdv is None:
        raise ImportErrors([f"{path}: no MetaDataVersion"])
    items = {x.attr(i, "OID"): i for i in x.all(mdv, "odm:ItemDef")}
    groups = x.all(mdv, "odm:ItemGroupDef")
    dataset_of = {x.attr(r, "ItemOID"): x.attr(g, "Name") for g in groups for r in x.all(g, "odm:ItemRef")}
    sheets: Sheets = {name: [] for name in SHEETS}
    glob = x.first(x.root, "odm:Study/odm:GlobalVariables")
    for attribute in ("StudyName", "StudyDescription", "ProtocolName"):
        node = x.first(glob, f"odm:{attribute}") if glob is not None else None
        if node is not None:
            value = " ".join((node.text or "").split())
            sheets["Study"].append(x.row(node, attribute, {"Attribute": attribute, "Value": value}))
    for g in groups:
        name = x.attr(g, "Name")
        klass = x.attr(x.first(g, "def:Class"), "Name") if x.version == "2.1" else x.attr(g, "def:Class")
        refs = x.all(g, "odm:ItemRef")
        keys = sorted((int(x.attr(r, "KeySequence")), x.attr(r, "ItemOID")) for r in refs if x.attr(r, "KeySequence"))
        sheets["Datasets"].append(
            x.row(
                g,
                f"ItemGroupDef {name}",
                {
                    "Dataset": name,
                    "Label": x.text(g) or x.attr(g, "def:Label"),
                    "Class": klass,
                    "Structure": x.attr(g, "def:Structure"),
                    "Key Variables": ", ".join(x.attr(items.get(oid), "Name") for _, oid in keys),
                    "Has No Data": "Yes" if x.attr(g, "def:HasNoData") == "Yes" else "",
                    "Repeating": x.attr(g, "Repeating"),
                    "Reference Data": x.attr(g, "IsReferenceData") or "No",
                    "Comment": x.attr(g, "def:CommentOID"),
                },
            )
        )
        for ref in refs:
            item = items.get(x.attr(ref, "ItemOID"))
            values = {"Order": x.attr(ref, "OrderNumber"), "Dataset": name, "Role": x.attr(ref, "Role")}
            values["Variable"] = x.attr(item, "Name") if item is not None else x.attr(ref, "ItemOID")
            if item is not None:
                values.update(_item_values(x, item, ref))
            sheets["Variables"].append(x.row(ref, f"ItemRef {x.attr(ref, 'ItemOID')} of {name}", values))
    parents = {x.attr(x.first(i, "def:ValueListRef"), "ValueListOID"): i for i in items.values()}
    for vl in x.all(mdv, "def:ValueListDef"):
        parent = parents.get(x.attr(vl, "OID"))
        for ref in x.all(vl, "odm:ItemRef"):
            item = items.get(x.attr(ref, "ItemOID"))
            values = {
                "Order": x.attr(ref, "OrderNumber"),
                "Dataset": dataset_of.get(x.attr(parent, "OID"), ""),
                "Variable": x.attr(parent, "Name"),
                "Where Clause": ", ".join(x.attr(w, "WhereClauseOID") for w in x.all(ref, "def:WhereClauseRef")),
            }
            if item is not None:
                values.update(_item_values(x, item, ref))
            sheets["ValueLevel"].append(x.row(ref, f"ItemRef {x.attr(ref, 'ItemOID')} of {x.attr(vl, 'OID')}", values))
    for wc in x.all(mdv, "def:WhereClauseDef"):
        for check in x.all(wc, "odm:RangeCheck"):
            item_oid = x.attr(check, "def:ItemOID")
            for value in x.all(check, "odm:CheckValue"):
                values = {
                    "ID": x.attr(wc, "OID"),
                    "Dataset": dataset_of.get(item_oid, ""),
                    "Variable": x.attr(items.get(item_oid), "Name") or item_oid,
                    "Comparator": x.attr(check, "Comparator"),
                    "Value": value.text or "",
                }
                sheets["WhereClauses"].append(x.row(value, f"WhereClauseDef {x.attr(wc, 'OID')}", values))
    standards = {
        x.attr(s, "OID"): f"{x.attr(s, 'Name')} {x.attr(s, 'Version')}"
        for s in x.all(mdv, "def:Standards/def:Standard")
    }
    for cl in x.all(mdv, "odm:CodeList"):
        _read_codelist(x, cl, standards, sheets)
    for m in x.all(mdv, "odm:MethodDef"):
        expression = x.first(m, "odm:FormalExpression")
        values = {
            "ID": x.attr(m, "OID"),
            "Name": x.attr(m, "Name"),
            "Type": x.attr(m, "Type"),
            "Description": x.text(m),
            "Expression Context": x.attr(expression, "Context"),
            "Expression Code": (expression.text or "").strip() if expression is not None else "",
            "Document": ", ".join(x.attr(d, "leafID") for d in x.all(m, "def:DocumentRef")),
        }
        sheets["Methods"].append(x.row(m, f"MethodDef {values['ID']}", values))
    for c in x.all(mdv, "def:CommentDef"):
        values = {
            "ID": x.attr(c, "OID"),
            "Description": x.text(c),
            "Document": ", ".join(x.attr(d, "leafID") for d in x.all(c, "def:DocumentRef")),
        }
        sheets["Comments"].append(x.row(c, f"CommentDef {values['ID']}", values))
    for leaf in x.all(mdv, "def:leaf"):
        values = {"ID": x.attr(leaf, "ID"), "Title": x.text(leaf, "def:title"), "Href": x.attr(leaf, "xlink:href")}
        sheets["Documents"].append(x.row(leaf, f"leaf {values['ID']}", values))
    return sheets


def _read_codelist(x: _Xml, cl: Any, standards: dict[str, str], sheets: Sheets) -> None:
    oid = x.attr(cl, "OID")
    external = x.first(cl, "odm:ExternalCodeList")
    if external is not None:
        values = {
            "ID": oid,
            "Name": x.attr(cl, "Name"),
            "Data Type": x.attr(cl, "DataType"),
            "Dictionary": x.attr(external, "Dictionary"),
            "Version": x.attr(external, "Version"),
        }
        sheets["Dictionaries"].append(x.row(cl, f"CodeList {oid}", values))
        return
    head = {
        "ID": oid,
        "Name": x.attr(cl, "Name"),
        "NCI Codelist Code": x.attr(x.first(cl, "odm:Alias[@Context='nci:ExtCodeID']"), "Name"),
        "Data Type": x.attr(cl, "DataType"),
        "Terminology": standards.get(x.attr(cl, "def:StandardOID"), ""),
        "Comment": x.attr(cl, "def:CommentOID"),
    }
    for order, term in enumerate(x.all(cl, "odm:CodeListItem | odm:EnumeratedItem"), start=1):
        decoded = term.tag == f"{{{ODM}}}CodeListItem"
        values = {
            **head,
            "Order": x.attr(term, "OrderNumber") or str(order),
            "Term": x.attr(term, "CodedValue"),
            "NCI Term Code": x.attr(x.first(term, "odm:Alias[@Context='nci:ExtCodeID']"), "Name"),
            "Decoded Value": x.text(term, "odm:Decode/odm:TranslatedText") if decoded else "",
        }
        sheets["Codelists"].append(x.row(term, f"CodeList {oid}", values))


# ---- comparing with the define ------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class _Compare:
    """The rows read and the define's rows, and what comparing them finds."""

    base: Tables
    got: Sheets
    file: Path
    terminology: str
    held: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # codelist -> term held -> DS.VAR
    problems: list[str] = field(default_factory=list)
    differences: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (sheet, column) -> rows
    missing: dict[str, list[str]] = field(default_factory=dict)  # sheet -> keys of the define's rows not read

    def problem(self, row: SheetRow, column: str, text: str, hint: str = "") -> None:
        self.problems.append(f"{row.at(column)}: {text}" + (f"; {hint}" if hint else ""))

    def differs(self, sheet: str, column: str, row: SheetRow, what: str) -> None:
        self.differences.setdefault((sheet, column), []).append(f"{what} (line {row.line})" if row.line else what)

    def where(self, row: SheetRow) -> Location:
        """Where an edit was read from: the metadata file records the workbook or define.xml row."""
        return Location(str(self.file), row.line)

    def ids(self, sheet: str) -> set[str]:
        return {r.get("ID") for r in self.got.get(sheet, [])}


def _by(rows: Iterable[dict[str, Any]], *columns: str) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(_text(r.get(c)) for c in columns): r for r in rows}


def _other_columns(
    c: _Compare, sheet: str, row: SheetRow, base: dict[str, Any], editable: Iterable[str], what: str
) -> None:
    """Columns that are not imported: a value other than the define's is reported, not kept."""
    for column, value in row.values.items():
        if column in editable or column in IGNORED or column in KEY_COLUMNS[sheet]:
            continue
        # Pages of the annotated CRF come from study.yaml's documents: a different one is reported.
        if column in base and value != _text(base[column]):
            c.differs(sheet, column, row, what)


def _item_edit(c: _Compare, sheet: str, row: SheetRow, base: dict[str, Any] | None) -> ItemEdit:
    """The edited columns of a variable or value-level row (all of them for a new row), checked."""
    origin, source = row.get("Origin"), row.get("Source")
    if "Origin" in row.values and origin and origin not in ORIGIN_TYPES:
        c.problem(
            row,
            "Origin",
            f"{origin!r} is not a Define-XML 2.1 origin type ({', '.join(ORIGIN_TYPES)})",
            _origin_hint(origin),
        )
    if "Source" in row.values and source and source not in ORIGIN_SOURCES:
        c.problem(row, "Source", f"{source!r} is not a Define-XML 2.1 origin source ({', '.join(ORIGIN_SOURCES)})")
    for column, sheet_of, what in (("Method", "Methods", "method"), ("Comment", "Comments", "comment")):
        oid = row.get(column)
        if oid and oid not in c.ids(sheet_of):
            c.problem(row, column, f"{oid!r} is not a {what} of sheet {sheet_of}")
    codelist = row.get("Codelist")
    if codelist and codelist not in c.ids("Codelists") | c.ids("Dictionaries"):
        c.problem(row, "Codelist", f"{codelist!r} is not a codelist of sheet Codelists or Dictionaries")
    fields = {
        key: row.get(column)
        for column, key in ITEM_COLUMNS.items()
        if column in row.values and (base is None or row.get(column) != _text(base.get(column)))
    }
    return ItemEdit(c.where(row), **fields)


def _origin_hint(kind: str) -> str:
    if kind in ORIGINS_20:
        return f"Define-XML 2.1 says {ORIGINS_20[kind][0]!r} (source {ORIGINS_20[kind][1] or 'none'})"
    return suggest(kind, ORIGIN_TYPES)


def _edited(edit: ItemEdit) -> bool:
    return any(getattr(edit, key) is not None for key in ITEM_COLUMNS.values())


def _check_label(c: _Compare, row: SheetRow, label: str | None) -> None:
    """An edited dataset or variable label is also the label of the XPT file: 40 ASCII characters at most."""
    problem = xpt_label_problem(label) if label is not None else ""
    if problem:
        c.problem(
            row,
            "Label",
            f"{problem}, and the label is written to the XPT file too (FDA Study Data Technical Conformance Guide)",
        )


def _datasets(c: _Compare) -> tuple[DatasetEdit, ...]:
    base = _by(c.base["Datasets"], "Dataset")
    out = []
    for row in c.got["Datasets"]:
        name = row.get("Dataset")
        known = base.get((name,))
        if known is None:
            c.problem(row, "Dataset", f"{name!r} is not a dataset of the study", suggest(name, [k[0] for k in base]))
            continue
        comment = row.get("Comment")
        if comment and comment not in c.ids("Comments"):
            c.problem(row, "Comment", f"{comment!r} is not a comment of sheet Comments")
        label = row.get("Label") if "Label" in row.values and row.get("Label") != known["Label"] else None
        _check_label(c, row, label)
        new_comment = comment if "Comment" in row.values and comment != known["Comment"] else None
        _other_columns(c, "Datasets", row, known, ("Label", "Comment"), name)
        if label is not None or new_comment is not None:
            out.append(DatasetEdit(name, c.where(row), label, new_comment))
    return tuple(out)


def _variables(c: _Compare) -> tuple[VariableEdit, ...]:
    base = _by(c.base["Variables"], "Dataset", "Variable")
    datasets = {k[0] for k in base}
    out, seen = [], set()
    for row in c.got["Variables"]:
        key = (row.get("Dataset"), row.get("Variable"))
        known = base.get(key)
        if known is None:
            if key[0] not in datasets:
                c.problem(
                    row, "Dataset", f"{key[0]!r} is not a dataset of the study", suggest(key[0], sorted(datasets))
                )
            else:
                names = [k[1] for k in base if k[0] == key[0]]
                c.problem(row, "Variable", f"{key[0]}.{key[1]} is not a variable of the study", suggest(key[1], names))
            continue
        if key in seen:
            c.problem(row, "Variable", f"{key[0]}.{key[1]} is listed twice")
        seen.add(key)
        edit = _item_edit(c, "Variables", row, known)
        _check_label(c, row, edit.label)
        _other_columns(c, "Variables", row, known, ITEM_COLUMNS, f"{key[0]}.{key[1]}")
        if _edited(edit):
            out.append(VariableEdit(key[0], key[1], edit))
    return tuple(out)


def _whole(c: _Compare, row: SheetRow, column: str) -> int | None:
    text = row.get(column)
    if not text:
        return None
    if not text.isdigit():
        c.problem(row, column, f"expected a whole number, found {text!r}")
        return None
    return int(text)


def _value_level(c: _Compare) -> tuple[ValueLevelEdit, ...]:
    base = _by(c.base["ValueLevel"], "Dataset", "Variable", "Where Clause")
    variables = _by(c.base["Variables"], "Dataset", "Variable")
    out = []
    for row in c.got["ValueLevel"]:
        clauses = tuple(w.strip() for w in row.get("Where Clause").split(",") if w.strip())
        key = (row.get("Dataset"), row.get("Variable"), ", ".join(clauses))
        what = f"{key[0]}.{key[1]} where {key[2]}"
        if key[:2] not in variables:
            c.problem(row, "Variable", f"{key[0]}.{key[1]} is not a variable of the study")
            continue
        if not clauses:
            c.problem(row, "Where Clause", "give the ID of its where clause (sheet WhereClauses)")
            continue
        for oid in clauses:
            if oid not in c.ids("WhereClauses"):
                c.problem(row, "Where Clause", f"{oid!r} is not a where clause of sheet WhereClauses")
        known = base.get(key)
        edit = _item_edit(c, "ValueLevel", row, known)
        if known is not None:
            _other_columns(c, "ValueLevel", row, known, ITEM_COLUMNS, what)
            if _edited(edit):
                out.append(ValueLevelEdit(key[0], key[1], clauses, edit))
            continue
        data_type = row.get("Data Type")
        if data_type not in DATA_TYPES:
            c.problem(row, "Data Type", f"{data_type!r} is not a Define-XML data type", suggest(data_type, DATA_TYPES))
        mandatory = row.get("Mandatory") or "No"
        if mandatory not in ("Yes", "No"):
            c.problem(row, "Mandatory", f"expected Yes or No, found {mandatory!r}")
        out.append(
            ValueLevelEdit(
                key[0],
                key[1],
                clauses,
                edit,
                new=True,
                data_type=data_type,
                length=_whole(c, row, "Length"),
                significant_digits=_whole(c, row, "Significant Digits"),
                mandatory=mandatory == "Yes",
            )
        )
    return tuple(out)


def _grouped(rows: Iterable[Any], key: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for row in rows:
        out.setdefault(_text(row.get(key)), []).append(row)
    return out


def _compared(rows: Iterable[Any], columns: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(_text(r.get(col)) for col in columns) for r in rows]


def _referenced(c: _Compare, column: str, sheets: Sequence[str]) -> set[str]:
    found = set()
    for sheet in sheets:
        for row in c.got.get(sheet, []):
            found |= {v.strip() for v in row.get(column).split(",") if v.strip()}
    return found


def _where_clauses(c: _Compare) -> tuple[WhereClauseSpec, ...]:
    base = _grouped(c.base["WhereClauses"], "ID")
    variables = _by(c.base["Variables"], "Dataset", "Variable")
    used = _referenced(c, "Where Clause", ("ValueLevel",))
    columns = ("Dataset", "Variable", "Comparator", "Value")
    out = []
    for oid, rows in _grouped(c.got["WhereClauses"], "ID").items():
        for row in rows:
            if (row.get("Dataset"), row.get("Variable")) not in variables:
                c.problem(row, "Variable", f"{row.get('Dataset')}.{row.get('Variable')} is not a variable of the study")
            if row.get("Comparator") not in COMPARATORS:
                c.problem(row, "Comparator", f"{row.get('Comparator')!r} is not one of {', '.join(COMPARATORS)}")
        if oid in base and _compared(rows, columns) == _compared(base[oid], columns):
            continue
        if oid not in used:
            c.differs("WhereClauses", "ID", rows[0], f"{oid} (used by no value-level row)")
            continue
        checks: list[WhereCheckSpec] = []
        for row in rows:
            head = (row.get("Dataset"), row.get("Variable"), row.get("Comparator"))
            if checks and (checks[-1].dataset, checks[-1].variable, checks[-1].comparator) == head:
                checks[-1] = WhereCheckSpec(*head, (*checks[-1].values, row.get("Value")))
            else:
                checks.append(WhereCheckSpec(*head, (row.get("Value"),)))
        out.append(WhereClauseSpec(oid, tuple(checks), c.where(rows[0])))
    return tuple(out)


def _methods(c: _Compare) -> tuple[MethodSpec, ...]:
    base = _by(c.base["Methods"], "ID")
    used = _referenced(c, "Method", ("Variables", "ValueLevel"))
    out = []
    for row in c.got["Methods"]:
        oid, kind = row.get("ID"), row.get("Type") or "Computation"
        if kind not in METHOD_TYPES:
            c.problem(row, "Type", f"{kind!r} is not a Define-XML method type ({', '.join(METHOD_TYPES)})")
        known = base.get((oid,))
        for column in ("Expression Context", "Expression Code", "Document", "Pages"):
            if row.get(column):
                c.differs("Methods", column, row, oid)
        if known is not None and all(row.get(k) == _text(known[k]) for k in ("Name", "Type", "Description")):
            continue
        if oid not in used:
            c.differs("Methods", "ID", row, f"{oid} (used by no variable)")
            continue
        out.append(MethodSpec(oid, row.get("Name") or oid, kind, row.get("Description"), c.where(row)))
    return tuple(out)


def _comments(c: _Compare) -> tuple[CommentSpec, ...]:
    base = _by(c.base["Comments"], "ID")
    documents = {_text(d["ID"]) for d in c.base["Documents"]}
    used = _referenced(c, "Comment", ("Datasets", "Variables", "ValueLevel", "Codelists", "WhereClauses"))
    out = []
    for row in c.got["Comments"]:
        oid = row.get("ID")
        leaves = tuple(d.strip() for d in row.get("Document").split(",") if d.strip())
        for leaf in leaves:
            if leaf not in documents:
                c.problem(row, "Document", f"{leaf!r} is not a document of the study", suggest(leaf, sorted(documents)))
        if row.get("Pages"):
            c.differs("Comments", "Pages", row, oid)
        known = base.get((oid,))
        if (
            known is not None
            and row.get("Description") == known["Description"]
            and ", ".join(leaves) == known["Document"]
        ):
            continue
        if oid not in used:
            c.differs("Comments", "ID", row, f"{oid} (used by nothing)")
            continue
        out.append(CommentSpec(oid, row.get("Description"), c.where(row), leaves))
    return tuple(out)


CODELIST_COLUMNS = tuple(c for c in CODELISTS if c not in ("ID", "Developer Notes"))  # compared per term


def _codelists(c: _Compare) -> tuple[CodelistSpec, ...]:
    base = _grouped(c.base["Codelists"], "ID")
    used = _referenced(c, "Codelist", ("Variables", "ValueLevel"))
    out = []
    for oid, rows in _grouped(c.got["Codelists"], "ID").items():
        first = rows[0]
        terminology = first.get("Terminology")
        if terminology and terminology != c.terminology:
            c.problem(
                first, "Terminology", f"{terminology!r}: a codelist is of the study's CT ({c.terminology}) or blank"
            )
        comment = first.get("Comment")
        if comment and comment not in c.ids("Comments"):
            c.problem(first, "Comment", f"{comment!r} is not a comment of sheet Comments")
        ordered = sorted(rows, key=lambda r: int(r.get("Order")) if r.get("Order").isdigit() else len(rows) + 1)
        columns = [col for col in CODELIST_COLUMNS if col in first.values]
        if oid in base and _compared(ordered, columns) == _compared(base[oid], columns):
            continue
        if oid not in used:
            c.differs("Codelists", "ID", first, f"{oid} (used by no variable)")
            continue
        _held_terms_kept(c, oid, first, {r.get("Term") for r in rows})
        terms = tuple(TermSpec(r.get("Term"), r.get("Decoded Value"), r.get("NCI Term Code")) for r in ordered)
        out.append(
            CodelistSpec(
                oid,
                first.get("Name") or oid,
                first.get("Data Type") or "text",
                terms,
                c.where(first),
                first.get("NCI Codelist Code"),
                bool(terminology),
                comment,
            )
        )
    return tuple(out)


def _held_terms_kept(c: _Compare, oid: str, first: SheetRow, terms: set[str]) -> None:
    """A codelist's terms the data hold stay: deleting one would make the define wrong."""
    deleted = {t: where for t, where in c.held.get(oid, {}).items() if t not in terms}
    if deleted:
        shown = ", ".join(f"{t!r} ({where})" for t, where in sorted(deleted.items()))
        c.problem(
            first,
            "Term",
            f"codelist {oid}: term(s) {shown} are not in the sheet, but the data hold them: "
            "a codelist lists every term its variables hold (give the rows back, or map the data otherwise)",
        )


# Rows of the define a workbook cannot delete, by sheet: what identifies one, and why it stays.
KEPT = {
    "Datasets": (("Dataset",), "a dataset of the study is kept (study.yaml lists its domain specs)"),
    "Variables": (
        ("Dataset", "Variable"),
        "a variable the domain spec, SDTMIG or the data give is kept (remove it from the domain spec)",
    ),
    "ValueLevel": (
        ("Dataset", "Variable", "Where Clause"),
        "a value-level item the specs and the data give is kept (change the domain spec's value-level cases)",
    ),
    "Study": (("Attribute",), "kept (edit {0})"),
    "Dictionaries": (("ID",), "kept (edit {0})"),
    "Documents": (("ID",), "kept (edit {0})"),
}


def _deleted_rows(c: _Compare) -> None:
    """The define's rows the workbook (or define.xml) does not have: what the specs, the standards or
    the data give stays and is listed as a note. Rows a sponsor added are not in the define the
    specs give, so deleting them deletes them: the metadata file is made anew from what is read."""

    def clauses(text: str) -> str:  # "WC.A,WC.B" as the define's rows say it: "WC.A, WC.B"
        return ", ".join(w.strip() for w in text.split(",") if w.strip())

    for sheet, (key, _) in KEPT.items():
        if sheet == "Study" and c.file.suffix.lower() == ".xml":
            continue  # a define.xml says some of the Study sheet's attributes elsewhere, or not at all
        read = {tuple(clauses(row.get(k)) if k == "Where Clause" else row.get(k) for k in key) for row in c.got[sheet]}
        for known in _by(c.base[sheet], *key):
            if known not in read:
                shown = f"{known[0]}.{known[1]}" if len(known) > 1 else known[0]
                shown += f" where {known[2]}" if len(known) > 2 else ""
                c.missing.setdefault(sheet, []).append(shown)


def _unchanged_sheets(c: _Compare) -> None:
    """Study, Dictionaries and Documents come from study.yaml: a difference is reported, not kept."""
    for sheet, key in (("Study", "Attribute"), ("Dictionaries", "ID"), ("Documents", "ID")):
        base = _by(c.base[sheet], key)
        for row in c.got.get(sheet, []):
            known = base.get((row.get(key),))
            if known is None:
                c.differs(sheet, key, row, row.get(key))
                continue
            for column, value in row.values.items():
                if column in known and value != _text(known[column]):
                    c.differs(sheet, column, row, row.get(key))


NOT_IMPORTED = {
    "Study": "study.yaml's study: section",
    "Dictionaries": "study.yaml's study: dictionaries:",
    "Documents": "study.yaml's documents:",
}


def _notes(c: _Compare) -> list[str]:
    notes = []
    for sheet, keys in c.missing.items():
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        why = KEPT[sheet][1].format(NOT_IMPORTED.get(sheet, ""))
        notes.append(f"{sheet}: {len(keys)} row(s) of the define are not in {c.file.name}, not deleted: {why}: {shown}")
    for (sheet, column), rows in c.differences.items():
        shown = ", ".join(rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        if column == "ID":
            why = (
                "not kept: nothing refers to it"
                if sheet not in NOT_IMPORTED
                else f"not imported (edit {NOT_IMPORTED[sheet]})"
            )
        elif sheet in NOT_IMPORTED:
            why = f"not imported (edit {NOT_IMPORTED[sheet]})"
        else:
            why = "not imported: it comes from the data, the specs or the standards"
        notes.append(f"{sheet} {column}: {len(rows)} row(s) differ from the define, {why}: {shown}")
    return notes


def compare_with_define(
    base: Tables,
    got: Sheets,
    file: Path,
    terminology: str,
    target: Path,
    held: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[StudyMetadata, list[str]]:
    """The study metadata that makes the define say what ``got`` says, and notes on what is not imported.

    ``base`` is the define's rows without the study's metadata file, ``file`` the workbook or
    define.xml read, ``target`` the metadata file to be written, ``held`` the terms the data hold
    of each codelist (``held_terms``). Raises ImportErrors with every problem.
    """
    c = _Compare(base, {name: got.get(name, []) for name in SHEETS}, file, terminology, held or {})
    metadata = StudyMetadata(
        target,
        datasets=_datasets(c),
        variables=_variables(c),
        value_level=_value_level(c),
        where_clauses=_where_clauses(c),
        methods=_methods(c),
        comments=_comments(c),
        codelists=_codelists(c),
    )
    _unchanged_sheets(c)
    _deleted_rows(c)
    if c.problems:
        raise ImportErrors(c.problems)
    return metadata, _notes(c)


def held_terms(define: Define, datasets: Iterable[Dataset]) -> dict[str, dict[str, str]]:
    """Codelist OID -> each of its terms a variable's data hold -> that variable (``AE.AESER``).

    Judged on the variables' own codelists (value-level subsets are not): a term the data hold
    cannot be deleted from its codelist by a workbook.
    """
    by_name = {ds.name: ds for ds in datasets}
    terms = {cl.oid: {t.coded_value for t in cl.items} for cl in define.codelists}
    out: dict[str, dict[str, str]] = {}
    for item in define.items:
        ds = by_name.get(item.dataset)
        if not item.codelist_oid or item.oid != f"IT.{item.dataset}.{item.name}" or ds is None:
            continue
        if item.name not in ds.frame.columns or ds.frame[item.name].dtype != object:
            continue
        listed = terms.get(item.codelist_oid, set())
        for value in text_values(ds.frame[item.name]):
            if value in listed:
                out.setdefault(item.codelist_oid, {}).setdefault(value, f"{item.dataset}.{item.name}")
    return out
