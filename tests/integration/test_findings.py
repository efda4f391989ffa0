"""A Findings domain from a wide CRF page: one record per test, results in standard units, not done, baseline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyreadstat

from daybreak_sdtm import api
from daybreak_sdtm.resources import default_export_dir, default_study_dir

VS = """domain: VS
keys: [STUDYID, USUBJID, VSTESTCD, VSDTC]
source:
  form: vs
  unpivot:
    - values: {TESTCD: WEIGHT, TEST: Weight}
      columns: {RES: WEIGHT, UNIT: WEIGHTU, ND: null}
    - values: {TESTCD: HEIGHT, TEST: Height}
      columns: {RES: HEIGHT, UNIT: HEIGHTU, ND: null}
    - values: {TESTCD: TEMP, TEST: Temperature}
      columns: {RES: TEMP, UNIT: TEMPU, ND: TEMPND}
variables:
  STUDYID: derive_studyid
  DOMAIN: derive_domain
  USUBJID: derive_usubjid
  VSSEQ: {derivation: derive_seq, order_by: [VSDTC, VSTESTCD]}
  VSTESTCD: {derivation: assign_ct, source: TESTCD}
  VSTEST: {derivation: assign_ct, source: TEST}
  VSORRES: {derivation: assign_no_ct, source: RES}
  VSORRESU: {derivation: assign_ct, source: UNIT}
  VSSTRESU: {derivation: derive_stresu, unit: VSORRESU, test: VSTESTCD, standard: {WEIGHT: kg, HEIGHT: cm, TEMP: C}}
  VSSTRESC: {derivation: derive_stresc, result: VSORRES, unit: VSORRESU, standard_unit: VSSTRESU, test: VSTESTCD}
  VSSTRESN: {derivation: derive_stresn, result: VSORRES, unit: VSORRESU, standard_unit: VSSTRESU, test: VSTESTCD}
  VSSTAT: {derivation: derive_if_blank, variable: VSORRES, then: NOT DONE}
  VSREASND: {derivation: assign_no_ct, source: ND}
  VSLOBXFL: {derivation: derive_lobxfl, date: VSDTC, result: VSSTRESC}
  VSDTC: {derivation: derive_iso8601, source: VSDAT}
  VSDY: {derivation: derive_study_day, date: VSDTC}
"""
CONVERSIONS = """
unit_conversions:
  - {from: LB, to: kg, factor: 0.45359237, decimals: 1}
  - {from: in, to: cm, factor: 2.54, decimals: 1}
  - {from: F, to: C, factor: 0.5555556, offset: -17.7777778, decimals: 1}
"""


def _vs_page(export: Path) -> pd.DataFrame:
    """Two visits per subject: screening (US units, temperature not done for the first subject) and cycle 2 (metric)."""
    dm = pd.read_csv(export / "dm.csv", dtype=str, keep_default_na=False)
    rows = []
    for i, subject in enumerate(dm["SUBJECT"]):
        screening = {"VSDAT": dm["ICDAT"].iat[i], "WEIGHT": "150", "WEIGHTU": "LB", "HEIGHT": "68", "HEIGHTU": "in"}
        screening |= {
            "TEMP": "" if i == 0 else "98.6",
            "TEMPU": "" if i == 0 else "F",
            "TEMPND": "Thermometer broken" if i == 0 else "",
        }
        later = {"VSDAT": "15-SEP-2026", "WEIGHT": "66.5", "WEIGHTU": "kg", "HEIGHT": "172.7", "HEIGHTU": "cm"}
        later |= {"TEMP": "37.2", "TEMPU": "C", "TEMPND": ""}
        for folder, values in (("SCREENING", screening), ("C2", later)):
            rows.append(
                {"STUDY": "DAYBREAK-01", "SITENUMBER": subject[:3], "SUBJECT": subject, "FOLDER": folder, **values}
            )
    return pd.DataFrame(rows)


def _study_and_export(tmp_path: Path) -> tuple[Path, Path]:
    study, export = tmp_path / "study", tmp_path / "export"
    shutil.copytree(default_study_dir(), study)
    shutil.copytree(default_export_dir(), export)
    _vs_page(export).to_csv(export / "vs.csv", index=False)
    (study / "vs.yaml").write_text(VS, encoding="utf-8")
    text = (study / "study.yaml").read_text(encoding="utf-8").replace("ds.yaml]", "ds.yaml, vs.yaml]")
    text = text.replace("columns_not_mapped:\n", "columns_not_mapped:\n  vs: [STUDY, SITENUMBER, FOLDER]\n", 1)
    text = text.replace("death: 9}", "death: 9, vs: 9}", 1)  # the added form needs an annotated CRF page
    (study / "study.yaml").write_text(text + CONVERSIONS, encoding="utf-8")
    return study, export


def test_wide_vital_signs_page_in_standard_units(tmp_path: Path) -> None:
    study, export = _study_and_export(tmp_path)
    out = tmp_path / "out"
    result = api.convert(study, export_dir=export, out_dir=out, timestamp="2026-10-01T00:00:00")
    assert result.published, result.report and [str(f) for f in result.report.findings][:5]
    vs, _ = pyreadstat.read_xport(str(out / "vs.xpt"))
    assert len(vs) == 32 * 2 * 3  # every raw row made three records, none dropped
    screening = vs[(vs["USUBJID"] == "DAYBREAK-01-101-002") & (vs["VSORRESU"].isin(["LB", "in", "F"]))]
    assert screening.set_index("VSTESTCD")[["VSORRES", "VSSTRESC", "VSSTRESU"]].to_dict("index") == {
        "WEIGHT": {"VSORRES": "150", "VSSTRESC": "68.0", "VSSTRESU": "kg"},
        "HEIGHT": {"VSORRES": "68", "VSSTRESC": "172.7", "VSSTRESU": "cm"},
        "TEMP": {"VSORRES": "98.6", "VSSTRESC": "37.0", "VSSTRESU": "C"},
    }
    assert screening.set_index("VSTESTCD")["VSSTRESN"].to_dict() == {"WEIGHT": 68.0, "HEIGHT": 172.7, "TEMP": 37.0}
    # The first subject's screening temperature was not taken: NOT DONE with the reason, no result, not baseline.
    not_done = vs[(vs["USUBJID"] == "DAYBREAK-01-101-001") & (vs["VSSTAT"] == "NOT DONE")]
    assert not_done[["VSTESTCD", "VSREASND", "VSORRES", "VSLOBXFL"]].values.tolist() == [
        ["TEMP", "Thermometer broken", "", ""]
    ]
    # Baseline: the screening record of each test (before the first dose), never the later visit.
    baseline = vs[vs["VSLOBXFL"] == "Y"]
    assert len(baseline) == 32 * 3 - 1 and set(baseline["VSDTC"]) <= set(vs["VSDTC"]) - {"2026-09-15"}
    # VSSEQ follows the declared order: date, then test code.
    ordered = vs[vs["USUBJID"] == "DAYBREAK-01-101-002"].sort_values("VSSEQ")
    assert ordered["VSTESTCD"].tolist() == ["HEIGHT", "TEMP", "WEIGHT"] * 2
