"""The study's metadata edits (``StudySpec.metadata``, from ``spec import``) applied to a define.

``build_define`` makes the define from the specs, the standards and the data, then hands it
here: labels, origins, method, comment and codelist references of datasets, variables and
value-level items are replaced, the file's methods, comments, where clauses and codelists added
or put in place of the define's, and new value-level items added. Whatever no longer has a
reference after the edits (a method of a variable now Collected) is left out. Every reference to
something neither the file nor the define has is a SpecError at its line of the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from daybreak_sdtm.define.model import (
    STD_CT,
    CodeList,
    CodeListItem,
    Comment,
    Define,
    ItemDef,
    ItemGroup,
    ItemRef,
    Method,
    Origin,
    RangeCheck,
    ValueList,
    WhereClause,
    oid_part,
)
from daybreak_sdtm.errors import Location, SpecError, SpecErrors, suggest
from daybreak_sdtm.spec.model import CodelistSpec, ItemEdit, StudyMetadata, ValueLevelEdit

# def:Origin Type and Source values of Define-XML 2.1.
ORIGIN_TYPES = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
ORIGIN_SOURCES = ("Subject", "Investigator", "Vendor", "Sponsor")


@dataclass
class _Parts:
    """The define's parts by OID while the edits are applied."""

    define: Define
    groups: dict[str, ItemGroup]
    items: dict[str, ItemDef]
    value_lists: dict[str, ValueList]
    where_clauses: dict[str, WhereClause]
    codelists: dict[str, CodeList]
    methods: dict[str, Method]
    comments: dict[str, Comment]
    errors: list[SpecError] = field(default_factory=list)

    def error(self, where: Location, key: str, problem: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, key, problem, hint))


def _parts(define: Define) -> _Parts:
    return _Parts(
        define,
        {g.name: g for g in define.item_groups},
        {i.oid: i for i in define.items},
        {v.oid: v for v in define.value_lists},
        {w.oid: w for w in define.where_clauses},
        {c.oid: c for c in define.codelists},
        {m.oid: m for m in define.methods},
        {c.oid: c for c in define.comments},
    )


def _check_ref(parts: _Parts, where: Location, key: str, oid: str | None, known: Iterable[str], what: str) -> None:
    """A reference to a method, comment or codelist must name one the file or the define has."""
    names = list(known)
    if oid and oid not in names:
        parts.error(where, key, f"{oid!r} is not a {what} of the metadata file or of the define", suggest(oid, names))


def _origin(parts: _Parts, edit: ItemEdit, base: Origin | None) -> Origin | None:
    """The item's origin with the edit's type, source and predecessor."""
    if edit.origin is None and edit.source is None and edit.predecessor is None:
        return base
    kind = edit.origin if edit.origin is not None else (base.type if base else "")
    if not kind:
        return None
    if kind not in ORIGIN_TYPES:
        parts.error(edit.where, "origin", f"{kind!r} is not a Define-XML 2.1 origin type", suggest(kind, ORIGIN_TYPES))
    source = edit.source if edit.source is not None else (base.source if base else "")
    if source and source not in ORIGIN_SOURCES:
        parts.error(
            edit.where, "source", f"{source!r} is not a Define-XML 2.1 origin source", suggest(source, ORIGIN_SOURCES)
        )
    description = edit.predecessor if edit.predecessor is not None else (base.description if base else "")
    leaf = base.leaf_id if base is not None and base.type == kind else ""
    if kind == "Collected" and not leaf and source == "Investigator" and parts.define.acrf:
        leaf = parts.define.acrf[0]
    return Origin(kind, source, description, leaf if kind == "Collected" else "")


def _edit_item(parts: _Parts, item: ItemDef, edit: ItemEdit) -> ItemDef:
    _check_ref(parts, edit.where, "comment", edit.comment, parts.comments, "comment")
    _check_ref(parts, edit.where, "codelist", edit.codelist, parts.codelists, "codelist")
    return replace(
        item,
        label=edit.label if edit.label is not None else item.label,
        origin=_origin(parts, edit, item.origin),
        codelist_oid=edit.codelist if edit.codelist is not None else item.codelist_oid,
        comment_oid=edit.comment if edit.comment is not None else item.comment_oid,
    )


def _edit_ref(parts: _Parts, ref: ItemRef, edit: ItemEdit) -> ItemRef:
    _check_ref(parts, edit.where, "method", edit.method, parts.methods, "method")
    return ref if edit.method is None else replace(ref, method_oid=edit.method)


def _codelist(define: Define, spec: CodelistSpec, base: CodeList | None) -> CodeList:
    items = tuple(
        CodeListItem(
            t.term,
            t.decode or t.term,
            t.nci_code,
            bool(spec.nci_code) and not t.nci_code,  # a term of a CDISC codelist without a code extends it
            order,
        )
        for order, t in enumerate(spec.terms, start=1)
    )
    made = CodeList(
        spec.oid,
        spec.name,
        spec.data_type,
        items,
        spec.nci_code,
        STD_CT if spec.terminology else "",
        comment_oid=spec.comment,
    )
    if base is not None and not base.dictionary:
        made = replace(made, extensible=base.extensible if spec.terminology else None)
    return made


def _definitions(parts: _Parts, metadata: StudyMetadata) -> None:
    """The file's methods, comments, where clauses and codelists, over the define's of the same OID."""
    for m in metadata.methods:
        parts.methods[m.oid] = Method(m.oid, m.name, m.description, m.type)
    leaves = {leaf.id for leaf in (*parts.define.documents, *parts.define.part_leaves)}
    for c in metadata.comments:
        for leaf in c.documents:
            _check_ref(parts, c.where, "documents", leaf, leaves, "document")
        parts.comments[c.oid] = Comment(c.oid, c.text, c.documents)
    for cl in metadata.codelists:
        parts.codelists[cl.oid] = _codelist(parts.define, cl, parts.codelists.get(cl.oid))
    for cl in metadata.codelists:
        _check_ref(parts, cl.where, "comment", cl.comment, parts.comments, "comment")
    for wc in metadata.where_clauses:
        checks = []
        for check in wc.checks:
            oid = f"IT.{check.dataset}.{check.variable}"
            if oid not in parts.items:
                parts.error(wc.where, "variable", f"{check.dataset}.{check.variable} is not a variable of the define")
            if check.comparator not in ("EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOTIN"):
                parts.error(wc.where, "comparator", f"{check.comparator!r} is not a Define-XML comparator")
            checks.append(RangeCheck(oid, check.comparator, check.values))
        parts.where_clauses[wc.oid] = WhereClause(wc.oid, tuple(checks))


def _edit_datasets(parts: _Parts, metadata: StudyMetadata) -> None:
    for d in metadata.datasets:
        group = parts.groups.get(d.name)
        if group is None:
            parts.error(d.where, d.name, "not a dataset of the define", suggest(d.name, list(parts.groups)))
            continue
        _check_ref(parts, d.where, "comment", d.comment, parts.comments, "comment")
        parts.groups[d.name] = replace(
            group,
            label=d.label if d.label is not None else group.label,
            comment_oid=d.comment if d.comment is not None else group.comment_oid,
        )


def _edit_variables(parts: _Parts, metadata: StudyMetadata) -> None:
    for v in metadata.variables:
        group = parts.groups.get(v.dataset)
        oid = f"IT.{v.dataset}.{v.variable}"
        refs = [r.item_oid for r in group.item_refs] if group is not None else []
        if group is None or oid not in refs:
            known = [parts.items[r].name for r in refs if r in parts.items]
            parts.error(
                v.edit.where, f"{v.dataset}.{v.variable}", "not a variable of the define", suggest(v.variable, known)
            )
            continue
        parts.items[oid] = _edit_item(parts, parts.items[oid], v.edit)
        item_refs = tuple(_edit_ref(parts, r, v.edit) if r.item_oid == oid else r for r in group.item_refs)
        parts.groups[v.dataset] = replace(group, item_refs=item_refs)


def _value_list_of(parts: _Parts, dataset: str, variable: str) -> ValueList | None:
    return next((vl for vl in parts.value_lists.values() if (vl.dataset, vl.variable) == (dataset, variable)), None)


def _new_value_item(parts: _Parts, vl_edit: ValueLevelEdit, parent: ItemDef) -> str:
    """A value-level item the file adds: its ItemDef, its place in the variable's value list."""
    oid = f"{parent.oid}.{oid_part('_'.join(vl_edit.where_clauses))}"
    while oid in parts.items:
        oid += "_"
    edit = vl_edit.edit
    item = ItemDef(
        oid,
        parent.name,
        edit.label or parent.label,
        vl_edit.data_type,
        vl_edit.length,
        vl_edit.significant_digits,
        dataset=parent.dataset,
    )
    parts.items[oid] = _edit_item(parts, item, replace(edit, label=None))
    ref = _edit_ref(parts, ItemRef(oid, 0, vl_edit.mandatory, where_clause_oids=vl_edit.where_clauses), edit)
    vl = _value_list_of(parts, vl_edit.dataset, vl_edit.variable)
    if vl is None:
        vl = ValueList(f"VL.{vl_edit.dataset}.{vl_edit.variable}", vl_edit.dataset, vl_edit.variable, ())
        parts.items[parent.oid] = replace(parts.items[parent.oid], value_list_oid=vl.oid)
    parts.value_lists[vl.oid] = replace(vl, item_refs=(*vl.item_refs, replace(ref, order=len(vl.item_refs) + 1)))
    return oid


def _edit_value_level(parts: _Parts, metadata: StudyMetadata) -> None:
    for e in metadata.value_level:
        parent = parts.items.get(f"IT.{e.dataset}.{e.variable}")
        if parent is None:
            parts.error(e.edit.where, f"{e.dataset}.{e.variable}", "not a variable of the define")
            continue
        for wc in e.where_clauses:
            _check_ref(parts, e.edit.where, "where_clauses", wc, parts.where_clauses, "where clause")
        vl = _value_list_of(parts, e.dataset, e.variable)
        ref = next((r for r in (vl.item_refs if vl else ()) if r.where_clause_oids == e.where_clauses), None)
        if e.new:
            if ref is not None:
                parts.error(e.edit.where, "new", f"{e.dataset}.{e.variable} has a value-level item for these already")
                continue
            _new_value_item(parts, e, parent)
            continue
        if vl is None or ref is None:
            parts.error(
                e.edit.where,
                f"{e.dataset}.{e.variable}",
                f"no value-level item where {', '.join(e.where_clauses)} (a new one says new: true)",
            )
            continue
        parts.items[ref.item_oid] = _edit_item(parts, parts.items[ref.item_oid], e.edit)
        edited = _edit_ref(parts, ref, e.edit)
        parts.value_lists[vl.oid] = replace(vl, item_refs=tuple(edited if r is ref else r for r in vl.item_refs))


def _references(
    define_groups: Iterable[ItemGroup],
    items: Iterable[ItemDef],
    value_lists: Iterable[ValueList],
    codelists: Iterable[CodeList],
    mdv_comment: str,
) -> set[str]:
    """Every OID of a method, comment, codelist and where clause something refers to."""
    groups, value_lists = list(define_groups), list(value_lists)
    refs = [r for g in groups for r in g.item_refs] + [r for vl in value_lists for r in vl.item_refs]
    found = {r.method_oid for r in refs} | {wc for r in refs for wc in r.where_clause_oids}
    found |= {g.comment_oid for g in groups} | {mdv_comment}
    for item in items:
        found |= {item.comment_oid, item.codelist_oid}
    found |= {c.comment_oid for c in codelists}
    return found - {""}


def apply_metadata(define: Define, metadata: StudyMetadata | None) -> Define:
    """The define with the study's metadata edits; raises SpecErrors naming each bad reference of the file."""
    if metadata is None or metadata.empty:
        return define
    parts = _parts(define)
    _definitions(parts, metadata)
    _edit_datasets(parts, metadata)
    _edit_variables(parts, metadata)
    _edit_value_level(parts, metadata)
    if parts.errors:
        raise SpecErrors(parts.errors)
    before = _references(define.item_groups, define.items, define.value_lists, define.codelists, define.comment_oid)
    after = _references(
        parts.groups.values(),
        parts.items.values(),
        parts.value_lists.values(),
        parts.codelists.values(),
        define.comment_oid,
    )

    def kept(oid: str) -> bool:  # referred to, or left alone by the edits (the define's own, unreferenced)
        return oid in after or (oid not in before and oid in _base_oids(define))

    items = _ordered_items(define, parts)
    return replace(
        define,
        item_groups=tuple(parts.groups[g.name] for g in define.item_groups),
        items=items,
        value_lists=tuple(parts.value_lists.values()),
        where_clauses=tuple(w for w in parts.where_clauses.values() if kept(w.oid)),
        codelists=tuple(sorted((c for c in parts.codelists.values() if kept(c.oid)), key=lambda c: c.oid)),
        methods=tuple(sorted((m for m in parts.methods.values() if kept(m.oid)), key=lambda m: m.oid)),
        comments=tuple(sorted((c for c in parts.comments.values() if kept(c.oid)), key=lambda c: c.oid)),
    )


def _base_oids(define: Define) -> set[str]:
    return (
        {w.oid for w in define.where_clauses}
        | {c.oid for c in define.codelists}
        | {m.oid for m in define.methods}
        | {c.oid for c in define.comments}
    )


def _ordered_items(define: Define, parts: _Parts) -> tuple[ItemDef, ...]:
    """The define's items in their order, each new value-level item after its variable's others."""
    base = [parts.items[i.oid] for i in define.items]
    known = {i.oid for i in define.items}
    added = [i for oid, i in parts.items.items() if oid not in known]
    out: list[ItemDef] = []
    for item in base:
        out.append(item)
    for new in added:
        parent = f"IT.{new.dataset}.{new.name}"
        siblings = [k for k, i in enumerate(out) if i.oid == parent or i.oid.startswith(f"{parent}.")]
        out.insert(siblings[-1] + 1 if siblings else len(out), new)
    return tuple(out)
