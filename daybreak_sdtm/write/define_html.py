"""define.html: the define rendered as one self-contained page a reviewer opens with a double click.

Written directly from the same ``Define`` model as define.xml (no XSLT, which browsers refuse to
run on ``file://`` pages), with every cross-reference an in-page link: datasets to their
variables, variables to codelists, value-level metadata, methods and comments, and datasets to
their .xpt files next to the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lxml import etree
from lxml.html import HtmlElement
from lxml.html import builder as E

from daybreak_sdtm.define.model import CodeList, Define, ItemDef, ItemRef, Origin, ValueList, WhereClause
from daybreak_sdtm.write.define_xml import creation_time

STYLE = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 0; color: #1d2733; }
nav#toc { position: fixed; top: 0; left: 0; bottom: 0; width: 250px; overflow-y: auto; background: #eef2f6;
  border-right: 1px solid #c8d1db; padding: 8px 12px; box-sizing: border-box; }
nav#toc ul { list-style: none; padding-left: 12px; margin: 2px 0; }
nav#toc > ul { padding-left: 0; }
main { margin-left: 260px; padding: 8px 18px 40px 8px; }
h1 { font-size: 20px; color: #0b3d6b; } h2 { font-size: 16px; color: #0b3d6b; margin-top: 28px; }
h3 { font-size: 14px; margin: 18px 0 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #b7c3cf; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #0b3d6b; color: #fff; }
tr:nth-child(even) td { background: #f5f8fb; }
tr:target td, div:target h3, section:target h2 { background: #fff3b0; }
a { color: #0b5cad; } .extended { color: #a14b00; font-weight: bold; } .muted { color: #5b6875; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dl.meta dt { font-weight: bold; }
"""


def _link(href: str, text: str) -> HtmlElement:
    return E.A(text, href=href)


def _cell(*parts: object) -> HtmlElement:
    """A table cell holding text and links, separated by line breaks."""
    td = E.TD()
    first = True
    for part in parts:
        if part in (None, ""):
            continue
        if not first:
            td.append(E.BR())
        first = False
        if isinstance(part, str):
            if len(td):
                td[-1].tail = (td[-1].tail or "") + part
            else:
                td.text = (td.text or "") + part
        else:
            td.append(part)  # type: ignore[arg-type]
    return td


def _table(headers: Iterable[str], rows: Iterable[HtmlElement]) -> HtmlElement:
    return E.TABLE(E.THEAD(E.TR(*[E.TH(h) for h in headers])), E.TBODY(*rows))


def _origin(define: Define, origin: Origin | None) -> tuple[object, ...]:
    if origin is None:
        return ("",)
    text = origin.type + (f" ({origin.source})" if origin.source else "")
    if origin.description:
        text += f": {origin.description}"
    parts: list[object] = [text]
    if origin.leaf_id:
        leaf = define.leaf(origin.leaf_id)
        parts.append(_pages(leaf.href, leaf.title, origin.pages) if origin.pages else _link(leaf.href, leaf.title))
    return tuple(parts)


def _pages(href: str, title: str, pages: Sequence[int]) -> HtmlElement:
    """The document's title and a link to each page cited (``acrf.pdf#page=4`` opens the PDF at page 4)."""
    span = E.SPAN(f"{title} page{'s' if len(pages) > 1 else ''} ")
    for i, page in enumerate(pages):
        if i:
            span[-1].tail = ", "
        span.append(_link(f"{href}#page={page}", str(page)))
    return span


def _type(item: ItemDef) -> str:
    if item.significant_digits is not None:
        return f"{item.data_type} ({item.significant_digits} decimals)"
    return item.data_type


def _no_data(ref: ItemRef) -> object:
    """The mark of a variable without any value in its dataset (def:HasNoData)."""
    return E.SPAN(E.CLASS("muted"), "no data", title="def:HasNoData: no record has a value") if ref.has_no_data else ""


def _terms(define: Define, item: ItemDef, codelists: dict[str, CodeList]) -> object:
    if not item.codelist_oid:
        return ""
    codelist = codelists[item.codelist_oid]
    return _link(f"#{codelist.oid}", codelist.name)


def _method_and_comment(define: Define, ref: ItemRef, item: ItemDef) -> tuple[object, ...]:
    parts: list[object] = []
    if ref.method_oid:
        method = next(m for m in define.methods if m.oid == ref.method_oid)
        parts.append(_link(f"#{method.oid}", method.description))
    if item.comment_oid:
        comment = next(c for c in define.comments if c.oid == item.comment_oid)
        parts.append(_link(f"#{comment.oid}", comment.text))
    return tuple(parts)


def _where_text(define: Define, clause: WhereClause) -> HtmlElement:
    span = E.SPAN()
    for i, check in enumerate(clause.checks):
        variable = define.item(check.item_oid)
        if i:
            span.append(E.SPAN(" and "))
        span.append(_link(f"#{variable.oid}", variable.name))
        values = ", ".join(check.values)
        span.append(E.SPAN(f" = {values}" if check.comparator == "EQ" else f" in ({values})"))
    return span


def define_html(define: Define) -> bytes:
    """The browsable rendering of a define (UTF-8 HTML bytes): same model, same bytes."""
    codelists = {c.oid: c for c in define.codelists}
    items = {i.oid: i for i in define.items}
    wheres = {w.oid: w for w in define.where_clauses}

    toc_datasets = E.UL(*[E.LI(_link(f"#{g.oid}", f"{g.name} ({g.label})")) for g in define.item_groups])
    toc_vlm = E.UL(*[E.LI(_link(f"#{v.oid}", f"{v.dataset}.{v.variable}")) for v in define.value_lists])
    toc_codelists = E.UL(*[E.LI(_link(f"#{c.oid}", c.name)) for c in define.codelists])
    toc = [E.LI(_link("#study", "Study and standards"))]
    if define.documents:
        toc.append(E.LI(_link("#documents", "Documents")))
    toc += [
        E.LI(_link("#datasets", "Datasets"), toc_datasets),
        E.LI(_link("#valuelevel", "Value-level metadata"), toc_vlm),
        E.LI(_link("#codelists", "Codelists"), toc_codelists),
        E.LI(_link("#methods", "Methods")),
        E.LI(_link("#comments", "Comments")),
    ]
    nav = E.NAV(E.H2("Contents"), E.UL(*toc), id="toc")

    main = E.MAIN()
    meta = E.DL(
        E.CLASS("meta"),
        E.DT("Study"),
        E.DD(define.study_name),
        E.DT("Description"),
        E.DD(define.study_description),
        E.DT("Protocol"),
        E.DD(define.protocol_name),
        E.DT("Metadata version"),
        E.DD(define.mdv_name),
        E.DT("Created"),
        E.DD(creation_time(define.created)),
    )
    for std in define.standards:
        meta.append(E.DT(f"Standard ({std.type})"))
        meta.append(E.DD(f"{std.name} {std.version}" + (f" ({std.publishing_set})" if std.publishing_set else "")))
    if define.comment_oid:
        comment = next(c for c in define.comments if c.oid == define.comment_oid)
        meta.append(E.DT("Comment"))
        meta.append(E.DD(_link(f"#{comment.oid}", comment.text)))
    main.append(E.SECTION(E.H1(f"{define.study_name}: Define-XML 2.1"), meta, id="study"))

    if define.documents:
        rows = [E.TR(_cell(leaf.title), _cell(_link(leaf.href, leaf.href)), id=leaf.id) for leaf in define.documents]
        main.append(E.SECTION(E.H2("Documents"), _table(("Document", "File"), rows), id="documents"))

    rows = []
    part_ids = {leaf.id for leaf in define.part_leaves}
    for g in define.item_groups:
        group_comment = next((c for c in define.comments if c.oid == g.comment_oid), None)
        parts = [define.leaf(i) for i in (group_comment.leaf_ids if group_comment else ()) if i in part_ids]
        location: list[object] = [_link(g.leaf.href, g.leaf.title) if g.leaf is not None else "no data (not written)"]
        location += [_link(leaf.href, leaf.title) for leaf in parts]
        rows.append(
            E.TR(
                _cell(_link(f"#{g.oid}", g.name)),
                _cell(g.label),
                _cell(g.klass),
                _cell(g.structure),
                _cell("Tabulation"),
                _cell(", ".join(g.keys)),
                _cell(str(g.records)),
                _cell(*location),
                _cell(_link(f"#{group_comment.oid}", group_comment.text) if group_comment else ""),
            )
        )
    datasets = E.SECTION(
        E.H2("Datasets"),
        _table(
            ("Dataset", "Description", "Class", "Structure", "Purpose", "Keys", "Records", "Location", "Comment"), rows
        ),
        id="datasets",
    )
    main.append(datasets)

    for g in define.item_groups:
        rows = []
        for ref in g.item_refs:
            item = items[ref.item_oid]
            name_cell = _cell(
                item.name,
                _link(f"#{item.value_list_oid}", "value-level metadata") if item.value_list_oid else "",
                _no_data(ref),
            )
            rows.append(
                E.TR(
                    name_cell,
                    _cell(item.label),
                    _cell(str(ref.key_sequence or "")),
                    _cell(_type(item)),
                    _cell(str(item.length) if item.length is not None else ""),
                    _cell(_terms(define, item, codelists)),
                    _cell(*_origin(define, item.origin)),
                    _cell(*_method_and_comment(define, ref, item)),
                    id=item.oid,
                )
            )
        main.append(
            E.SECTION(
                E.H2(f"{g.name}: {g.label} (", _link(g.leaf.href, g.leaf.title), ")")
                if g.leaf is not None
                else E.H2(f"{g.name}: {g.label} (no data)"),
                E.P(E.CLASS("muted"), f"{g.klass}; {g.structure}; {g.records} records"),
                _table(
                    (
                        "Variable",
                        "Label",
                        "Key",
                        "Type",
                        "Length",
                        "Controlled terms",
                        "Origin",
                        "Derivation / comment",
                    ),
                    rows,
                ),
                id=g.oid,
            )
        )

    vlm = E.SECTION(E.H2("Value-level metadata"), id="valuelevel")
    for vl in define.value_lists:
        vlm.append(_value_list(define, vl, items, wheres, codelists))
    main.append(vlm)

    cls = E.SECTION(E.H2("Codelists"), id="codelists")
    for codelist in define.codelists:
        cls.append(_codelist(define, codelist))
    main.append(cls)

    rows = [E.TR(_cell(m.name), _cell(m.type), _cell(m.description), id=m.oid) for m in define.methods]
    main.append(E.SECTION(E.H2("Methods"), _table(("Method", "Type", "Description"), rows), id="methods"))
    rows = [
        E.TR(
            _cell(c.oid),
            _cell(c.text, *[_link(define.leaf(i).href, define.leaf(i).title) for i in c.leaf_ids]),
            id=c.oid,
        )
        for c in define.comments
    ]
    main.append(E.SECTION(E.H2("Comments"), _table(("Comment", "Description"), rows), id="comments"))

    page = E.HTML(
        E.HEAD(E.META(charset="utf-8"), E.TITLE(f"{define.study_name} define.xml"), E.STYLE(STYLE)),
        E.BODY(nav, main),
        lang="en",
    )
    return etree.tostring(page, method="html", encoding="utf-8", doctype="<!DOCTYPE html>", pretty_print=True)


def _value_list(
    define: Define,
    vl: ValueList,
    items: dict[str, ItemDef],
    wheres: dict[str, WhereClause],
    codelists: dict[str, CodeList],
) -> HtmlElement:
    parent = items[f"IT.{vl.dataset}.{vl.variable}"]
    rows = []
    for ref in vl.item_refs:
        item = items[ref.item_oid]
        where = _cell(*[_where_text(define, wheres[w]) for w in ref.where_clause_oids])
        rows.append(
            E.TR(
                _cell(item.name, _no_data(ref)),
                where,
                _cell(item.label),
                _cell(_type(item)),
                _cell(str(item.length) if item.length is not None else ""),
                _cell(_terms(define, item, codelists)),
                _cell(*_origin(define, item.origin)),
                _cell(*_method_and_comment(define, ref, item)),
                id=item.oid,
            )
        )
    return E.DIV(
        E.H3(_link(f"#{parent.oid}", f"{vl.dataset}.{vl.variable}"), f" [{vl.oid}]"),
        _table(
            ("Variable", "Where", "Label", "Type", "Length", "Controlled terms", "Origin", "Derivation / comment"), rows
        ),
        id=vl.oid,
    )


def _codelist(define: Define, codelist: CodeList) -> HtmlElement:
    facts = [codelist.oid]
    if codelist.nci_code:
        facts.append(f"NCI {codelist.nci_code}")
    if codelist.extensible is not None:
        facts.append("extensible" if codelist.extensible else "not extensible")
    elif not codelist.dictionary:
        facts.append("sponsor-defined")
    head = E.H3(f"{codelist.name} ", E.SPAN(E.CLASS("muted"), f"[{'; '.join(facts)}]"))
    div = E.DIV(head, id=codelist.oid)
    if codelist.comment_oid:
        comment = next(c for c in define.comments if c.oid == codelist.comment_oid)
        div.append(E.P(_link(f"#{comment.oid}", comment.text)))
    if codelist.dictionary:
        version = f", version {codelist.dictionary_version}" if codelist.dictionary_version else ""
        para = E.P(f"External dictionary: {codelist.dictionary}{version}")
        if codelist.dictionary_href:  # where it is published
            para.text = f"{para.text} ("
            para.append(_link(codelist.dictionary_href, codelist.dictionary_href))
            para[-1].tail = ")"
        div.append(para)
        return div
    rows = []
    for term in codelist.items:
        value = E.TD(term.coded_value)
        if term.extended:
            value.append(E.SPAN(E.CLASS("extended"), " *", title="sponsor-extended value"))
        rows.append(E.TR(value, _cell(term.decode if term.decode != term.coded_value else ""), _cell(term.nci_code)))
    div.append(_table(("Coded value", "Decode", "NCI code"), rows))
    if any(t.extended for t in codelist.items):
        div.append(E.P(E.CLASS("muted"), "* sponsor-extended value (def:ExtendedValue)"))
    return div
