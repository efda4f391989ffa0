"""The MERIDIAN-02 generator: a US-style export whose records hang together, and the bundled copy up to date."""

from __future__ import annotations

import datetime as dt
import filecmp
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm.resources import data_dir
from daybreak_sdtm.sample.meridian import CUTOFF, FORMS, generate_export

BUNDLED = data_dir("examples") / "meridian-02" / "export"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("meridian")
    generate_export(out)
    return out


def _form(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _us(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


def test_bundled_export_is_fresh(export: Path) -> None:
    assert sorted(p.name for p in BUNDLED.iterdir()) == sorted(f"{f}.csv" for f in FORMS)
    for form in FORMS:
        assert filecmp.cmp(export / f"{form}.csv", BUNDLED / f"{form}.csv", shallow=False), form


def test_deterministic_and_refuses_no_subjects(export: Path, tmp_path: Path) -> None:
    generate_export(tmp_path, seed=20250303)
    assert all(filecmp.cmp(export / f"{f}.csv", tmp_path / f"{f}.csv", shallow=False) for f in FORMS)
    with pytest.raises(ValueError, match="positive"):
        generate_export(tmp_path / "none", subjects=0)


def test_subjects_sites_and_ages(export: Path) -> None:
    dm = _form(export, "dm")
    assert dm["SUBJECT"].is_unique and dm["SUBJECT"].str.fullmatch(r"70[1-4]-1\d{3}").all()
    assert (dm["SUBJECT"].str[:3] == dm["SITE"]).all()
    for _, row in dm.iterrows():  # the collected age is the age at consent
        consent, birth = _us(row["ICDATE"]), _us(row["BRTHDT"])
        years = consent.year - birth.year - ((consent.month, consent.day) < (birth.month, birth.day))
        assert years == int(row["AGE"]) and 35 <= years <= 75


def test_randomized_subjects_are_dosed_and_screen_failures_are_not(export: Path) -> None:
    dm, rand, ex, ds = (_form(export, f) for f in ("dm", "rand", "ex", "ds"))
    randomized = set(rand["SUBJECT"])
    assert randomized < set(dm["SUBJECT"]) and set(rand["ARMCD"]) == {"ZX10", "PBO"}
    assert set(ex["SUBJECT"]) == randomized
    failures = set(ds.loc[ds["DSTERM"].str.startswith("Screen failure"), "SUBJECT"])
    assert failures == set(dm["SUBJECT"]) - randomized and failures
    arm_of = dict(zip(rand["SUBJECT"], rand["ARMCD"], strict=True))
    assert all((kit == "ZX-101") == (arm_of[s] == "ZX10") for s, kit in zip(ex["SUBJECT"], ex["KIT"], strict=True))
    for _, row in ex.iterrows():
        assert _us(row["EXSTDT"]) <= _us(row["EXENDT"]) <= CUTOFF


def test_one_end_of_study_per_subject_after_its_last_dose(export: Path) -> None:
    ex, ds = _form(export, "ex"), _form(export, "ds")
    ends = ds[ds["DSPAGE"] == "END OF STUDY"]
    assert ends["SUBJECT"].is_unique
    last_dose = ex.assign(end=ex["EXENDT"].map(_us)).groupby("SUBJECT")["end"].max()
    for subject, date in zip(ends["SUBJECT"], ends["DSDT"], strict=True):
        if subject in last_dose:
            assert _us(date) >= last_dose[subject]


def test_wide_vitals_and_labs_in_us_units(export: Path) -> None:
    vs, lb = _form(export, "vs"), _form(export, "lb")
    screening = vs[vs["VISIT"] == "SCREENING"]
    assert (screening["HEIGHT"] != "").all() and (vs.loc[vs["VISIT"] != "SCREENING", "HEIGHT"] == "").all()
    assert pd.to_numeric(vs["TEMP"]).between(95, 102).all()  # Fahrenheit
    not_done = vs[vs["BPND"] != ""]
    assert ((not_done["SYSBP"] == "") & (not_done["DIABP"] == "")).all()
    assert set(lb["LBORRESU"]) == {"mg/dL", "%", "U/L"}
    assert set(lb["LBTESTCD"]) == {"GLUC", "HBA1C", "CREAT", "ALT"}
