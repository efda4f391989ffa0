"""The variables of define.xml as a reviewer reads them: HasNoData, ISO 8601 data types, origins,
external dictionaries and the SUPP-- predecessors, each read back from the written define.xml and
compared with the XPT files next to it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api
from daybreak_sdtm.define import build_define, read_package
from daybreak_sdtm.define.model import ISO8601_TYPES, iso8601_type, text_value_type
from daybreak_sdtm.derive.registry import DERIVATIONS
from daybreak_sdtm.write.define_xml import define_xml, validate_define
from tests.define.conftest import NS, TIMESTAMP, text, xp

PILOT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cdiscpilot01"
HAS_NO_DATA = f"{{{NS['def']}}}HasNoData"


def _frames(package: Path) -> dict[str, pd.DataFrame]:
    return {p.stem.upper(): pyreadstat.read_xport(str(p))[0] for p in sorted(package.glob("*.xpt"))}


def _items(doc: etree._ElementTree) -> dict[str, etree._Element]:
    return {el.get("OID"): el for el in xp(doc, "//odm:ItemDef")}


def _blank(values: pd.Series) -> bool:
    return bool((values.isna() | values.astype(str).str.strip().eq("")).all())


def _origin(item: etree._Element) -> tuple[str, str]:
    return xp(item, "string(def:Origin/@Type)"), xp(item, "string(def:Origin/@Source)")


# ---- def:HasNoData on ItemRefs ---------------------------------------------------------------------


def test_has_no_data_is_set_exactly_on_the_variables_without_values(
    package: Path, define_doc: etree._ElementTree
) -> None:
    frames = _frames(package)
    items = _items(define_doc)
    flagged, empty = set(), set()
    for group in xp(define_doc, "//odm:ItemGroupDef"):
        frame = frames[group.get("Name")]
        assert len(frame)  # every dataset of the sample has records: no dataset-level HasNoData
        assert group.get(HAS_NO_DATA) is None
        for ref in xp(group, "odm:ItemRef"):
            item = items[ref.get("ItemOID")]
            where = f"{group.get('Name')}.{item.get('Name')}"
            if ref.get(HAS_NO_DATA) is not None:
                assert ref.get(HAS_NO_DATA) == "Yes"
                flagged.add(where)
                # Nothing to list for values it does not have, and it cannot be mandatory.
                assert xp(item, "odm:CodeListRef") == [], where
                assert ref.get("Mandatory") == "No", where
            if _blank(frame[item.get("Name")]):
                empty.add(where)
    assert flagged == empty
    assert flagged >= {
        "DM.ARMNRS",
        "DM.ACTARMUD",
        "AE.AESCONG",
        "AE.AESDISAB",
        "SUPPDM.IDVAR",
        "SUPPDM.IDVARVAL",
        "SUPPDM.QEVAL",
        "SUPPPR.QEVAL",
        "SUPPRS.QEVAL",
    }
    assert "SUPPAE.QEVAL" not in flagged  # evaluated qualifiers have values
    # Value-level items select records with values (a QVAL record exists only for a value).
    assert xp(define_doc, "//def:ValueListDef/odm:ItemRef[@def:HasNoData]") == []


def test_has_no_data_is_shown_in_define_html(package: Path) -> None:
    from lxml import html

    dom = html.fromstring((package / "define.html").read_bytes())
    row = dom.get_element_by_id("IT.DM.ARMNRS")
    assert "no data" in row.text_content()
    assert "no data" not in dom.get_element_by_id("IT.DM.ARMCD").text_content()


# ---- ISO 8601 data types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "data_type"),
    [
        ("DM.RFSTDTC", "date"),  # every subject has a complete date
        ("DM.BRTHDTC", "partialDate"),  # some birth dates are year-month only
        ("AE.AESTDTC", "partialDate"),
        ("AE.AEENDTC", "date"),
        ("EX.EXSTDTC", "partialDatetime"),  # dates, and dates with a time to the minute
        ("SV.SVSTDTC", "partialDatetime"),
        ("TE.TEDUR", "durationDatetime"),
    ],
)
def test_iso8601_data_type_of_the_sample(define_doc: etree._ElementTree, variable: str, data_type: str) -> None:
    dataset, name = variable.split(".")
    assert _items(define_doc)[f"IT.{dataset}.{name}"].get("DataType") == data_type


def test_iso8601_data_types_agree_with_the_values(package: Path, define_doc: etree._ElementTree) -> None:
    frames = _frames(package)
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    seen = set()
    for item in xp(define_doc, "//odm:ItemDef"):
        data_type = item.get("DataType")
        if data_type not in ISO8601_TYPES or item.get("OID").count(".") != 2:
            continue
        seen.add(data_type)
        dataset = item.get("OID").split(".")[1]
        values = [v for v in frames[dataset][item.get("Name")].astype(str) if v.strip()]
        assert values, item.get("OID")
        if data_type == "date":
            assert all(date.match(v) for v in values), item.get("OID")
        elif data_type == "partialDate":
            assert all(re.match(r"^\d{4}(-\d{2}){0,2}$", v) for v in values), item.get("OID")
            assert not all(date.match(v) for v in values), item.get("OID")
        elif data_type == "partialDatetime":
            assert any("T" in v for v in values), item.get("OID")
        elif data_type == "durationDatetime":
            assert all(v.startswith("P") for v in values), item.get("OID")
    assert seen == {"date", "partialDate", "partialDatetime", "durationDatetime"}


def test_iso8601_types_follow_the_odm_definitions() -> None:
    assert iso8601_type(["2025-03-04", "2025-12-31"], "datetime") == "date"
    assert iso8601_type(["2025-03-04T10:30:00", "2025-03-04T10:30:15.5"], "date") == "datetime"
    assert iso8601_type(["2025-03-04T10:30:00Z"], "date") == "datetime"
    assert iso8601_type(["2025-03-04", "2025-03", "2025"], "datetime") == "partialDate"
    assert iso8601_type(["2025-03"], "datetime") == "partialDate"
    # A time without seconds is a right-truncated datetime, and so is a date among datetimes.
    assert iso8601_type(["2025-03-04T10:30"], "date") == "partialDatetime"
    assert iso8601_type(["2025-03-04", "2025-03-04T10:30:00"], "date") == "partialDatetime"
    assert iso8601_type(["2003---15", "2003-12-15"], "date") == "incompleteDatetime"
    assert iso8601_type(["2003-12-15T-:30", "2003"], "date") == "incompleteDatetime"
    assert iso8601_type(["P3W", "PT4H30M", "P1Y2M"], "text") == "durationDatetime"
    assert iso8601_type(["2025-03-04/2025-03-10", "2025-03/P2D"], "text") == "intervalDatetime"
    assert iso8601_type(["2025-03-04", "P2D"], "datetime") == "text"  # mixed kinds: no one ISO type
    assert iso8601_type(["UNKNOWN"], "datetime") == "text"
    assert iso8601_type([], "durationDatetime") == "durationDatetime"


def test_supplemental_values_are_typed_from_their_values() -> None:
    assert text_value_type(["2025-03-04", "2025-03"]) == ("partialDate", 10, None)
    assert text_value_type(["2025", "2026"])[0] == "integer"  # a number before a year
    assert text_value_type(["MRI", "CT"]) == ("text", 3, None)


@pytest.mark.skipif(not PILOT.is_dir(), reason="the CDISC pilot package is not next to the checkout")
@pytest.mark.parametrize(
    ("dataset", "variable", "data_type"),
    [
        ("ae", "AESTDTC", "partialDate"),  # 2013-04, 2013 among complete dates
        ("cm", "CMSTDTC", "partialDate"),
        ("ae", "AEENDTC", "date"),
        ("lbch", "LBDTC", "partialDatetime"),  # to the minute, some dates only
        ("dm", "RFPENDTC", "partialDatetime"),
        ("ds", "DSSTDTC", "date"),
        ("te", "TEDUR", "durationDatetime"),
        ("dm", "RFICDTC", "datetime"),  # no value: the default
    ],
)
def test_iso8601_types_of_the_pilot_values(dataset: str, variable: str, data_type: str) -> None:
    frame = pyreadstat.read_xport(str(PILOT / f"{dataset}.xpt"), encoding="cp1252", usecols=[variable])[0]
    values = [v for v in frame[variable].astype(str).str.strip().unique() if v]
    assert iso8601_type(values, "datetime") == data_type


# ---- origins ---------------------------------------------------------------------------------------


def test_meddra_coded_variables_are_assigned_by_the_sponsor(define_doc: etree._ElementTree) -> None:
    items = _items(define_doc)
    meddra = {
        "AELLT",
        "AELLTCD",
        "AEDECOD",
        "AEPTCD",
        "AEHLT",
        "AEHLTCD",
        "AEHLGT",
        "AEHLGTCD",
        "AEBODSYS",
        "AEBDSYCD",
        "AESOC",
        "AESOCCD",
    }
    for name in meddra:
        assert _origin(items[f"IT.AE.{name}"]) == ("Assigned", "Sponsor"), name
        ref = xp(define_doc, f"//odm:ItemGroupDef[@Name='AE']/odm:ItemRef[@ItemOID='IT.AE.{name}']")[0]
        assert ref.get("MethodOID") is None
    # The verbatim term stays collected; it is what the investigator wrote.
    assert _origin(items["IT.AE.AETERM"]) == ("Collected", "Investigator")
    assert _origin(items["IT.AE.AESER"]) == ("Collected", "Investigator")


def test_a_spec_origin_wins_over_the_meddra_default(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = tmp_path / "study"
    shutil.copytree(api.default_study_dir(), study)
    spec = study / "ae.yaml"
    line = "  AEDECOD: {derivation: assign_no_ct, source: AEPT}\n"
    assert line in spec.read_text(encoding="utf-8")
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(line, line.replace("source: AEPT", "source: AEPT, origin: Derived")),
        encoding="utf-8",
    )
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    api.define(study, pkg, timestamp=TIMESTAMP)
    items = _items(etree.parse(str(pkg / "define.xml")))
    assert _origin(items["IT.AE.AEDECOD"]) == ("Derived", "Sponsor")
    assert _origin(items["IT.AE.AELLT"]) == ("Assigned", "Sponsor")


def test_protocol_values_have_origin_protocol(define_doc: etree._ElementTree) -> None:
    assert DERIVATIONS["derive_arm"].origin == "Protocol"
    assert DERIVATIONS["derive_visitnum"].origin == "Protocol"
    items = _items(define_doc)
    for oid in ("IT.DM.ARM", "IT.DM.ACTARM", "IT.EX.VISITNUM", "IT.RS.VISITNUM"):
        assert _origin(items[oid]) == ("Protocol", "Sponsor"), oid
        assert xp(define_doc, f"//odm:ItemRef[@ItemOID='{oid}']/@MethodOID") == []
    # The trial design datasets hold the protocol as the study file declares it.
    for dataset in ("TS", "TA", "TE", "TV", "TI"):
        group = xp(define_doc, f"//odm:ItemGroupDef[@Name='{dataset}']")[0]
        for oid in xp(group, "odm:ItemRef/@ItemOID"):
            expected = (
                ("Assigned", "Sponsor") if oid.split(".")[-1] in ("STUDYID", "DOMAIN") else ("Protocol", "Sponsor")
            )
            assert _origin(items[oid]) == expected, oid
    # The codes the arm names come from are the derivations' own (ARMCD from the CRF's randomisation).
    assert _origin(items["IT.DM.ARMCD"])[0] == "Derived"


def test_every_collected_origin_names_its_source(define_doc: etree._ElementTree) -> None:
    origins = xp(define_doc, "//def:Origin")
    assert origins
    for origin in origins:
        if origin.get("Type") == "Collected":
            assert origin.get("Source") in ("Investigator", "Subject", "Vendor")
        elif origin.get("Type") in ("Assigned", "Derived", "Protocol"):
            assert origin.get("Source") == "Sponsor"
        else:
            assert origin.get("Type") == "Predecessor" and origin.get("Source") is None


# ---- external dictionaries -------------------------------------------------------------------------


def test_external_code_lists_have_version_and_href(define_doc: etree._ElementTree) -> None:
    study, _ = api.load()
    meddra = xp(define_doc, "//odm:CodeList[@OID='CL.MEDDRA']/odm:ExternalCodeList")[0]
    assert dict(meddra.attrib) == {
        "Dictionary": "MedDRA",
        "Version": next(d.version for d in study.dictionaries if d.name.upper() == "MEDDRA"),
        "href": "https://www.meddra.org/",
    }
    assert meddra.get("Version") == "28.0"
    country = xp(define_doc, "//odm:CodeList[@OID='CL.ISO3166']/odm:ExternalCodeList")[0]
    assert dict(country.attrib) == {
        "Dictionary": "ISO 3166",
        "Version": f"pycountry {version('pycountry')}",
        "href": "https://www.iso.org/iso-3166-country-codes.html",
    }
    assert xp(define_doc, "//odm:ItemDef[@OID='IT.DM.COUNTRY']/odm:CodeListRef/@CodeListOID") == ["CL.ISO3166"]


# ---- SUPP-- IDVAR and IDVARVAL ---------------------------------------------------------------------


def test_supp_idvarval_predecessor_is_the_parent_seq(package: Path, define_doc: etree._ElementTree) -> None:
    frames = _frames(package)
    items = _items(define_doc)
    for parent in ("AE", "PR", "RS"):
        supp = f"SUPP{parent}"
        assert set(frames[supp]["IDVAR"]) == {f"{parent}SEQ"}
        item = items[f"IT.{supp}.IDVARVAL"]
        assert _origin(item) == ("Predecessor", "")
        assert text(item, "def:Origin/odm:Description/odm:TranslatedText") == f"{parent}.{parent}SEQ"
    # DM has no --SEQ: SUPPDM's qualifiers are subject-level, IDVAR and IDVARVAL blank and so described.
    assert _blank(frames["SUPPDM"]["IDVAR"]) and _blank(frames["SUPPDM"]["IDVARVAL"])
    for var in ("IDVAR", "IDVARVAL"):
        ref = xp(define_doc, f"//odm:ItemGroupDef[@Name='SUPPDM']/odm:ItemRef[@ItemOID='IT.SUPPDM.{var}']")[0]
        assert ref.get(HAS_NO_DATA) == "Yes"
        assert _origin(items[f"IT.SUPPDM.{var}"]) == ("Assigned", "Sponsor")
    assert b"DMSEQ" not in etree.tostring(define_doc)


def test_a_supp_dataset_without_records_still_names_the_parent_seq(package: Path) -> None:
    study, standards = api.load()
    datasets = [ds for ds in read_package(package) if ds.name != "SUPPAE"]
    created = dt.datetime.fromisoformat(TIMESTAMP)
    define = build_define(study, standards, datasets, created, no_data={"SUPPAE": "no qualifier has a value"})
    xml = define_xml(define)
    validate_define(xml)
    doc = etree.fromstring(xml)
    group = xp(doc, "//odm:ItemGroupDef[@Name='SUPPAE']")[0]
    assert group.get(HAS_NO_DATA) == "Yes"
    assert xp(group, "odm:ItemRef[@def:HasNoData]") == []  # the dataset says it, not each variable
    item = xp(doc, "//odm:ItemDef[@OID='IT.SUPPAE.IDVARVAL']")[0]
    assert text(item, "def:Origin/odm:Description/odm:TranslatedText") == "AE.AESEQ"
