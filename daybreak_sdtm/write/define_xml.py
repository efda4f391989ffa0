"""define.xml (Define-XML 2.1 on ODM 1.3.2) from the define model, and its schema validation.

The XML Schema is the official CDISC one shipped by the ``odmlib`` package; it is read from the
installed package with network access and entity expansion off, so validation is offline.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from lxml import etree

from daybreak_sdtm.define.model import CodeList, Define, DefineError, ItemDef, ItemGroup, ItemRef, Origin

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DEFINE_VERSION = "2.1.0"


class DefineSchemaError(DefineError):
    """define.xml breaks the Define-XML 2.1 schema; one ``line: message`` per problem."""

    def __init__(self, problems: list[str], what: str = "define.xml") -> None:
        self.problems = problems
        super().__init__(f"{what} is not valid Define-XML 2.1:\n" + "\n".join(problems))

    def lines(self) -> list[str]:
        """Every schema problem, one per line."""
        return list(self.problems)


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _sub(
    parent: etree._Element, tag: str, attrs: dict[str, str | None] | None = None, text: str | None = None
) -> etree._Element:
    """A child element with the attributes that have a value (None and "" are left out), in the order given."""
    el = etree.SubElement(parent, tag)
    for key, value in (attrs or {}).items():
        if value is not None and value != "":
            el.set(key, value)
    if text is not None:
        el.text = text
    return el


def _description(parent: etree._Element, text: str, tag: str = "Description") -> None:
    desc = _sub(parent, _odm(tag))
    _sub(desc, _odm("TranslatedText"), {f"{{{XML_NS}}}lang": "en"}, text)


def creation_time(created: dt.datetime) -> str:
    """ODM CreationDateTime: seconds precision with the UTC offset, from the package's timestamp."""
    return created.replace(microsecond=0).isoformat()


def define_xml(define: Define) -> bytes:
    """The define.xml document (UTF-8 bytes): same model, same bytes."""
    root = etree.Element(_odm("ODM"), nsmap=NSMAP)
    for key, value in (
        ("FileType", "Snapshot"),
        ("FileOID", define.file_oid),
        ("CreationDateTime", creation_time(define.created)),
        ("ODMVersion", "1.3.2"),
        ("Originator", "daybreak-sdtm"),
        ("SourceSystem", "daybreak-sdtm"),
        ("SourceSystemVersion", define.source_system_version),
        (_def("Context"), "Submission"),
    ):
        root.set(key, value)
    study = _sub(root, _odm("Study"), {"OID": f"ST.{define.study_oid}"})
    glob = _sub(study, _odm("GlobalVariables"))
    _sub(glob, _odm("StudyName"), text=define.study_name)
    _sub(glob, _odm("StudyDescription"), text=define.study_description)
    _sub(glob, _odm("ProtocolName"), text=define.protocol_name)
    mdv = _sub(
        study,
        _odm("MetaDataVersion"),
        {
            "OID": define.mdv_oid,
            "Name": define.mdv_name,
            "Description": define.mdv_name,
            _def("DefineVersion"): DEFINE_VERSION,
            _def("CommentOID"): define.comment_oid,
        },
    )
    standards = _sub(mdv, _def("Standards"))
    for std in define.standards:
        _sub(
            standards,
            _def("Standard"),
            {
                "OID": std.oid,
                "Name": std.name,
                "Type": std.type,
                "PublishingSet": std.publishing_set,
                "Version": std.version,
                "Status": "Final",
            },
        )
    if define.acrf:
        acrf = _sub(mdv, _def("AnnotatedCRF"))
        for leaf_id in define.acrf:
            _sub(acrf, _def("DocumentRef"), {"leafID": leaf_id})
    if define.supplemental_docs:
        supp = _sub(mdv, _def("SupplementalDoc"))
        for leaf_id in define.supplemental_docs:
            _sub(supp, _def("DocumentRef"), {"leafID": leaf_id})
    for vl in define.value_lists:
        el = _sub(mdv, _def("ValueListDef"), {"OID": vl.oid})
        for ref in vl.item_refs:
            _item_ref(el, ref)
    for wc in define.where_clauses:
        el = _sub(mdv, _def("WhereClauseDef"), {"OID": wc.oid})
        for check in wc.checks:
            rc = _sub(
                el,
                _odm("RangeCheck"),
                {"Comparator": check.comparator, "SoftHard": "Soft", _def("ItemOID"): check.item_oid},
            )
            for value in check.values:
                _sub(rc, _odm("CheckValue"), text=value)
    for group in define.item_groups:
        _item_group(mdv, group)
    for item in define.items:
        _item_def(mdv, item)
    for codelist in define.codelists:
        _codelist(mdv, codelist)
    for method in define.methods:
        el = _sub(mdv, _odm("MethodDef"), {"OID": method.oid, "Name": method.name, "Type": method.type})
        _description(el, method.description)
    for comment in define.comments:
        el = _sub(mdv, _def("CommentDef"), {"OID": comment.oid})
        _description(el, comment.text)
        for leaf_id in comment.leaf_ids:
            _sub(el, _def("DocumentRef"), {"leafID": leaf_id})
    for leaf in (*define.documents, *define.part_leaves):
        _leaf(mdv, leaf.id, leaf.href, leaf.title)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _leaf(parent: etree._Element, leaf_id: str, href: str, title: str) -> None:
    el = _sub(parent, _def("leaf"), {"ID": leaf_id, f"{{{XLINK_NS}}}href": href})
    _sub(el, _def("title"), text=title)


def _item_ref(parent: etree._Element, ref: ItemRef) -> None:
    el = _sub(
        parent,
        _odm("ItemRef"),
        {
            "ItemOID": ref.item_oid,
            "OrderNumber": str(ref.order),
            "Mandatory": _yes(ref.mandatory),
            "KeySequence": str(ref.key_sequence) if ref.key_sequence else None,
            "MethodOID": ref.method_oid,
            "Role": ref.role,
            # No record (of the dataset, or that the where clause selects) has a value.
            _def("HasNoData"): "Yes" if ref.has_no_data else None,
        },
    )
    for wc in ref.where_clause_oids:
        _sub(el, _def("WhereClauseRef"), {"WhereClauseOID": wc})


def _item_group(parent: etree._Element, group: ItemGroup) -> None:
    el = _sub(
        parent,
        _odm("ItemGroupDef"),
        {
            "OID": group.oid,
            "Domain": group.domain,
            "Name": group.name,
            "SASDatasetName": group.name,
            "Repeating": _yes(group.repeating),
            "IsReferenceData": _yes(group.reference_data),
            "Purpose": "Tabulation",
            _def("Structure"): group.structure,
            _def("StandardOID"): "STD.SDTMIG",
            # A dataset with no records is not submitted: def:HasNoData, and no file to point at.
            _def("HasNoData"): "Yes" if group.leaf is None else None,
            _def("ArchiveLocationID"): group.leaf.id if group.leaf is not None else None,
            _def("CommentOID"): group.comment_oid,
        },
    )
    _description(el, group.label)
    for ref in group.item_refs:
        _item_ref(el, ref)
    _sub(el, _def("Class"), {"Name": group.klass})
    if group.leaf is not None:
        _leaf(el, group.leaf.id, group.leaf.href, group.leaf.title)


def _origin(parent: etree._Element, origin: Origin) -> None:
    el = _sub(parent, _def("Origin"), {"Type": origin.type, "Source": origin.source})
    if origin.description:
        _description(el, origin.description)
    if origin.leaf_id:
        ref = _sub(el, _def("DocumentRef"), {"leafID": origin.leaf_id})
        if origin.pages:  # physical pages of the PDF, as a reader's page numbers count them
            _sub(ref, _def("PDFPageRef"), {"PageRefs": " ".join(str(n) for n in origin.pages), "Type": "PhysicalRef"})


def _item_def(parent: etree._Element, item: ItemDef) -> None:
    el = _sub(
        parent,
        _odm("ItemDef"),
        {
            "OID": item.oid,
            "Name": item.name,
            "SASFieldName": item.name,
            "DataType": item.data_type,
            "Length": str(item.length) if item.length is not None else None,
            "SignificantDigits": str(item.significant_digits) if item.significant_digits is not None else None,
            _def("DisplayFormat"): item.display_format,
            _def("CommentOID"): item.comment_oid,
        },
    )
    _description(el, item.label)
    if item.codelist_oid:
        _sub(el, _odm("CodeListRef"), {"CodeListOID": item.codelist_oid})
    if item.origin is not None:
        _origin(el, item.origin)
    if item.value_list_oid:
        _sub(el, _def("ValueListRef"), {"ValueListOID": item.value_list_oid})


def _codelist(parent: etree._Element, codelist: CodeList) -> None:
    el = _sub(
        parent,
        _odm("CodeList"),
        {
            "OID": codelist.oid,
            "Name": codelist.name,
            "DataType": codelist.data_type,
            _def("StandardOID"): codelist.standard_oid,
            _def("CommentOID"): codelist.comment_oid,
        },
    )
    if codelist.dictionary:
        _sub(
            el,
            _odm("ExternalCodeList"),
            {
                "Dictionary": codelist.dictionary,
                "Version": codelist.dictionary_version,
                "href": codelist.dictionary_href,
            },
        )
    # ODM allows either decoded CodeListItems or plain EnumeratedItems in one codelist, not both.
    decoded = codelist.has_decodes
    for term in codelist.items:
        attrs = {
            "CodedValue": term.coded_value,
            "OrderNumber": str(term.order),
            _def("ExtendedValue"): "Yes" if term.extended else None,
        }
        item = _sub(el, _odm("CodeListItem" if decoded else "EnumeratedItem"), attrs)
        if decoded:
            _description(item, term.decode or term.coded_value, tag="Decode")
        if term.nci_code:
            _sub(item, _odm("Alias"), {"Context": "nci:ExtCodeID", "Name": term.nci_code})
    if codelist.nci_code:
        _sub(el, _odm("Alias"), {"Context": "nci:ExtCodeID", "Name": codelist.nci_code})


# ---- validation -----------------------------------------------------------------------------------


def schema_path() -> Path:
    """The Define-XML 2.1 XSD shipped by the installed odmlib package."""
    import odmlib

    path = Path(odmlib.__file__).resolve().parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    if not path.is_file():
        raise DefineError(f"{path}: the Define-XML 2.1 schema is missing from the odmlib package; reinstall odmlib")
    return path


def _safe_parser() -> etree.XMLParser:
    # No network (the schemas import each other by relative path only) and no entity expansion.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@lru_cache(maxsize=1)
def define_schema() -> etree.XMLSchema:
    """The compiled Define-XML 2.1 schema (compiled once per process)."""
    path = schema_path()
    try:
        return etree.XMLSchema(etree.parse(str(path), _safe_parser()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise DefineError(f"{path}: cannot compile the Define-XML 2.1 schema ({exc})") from None


def validate_define(xml: bytes, what: str = "define.xml") -> None:
    """Raise DefineSchemaError listing every schema problem of a define.xml document."""
    try:
        doc = etree.fromstring(xml, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise DefineSchemaError([f"{exc.lineno}: {exc.msg}"], what) from None
    schema = define_schema()
    if not schema.validate(doc):
        problems = [f"{e.line}: {e.message}" for e in schema.error_log]
        raise DefineSchemaError(problems, what)
