"""define.xml codelists read back: decodes the derivations declare, value-level and per-variable term subsets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api
from daybreak_sdtm.dataset import read_dataset
from daybreak_sdtm.define import build_define
from daybreak_sdtm.derive.registry import DERIVATIONS, Context, Decode, DerivationDef, Kind, Param, VarRef
from daybreak_sdtm.write.define_xml import define_xml, validate_define
from tests.define.conftest import TIMESTAMP, xp


def _codelist_of(doc: etree._ElementTree | etree._Element, item_oid: str) -> etree._Element:
    oid = xp(doc, f"string(//odm:ItemDef[@OID='{item_oid}']/odm:CodeListRef/@CodeListOID)")
    assert oid, f"{item_oid} references no codelist"
    return xp(doc, f"//odm:CodeList[@OID='{oid}']")[0]


def _terms(codelist: etree._Element) -> list[str]:
    return [i.get("CodedValue") for i in xp(codelist, "odm:CodeListItem|odm:EnumeratedItem")]


def _decodes(codelist: etree._Element) -> list[tuple[str, str]]:
    return [
        (i.get("CodedValue"), xp(i, "string(odm:Decode/odm:TranslatedText)")) for i in xp(codelist, "odm:CodeListItem")
    ]


def _xpt(package: Path, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(package / f"{name.lower()}.xpt"))
    return frame


# ---- 1. decodes declared by the derivations ----------------------------------------------------------


def test_arm_codes_are_decoded_through_the_study_arms(define_doc: etree._ElementTree) -> None:
    study, _ = api.load()
    arms = [(a.armcd, a.arm) for a in study.arms]  # in the order the study declares them
    codes = _codelist_of(define_doc, "IT.DM.ARMCD")
    assert _decodes(codes) == arms
    assert xp(codes, "odm:EnumeratedItem") == []
    # ARMCD and ACTARMCD hold the same codes: one codelist, shared with TA's arm codes.
    for other in ("IT.DM.ACTARMCD", "IT.TA.ARMCD"):
        assert _codelist_of(define_doc, other).get("OID") == codes.get("OID")
    names = _codelist_of(define_doc, "IT.DM.ARM")
    assert _terms(names) == [arm for _, arm in arms]
    assert xp(names, "odm:CodeListItem") == []  # the decodes are the values: no Decode of their own
    for other in ("IT.DM.ACTARM", "IT.TA.ARM"):
        assert _codelist_of(define_doc, other).get("OID") == names.get("OID")


def test_element_codes_of_the_trial_design_are_decoded(define_doc: etree._ElementTree) -> None:
    study, _ = api.load()
    assert study.trial_design is not None
    elements = [(e.etcd, e.element) for e in study.trial_design.elements]
    assert _decodes(_codelist_of(define_doc, "IT.TE.ETCD")) == elements
    assert _terms(_codelist_of(define_doc, "IT.TE.ELEMENT")) == [e for _, e in elements]


def _decode_phase(ctx: Context, *, code: VarRef) -> pd.Series:
    """Test only: the phase's description for a category code."""
    return ctx.column(code).map(dict(_PHASES)).fillna("").astype(object)


_PHASES = [("MAINTENANCE", "Maintenance phase"), ("INDUCTION", "Induction phase")]


@pytest.fixture(scope="module")
def decoded_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample converted with a study whose decodes are declared, not named: EXSCAT decodes
    EXCAT through a test derivation's list, ACTARM decodes ARMCD (not ACTARMCD), and the arms
    are declared in another order."""
    folder = tmp_path_factory.mktemp("decoded")
    study = folder / "study"
    shutil.copytree(api.default_study_dir(), study)
    ex = study / "ex.yaml"
    text = ex.read_text(encoding="utf-8")
    anchor = (
        "  EXCAT: {derivation: assign_no_ct, source: PHASE, map: {Induction: INDUCTION, Maintenance: MAINTENANCE}}\n"
    )
    assert anchor in text
    ex.write_text(text.replace(anchor, anchor + "  EXSCAT: {derivation: test_decode_phase, code: EXCAT}\n"), "utf-8")
    dm = study / "dm.yaml"
    text = dm.read_text(encoding="utf-8")
    assert "ACTARM: {derivation: derive_arm, armcd: ACTARMCD}" in text
    dm.write_text(text.replace("armcd: ACTARMCD}", "armcd: ARMCD}"), encoding="utf-8")
    spec = study / "study.yaml"
    text = spec.read_text(encoding="utf-8")
    first, second = text.index("    - ARMCD: TGP-RT"), text.index("    - ARMCD: TGP\n")
    end = text.index("\n  visits:") if "\n  visits:" in text else None
    assert first < second and end is not None and end > second, "arm order in study.yaml"
    text = text[:first] + text[second:end] + text[first:second].rstrip("\n") + "\n" + text[end:]
    spec.write_text(text, encoding="utf-8")

    mp = pytest.MonkeyPatch()
    mp.delenv("SOURCE_DATE_EPOCH", raising=False)
    decode = Decode("code", lambda _study: _PHASES, "the test's phases", code_name="Phase", decode_name="Phase Name")
    mp.setitem(
        DERIVATIONS,
        "test_decode_phase",
        DerivationDef(
            "test_decode_phase",
            _decode_phase,
            {"code": Param(Kind.VAR, doc="category variable")},
            decodes=decode,
            doc=_decode_phase.__doc__ or "",
        ),
    )
    out = folder / "pkg"
    try:
        api.convert(study_dir=study, out_dir=out, timestamp=TIMESTAMP)
    finally:
        mp.undo()
    return out


def test_any_derivation_declaring_a_decode_gets_decoded_codelists(decoded_package: Path) -> None:
    doc = etree.parse(str(decoded_package / "define.xml"))
    validate_define(etree.tostring(doc))
    # EXCAT's codes with the test list's decodes, in the list's order (not the map's).
    assert _decodes(_codelist_of(doc, "IT.EX.EXCAT")) == _PHASES
    phase_names = _codelist_of(doc, "IT.EX.EXSCAT")
    assert phase_names.get("Name") == "Phase Name"
    assert _terms(phase_names) == [name for _, name in _PHASES]
    assert set(_xpt(decoded_package, "EX")["EXSCAT"]) == {name for _, name in _PHASES}


def test_decodes_follow_the_declaration_not_the_variable_names(decoded_package: Path) -> None:
    doc = etree.parse(str(decoded_package / "define.xml"))
    study, _ = api.load(decoded_package / "mapping")
    arms = [(a.armcd, a.arm) for a in study.arms]
    assert [code for code, _ in arms] == ["TGP", "TGP-RT"]  # the order the copied study declares
    assert _decodes(_codelist_of(doc, "IT.DM.ARMCD")) == arms
    assert _terms(_codelist_of(doc, "IT.DM.ACTARM")) == [arm for _, arm in arms]
    # Nothing decodes ACTARMCD now: its codelist is the values it chooses between, without decodes.
    actarmcd = _codelist_of(doc, "IT.DM.ACTARMCD")
    assert _terms(actarmcd) == ["TGP-RT", "TGP"]  # derive_subject_exists: then, otherwise
    assert xp(actarmcd, "odm:CodeListItem") == []


def test_a_study_without_arms_still_has_a_valid_define(package: Path) -> None:
    study, standards = api.load()
    bare = dataclasses.replace(study, arms=(), trial_design=None)
    datasets = [
        read_dataset(path)
        for path in sorted(package.glob("*.xpt"))
        if path.stem.upper().removeprefix("SUPP") in {d.name for d in study.domains}
    ]
    define = build_define(bare, standards, datasets, dt.datetime(2026, 9, 30, tzinfo=dt.UTC))
    xml = define_xml(define)
    validate_define(xml)
    doc = etree.fromstring(xml)
    held = set(_xpt(package, "DM")["ARMCD"]) - {""}
    # No arms to decode with: the codes the variable holds, without decodes.
    assert set(_terms(_codelist_of(doc, "IT.DM.ARMCD"))) == held
    assert xp(_codelist_of(doc, "IT.DM.ARMCD"), "odm:CodeListItem") == []
    assert set(_terms(_codelist_of(doc, "IT.DM.ARM"))) == set(_xpt(package, "DM")["ARM"]) - {""}


# ---- 2. value-level codelists: only the terms of the records selected ----------------------------------


def test_response_value_level_codelists_hold_only_their_terms(package: Path, define_doc: etree._ElementTree) -> None:
    rs = _xpt(package, "RS")
    refs = xp(define_doc, "//def:ValueListDef[@OID='VL.RS.RSSTRESC']/odm:ItemRef")
    assert len(refs) == 3  # NEWLIND, ECOG, then the other responses
    taken = pd.Series(False, index=rs.index)
    for ref in refs:
        oid = ref.get("ItemOID")
        terms = set(_terms(_codelist_of(define_doc, oid)))
        selected = pd.Series(False, index=rs.index)
        for clause in xp(ref, "def:WhereClauseRef/@WhereClauseOID"):
            matched = pd.Series(True, index=rs.index)
            for check in xp(define_doc, f"//def:WhereClauseDef[@OID='{clause}']/odm:RangeCheck"):
                variable = xp(check, "@def:ItemOID")[0].rsplit(".", 1)[-1]
                isin = rs[variable].isin([v.text for v in xp(check, "odm:CheckValue")])
                matched &= isin if check.get("Comparator") in ("EQ", "IN") else ~isin
            selected |= matched
        assert not (selected & taken).any(), f"{oid}: the where clauses overlap"
        taken |= selected
        held, others = set(rs.loc[selected, "RSSTRESC"]) - {""}, set(rs.loc[~selected, "RSSTRESC"])
        assert held and held <= terms, oid
        assert not (terms & (others - held)), f"{oid} lists terms only other records hold"
        if set(rs.loc[selected, "RSTESTCD"]) == {"NEWLIND"}:
            assert terms == {"N", "Y"}
        elif set(rs.loc[selected, "RSCAT"]) == {"ECOG"}:
            assert terms == {"0", "1"}  # the ECOG grades held
        else:
            assert not terms & {"N", "Y", "0", "1"}, oid
            assert "CR" in terms
    # The items draw on three codelists (NY, ECOG101STR and ONCRSR): the variable itself lists none.
    assert xp(define_doc, "//odm:ItemDef[@OID='IT.RS.RSSTRESC']/odm:CodeListRef") == []


# ---- 3. per-variable subsets of one codelist ------------------------------------------------------------


def test_no_yes_subsets_per_variable(package: Path, define_doc: etree._ElementTree) -> None:
    ae = _xpt(package, "AE")
    aeser, aesdth = _codelist_of(define_doc, "IT.AE.AESER"), _codelist_of(define_doc, "IT.AE.AESDTH")
    for codelist in (aeser, aesdth):
        assert xp(codelist, "string(odm:Alias/@Name)") == "C66742"  # both No Yes Response
    assert _terms(aeser) == ["N", "Y"] and set(ae["AESER"]) - {""} == {"N", "Y"}
    assert _terms(aesdth) == ["Y"]  # its map declares only Y
    assert aeser.get("OID") == "CL.NY"
    assert aesdth.get("OID") != aeser.get("OID") and aesdth.get("OID").startswith("CL.NY.")
    assert aesdth.get("Name") == "No Yes Response (Y)"
    # The same terms, one codelist.
    for other in ("IT.AE.AESHOSP", "IT.AE.AESLIFE", "IT.DM.DTHFL"):
        assert _codelist_of(define_doc, other).get("OID") == aesdth.get("OID")


def test_an_oid_is_shared_only_by_identical_term_sets(define_doc: etree._ElementTree) -> None:
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
    for codelist in xp(define_doc, "//odm:CodeList[not(odm:ExternalCodeList)]"):
        source = xp(codelist, "string(odm:Alias/@Name)") or codelist.get("Name")
        items = tuple(
            (i.get("CodedValue"), xp(i, "string(odm:Decode/odm:TranslatedText)"))
            for i in xp(codelist, "odm:CodeListItem|odm:EnumeratedItem")
        )
        key = (source, codelist.get("DataType"), tuple(sorted(items)))
        assert key not in seen, f"{codelist.get('OID')} lists the same terms as {seen.get(key)}"
        seen[key] = codelist.get("OID")


def test_declared_choices_are_listed_even_when_not_held(package: Path, define_doc: etree._ElementTree) -> None:
    # The catch-all response case maps six collected responses; NE is not in the sample's records.
    rs = _xpt(package, "RS")
    terms = _terms(_codelist_of(define_doc, "IT.RS.RSSTRESC.C3"))
    assert set(terms) == {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD"}
    assert "NE" not in set(rs["RSSTRESC"])
