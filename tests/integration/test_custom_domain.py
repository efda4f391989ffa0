"""A sponsor (custom) domain declared in its spec with its class, converted and read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm import api
from daybreak_sdtm.cli import main
from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.resources import default_study_dir

XR = """domain: XR
class: Findings
label: Radiotherapy Dose Findings
keys: [STUDYID, USUBJID, XRTESTCD, XRSPID]
source:
  form: rt
variables:
  STUDYID: derive_studyid
  DOMAIN: derive_domain
  USUBJID: derive_usubjid
  XRSEQ: derive_seq
  XRSPID: {derivation: assign_no_ct, source: RTLINE}
  XRTESTCD: {derivation: hardcode_no_ct, value: TOTDOSE}
  XRTEST: {derivation: hardcode_no_ct, value: Total Radiotherapy Dose}
  XRDTC: {derivation: derive_iso8601, source: RTENDAT}
  XRORRES: {derivation: assign_no_ct, source: RTTOTDOSE}
  XRORRESU: {derivation: assign_ct, source: RTUNIT}
  XRDY: {derivation: derive_study_day, date: XRDTC}
"""


def _study(tmp_path: Path, spec: str) -> Path:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    (study / "xr.yaml").write_text(spec, encoding="utf-8")
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(text.replace("ds.yaml]", "ds.yaml, xr.yaml]"), encoding="utf-8")
    return study


def test_custom_findings_domain_converts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = api.convert(_study(tmp_path, XR), out_dir=out, timestamp="2026-10-01T00:00:00")
    assert result.published and result.report is not None and result.report.findings == ()
    frame, meta = pyreadstat.read_xport(str(out / "xr.xpt"))
    assert meta.file_label == "Radiotherapy Dose Findings"
    # The class's order (SDTMIG 3.4 section 2.6 g), not the spec's: XRDTC after the qualifiers.
    assert meta.column_names == [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "XRSEQ",
        "XRSPID",
        "XRTESTCD",
        "XRTEST",
        "XRORRES",
        "XRORRESU",
        "XRDTC",
        "XRDY",
    ]
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["XRORRES"] == "Result or Finding in Original Units" and labels["XRDTC"] == "Date/Time of Collection"
    assert set(frame["DOMAIN"]) == {"XR"} and set(frame["XRORRESU"]) == {"Gy"}
    define = etree.parse(str(out / "define.xml"))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    group = define.find(".//odm:ItemGroupDef[@OID='IG.XR']", ns)
    assert group.get("{http://www.cdisc.org/ns/def/v2.1}Structure") == "One record per finding per subject"
    assert group.find("def:Class", ns).get("Name") == "FINDINGS"


def test_custom_domain_spec_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = _study(tmp_path, XR.replace("domain: XR", "domain: LB").replace("XR", "LB"))
    with pytest.raises(SpecErrors, match=r"xr\.yaml:2:1: class: custom domain LB: SDTMIG 3\.4 already defines LB"):
        api.load(study)
    (study / "xr.yaml").write_text(XR.replace("class: Findings", "class: Trial Design"), encoding="utf-8")
    assert main(["lint", str(study)]) == 3
    assert "class 'Trial Design' is not a general observation class" in capsys.readouterr().out
