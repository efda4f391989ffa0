"""The second bundled study, MERIDIAN-02, converted from the command line: 0 findings, values as the raw export says."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm.cli import main
from daybreak_sdtm.resources import data_dir

STUDY = data_dir("mappings") / "meridian-02"
EXPORT = data_dir("examples") / "meridian-02" / "export"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("meridian") / "pkg"
    code = main(
        [
            "convert",
            "--study",
            str(STUDY),
            "--export",
            str(EXPORT),
            "--out",
            str(out),
            "-q",
            "--timestamp",
            "2026-03-01T00:00:00",
            "--fail-on",
            "note",
        ]
    )
    assert code == 0
    return out


def _xpt(package: Path, name: str) -> pd.DataFrame:
    return pyreadstat.read_xport(str(package / f"{name}.xpt"))[0]


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(EXPORT / f"{name}.csv", dtype=str, keep_default_na=False)


def test_every_dataset_written_with_no_finding(package: Path) -> None:
    report = json.loads((package / "validation.json").read_text(encoding="utf-8"))
    assert report["findings"] == []
    written = sorted(p.stem.upper() for p in package.glob("*.xpt"))
    assert written == sorted(["TS", "TA", "TE", "TV", "TI", "DM", "DS", "EX", "VS", "LB", "CM", "MH", "AE", "SE", "SV"])
    reconciliation = json.loads((package / "reconciliation.json").read_text(encoding="utf-8"))
    assert reconciliation["balanced"] is True


def test_demographics_from_a_us_export(package: Path) -> None:
    dm, raw, rand = _xpt(package, "dm"), _raw("dm"), _raw("rand")
    assert len(dm) == len(raw)
    first = dm.iloc[0]
    assert first["SUBJID"] == raw["SUBJECT"].iat[0] and first["COUNTRY"] == "USA"
    month, day, year = raw["ICDATE"].iat[0].split("/")
    assert first["RFICDTC"] == f"{year}-{month}-{day}"  # MM/DD/YYYY read as the study declares
    randomized = set("MERIDIAN-02-" + rand["SUBJECT"])
    failures = dm[~dm["USUBJID"].isin(randomized)]
    assert len(failures) and (failures["ARMCD"] == "").all() and (failures["ARMNRS"] == "SCREEN FAILURE").all()
    assert (failures["RFSTDTC"] == "").all()  # never dosed
    assert set(dm.loc[dm["ARMCD"] != "", "ARM"]) == {"ZX-101 10 mg", "Placebo"}


def test_disposition_coded_from_two_codelists(package: Path) -> None:
    ds = _xpt(package, "ds")
    by_cat = ds.groupby("DSCAT")["DSDECOD"].apply(set).to_dict()
    assert by_cat["PROTOCOL MILESTONE"] == {"INFORMED CONSENT OBTAINED", "RANDOMIZED"}
    assert "SCREEN FAILURE" in by_cat["DISPOSITION EVENT"] and "COMPLETED" in by_cat["DISPOSITION EVENT"]
    assert len(ds) == len(_raw("ds"))


def test_labs_in_si_units_with_ranges_and_indicators(package: Path) -> None:
    lb = _xpt(package, "lb")
    gluc = lb[lb["LBTESTCD"] == "GLUC"].iloc[0]
    assert gluc["LBORRESU"] == "mg/dL" and gluc["LBSTRESU"] == "mmol/L"
    assert gluc["LBSTRESN"] == pytest.approx(round(float(gluc["LBORRES"]) * 0.0555, 2))
    assert gluc["LBSTNRLO"] == pytest.approx(3.88) and gluc["LBSTNRHI"] == pytest.approx(5.49)
    expected = "HIGH" if gluc["LBSTRESN"] > 5.49 else ("LOW" if gluc["LBSTRESN"] < 3.88 else "NORMAL")
    assert gluc["LBNRIND"] == expected
    creat = lb[lb["LBTESTCD"] == "CREAT"]
    assert (
        set(creat["LBSTRESU"]) == {"umol/L"}
        and (creat["LBSTRESC"] == creat["LBSTRESN"].map(lambda v: f"{v:.0f}")).all()
    )
    hba1c = lb[lb["LBTESTCD"] == "HBA1C"]
    assert (hba1c["LBSTRESC"] == hba1c["LBORRES"]).all() and set(hba1c["LBSTRESU"]) == {"%"}
    # The visit windows of the trial design give the visits the central lab labelled (screen failures: its label).
    raw = _raw("lb")
    assert lb["VISIT"].value_counts().to_dict() == raw["VISIT"].value_counts().to_dict()
    baseline = lb[lb["LBLOBXFL"] == "Y"]
    assert set(baseline["VISIT"]) == {"SCREENING"} and not baseline.duplicated(["USUBJID", "LBTESTCD"]).any()


def test_vital_signs_one_record_per_test_in_standard_units(package: Path) -> None:
    vs, raw = _xpt(package, "vs"), _raw("vs")
    assert len(vs) == len(raw) * 5 + (raw["HEIGHT"] != "").sum()  # height at screening only
    weight = vs[vs["VSTESTCD"] == "WEIGHT"].iloc[0]
    assert weight["VSORRESU"] == "LB" and weight["VSSTRESU"] == "kg"
    assert weight["VSSTRESN"] == pytest.approx(round(float(weight["VSORRES"]) * 0.45359237, 1))
    not_done = vs[vs["VSSTAT"] == "NOT DONE"]
    assert len(not_done) == 2 * (raw["BPND"] != "").sum()
    assert set(not_done["VSREASND"]) == {"Cuff not available"} and (not_done["VSORRESU"] == "").all()
    assert set(vs["VISITNUM"]) <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}


def test_dictionaries_named_in_define(package: Path) -> None:
    text = (package / "define.xml").read_text(encoding="utf-8")
    assert 'Dictionary="MedDRA" Version="27.1"' in text
    doc = etree.fromstring(text.encode("utf-8"))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    whodd = doc.xpath("//odm:CodeList[@OID='CL.WHODD']/odm:ExternalCodeList", namespaces=ns)
    assert [dict(e.attrib) for e in whodd] == [
        {"Dictionary": "WHODD", "Version": "GLOBAL B3 2024-09", "href": "https://who-umc.org/whodrug/"}
    ]
    for var in ("CMDECOD", "CMCLAS"):  # coded with WHODrug: its list, and Assigned by the sponsor's coding
        item = doc.xpath(f"//odm:ItemDef[@OID='IT.CM.{var}']", namespaces=ns)[0]
        assert item.xpath("odm:CodeListRef/@CodeListOID", namespaces=ns) == ["CL.WHODD"]
        assert item.xpath("def:Origin/@Type", namespaces={**ns, "def": "http://www.cdisc.org/ns/def/v2.1"}) == [
            "Assigned"
        ]
    cm = _xpt(package, "cm")
    assert "METFORMIN HYDROCHLORIDE" in set(cm["CMDECOD"])
    assert cm["CMSTDTC"].str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all()  # UN parts truncated, never imputed
