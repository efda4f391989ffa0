"""The define as the sheets of a spec workbook, in the Pinnacle 21 define template's layout.

One row per dataset, variable, value-level item, where clause condition value, codelist term,
dictionary, method, comment and document, with the template's columns; methods, comments,
codelists and where clauses are referred to by their OIDs, as the template does. ``spec export``
writes these rows (``write.spec_workbook``); ``spec import`` reads a workbook or a define.xml
into the same rows and compares them with the define's (``define.spec_import``).
"""

from __future__ import annotations

from typing import Any

from daybreak_sdtm.define.model import CodeList, Define, ItemDef, ItemRef

Row = dict[str, Any]  # column -> text, or a whole number (Order, Length, Significant Digits)

STUDY = ("Attribute", "Value")
DATASETS = (
    "Dataset",
    "Label",
    "Class",
    "SubClass",
    "Structure",
    "Key Variables",
    "Standard",
    "Has No Data",
    "Repeating",
    "Reference Data",
    "Comment",
    "Developer Notes",
)
# The columns a variable and a value-level item share, after the ones that name them.
_ITEM = ("Label", "Data Type", "Length", "Significant Digits", "Format", "Mandatory", "Assigned Value", "Codelist")
_ORIGIN = ("Origin", "Source", "Pages", "Method", "Predecessor")
VARIABLES = (
    "Order",
    "Dataset",
    "Variable",
    *_ITEM,
    "Common",
    *_ORIGIN,
    "Role",
    "Has No Data",
    "Comment",
    "Developer Notes",
)
VALUE_LEVEL = (
    "Order",
    "Dataset",
    "Variable",
    "Where Clause",
    *_ITEM,
    *_ORIGIN,
    "Has No Data",
    "Comment",
    "Developer Notes",
)
WHERE_CLAUSES = ("ID", "Dataset", "Variable", "Comparator", "Value", "Comment")
CODELISTS = (
    "ID",
    "Name",
    "NCI Codelist Code",
    "Data Type",
    "Terminology",
    "Comment",
    "Order",
    "Term",
    "NCI Term Code",
    "Decoded Value",
    "Developer Notes",
)
DICTIONARIES = ("ID", "Name", "Data Type", "Dictionary", "Version")
METHODS = ("ID", "Name", "Type", "Description", "Expression Context", "Expression Code", "Document", "Pages")
COMMENTS = ("ID", "Description", "Document", "Pages")
DOCUMENTS = ("ID", "Title", "Href")
SHEETS: dict[str, tuple[str, ...]] = {
    "Study": STUDY,
    "Datasets": DATASETS,
    "Variables": VARIABLES,
    "ValueLevel": VALUE_LEVEL,
    "WhereClauses": WHERE_CLAUSES,
    "Codelists": CODELISTS,
    "Dictionaries": DICTIONARIES,
    "Methods": METHODS,
    "Comments": COMMENTS,
    "Documents": DOCUMENTS,
}
# The columns that identify a row of each sheet: a workbook without them cannot be read.
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "Study": ("Attribute", "Value"),
    "Datasets": ("Dataset",),
    "Variables": ("Dataset", "Variable"),
    "ValueLevel": ("Dataset", "Variable", "Where Clause"),
    "WhereClauses": ("ID", "Dataset", "Variable", "Comparator", "Value"),
    "Codelists": ("ID", "Term"),
    "Dictionaries": ("ID",),
    "Methods": ("ID", "Description"),
    "Comments": ("ID", "Description"),
    "Documents": ("ID",),
}
Tables = dict[str, list[Row]]


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def terminology(define: Define) -> str:
    """What the Codelists sheet says of a codelist of the study's CT: its standard and version."""
    ct = next((s for s in define.standards if s.type == "CT"), None)
    return f"{ct.name} {ct.version}" if ct is not None else ""


def _item_columns(item: ItemDef, ref: ItemRef) -> Row:
    """The columns a variable and a value-level item share."""
    origin = item.origin
    return {
        "Label": item.label,
        "Data Type": item.data_type,
        "Length": item.length if item.length is not None else "",
        "Significant Digits": item.significant_digits if item.significant_digits is not None else "",
        "Format": item.display_format,
        "Mandatory": _yes(ref.mandatory),
        "Assigned Value": "",
        "Codelist": item.codelist_oid,
        "Origin": origin.type if origin is not None else "",
        "Source": origin.source if origin is not None else "",
        "Pages": " ".join(str(p) for p in origin.pages) if origin is not None else "",
        "Method": ref.method_oid,
        "Predecessor": origin.description if origin is not None else "",
        "Has No Data": "Yes" if ref.has_no_data else "",
        "Comment": item.comment_oid,
        "Developer Notes": "",
    }


def _codelist_rows(define: Define, codelist: CodeList) -> list[Row]:
    head = {
        "ID": codelist.oid,
        "Name": codelist.name,
        "NCI Codelist Code": codelist.nci_code,
        "Data Type": codelist.data_type,
        "Terminology": terminology(define) if codelist.standard_oid else "",
        "Comment": codelist.comment_oid,
    }
    decoded = codelist.has_decodes
    return [
        {
            **head,
            "Order": term.order,
            "Term": term.coded_value,
            "NCI Term Code": term.nci_code,
            "Decoded Value": (term.decode or term.coded_value) if decoded else "",
            "Developer Notes": "",
        }
        for term in codelist.items
    ]


def define_tables(define: Define) -> Tables:
    """Every sheet's rows, in the define's order."""
    items = {item.oid: item for item in define.items}
    ig = next((s for s in define.standards if s.type == "IG"), None)
    study = [
        {"Attribute": "StudyName", "Value": define.study_name},
        {"Attribute": "StudyDescription", "Value": define.study_description},
        {"Attribute": "ProtocolName", "Value": define.protocol_name},
        {"Attribute": "StandardName", "Value": ig.name if ig else ""},
        {"Attribute": "StandardVersion", "Value": ig.version if ig else ""},
        {"Attribute": "Language", "Value": "en"},
    ]
    datasets = [
        {
            "Dataset": g.name,
            "Label": g.label,
            "Class": g.klass,
            "SubClass": "",
            "Structure": g.structure,
            "Key Variables": ", ".join(g.keys),
            "Standard": f"{ig.name} {ig.version}" if ig else "",
            "Has No Data": "Yes" if g.leaf is None else "",
            "Repeating": _yes(g.repeating),
            "Reference Data": _yes(g.reference_data),
            "Comment": g.comment_oid,
            "Developer Notes": "",
        }
        for g in define.item_groups
    ]
    variables = [
        {
            "Order": ref.order,
            "Dataset": g.name,
            "Variable": items[ref.item_oid].name,
            **_item_columns(items[ref.item_oid], ref),
            "Common": "",
            "Role": ref.role,
        }
        for g in define.item_groups
        for ref in g.item_refs
    ]
    value_level = [
        {
            "Order": ref.order,
            "Dataset": vl.dataset,
            "Variable": vl.variable,
            "Where Clause": ", ".join(ref.where_clause_oids),
            **_item_columns(items[ref.item_oid], ref),
        }
        for vl in define.value_lists
        for ref in vl.item_refs
    ]
    where_clauses = [
        {
            "ID": wc.oid,
            "Dataset": items[check.item_oid].dataset if check.item_oid in items else "",
            "Variable": items[check.item_oid].name if check.item_oid in items else check.item_oid,
            "Comparator": check.comparator,
            "Value": value,
            "Comment": "",
        }
        for wc in define.where_clauses
        for check in wc.checks
        for value in check.values
    ]
    codelists = [row for cl in define.codelists if not cl.dictionary for row in _codelist_rows(define, cl)]
    dictionaries = [
        {
            "ID": cl.oid,
            "Name": cl.name,
            "Data Type": cl.data_type,
            "Dictionary": cl.dictionary,
            "Version": cl.dictionary_version,
        }
        for cl in define.codelists
        if cl.dictionary
    ]
    methods = [
        {
            "ID": m.oid,
            "Name": m.name,
            "Type": m.type,
            "Description": m.description,
            "Expression Context": "",
            "Expression Code": "",
            "Document": "",
            "Pages": "",
        }
        for m in define.methods
    ]
    comments = [
        {"ID": c.oid, "Description": c.text, "Document": ", ".join(c.leaf_ids), "Pages": ""} for c in define.comments
    ]
    documents = [
        {"ID": leaf.id, "Title": leaf.title, "Href": leaf.href} for leaf in (*define.documents, *define.part_leaves)
    ]
    return {
        "Study": study,
        "Datasets": datasets,
        "Variables": variables,
        "ValueLevel": value_level,
        "WhereClauses": where_clauses,
        "Codelists": codelists,
        "Dictionaries": dictionaries,
        "Methods": methods,
        "Comments": comments,
        "Documents": documents,
    }
