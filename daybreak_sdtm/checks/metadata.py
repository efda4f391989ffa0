"""DB5xx: metadata: variable labels as SDTMIG names them, and define.xml consistent with the data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm.checks import roles
from daybreak_sdtm.checks.package import Dataset, Package, PackageError
from daybreak_sdtm.checks.registry import CheckContext, Implements, check
from daybreak_sdtm.checks.versions import LABEL
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.text import text_byte_lengths

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"  # def:HasNoData is new in Define-XML 2.1
XLINK_NS = "http://www.w3.org/1999/xlink"
_NUMERIC_TYPES = {"integer", "float", "double", "decimal"}


@dataclass(frozen=True)
class DefineVariable:
    """One ItemDef as an ItemGroupDef references it."""

    name: str
    data_type: str
    length: int | None
    label: str


@dataclass(frozen=True)
class DefineMeta:
    """What define.xml says of the datasets: name -> variables, in define order."""

    file: str
    datasets: dict[str, dict[str, DefineVariable]] = field(default_factory=dict)
    no_data: frozenset[str] = frozenset()  # datasets described with def:HasNoData="Yes" (no file expected)
    # The natural keys each dataset declares (its ItemRefs with a KeySequence, in that order).
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The external dictionaries its codelists name (ExternalCodeList Dictionary -> Version).
    dictionaries: dict[str, str] = field(default_factory=dict)
    # Each dataset's label (its ItemGroupDef's Description), by dataset.
    labels: dict[str, str] = field(default_factory=dict)
    # The files its def:leaf elements point at (xlink:href): datasets, their split parts, documents.
    leaves: frozenset[str] = frozenset()


def read_define(path: Path) -> DefineMeta:
    """Parse a Define-XML 2.x file (ODM 1.3); an unreadable file is unusable input."""
    from lxml import etree

    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise PackageError(f"{path}: not a readable define.xml ({exc})") from None
    ns = {"odm": ODM_NS}
    has_no_data = f"{{{DEF_NS}}}HasNoData"
    items = {}
    for item in root.iterfind(".//odm:ItemDef", ns):
        length = item.get("Length")
        label = item.findtext("odm:Description/odm:TranslatedText", default="", namespaces=ns)
        items[item.get("OID")] = DefineVariable(
            item.get("Name", ""),
            item.get("DataType", ""),
            int(length) if length and length.isdigit() else None,
            label.strip(),
        )
    datasets: dict[str, dict[str, DefineVariable]] = {}
    no_data = set()
    keys: dict[str, tuple[str, ...]] = {}
    labels: dict[str, str] = {}
    for group in root.iterfind(".//odm:ItemGroupDef", ns):
        name = (group.get("SASDatasetName") or group.get("Name") or "").upper()
        labels[name] = group.findtext("odm:Description/odm:TranslatedText", default="", namespaces=ns).strip()
        known = [r for r in group.iterfind("odm:ItemRef", ns) if r.get("ItemOID") in items]
        datasets[name] = {items[r.get("ItemOID")].name: items[r.get("ItemOID")] for r in known}
        ranked = sorted((int(r.get("KeySequence") or 0), items[r.get("ItemOID")].name) for r in known if _key_rank(r))
        if ranked:
            keys[name] = tuple(var for _, var in ranked)
        if group.get(has_no_data) == "Yes":
            no_data.add(name)
    if not datasets:
        raise PackageError(f"{path}: no ItemGroupDef in this define.xml (is it Define-XML 2.x?)")
    dictionaries = {
        name: (ext.get("Version") or "").strip()
        for ext in root.iterfind(".//odm:CodeList/odm:ExternalCodeList", ns)
        if (name := (ext.get("Dictionary") or "").strip())
    }
    # def:leaf of Define-XML 2.0 or 2.1, whichever namespace the file's def: prefix has.
    leaves = frozenset(leaf.get(f"{{{XLINK_NS}}}href", "") for leaf in root.iter("{*}leaf"))
    return DefineMeta(path.as_posix(), datasets, frozenset(no_data), keys, dictionaries, labels, leaves)


def _key_rank(ref: Any) -> bool:
    """Whether an ItemRef holds a usable KeySequence (a positive integer)."""
    rank = (ref.get("KeySequence") or "").strip()
    return rank.isdigit() and int(rank) > 0


@check(
    "DB501",
    "metadata.define_consistent",
    severity=Severity.ERROR,
    references=(
        "Define-XML 2.1 specification (ItemGroupDef, ItemDef)",
        "FDA Study Data Technical Conformance Guide (define.xml)",
    ),
    implements=Implements(fda=("SD0054", "SD0059", "SD0060", "SD0061", "SD1063")),
)
def define_consistent(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """When a define.xml is given, it describes exactly the package: datasets, variables, types, lengths, labels.

    Reported: a dataset or variable in one but not the other; a Num variable with a text DataType
    (or the reverse); a Length shorter than the longest value; a dataset or variable label in the
    file (the XPT header, Dataset-JSON) other than define.xml's (a warning: the data read the same,
    but a reviewer sees two labels); a dataset described with
    def:HasNoData="Yes" that has a file with records. A dataset with def:HasNoData="Yes" and no
    file is as it should be (FDA wants no empty datasets). Runs only with ``--define`` or a
    define.xml in the package folder.
    Fix: regenerate define.xml from the same build (``daybreak-sdtm define``).
    """
    meta: DefineMeta | None = getattr(pkg, "define_meta", None)
    if meta is None:
        return
    for name in sorted(set(meta.datasets) - set(pkg.datasets) - meta.no_data):
        yield Finding(
            "DB501", Severity.ERROR, name, "", None, f"define.xml describes {name}, which is not in the package"
        )
    for name, ds in pkg.datasets.items():
        if name in meta.no_data and len(ds.frame):
            yield ds.finding(
                "DB501",
                Severity.ERROR,
                "",
                f"define.xml says {name} has no data (def:HasNoData), but {name} holds {len(ds.frame)} record(s)",
            )
        described = meta.datasets.get(name)
        if described is None:
            yield ds.finding("DB501", Severity.ERROR, "", f"{name} is not described in define.xml")
            continue
        yield from _label_differs(ds, "", ds.label, meta.labels.get(name, ""))
        for col in ds.frame.columns:
            item = described.get(col)
            if item is None:
                yield ds.finding("DB501", Severity.ERROR, col, f"{col} is not an ItemRef of {name} in define.xml")
                continue
            yield from _label_differs(ds, col, ds.labels.get(col, ""), item.label)
            numeric = ds.frame[col].dtype != object
            if numeric != (item.data_type in _NUMERIC_TYPES):
                yield ds.finding(
                    "DB501",
                    Severity.ERROR,
                    col,
                    f"define.xml DataType {item.data_type!r} does not match the stored {'Num' if numeric else 'Char'} type",
                )
            if not numeric and item.length is not None and len(ds.frame):
                # Judged on the column's distinct values (its factorisation), in Arrow's kernel.
                longest = int(text_byte_lengths(pd.Series(ds.codes(col)[1], dtype=object)).max())
                if longest > item.length:
                    yield ds.finding(
                        "DB501",
                        Severity.ERROR,
                        col,
                        f"define.xml Length {item.length} is shorter than the longest value ({longest} bytes)",
                    )
        for col in described:
            if col not in ds.frame.columns:
                yield ds.finding("DB501", Severity.ERROR, col, f"define.xml lists {col}, which {name} does not have")


def _label_differs(ds: Dataset, variable: str, written: str, described: str) -> Iterator[Finding]:
    """A dataset's or variable's label in its file (the XPT header, Dataset-JSON) and in define.xml
    are one label: both given and different (blanks between words aside) is a warning."""
    if written and described and written.split() != described.split():
        what = f"{ds.name}.{variable}" if variable else ds.name
        yield ds.finding(
            "DB501",
            Severity.WARNING,
            variable,
            f"{what}: define.xml's label {described!r} is not the file's {written!r}",
        )


@check(
    "DB502",
    "metadata.variable_label",
    severity=Severity.WARNING,
    references=("SDTMIG 3.4 domain models (Variable Label column)",),
    implements=Implements(cdisc=("CG0303",), core=("CORE-000398",), fda=("SD0063",)),
)
def variable_label(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Variable labels in the XPT header are SDTMIG's labels.

    Checked only for datasets read from files (labels are part of the XPT header).
    Anti-pattern: AESTDTC labelled "Start Date".
    Fix: write the SDTMIG label (the writer takes it from the standards metadata).
    """
    for ds in pkg.datasets.values():
        if not ds.labels:
            continue
        for col in ds.frame.columns:
            meta = ctx.standards.variable(ds.name, col)
            label = ds.labels.get(col, "")
            # A variable no IG table lists (one its class allows, a sponsor domain's) has only the
            # class's generic label, which a sponsor may word for the domain (SDTMIG 3.4 section 2.6 h).
            if meta is not None and not meta.model_allowed and label and label != meta.label:
                change = ctx.difference(ds, col, LABEL)
                if change is not None and change.detail == label:
                    yield ds.finding(
                        "DB502",
                        Severity.NOTE,
                        col,
                        f"label {label!r} differs from SDTMIG {ctx.standards.sdtmig_version}'s {meta.label!r}: "
                        f"it is SDTMIG {ctx.declared_sdtmig}'s, which the package declares ({change.why})",
                    )
                else:
                    yield ds.finding(
                        "DB502", Severity.WARNING, col, f"label {label!r} differs from SDTMIG's {meta.label!r}"
                    )


def _dictionary(ctx: CheckContext, name: str) -> str:
    """The DICTNAM term code a TSVCDREF value names (submission value, CT synonym or alias), "" when none."""
    term = ctx.standards.dictionary(name)
    return term.code if term is not None else ""


@check(
    "DB503",
    "metadata.dictionary_version",
    severity=Severity.WARNING,
    references=(
        "SDTMIG 3.4 TS assumptions (TSVCDREF, TSVCDVER)",
        "FDA Study Data Technical Conformance Guide (versions of dictionaries used)",
    ),
    implements=Implements(cdisc=("CG0266",), core=("CORE-000153",)),
)
def dictionary_version(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A TS value coded with a versioned terminology (TSVCDREF) gives its TSVCDVER; TSVCDVER is never given without TSVCDREF.

    Versioned terminologies: CDISC CT, MedDRA, SNOMED, MED-RT, WHODrug, LOINC, ICD, CTCAE... (UNII
    identifiers are assigned once and never change, so UNII needs no version).
    The terminology is found through CT's Dictionary Name codelist (DICTNAM), by submission value
    or synonym ("NDF-RT" is MED-RT), and "CDISC" as SDTMIG 3.2 writes CDISC CT. ISO 3166 and
    ISO 8601 are cited without a version. A version without its terminology is an error (CG0266),
    a terminology without its version a warning. A TSVCDVER of a dictionary the package's data
    are coded with (the study's ``dictionaries:``, else define.xml's ExternalCodeList) that is not
    the version the data are coded with is an error: TS and define.xml would disagree.
    Anti-pattern: TSPARMCD = TCNTRL, TSVALCD = C49648, TSVCDREF = "CDISC CT", TSVCDVER blank.
    Fix: give the release (TSVCDVER = "2025-03-28" for CDISC CT, "26.1" for MedDRA).
    """
    ts = pkg.get(roles.TRIAL_SUMMARY)
    if ts is None or not {"TSVCDREF", "TSVCDVER"} <= set(ts.frame.columns):
        return
    ref, ver = ts.text("TSVCDREF"), ts.text("TSVCDVER")
    orphan = (ver.ne("") & ref.eq("")).to_numpy()
    yield from ts.findings(
        "DB503",
        Severity.ERROR,
        np.flatnonzero(orphan),
        "TSVCDVER",
        "TSVCDVER is given but TSVCDREF, the terminology it is a version of, is blank",
    )
    versioned = ref.map(lambda name: _dictionary(ctx, name) in roles.VERSIONED_DICTIONARIES if name else False)
    bad = (versioned & ver.eq("")).to_numpy()
    yield from ts.findings(
        "DB503",
        Severity.WARNING,
        np.flatnonzero(bad),
        "TSVCDVER",
        [
            f"TSVCDVER is blank: {r} is published in versions; say which one TSVALCD is from"
            for r in ref.to_numpy()[bad]
        ],
    )
    coded = dict(ctx.dictionaries)
    meta: DefineMeta | None = getattr(pkg, "define_meta", None)
    if not coded and meta is not None:
        coded = {code: v for name, v in meta.dictionaries.items() if v and (code := _dictionary(ctx, name))}
    if not coded:
        return
    codes = ref.map(lambda name: _dictionary(ctx, name) if name else "").to_numpy()
    wanted = np.array([coded.get(code, "") for code in codes], dtype=object)
    differs = (wanted != "") & ver.ne("").to_numpy() & (ver.to_numpy() != wanted)
    yield from ts.findings(
        "DB503",
        Severity.ERROR,
        np.flatnonzero(differs),
        "TSVCDVER",
        [
            f"TSVCDVER {v!r} of {r} is not the version the data are coded with ({w!r})"
            for r, v, w in zip(ref.to_numpy()[differs], ver.to_numpy()[differs], wanted[differs], strict=True)
        ],
    )
