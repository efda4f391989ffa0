"""define.xml of the sample package: schema-valid, complete, and in agreement with its XPT files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api, cli
from daybreak_sdtm.define.model import ISO8601_TYPES
from daybreak_sdtm.errors import ExitStatus
from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.write import define_files
from daybreak_sdtm.write.define_xml import DefineSchemaError, validate_define
from daybreak_sdtm.write.package import check_target
from tests.define.conftest import NS, TIMESTAMP, text, xp


def _xpt(package: Path) -> dict[str, tuple[pd.DataFrame, object]]:
    out = {}
    for path in sorted(package.glob("*.xpt")):
        frame, meta = pyreadstat.read_xport(str(path))
        out[meta.table_name] = (frame, meta)
    return out


def _items(doc: etree._ElementTree) -> dict[str, etree._Element]:
    return {el.get("OID"): el for el in xp(doc, "//odm:ItemDef")}


def _selected(frame: pd.DataFrame, clause: etree._Element, items: dict[str, etree._Element]) -> pd.Series:
    """The records a WhereClauseDef selects (all its range checks hold)."""
    mask = pd.Series(True, index=frame.index)
    for check in xp(clause, "odm:RangeCheck"):
        column = items[check.get(f"{{{NS['def']}}}ItemOID")].get("Name")
        values = [v.text for v in xp(check, "odm:CheckValue")]
        assert check.get("Comparator") in ("EQ", "IN")
        mask &= frame[column].astype(str).isin(values)
    return mask


# ---- 1. schema --------------------------------------------------------------------------------------


def test_sample_define_is_valid_define_xml_2_1(package: Path, define_doc: etree._ElementTree) -> None:
    validate_define((package / "define.xml").read_bytes())
    mdv = xp(define_doc, "/odm:ODM/odm:Study/odm:MetaDataVersion")[0]
    assert mdv.get(f"{{{NS['def']}}}DefineVersion") == "2.1.0"
    assert define_doc.getroot().get("ODMVersion") == "1.3.2"


def test_creation_time_is_the_conversion_timestamp(define_doc: etree._ElementTree) -> None:
    assert define_doc.getroot().get("CreationDateTime") == dt.datetime.fromisoformat(TIMESTAMP).isoformat()


def test_standards_name_sdtmig_and_the_ct_package(define_doc: etree._ElementTree) -> None:
    stds = {(s.get("Name"), s.get("Type"), s.get("Version")) for s in xp(define_doc, "//def:Standards/def:Standard")}
    assert stds == {("SDTMIG", "IG", "3.4"), ("CDISC/NCI", "CT", "2025-03-28")}


def test_a_tampered_define_is_reported_with_line_numbers(package: Path) -> None:
    doc = etree.parse(str(package / "define.xml"))
    group = xp(doc, "//odm:ItemGroupDef")[0]
    del group.attrib[f"{{{NS['def']}}}Structure"]  # required by Define-XML 2.1
    xp(doc, "//odm:ItemDef")[0].set("DataType", "number")  # not an ODM data type
    tampered = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    with pytest.raises(DefineSchemaError) as err:
        validate_define(tampered)
    assert len(err.value.problems) == 2
    assert any("Structure" in p for p in err.value.problems)
    assert any("number" in p for p in err.value.problems)
    assert all(p.split(":")[0].isdigit() for p in err.value.problems)  # "line: message"


def test_not_well_formed_xml_is_reported() -> None:
    with pytest.raises(DefineSchemaError, match="1:"):
        validate_define(b"<ODM")


def test_an_invalid_define_is_never_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = define_files.define_xml
    monkeypatch.setattr(
        define_files, "define_xml", lambda d: original(d).replace(b'Repeating="No"', b'Repeating="Maybe"', 1)
    )
    out = tmp_path / "pkg"
    with pytest.raises(DefineSchemaError) as err:
        api.convert(out_dir=out, timestamp=TIMESTAMP)
    assert err.value.exit_status == ExitStatus.WRITE_FAILED
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial folder left behind


# ---- 2. define and data agree ----------------------------------------------------------------------


def test_datasets_are_exactly_the_xpt_files(package: Path, define_doc: etree._ElementTree) -> None:
    groups = xp(define_doc, "//odm:ItemGroupDef")
    assert sorted(g.get("Name") for g in groups) == sorted(_xpt(package))
    for group in groups:
        leaf = xp(group, "def:leaf")[0]
        href = leaf.get(f"{{{NS['xlink']}}}href")
        assert href == f"{group.get('Name').lower()}.xpt"
        assert (package / href).is_file()
        assert group.get(f"{{{NS['def']}}}ArchiveLocationID") == leaf.get("ID")
        assert group.get("Purpose") == "Tabulation"
        assert xp(group, "def:Class/@Name")


def test_variables_match_the_xpt_files(package: Path, define_doc: etree._ElementTree) -> None:
    items = _items(define_doc)
    for name, (frame, meta) in _xpt(package).items():
        group = xp(define_doc, f"//odm:ItemGroupDef[@Name='{name}']")[0]
        assert text(group) == meta.file_label
        refs = xp(group, "odm:ItemRef")
        assert [items[r.get("ItemOID")].get("Name") for r in refs] == list(frame.columns), name
        assert [int(r.get("OrderNumber")) for r in refs] == list(range(1, len(refs) + 1))
        for ref in refs:
            item = items[ref.get("ItemOID")]
            var = item.get("Name")
            where = f"{name}.{var}"
            assert item.get("SASFieldName") == var
            assert text(item) == meta.column_names_to_labels[var], where
            if meta.readstat_variable_types[var] == "double":
                values = frame[var].dropna()
                assert item.get("DataType") in ("integer", "float"), where
                if item.get("DataType") == "integer":
                    assert (values == values.round()).all(), where
                    assert int(item.get("Length")) == max([len(str(abs(int(v)))) for v in values] or [1]), where
            else:
                assert item.get("DataType") in ("text", *ISO8601_TYPES), where
                assert int(item.get("Length")) == meta.variable_storage_width[var], where


def test_character_lengths_are_the_longest_values(package: Path) -> None:
    # The XPT widths the define states are themselves the longest value present (FDA TCG).
    for name, (frame, meta) in _xpt(package).items():
        for var in frame.columns:
            if meta.readstat_variable_types[var] == "string":
                longest = max([len(v.encode("utf-8")) for v in frame[var].fillna("").astype(str)] or [1])
                assert meta.variable_storage_width[var] == max(longest, 1), f"{name}.{var}"


def test_codelists_cover_the_values_present(package: Path, define_doc: etree._ElementTree) -> None:
    items = _items(define_doc)
    codelists = {c.get("OID"): c for c in xp(define_doc, "//odm:CodeList")}
    wheres = {w.get("OID"): w for w in xp(define_doc, "//def:WhereClauseDef")}
    frames = {name: frame for name, (frame, _) in _xpt(package).items()}
    checked = 0

    def coded(codelist: etree._Element) -> set[str]:
        return {i.get("CodedValue") for i in xp(codelist, "odm:CodeListItem|odm:EnumeratedItem")}

    for group in xp(define_doc, "//odm:ItemGroupDef"):
        frame = frames[group.get("Name")]
        for ref in xp(group, "odm:ItemRef"):
            item = items[ref.get("ItemOID")]
            targets = [(item, pd.Series(True, index=frame.index))]
            for vref in xp(
                define_doc,
                f"//def:ValueListDef[@OID='{xp(item, 'string(def:ValueListRef/@ValueListOID)')}']/odm:ItemRef",
            ):
                mask = pd.Series(False, index=frame.index)
                for wc in xp(vref, "def:WhereClauseRef/@WhereClauseOID"):
                    mask |= _selected(frame, wheres[wc], items)
                assert mask.any(), f"{vref.get('ItemOID')} selects no record"
                targets.append((items[vref.get("ItemOID")], mask))
            for target, mask in targets:
                oid = xp(target, "string(odm:CodeListRef/@CodeListOID)")
                if not oid or xp(codelists[oid], "odm:ExternalCodeList"):
                    continue
                present = set(
                    frame.loc[mask, target.get("Name") if target is item else item.get("Name")].astype(str)
                ) - {""}
                assert present <= coded(codelists[oid]), (
                    f"{target.get('OID')}: {sorted(present - coded(codelists[oid]))}"
                )
                checked += 1
    assert checked > 30


def test_every_reference_resolves(define_doc: etree._ElementTree) -> None:
    oids = {el.get("OID") for el in xp(define_doc, "//*[@OID]")} | {el.get("ID") for el in xp(define_doc, "//def:leaf")}
    refs = xp(
        define_doc,
        "//@ItemOID|//@CodeListOID|//@MethodOID|//@ValueListOID|//@WhereClauseOID|//@def:CommentOID"
        "|//@leafID|//@def:ItemOID|//@def:ArchiveLocationID",
    )
    assert refs
    assert {str(r) for r in refs} <= oids
    used = {str(r) for r in refs}
    unused = {o for o in oids if o.split(".")[0] in ("CL", "MT", "COM", "VL", "WC", "IT")} - used
    assert not unused  # nothing is defined that no dataset uses


# ---- 3. the element kinds of a complete define -------------------------------------------------------


def test_origins_methods_and_comments(define_doc: etree._ElementTree) -> None:
    items = _items(define_doc)
    origin = {
        oid: (xp(el, "string(def:Origin/@Type)"), xp(el, "string(def:Origin/@Source)")) for oid, el in items.items()
    }
    assert origin["IT.AE.AETERM"] == ("Collected", "Investigator")
    assert origin["IT.AE.STUDYID"] == ("Assigned", "Sponsor")
    assert origin["IT.AE.AESTDY"] == ("Derived", "Sponsor")
    assert origin["IT.SUPPAE.IDVARVAL"][0] == "Predecessor"
    assert text(items["IT.SUPPAE.IDVARVAL"], "def:Origin/odm:Description/odm:TranslatedText") == "AE.AESEQ"
    # A subject-level qualifier has no parent record: no DM.DMSEQ (DM has no --SEQ) as its predecessor.
    assert origin["IT.SUPPDM.IDVARVAL"][0] == "Assigned"
    assert "DMSEQ" not in etree.tostring(items["IT.SUPPDM.IDVARVAL"]).decode()

    methods = {m.get("OID"): text(m) for m in xp(define_doc, "//odm:MethodDef")}
    assert methods["MT.AE.AESTDY"] == (
        "Study day of AESTDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0); blank when either date is partial"
    )
    assert methods["MT.AE.AEREL"].startswith("RELATED when the investigator")  # the spec's own words
    ref = xp(define_doc, "//odm:ItemGroupDef[@Name='AE']/odm:ItemRef[@ItemOID='IT.AE.AESTDY']")[0]
    assert ref.get("MethodOID") == "MT.AE.AESTDY"
    # Every derived variable has a method, and only derived ones.
    for ref in xp(define_doc, "//odm:ItemRef"):
        assert bool(ref.get("MethodOID")) == (origin[ref.get("ItemOID")][0] == "Derived"), ref.get("ItemOID")

    comments = {c.get("OID"): text(c) for c in xp(define_doc, "//def:CommentDef")}
    assert "Records left out" in comments["COM.EX"]


def test_codelists_have_nci_aliases_and_extended_values(define_doc: etree._ElementTree) -> None:
    epoch = xp(define_doc, "//odm:CodeList[@OID='CL.EPOCH']")[0]
    assert xp(epoch, "string(odm:Alias[@Context='nci:ExtCodeID']/@Name)") == "C99079"
    extended = {i.get("CodedValue") for i in xp(epoch, "*[@def:ExtendedValue='Yes']")}
    assert extended == {"CONSOLIDATION TREATMENT", "MAINTENANCE TREATMENT"}
    screening = xp(epoch, "*[@CodedValue='SCREENING']")[0]
    assert xp(screening, "string(odm:Alias/@Name)") == "C202487"  # SCREENING's code in CT 2025-03-28
    # Each SUPP--'s RDOMAIN lists the one domain it holds, with its NCI code, from the DOMAIN codelist.
    items = _items(define_doc)
    codes = {}
    for parent in ("AE", "DM", "PR", "RS"):
        oid = xp(items[f"IT.SUPP{parent}.RDOMAIN"], "string(odm:CodeListRef/@CodeListOID)")
        domain = xp(define_doc, f"//odm:CodeList[@OID='{oid}']")[0]
        assert xp(domain, "string(odm:Alias/@Name)") == "C66734"  # SDTM Domain Abbreviation
        terms = xp(domain, "odm:CodeListItem|odm:EnumeratedItem")
        assert [t.get("CodedValue") for t in terms] == [parent]
        codes[parent] = xp(terms[0], "string(odm:Alias/@Name)")
    assert codes == {"AE": "C49562", "DM": "C49572", "PR": "C102700", "RS": "C107097"}
    assert xp(define_doc, "//odm:ExternalCodeList[@Dictionary='MedDRA']/@Version") == ["28.0"]
    sponsor = xp(define_doc, "//odm:CodeList[@OID='CL.AETOXGR']")[0]
    assert [i.get("CodedValue") for i in xp(sponsor, "odm:EnumeratedItem")] == ["1", "2", "3", "4", "5"]
    assert xp(sponsor, "odm:Alias") == []


@pytest.mark.parametrize(
    ("vl", "by", "expected"),
    [
        # RSSTRESC: NEWLIND's NY, the ECOG grades (by RSCAT), the responses of the other RECIST tests.
        ("VL.RS.RSSTRESC", ("RSTESTCD", "RSCAT"), {"NEWLIND", "NTRGRESP", "OVRLRESP", "TRGRESP", "ECOG", "RECIST 1.1"}),
        ("VL.SUPPAE.QVAL", ("QNAM",), None),
        ("VL.SUPPPR.QVAL", ("QNAM",), None),
        ("VL.EX.EXDOSE", ("EXTRT",), {"TISLELIZUMAB", "GEMCITABINE", "CISPLATIN"}),
    ],
)
def test_value_level_metadata(
    package: Path, define_doc: etree._ElementTree, vl: str, by: tuple[str, ...], expected: set[str] | None
) -> None:
    dataset, variable = vl.split(".")[1:]
    frame = _xpt(package)[dataset][0]
    items = _items(define_doc)
    assert items[f"IT.{dataset}.{variable}"].xpath("string(def:ValueListRef/@ValueListOID)", namespaces=NS) == vl
    covered: set[str] = set()
    described = pd.Series(False, index=frame.index)
    for ref in xp(define_doc, f"//def:ValueListDef[@OID='{vl}']/odm:ItemRef"):
        for wc in xp(ref, "def:WhereClauseRef/@WhereClauseOID"):
            selected = pd.Series(True, index=frame.index)
            for check in xp(define_doc, f"//def:WhereClauseDef[@OID='{wc}']/odm:RangeCheck"):
                name = items[check.get(f"{{{NS['def']}}}ItemOID")].get("Name")
                assert name in by
                values = {v.text for v in xp(check, "odm:CheckValue")}
                covered |= values
                isin = frame[name].astype(str).isin(values)
                selected &= isin if check.get("Comparator") in ("EQ", "IN") else ~isin
            described |= selected
    want = expected if expected is not None else set(frame[by[0]].astype(str))
    assert covered == want
    assert described.all()  # every record is described


def test_vlm_items_state_their_own_codelists(define_doc: etree._ElementTree) -> None:
    items = _items(define_doc)
    assert xp(items["IT.RS.RSSTRESC.NEWLIND"], "string(odm:CodeListRef/@CodeListOID)") == "CL.NY"
    # AEACN1 draws on ACN like AE.AEACN but holds other terms (no MULTIPLE): a subset of its own.
    acn1 = xp(items["IT.SUPPAE.QVAL.AEACN1"], "string(odm:CodeListRef/@CodeListOID)")
    assert acn1.startswith("CL.ACN.") and acn1 != xp(items["IT.AE.AEACN"], "string(odm:CodeListRef/@CodeListOID)")
    codelist = xp(define_doc, f"//odm:CodeList[@OID='{acn1}']")[0]
    assert xp(codelist, "string(odm:Alias[@Context='nci:ExtCodeID']/@Name)") == "C66767"
    assert "MULTIPLE" not in {i.get("CodedValue") for i in xp(codelist, "odm:CodeListItem|odm:EnumeratedItem")}
    assert items["IT.SUPPPR.QVAL.RTFXN"].get("DataType") == "integer"
    assert text(items["IT.EX.EXDOSE.GEMCITABINE"]).endswith("mg/m2")


# ---- 4. documents and the define command ------------------------------------------------------------


def test_documents_are_referenced_only_when_named(
    tmp_path: Path, package: Path, define_doc: etree._ElementTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert xp(define_doc, "//def:AnnotatedCRF/def:DocumentRef/@leafID") == ["LF.acrf"]
    study = tmp_path / "study"
    shutil.copytree(api.default_study_dir(), study)
    text = (study / "study.yaml").read_text(encoding="utf-8")
    start = text.index("\ndocuments:\n")
    end = text.index("\n\n", start + 1)
    (study / "study.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    api.define(study, pkg, timestamp=TIMESTAMP)
    doc = etree.parse(str(pkg / "define.xml"))
    assert xp(doc, "//def:AnnotatedCRF|//def:SupplementalDoc|//def:leaf[starts-with(@ID, 'LF.acrf')]") == []
    assert xp(doc, "//odm:ItemDef[@OID='IT.AE.AETERM']/def:Origin/@Type") == ["Collected"]
    assert xp(doc, "//def:Origin/def:DocumentRef") == []


def test_define_command_regenerates_identical_bytes(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    (pkg / "define.xml").unlink()
    (pkg / "define.html").unlink()
    assert cli.main(["define", "--package", str(pkg), "--timestamp", TIMESTAMP]) == ExitStatus.OK
    assert (pkg / "define.xml").read_bytes() == (package / "define.xml").read_bytes()
    assert (pkg / "define.html").read_bytes() == (package / "define.html").read_bytes()
    assert "valid Define-XML 2.1" in capsys.readouterr().out
    assert sorted(p.name for p in pkg.iterdir()) == sorted(p.name for p in package.iterdir())  # no temp files left


def test_define_command_describes_the_datasets_present(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    (pkg / "supppr.xpt").unlink()
    assert cli.main(["define", "--package", str(pkg), "--timestamp", TIMESTAMP]) == ExitStatus.OK
    doc = etree.parse(str(pkg / "define.xml"))
    assert "SUPPPR" not in xp(doc, "//odm:ItemGroupDef/@Name")
    assert xp(doc, "//*[starts-with(@OID, 'IT.SUPPPR.')]") == []


def test_define_command_without_a_package_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = str(default_study_dir())
    assert cli.main(["define", "--package", str(tmp_path), "--study", study]) == ExitStatus.WRITE_FAILED
    assert "no dataset files" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _datasets_only(package: Path, folder: Path) -> Path:
    """A package of someone else's: the XPT files of ``package`` and nothing of ours."""
    folder.mkdir()
    for xpt in package.glob("*.xpt"):
        shutil.copy(xpt, folder / xpt.name)
    return folder


def test_define_never_describes_a_foreign_package_with_the_bundled_study(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = _datasets_only(package, tmp_path / "foreign")
    assert cli.main(["define", "--package", str(foreign)]) == ExitStatus.INVALID_INPUT
    assert "pass --study DIR" in capsys.readouterr().err
    assert sorted(p.suffix for p in foreign.iterdir()) == [".xpt"] * len(list(package.glob("*.xpt")))


def test_define_keeps_a_foreign_define_and_writes_elsewhere_with_out(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = _datasets_only(package, tmp_path / "foreign")
    (foreign / "define.xml").write_text("<theirs/>", encoding="utf-8")
    study = str(default_study_dir())
    args = ["define", "--package", str(foreign), "--study", study, "--timestamp", TIMESTAMP]
    assert cli.main(args) == ExitStatus.WRITE_FAILED
    assert "not written by daybreak-sdtm" in capsys.readouterr().err
    assert (foreign / "define.xml").read_text(encoding="utf-8") == "<theirs/>"
    assert cli.main([*args, "--out", str(tmp_path / "ours")]) == ExitStatus.OK
    assert etree.parse(str(tmp_path / "ours" / "define.xml")).getroot().tag.endswith("ODM")
    assert (foreign / "define.xml").read_text(encoding="utf-8") == "<theirs/>"


def test_define_in_place_keeps_the_package_replaceable(tmp_path: Path, package: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    (pkg / "define.xml").unlink()
    assert cli.main(["define", "--package", str(pkg), "--timestamp", "2030-01-01T00:00:00"]) == ExitStatus.OK
    manifest = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["define.xml"]["bytes"] == (pkg / "define.xml").stat().st_size
    check_target(pkg)  # the rewritten define is recorded: a later convert may replace the package
