"""Packages made for an older SDTMIG: which version a package declares, and where SDTMIG 3.4 differs.

Only SDTMIG 3.4 metadata is bundled, so a package that declares SDTMIG 3.2 or 3.3 is checked
against 3.4. Where a finding comes from a difference between the IG versions (a variable 3.4
added or dropped, a label 3.4 words differently, a value the older IG itself names), the check
reports it as a note that says so, never as an error or warning: the package may be right for the
version it declares. ``DIFFERENCES`` is that knowledge, as data; the checks ask it through
``difference``.

Sources: SDTMIG 3.3 section 1.3 and its revision history (changes from 3.2), SDTMIG 3.4 section
1.3 and its revision history (changes from 3.3), and, for SDTMIG 3.2's labels, the Pinnacle 21
Community 2.2.0 report (SDTM 3.2 configuration) shipped with the CDISC pilot package, which found
no label mismatch (rule SD0063) and no missing Expected variable (SD0057) in that package, and
reported SV.EPOCH, SE.SESTDY/SEENDY and DS.DSDY as model-permissible variables (SD1076), that is,
absent from SDTMIG 3.2's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daybreak_sdtm.standards.model import CLASS_SOURCES

# The SDTMIG versions a package may declare: those whose differences from the bundled 3.4 are described here.
KNOWN_SDTMIG = ("3.2", "3.3", "3.4")
DEFAULT_SDTMIG = "3.4"

ADDED, REMOVED, LABEL, VALUES, NULL_ARMS = "added", "removed", "label", "values", "null arms"


@dataclass(frozen=True)
class Difference:
    """How SDTMIG 3.4 differs, for one variable, from the versions listed.

    Attributes:
        dataset: The domain (``DM``), or a general observation class (``FINDINGS``) for a class
            variable, written with ``--`` (``--LOBXFL``).
        variable: The variable.
        kind: ``added`` (3.4 has it, those versions do not), ``removed`` (those versions have it in
            the domain, 3.4 does not), ``label`` (their label is ``detail``), ``values`` (values
            those versions name for it, ``;``-separated in ``detail``), ``null arms`` (the arm
            codes and names those versions reserve for subjects without an arm, ``CODE=Name;...``).
        versions: The declared versions the difference applies to.
        detail: What those versions say (label, values).
        why: The change, as a reader of the finding needs it.
    """

    dataset: str
    variable: str
    kind: str
    versions: tuple[str, ...]
    detail: str = ""
    why: str = ""

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.detail.split(";") if v.strip())


_32, _32_33 = ("3.2",), ("3.2", "3.3")
DIFFERENCES: tuple[Difference, ...] = (
    Difference("DM", "ARMNRS", ADDED, _32, why="new in SDTMIG 3.3 (reason ARM/ACTARM is null)"),
    Difference("DM", "ACTARMUD", ADDED, _32, why="new in SDTMIG 3.3 (description of an unplanned actual arm)"),
    Difference("DM", "RFCSTDTC", ADDED, _32_33, why="new in SDTMIG 3.4"),
    Difference("DM", "RFCENDTC", ADDED, _32_33, why="new in SDTMIG 3.4"),
    Difference(
        "DM",
        "ARMCD",
        NULL_ARMS,
        _32,
        "SCRNFAIL=Screen Failure;NOTASSGN=Not Assigned",
        why="SDTMIG 3.2 DM assumption 4 reserves these for subjects without an arm (3.3 leaves ARMCD null and gives ARMNRS)",
    ),
    Difference(
        "DM",
        "ACTARMCD",
        NULL_ARMS,
        _32,
        "SCRNFAIL=Screen Failure;NOTASSGN=Not Assigned;NOTTRT=Not Treated;UNPLAN=Unplanned Treatment",
        why="SDTMIG 3.2 DM assumption 5 reserves these for subjects without an actual arm (3.3 leaves ACTARMCD null and gives ARMNRS)",
    ),
    Difference("FINDINGS", "--LOBXFL", ADDED, _32, why="new in SDTMIG 3.3 (last observation before exposure flag)"),
    Difference("FINDINGS", "--CLSIG", ADDED, _32_33, why="new in SDTMIG 3.4"),
    Difference("SV", "SVPRESP", ADDED, _32_33, why="new in SDTMIG 3.4 (SV holds planned visits too)"),
    Difference("SV", "SVOCCUR", ADDED, _32_33, why="new in SDTMIG 3.4 (SV holds planned visits too)"),
    Difference("SV", "SVREASOC", ADDED, _32_33, why="new in SDTMIG 3.4 (SV holds planned visits too)"),
    Difference("SV", "SVCNTMOD", ADDED, _32_33, why="new in SDTMIG 3.4 (contact mode of the visit)"),
    Difference("SV", "SVEPCHGI", ADDED, _32_33, why="new in SDTMIG 3.4 (visit changed by an epidemic or pandemic)"),
    Difference("EC", "ECREASOC", ADDED, _32_33, why="new in SDTMIG 3.4"),
    Difference("CE", "CETOXGR", ADDED, _32_33, why="new in SDTMIG 3.4"),
    Difference("SV", "EPOCH", REMOVED, _32_33, why="SDTMIG 3.4 dropped EPOCH from SV"),
    Difference(
        "SV", "SVSTDTC", LABEL, _32_33, "Start Date/Time of Visit", why="SDTMIG 3.4 relabelled SV's timing variables"
    ),
    Difference(
        "SV", "SVENDTC", LABEL, _32_33, "End Date/Time of Visit", why="SDTMIG 3.4 relabelled SV's timing variables"
    ),
    Difference(
        "SV", "SVSTDY", LABEL, _32_33, "Study Day of Start of Visit", why="SDTMIG 3.4 relabelled SV's timing variables"
    ),
    Difference(
        "SV", "SVENDY", LABEL, _32_33, "Study Day of End of Visit", why="SDTMIG 3.4 relabelled SV's timing variables"
    ),
    Difference(
        "SE",
        "SESTDY",
        LABEL,
        _32,
        "Study Day of Start of Observation",
        why="SDTMIG 3.2's SE table does not list SESTDY; the SDTM model's label applies",
    ),
    Difference(
        "SE",
        "SEENDY",
        LABEL,
        _32,
        "Study Day of End of Observation",
        why="SDTMIG 3.2's SE table does not list SEENDY; the SDTM model's label applies",
    ),
    Difference(
        "DS",
        "DSDY",
        LABEL,
        _32,
        "Study Day of Visit/Collection/Exam",
        why="SDTMIG 3.2's DS table does not list DSDY; the SDTM model's label applies",
    ),
    Difference(
        "QS",
        "QSSTRESC",
        LABEL,
        _32,
        "Result or Finding in Standard Format",
        why="SDTMIG 3.4 words the label differently",
    ),
    Difference(
        "TI",
        "IETESTCD",
        LABEL,
        _32,
        "Inclusion/Exclusion Criterion Short Name",
        why="SDTMIG 3.4 words the label differently",
    ),
    Difference("TS", "TSVALNF", LABEL, _32, "Parameter Null Flavor", why="SDTMIG 3.4 words the label differently"),
    Difference(
        "TS",
        "TSVCDREF",
        VALUES,
        _32,
        "CDISC;ISO 8601",
        why="SDTMIG 3.2's TS examples name the reference terminologies 'CDISC' and 'ISO 8601' (CT's DICTNAM has 'CDISC CT' since)",
    ),
)


def difference(
    declared: str, checked: str, dataset: str, domain: str, klass: str, variable: str, kind: str
) -> Difference | None:
    """The difference of ``kind`` for ``variable`` of a dataset, when the declared version has it.

    Args:
        declared: The SDTMIG version the package declares ("" when unknown: no difference applies).
        checked: The version of the metadata checked against.
        dataset: The dataset's name (``LBCH``), for the record.
        domain: Its domain code (``LB``).
        klass: Its SDTM class (``FINDINGS``), for class-wide differences.
        variable: The variable as named in the dataset.
        kind: One of ``added``, ``removed``, ``label``, ``values``, ``null arms``.
    """
    if not declared or declared == checked:
        return None
    generic = "--" + variable[len(domain) :] if domain and variable.startswith(domain) else ""
    classes = CLASS_SOURCES.get(klass, (klass,)) if klass else ()  # Findings About takes the Findings variables
    for item in DIFFERENCES:
        if item.kind != kind or declared not in item.versions:
            continue
        if item.dataset == domain and item.variable == variable:
            return item
        if item.dataset in classes and generic and item.variable == generic:
            return item
    return None


def is_older(declared: str, checked: str) -> bool:
    """Whether SDTMIG ``declared`` precedes ``checked`` ("3.1.2" < "3.2" < "3.4"); False when either is not a version."""
    try:
        return tuple(int(p) for p in declared.split(".")) < tuple(int(p) for p in checked.split("."))
    except ValueError:
        return False


def declared_in_define(path: Path) -> str:
    """The SDTMIG version a define.xml declares ("" when it declares none).

    Define-XML 2.0: ``MetaDataVersion/@def:StandardName`` ("SDTM-IG", "CDISC SDTM") and
    ``@def:StandardVersion``; Define-XML 2.1: the ``def:Standard`` of Type="IG" and
    Name="SDTMIG" in ``def:Standards``. An unreadable file declares nothing here (DB501 reports it).
    """
    from lxml import etree

    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return ""
    for mdv in root.iter("{*}MetaDataVersion"):
        for standard in mdv.iter("{*}Standard"):
            name = (standard.get("Name") or "").upper().replace("-", "")
            if name == "SDTMIG" and (standard.get("Type") or "IG").upper() == "IG":
                return (standard.get("Version") or "").strip()
        attrs = {key.rpartition("}")[2]: value for key, value in mdv.attrib.items()}
        if "SDTM" in (attrs.get("StandardName") or "").upper():
            return (attrs.get("StandardVersion") or "").strip()
    return ""
