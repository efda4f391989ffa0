"""Disposition for Daybreak-01, stacked from two forms: informed consent from the demographics page,
end of treatment and end of study from the end-of-treatment page; read back from ds.xpt and dm.xpt
and checked against the raw export, the reconciliation, the trace and define.xml."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm.cli import main
from daybreak_sdtm.resources import default_export_dir

ODM = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "sdtm"
    assert main(["convert", "--out", str(out), "--timestamp", "2026-10-01T00:00:00"]) == 0
    return out


def read(package: Path, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(package / f"{name}.xpt"))
    return frame


def raw(name: str) -> pd.DataFrame:
    frame = pd.read_csv(default_export_dir() / f"{name}.csv", dtype=str, keep_default_na=False)
    return frame.assign(USUBJID="DAYBREAK-01-" + frame.SUBJECT)


def iso(edc: pd.Series) -> pd.Series:
    return pd.to_datetime(edc, format="%d-%b-%Y").dt.strftime("%Y-%m-%d")


def test_one_record_per_milestone_and_disposition_event(package: Path) -> None:
    ds, dm, eos = read(package, "ds"), raw("dm"), raw("eos")
    consent = ds[ds.DSCAT == "PROTOCOL MILESTONE"].set_index("USUBJID")
    assert (consent.DSDECOD == "INFORMED CONSENT OBTAINED").all() and (consent.DSSCAT == "").all()
    assert consent.DSSTDTC.to_dict() == dict(zip(dm.USUBJID, iso(dm.ICDAT), strict=True))
    assert (consent.EPOCH == "SCREENING").all()
    treatment = ds[ds.DSSCAT == "STUDY TREATMENT"].set_index("USUBJID")
    assert treatment.DSSTDTC.to_dict() == dict(zip(eos.USUBJID, iso(eos.EOTDAT), strict=True))
    # The reason as collected, and its NCOMPLT term matched whatever its case.
    assert treatment.DSTERM.to_dict() == dict(zip(eos.USUBJID, eos.EOTREAS, strict=True))
    assert treatment.DSDECOD.to_dict() == dict(zip(eos.USUBJID, eos.EOTREAS.str.upper(), strict=True))
    ended = eos[eos.EOSDAT != ""]
    study = ds[ds.DSSCAT == "STUDY PARTICIPATION"].set_index("USUBJID")
    assert study.DSSTDTC.to_dict() == dict(zip(ended.USUBJID, iso(ended.EOSDAT), strict=True))
    assert set(study.DSDECOD) == {"DEATH"}
    assert (ds.DSCAT.where(ds.DSSCAT == "", "DISPOSITION EVENT") == ds.DSCAT).all()
    # DSSEQ in date order within the subject; a death ends treatment and study on one day.
    for _, records in ds.groupby("USUBJID"):
        assert list(records.sort_values("DSSEQ").DSSTDTC) == sorted(records.DSSTDTC)
    assert not ds.duplicated(["USUBJID", "DSSCAT", "DSDECOD", "DSSTDTC"]).any()


def test_dm_end_of_participation_and_death_agree_with_disposition(package: Path) -> None:
    dm, ds = read(package, "dm").set_index("USUBJID"), read(package, "ds")
    study_end = ds[ds.DSSCAT == "STUDY PARTICIPATION"].set_index("USUBJID").DSSTDTC
    assert dm.RFPENDTC[dm.RFPENDTC != ""].to_dict() == study_end.to_dict()
    death = raw("death").set_index("USUBJID")
    assert dm.DTHDTC[dm.DTHFL == "Y"].to_dict() == iso(death.DTHDAT).to_dict()
    assert set(ds.loc[ds.DSDECOD == "DEATH", "USUBJID"]) == set(death.index)


def test_every_raw_record_is_reconciled_per_form(package: Path) -> None:
    rec = json.loads((package / "reconciliation.json").read_text(encoding="utf-8"))
    parts = {d["form"]: d for d in rec["domains"] if d["domain"] == "DS"}
    eos = raw("eos")
    assert parts["dm"]["records"] == len(raw("dm")) and parts["dm"]["excluded"] == []
    assert parts["eos"]["candidate_records"] == 2 * len(eos)
    assert parts["eos"]["records"] == len(eos) + int((eos.EOSDAT != "").sum())
    assert [e["records"] for e in parts["eos"]["excluded"]] == [int((eos.EOSDAT == "").sum())]
    assert all(p["balanced"] for p in parts.values()) and rec["balanced"]
    forms = {f["form"]: f for f in rec["forms"]}
    assert "DS" in forms["eos"]["mapped_to"] and "DS" in forms["dm"]["mapped_to"]


def test_each_record_traces_to_its_own_form(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eos = raw("eos")
    subject = eos.USUBJID.iloc[0]
    assert main(["trace", "--package", str(package), "DS", subject, "2"]) == 0
    out = capsys.readouterr().out
    assert "from eos.csv record 1:" in out and f"EOTDAT       {eos.EOTDAT.iloc[0]}" in out
    assert main(["trace", "--package", str(package), "DS", subject, "1"]) == 0
    assert "from dm.csv record" in capsys.readouterr().out


def test_define_names_both_forms(package: Path) -> None:
    doc = etree.parse(str(package / "define.xml"))
    group = doc.xpath("//odm:ItemGroupDef[@Name='DS']", namespaces=ODM)[0]
    comment = doc.xpath(
        f"//def:CommentDef[@OID='{group.get('{http://www.cdisc.org/ns/def/v2.1}CommentOID')}']//odm:TranslatedText",
        namespaces=ODM,
    )[0].text
    assert "EDC form 'dm'" in comment and "EDC form 'eos'" in comment
    assert "end of study not reached by the data cut-off" in comment
