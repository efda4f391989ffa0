"""Tests for the synthetic Daybreak-01 EDC export generator.

The consistency rules are checked on the CSV files as written (read back as
text), for the default 32-subject export and for a larger one, so that rare
paths (deaths, withdrawals, delays) are exercised too.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daybreak_sdtm.sample import generate_export

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EXPORT = REPO / "examples" / "daybreak-01" / "export"
CUTOFF = np.datetime64("2026-09-30")
MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}

# The contract, spelled out independently of the generator's own constant.
COLUMNS = {
    "dm": "STUDY,SITENUMBER,SUBJECT,FOLDER,ICDAT,BRTHDAT,AGE,SEX,ETHNIC,RACE",
    "ie": "STUDY,SITENUMBER,SUBJECT,FOLDER,IEDAT,IEYN,TSTAGE,NSTAGE,MSTAGE,STAGE,ECOG",
    "ex": "STUDY,SITENUMBER,SUBJECT,FOLDER,PHASE,CYCLE,BSA,TIS_YN,TIS_DAT,TIS_STTIM,TIS_DOSE,TIS_UNIT,TIS_MOD,"
    "TIS_MODREAS,GEM1_YN,GEM1_DAT,GEM1_DOSE,GEM1_UNIT,GEM1_MOD,GEM1_MODREAS,GEM8_YN,GEM8_DAT,GEM8_DOSE,"
    "GEM8_UNIT,GEM8_MOD,GEM8_MODREAS,CIS_YN,CIS_DAT,CIS_DOSE,CIS_UNIT,CIS_MOD,CIS_MODREAS",
    "rs": "STUDY,SITENUMBER,SUBJECT,FOLDER,RSDAT,METHOD,TRGRESP,NTRGRESP,NEWLES,OVRLRESP,ASSESSOR",
    "rt": "STUDY,SITENUMBER,SUBJECT,FOLDER,RTLINE,RTTARGET,RTSCHED,RTSTDAT,RTENDAT,RTDOSEFX,RTFXN,RTTOTDOSE,"
    "RTUNIT,RTTECH",
    "ae": "STUDY,SITENUMBER,SUBJECT,FOLDER,AELINE,AETERM,AELLT,AELLTCD,AEPT,AEPTCD,AEHLT,AEHLTCD,AEHLGT,AEHLGTCD,"
    "AESOC,AESOCCD,AESTDAT,AEENDAT,AEONGO,AETOXGR,AESER,AESDTH,AESLIFE,AESHOSP,AESDISAB,AESCONG,AESMIE,"
    "AEREL_TIS,AEREL_GEM,AEREL_CIS,AEREL_RT,AEACN_TIS,AEACN_GEM,AEACN_CIS,AEOUT,AEIRAE",
    "eos": "STUDY,SITENUMBER,SUBJECT,FOLDER,EOTDAT,EOTREAS,EOSDAT,EOSREAS",
    "death": "STUDY,SITENUMBER,SUBJECT,FOLDER,DTHDAT,DTHCAUSE",
}
DATE_COLUMNS = {
    "ie": ["IEDAT"],
    "ex": ["TIS_DAT", "GEM1_DAT", "GEM8_DAT", "CIS_DAT"],
    "rs": ["RSDAT"],
    "rt": ["RTSTDAT", "RTENDAT"],
    "ae": ["AESTDAT", "AEENDAT"],
    "eos": ["EOTDAT", "EOSDAT"],
    "death": ["DTHDAT"],
}
FULL_DATE = re.compile(r"^(\d{2})-([A-Z]{3})-(\d{4})$")
PARTIAL_DATE = re.compile(r"^(UN|\d{2})-([A-Z]{3}|UNK)-(\d{4})$")


def parse_bounds(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse EDC dates (full or partial) into (earliest, latest) possible day; NaT for blanks.

    Raises AssertionError for a malformed or impossible date.
    """
    lo = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
    hi = lo.copy()
    for i, text in enumerate(values):
        if text == "":
            continue
        m = PARTIAL_DATE.match(text)
        assert m, f"bad date {text!r}"
        day, mon, year = m.groups()
        if mon == "UNK":
            assert day == "UN", text
            lo[i] = np.datetime64(f"{year}-01-01")
            hi[i] = np.datetime64(f"{year}-12-31")
            continue
        assert mon in MONTHS, text
        first = np.datetime64(f"{year}-{MONTHS[mon]:02d}", "M")
        if day == "UN":
            lo[i] = first.astype("datetime64[D]")
            hi[i] = (first + 1).astype("datetime64[D]") - 1
        else:
            d = first.astype("datetime64[D]") + int(day) - 1
            assert d.astype("datetime64[M]") == first, f"invalid calendar date {text!r}"
            lo[i] = hi[i] = d
    return lo, hi


def full_dates(values: pd.Series) -> np.ndarray:
    """Parse complete EDC dates (blank -> NaT)."""
    lo, hi = parse_bounds(values)
    assert ((lo == hi) | np.isnat(lo)).all(), "unexpected partial date"
    return lo


def load(export: Path) -> dict[str, pd.DataFrame]:
    """Read every form back as text."""
    return {name: pd.read_csv(export / f"{name}.csv", dtype=str, keep_default_na=False) for name in COLUMNS}


@pytest.fixture(scope="module")
def default_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("default")
    return out, generate_export(out)


@pytest.fixture(scope="module")
def large_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("large")
    return out, generate_export(out, subjects=2000, seed=7)


@pytest.fixture(scope="module", params=["default", "large"])
def forms(request: pytest.FixtureRequest) -> dict[str, pd.DataFrame]:
    export, counts = request.getfixturevalue(f"{request.param}_export")
    data = load(export)
    assert counts == {name: len(df) for name, df in data.items()}
    return data


# ---------------------------------------------------------------------------
# File format
# ---------------------------------------------------------------------------
def test_columns_and_file_format(default_export: tuple[Path, dict[str, int]]) -> None:
    export, counts = default_export
    assert list(counts) == list(COLUMNS)
    for name, header in COLUMNS.items():
        raw = (export / f"{name}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in raw
        raw.decode("utf-8")
        assert raw.split(b"\n", 1)[0].decode() == header


def test_key_columns(forms: dict[str, pd.DataFrame]) -> None:
    dm = forms["dm"]
    assert dm["SUBJECT"].is_unique
    assert (dm["FOLDER"] == "SCREENING").all()
    subjects = set(dm["SUBJECT"])
    for name, df in forms.items():
        assert (df["STUDY"] == "DAYBREAK-01").all(), name
        assert df["SITENUMBER"].isin(["101", "102", "103", "104"]).all(), name
        assert (df["SUBJECT"].str.split("-").str[0] == df["SITENUMBER"]).all(), name
        assert set(df["SUBJECT"]) <= subjects, name
        assert df["SUBJECT"].str.fullmatch(r"10[1-4]-\d{3,}").all(), name


def test_no_float_artefacts(forms: dict[str, pd.DataFrame]) -> None:
    ex, rt = forms["ex"], forms["rt"]
    assert ex["BSA"].str.fullmatch(r"[12]\.\d{2}").all()
    bsa = ex["BSA"].astype(float)
    assert bsa.between(1.45, 2.10).all()
    assert (ex.groupby("SUBJECT")["BSA"].nunique() == 1).all()
    assert set(ex["TIS_DOSE"]) == {"200"}
    assert set(ex["GEM1_DOSE"]) <= {"1000", "750", ""}
    assert set(ex["GEM8_DOSE"]) <= {"1000", "750", ""}
    assert set(ex["CIS_DOSE"]) <= {"80", "60", ""}
    assert ex["CYCLE"].str.fullmatch(r"[1-9]\d*").all()
    assert ex["TIS_STTIM"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    assert set(rt["RTDOSEFX"]) <= {"2.75"} and set(rt["RTFXN"]) <= {"20"} and set(rt["RTTOTDOSE"]) <= {"55"}


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------
def test_dates_valid_and_within_window(forms: dict[str, pd.DataFrame]) -> None:
    dm = forms["dm"]
    ic = pd.Series(full_dates(dm["ICDAT"]), index=dm["SUBJECT"])
    assert (ic >= np.datetime64("2025-10-04")).all() and (ic <= np.datetime64("2026-04-04")).all()
    birth_lo, _ = parse_bounds(dm["BRTHDAT"])
    assert not np.isnat(birth_lo).any()
    for name, cols in DATE_COLUMNS.items():
        df = forms[name]
        subj_ic = ic.reindex(df["SUBJECT"]).to_numpy()
        for col in cols:
            lo, hi = parse_bounds(df[col])
            present = ~np.isnat(lo)
            assert (lo[present] <= CUTOFF).all(), f"{name}.{col} after cut-off"
            assert (hi[present] >= subj_ic[present]).all(), f"{name}.{col} before informed consent"


def test_partial_dates_only_where_allowed(forms: dict[str, pd.DataFrame]) -> None:
    for name, cols in DATE_COLUMNS.items():
        for col in cols:
            if (name, col) == ("ae", "AESTDAT"):
                continue
            values = forms[name][col]
            assert values[values != ""].str.fullmatch(FULL_DATE).all(), f"{name}.{col}"
    dm = forms["dm"]
    assert dm["BRTHDAT"].str.fullmatch(PARTIAL_DATE).all()


def test_no_data_after_death(forms: dict[str, pd.DataFrame]) -> None:
    death = forms["death"]
    dth = pd.Series(full_dates(death["DTHDAT"]), index=death["SUBJECT"])
    for name, cols in DATE_COLUMNS.items():
        df = forms[name]
        d = dth.reindex(df["SUBJECT"]).to_numpy()
        for col in cols:
            lo, _ = parse_bounds(df[col])
            check = ~np.isnat(lo) & ~np.isnat(d)
            assert (lo[check] <= d[check]).all(), f"{name}.{col} after death"


# ---------------------------------------------------------------------------
# Demographics / eligibility
# ---------------------------------------------------------------------------
def test_demographics(forms: dict[str, pd.DataFrame]) -> None:
    dm, ie = forms["dm"], forms["ie"]
    age = dm["AGE"].astype(int)
    assert age.between(18, 70).all()
    assert set(dm["SEX"]) <= {"Male", "Female"}
    assert (dm["ETHNIC"] == "Not Hispanic or Latino").all() and (dm["RACE"] == "Asian").all()
    ic = full_dates(dm["ICDAT"])
    lo, hi = parse_bounds(dm["BRTHDAT"])
    # Age at consent must be achievable by some birth date compatible with BRTHDAT.
    for i in range(len(dm)):
        iy, im, idd = (int(x) for x in str(ic[i]).split("-"))
        ages = set()
        for b in (lo[i], hi[i]):
            by, bm, bd = (int(x) for x in str(b).split("-"))
            ages.add(iy - by - ((im, idd) < (bm, bd)))
        assert min(ages) <= age.iloc[i] <= max(ages), dm.iloc[i].to_dict()
    assert list(ie["SUBJECT"]) == list(dm["SUBJECT"])
    assert (ie["IEYN"] == "Yes").all()
    assert ie["TSTAGE"].isin(["T1", "T2", "T3", "T4"]).all()
    assert ie["NSTAGE"].isin(["N0", "N1", "N2", "N3"]).all()
    assert (ie["STAGE"] == ie["MSTAGE"].map({"M1a": "IVA", "M1b": "IVB"})).all()
    assert ie["ECOG"].isin(["0", "1"]).all()
    iedat = full_dates(ie["IEDAT"])
    first_dose = forms["ex"].groupby("SUBJECT")["TIS_DAT"].first().reindex(ie["SUBJECT"])
    fd = full_dates(first_dose)
    assert (iedat >= ic).all() and (iedat < fd).all()
    gap = (fd - ic).astype(int)
    assert ((gap >= 3) & (gap <= 21)).all()


# ---------------------------------------------------------------------------
# Exposure
# ---------------------------------------------------------------------------
def test_induction_and_exposure_sequence(forms: dict[str, pd.DataFrame]) -> None:
    ex = forms["ex"].copy()
    assert set(ex["SUBJECT"]) == set(forms["dm"]["SUBJECT"])
    ind = ex[ex["PHASE"] == "Induction"]
    n_ind = ind.groupby("SUBJECT").size()
    assert n_ind.between(4, 6).all()
    assert (ind["FOLDER"] == "C" + ind["CYCLE"]).all()
    assert (ind["TIS_DAT"] == ind["GEM1_DAT"]).all() and (ind["TIS_DAT"] == ind["CIS_DAT"]).all()
    given8 = ind["GEM8_YN"] == "Yes"
    g8 = full_dates(ind["GEM8_DAT"])
    g1 = full_dates(ind["GEM1_DAT"])
    assert ((g8 - g1)[given8.to_numpy()].astype(int) == 7).all()
    assert (ind.loc[~given8, ["GEM8_DAT", "GEM8_DOSE"]] == "").all().all()
    assert ind.loc[~given8, "GEM8_MODREAS"].isin(["Neutropenia", "Thrombocytopenia"]).all()
    for drug in ("GEM1", "CIS"):
        reduced = ind[f"{drug}_DOSE"].isin(["750", "60"])
        assert (ind.loc[reduced, f"{drug}_MOD"] == "Yes").all()
        assert (ind.loc[reduced, f"{drug}_MODREAS"] != "").all()
    assert (ex["TIS_UNIT"] == "mg").all() and (ind["GEM1_UNIT"] == "mg/m2").all()
    assert (ex.loc[ex["TIS_MOD"] == "No", "TIS_MODREAS"] == "").all()
    assert set(ex.loc[ex["TIS_MOD"] == "Yes", "TIS_MODREAS"]) <= {"Adverse event"}

    maint = ex[ex["PHASE"] == "Maintenance"]
    chemo_cols = [c for c in ex.columns if c.startswith(("GEM", "CIS"))]
    assert (maint[chemo_cols] == "").all().all()
    assert (maint["FOLDER"].str.fullmatch(r"M\d+")).all()

    # Cycle numbers 1..n, induction first, dates strictly increasing (day 8 before next day 1).
    d1_all, d8_all = full_dates(ex["TIS_DAT"]), full_dates(ex["GEM8_DAT"])
    for subject, rows in ex.groupby("SUBJECT", sort=False):
        assert list(rows["CYCLE"].astype(int)) == list(range(1, len(rows) + 1)), subject
        phases = list(rows["PHASE"])
        assert phases == sorted(phases, key=lambda p: p != "Induction"), subject
        pos = ex.index.get_indexer(rows.index)
        seq = np.stack([d1_all[pos], d8_all[pos]], axis=1).ravel()
        seq = seq[~np.isnat(seq)]
        assert (np.diff(seq).astype(int) > 0).all(), subject
        assert (seq[-1] - seq[0]).astype(int) <= 730, subject


def test_maintenance_after_induction_and_rt(forms: dict[str, pd.DataFrame]) -> None:
    ex, rt, rs = forms["ex"], forms["rt"], forms["rs"]
    ex_d = ex.assign(_d=full_dates(ex["TIS_DAT"]))
    last_ind = ex_d[ex_d["PHASE"] == "Induction"].groupby("SUBJECT")["_d"].max()
    first_m = ex_d[ex_d["PHASE"] == "Maintenance"].groupby("SUBJECT")["_d"].min()
    post = rs[rs["FOLDER"] == "POST-INDUCTION"].set_index("SUBJECT")
    post_d = pd.Series(full_dates(post["RSDAT"]), index=post.index)
    for subject, d in first_m.items():
        assert d > last_ind[subject] + np.timedelta64(20, "D"), subject
        assert d >= post_d[subject], subject
    rt_end = rt.assign(_e=full_dates(rt["RTENDAT"]))
    rt_ongoing = set(rt_end.loc[rt_end["RTENDAT"] == "", "SUBJECT"])
    last_rt = rt_end.groupby("SUBJECT")["_e"].max()
    for subject in last_rt.index:
        if subject in first_m.index:
            assert subject not in rt_ongoing
            assert first_m[subject] > last_rt[subject], subject
    # CR subjects start maintenance exactly 21 days after the last induction cycle.
    cr = post.index[post["OVRLRESP"] == "Complete Response"]
    for subject in cr.intersection(first_m.index):
        assert (first_m[subject] - last_ind[subject]).days == 21


def test_no_dose_after_progression_or_eot(forms: dict[str, pd.DataFrame]) -> None:
    ex, rs, eos = forms["ex"], forms["rs"], forms["eos"]
    last_dose = ex.assign(_d=full_dates(ex["TIS_DAT"])).groupby("SUBJECT")["_d"].max()
    pd_rows = rs[rs["OVRLRESP"] == "Progressive Disease"]
    assert pd_rows["SUBJECT"].is_unique
    for subject, d in zip(pd_rows["SUBJECT"], full_dates(pd_rows["RSDAT"]), strict=True):
        assert last_dose[subject] < d, subject
        # Nothing is assessed after progression.
        later = full_dates(rs.loc[rs["SUBJECT"] == subject, "RSDAT"])
        assert later.max() == d
    for subject, d in zip(eos["SUBJECT"], full_dates(eos["EOTDAT"]), strict=True):
        assert last_dose[subject] <= d, subject
    # Subjects who progressed before the cut-off have ended treatment.
    assert set(pd_rows["SUBJECT"]) <= set(eos["SUBJECT"])


# ---------------------------------------------------------------------------
# Response and radiotherapy
# ---------------------------------------------------------------------------
def expected_overall(trg: str, ntrg: str, new: str) -> str:
    """RECIST 1.1 overall response from target, non-target and new lesions."""
    if new == "Yes" or trg == "Progressive Disease" or ntrg == "Progressive Disease":
        return "Progressive Disease"
    if trg == "Complete Response":
        return "Complete Response" if ntrg == "Complete Response" else "Partial Response"
    if trg == "Partial Response":
        return "Partial Response"
    if trg == "Stable Disease":
        return "Stable Disease"
    return "Not Evaluable"


def test_response_assessments(forms: dict[str, pd.DataFrame]) -> None:
    rs = forms["rs"]
    assert rs["METHOD"].isin(["MRI", "CT", "PET-CT"]).all()
    assert (rs["ASSESSOR"] == "Investigator").all()
    for row in rs.itertuples():
        assert row.OVRLRESP == expected_overall(row.TRGRESP, row.NTRGRESP, row.NEWLES), row
    subjects = set(forms["dm"]["SUBJECT"])
    for folder in ("C2 ASSESSMENT", "POST-INDUCTION"):
        part = rs[rs["FOLDER"] == folder]
        assert set(part["SUBJECT"]) == subjects and part["SUBJECT"].is_unique
    assert rs.loc[rs["FOLDER"] == "C2 ASSESSMENT", "OVRLRESP"].isin(["Partial Response", "Stable Disease"]).all()
    assert rs.loc[rs["FOLDER"] == "POST-INDUCTION", "OVRLRESP"].isin(["Complete Response", "Partial Response"]).all()
    maint = rs[~rs["FOLDER"].isin(["C2 ASSESSMENT", "POST-INDUCTION"])]
    assert maint["FOLDER"].str.fullmatch(r"MAINT WK\d+").all()
    assert (maint["FOLDER"].str[8:].astype(int) % 9 == 0).all()
    rs_d = rs.assign(_d=full_dates(rs["RSDAT"]))
    assert (rs_d.groupby("SUBJECT")["_d"].apply(lambda s: (np.diff(s.to_numpy()).astype(int) > 0).all())).all()
    # The C2 assessment falls between cycle 2 and cycle 3.
    ex = forms["ex"]
    c2 = rs_d[rs_d["FOLDER"] == "C2 ASSESSMENT"].set_index("SUBJECT")["_d"]
    for cycle, cmp in (("2", np.greater), ("3", np.less)):
        day1 = ex[ex["CYCLE"] == cycle].set_index("SUBJECT")["TIS_DAT"]
        assert cmp(c2.to_numpy(), full_dates(day1.reindex(c2.index))).all()


def test_radiotherapy_only_for_partial_responders(forms: dict[str, pd.DataFrame]) -> None:
    rs, rt = forms["rs"], forms["rt"]
    post = rs[rs["FOLDER"] == "POST-INDUCTION"]
    pr = set(post.loc[post["OVRLRESP"] == "Partial Response", "SUBJECT"])
    assert set(rt["SUBJECT"]) == pr
    assert (rt["FOLDER"] == "RADIOTHERAPY").all()
    assert (rt["RTUNIT"] == "Gy").all() and (rt["RTTECH"] == "IMRT").all()
    mets = {"Liver metastasis", "Bone metastasis", "Lung metastasis", "Distant lymph node metastasis"}
    post_d = dict(zip(post["SUBJECT"], full_dates(post["RSDAT"]), strict=True))
    for subject, rows in rt.groupby("SUBJECT"):
        assert list(rows["RTLINE"].astype(int)) == list(range(1, len(rows) + 1))
        targets = list(rows["RTTARGET"])
        assert targets[:2] == ["Nasopharyngeal primary", "Cervical lymph nodes"]
        assert 0 <= len(targets) - 2 <= 3 and set(targets[2:]) <= mets and len(set(targets)) == len(targets)
        assert (rows["RTSCHED"].iloc[:2] == "Concurrent").all()
        start, end = full_dates(rows["RTSTDAT"]), full_dates(rows["RTENDAT"])
        gap = (start[0] - post_d[subject]).astype(int)
        assert 14 <= gap <= 28, subject
        done = ~np.isnat(end)
        assert (((end - start)[done].astype(int) >= 25) & ((end - start)[done].astype(int) <= 27)).all()
        for i in range(2, len(rows)):
            if rows["RTSCHED"].iloc[i] == "Concurrent":
                assert start[i] == start[0] and (end[i] == end[0] or (np.isnat(end[i]) and np.isnat(end[0])))
            else:
                assert rows["RTSCHED"].iloc[i] == "Sequential"
                assert 1 <= (start[i] - end[0]).astype(int) <= 7


# ---------------------------------------------------------------------------
# Adverse events
# ---------------------------------------------------------------------------
def test_adverse_events(forms: dict[str, pd.DataFrame]) -> None:
    ae, dm, ex = forms["ae"], forms["dm"], forms["ex"]
    assert (ae["FOLDER"] == "AE").all()
    counts = ae.groupby("SUBJECT").size().reindex(dm["SUBJECT"], fill_value=0)
    assert counts.between(2, 12).all()
    assert (ae.groupby("SUBJECT")["AELINE"].apply(lambda s: list(s.astype(int)) == list(range(1, len(s) + 1)))).all()
    for col in ("AELLTCD", "AEPTCD", "AEHLTCD", "AEHLGTCD", "AESOCCD"):
        assert ae[col].str.fullmatch(r"1\d{7}").all(), col
    assert (ae["AETERM"] != "").all()
    first_dose = ex.groupby("SUBJECT")["TIS_DAT"].first()
    fd = full_dates(first_dose.reindex(ae["SUBJECT"]))
    start_lo, start_hi = parse_bounds(ae["AESTDAT"])
    end = full_dates(ae["AEENDAT"])
    assert (start_hi >= fd - 5).all()
    has_end = ~np.isnat(end)
    assert (end[has_end] >= start_lo[has_end]).all()
    assert ((ae["AEENDAT"] == "") == (ae["AEONGO"] == "Yes")).all()
    assert ae["AEONGO"].isin(["Yes", "No"]).all()
    partial = ae["AESTDAT"].str.startswith("UN")
    assert ae.loc[partial, "AESTDAT"].str.fullmatch(r"UN-[A-Z]{3}-\d{4}").all()
    assert ae["AETOXGR"].isin([f"Grade {g}" for g in range(1, 6)]).all()
    # Seriousness criteria.
    crit = ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
    assert ae[crit].isin(["Yes", ""]).all().all()
    serious = ae["AESER"] == "Yes"
    assert ae["AESER"].isin(["Yes", "No"]).all()
    assert (ae.loc[serious, crit] == "Yes").any(axis=1).all()
    assert (ae.loc[~serious, crit] == "").all().all()
    rel = {"Related", "Not related", "Not applicable"}
    for col in ("AEREL_TIS", "AEREL_GEM", "AEREL_CIS", "AEREL_RT"):
        assert set(ae[col]) <= rel, col
    acn = {"Dose not changed", "Drug interrupted", "Dose reduced", "Drug withdrawn", "Not applicable"}
    for col in ("AEACN_TIS", "AEACN_GEM", "AEACN_CIS"):
        assert set(ae[col]) <= acn, col
    assert "Dose reduced" not in set(ae["AEACN_TIS"])
    assert (
        ae["AEOUT"]
        .isin(
            [
                "Recovered/Resolved",
                "Recovering/Resolving",
                "Not recovered/Not resolved",
                "Recovered/Resolved with sequelae",
                "Fatal",
            ]
        )
        .all()
    )
    assert (ae.loc[ae["AEONGO"] == "Yes", "AEOUT"].isin(["Not recovered/Not resolved", "Recovering/Resolving"])).all()
    assert ae["AEIRAE"].isin(["Yes", "No"]).all()
    assert (
        ae.loc[
            ae["AEPT"].isin(["Hypothyroidism", "Hyperthyroidism", "Pneumonitis", "Immune-mediated hepatitis"]), "AEIRAE"
        ]
        == "Yes"
    ).all()

    # Radiotherapy AEs: PR subjects only, between RT start and RT end + 30 days, related to RT.
    rt = forms["rt"]
    rt_ae = ae[ae["AEPT"].isin(["Stomatitis", "Radiation skin injury"])]
    assert set(rt_ae["SUBJECT"]) <= set(rt["SUBJECT"])
    assert (rt_ae["AEREL_RT"] == "Related").all()
    rt_start = rt.groupby("SUBJECT")["RTSTDAT"].first()
    prim_end = rt.groupby("SUBJECT")["RTENDAT"].first()
    s = full_dates(rt_ae["AESTDAT"])
    rs_ = full_dates(rt_start.reindex(rt_ae["SUBJECT"]))
    re_ = full_dates(prim_end.reindex(rt_ae["SUBJECT"]))
    assert (s >= rs_).all()
    ended = ~np.isnat(re_)
    assert (s[ended] <= re_[ended] + 30).all()
    cr_subjects = set(dm["SUBJECT"]) - set(rt["SUBJECT"])
    assert (ae.loc[ae["SUBJECT"].isin(cr_subjects), "AEREL_RT"] == "Not applicable").all()


def test_fatal_adverse_events(forms: dict[str, pd.DataFrame]) -> None:
    ae, death = forms["ae"], forms["death"]
    g5 = ae[ae["AETOXGR"] == "Grade 5"]
    by_ae = set(death.loc[death["DTHCAUSE"] == "Adverse event", "SUBJECT"])
    assert set(g5["SUBJECT"]) == by_ae
    assert g5["SUBJECT"].is_unique
    dth = death.set_index("SUBJECT")["DTHDAT"]
    assert ((g5["AEENDAT"] == g5["SUBJECT"].map(dth)) | (g5["AEENDAT"] == "")).all()
    assert (g5["AEOUT"] == "Fatal").all() and (ae.loc[ae["AEOUT"] == "Fatal", "AETOXGR"] == "Grade 5").all()
    assert (g5["AESER"] == "Yes").all() and (g5["AESDTH"] == "Yes").all()
    assert (ae.loc[ae["AETOXGR"] != "Grade 5", "AESDTH"] == "").all()
    assert g5["AEPT"].isin(["Pneumonitis", "Sepsis"]).all()


# ---------------------------------------------------------------------------
# End of treatment / death
# ---------------------------------------------------------------------------
def test_end_of_treatment_and_death(forms: dict[str, pd.DataFrame]) -> None:
    eos, death, ae = forms["eos"], forms["death"], forms["ae"]
    assert eos["SUBJECT"].is_unique and death["SUBJECT"].is_unique
    assert (eos["FOLDER"] == "END OF TREATMENT").all() and (death["FOLDER"] == "DEATH").all()
    assert (
        eos["EOTREAS"]
        .isin(
            ["Progressive disease", "Adverse event", "Withdrawal by subject", "Death", "Completed 2 years of treatment"]
        )
        .all()
    )
    assert eos["EOSREAS"].isin(["", "Death", "Withdrawal by subject"]).all()
    assert ((eos["EOSDAT"] == "") == (eos["EOSREAS"] == "")).all()
    assert death["DTHCAUSE"].isin(["Disease progression", "Adverse event"]).all()
    # Every death has an end-of-study record with the same date.
    merged = death.merge(eos, on="SUBJECT", how="left")
    assert (merged["EOSDAT"] == merged["DTHDAT"]).all()
    assert (merged["EOSREAS"] == "Death").all()
    assert set(eos.loc[eos["EOSREAS"] == "Death", "SUBJECT"]) == set(death["SUBJECT"])
    eot, eosd = full_dates(eos["EOTDAT"]), full_dates(eos["EOSDAT"])
    left = ~np.isnat(eosd)
    assert (eot[left] <= eosd[left]).all()
    # Discontinuation for toxicity: one AE withdrew tislelizumab.
    for subject in eos.loc[eos["EOTREAS"] == "Adverse event", "SUBJECT"]:
        assert (ae.loc[ae["SUBJECT"] == subject, "AEACN_TIS"] == "Drug withdrawn").any(), subject
    # Death from progression only after a documented progression.
    rs = forms["rs"]
    progressed = set(rs.loc[rs["OVRLRESP"] == "Progressive Disease", "SUBJECT"])
    assert set(death.loc[death["DTHCAUSE"] == "Disease progression", "SUBJECT"]) <= progressed
    assert set(eos.loc[eos["EOTREAS"] == "Progressive disease", "SUBJECT"]) <= progressed


# ---------------------------------------------------------------------------
# Determinism, scaling, bundled example
# ---------------------------------------------------------------------------
def test_deterministic(tmp_path: Path, default_export: tuple[Path, dict[str, int]]) -> None:
    export, counts = default_export
    again = generate_export(tmp_path / "again")
    assert again == counts
    for name in COLUMNS:
        assert (tmp_path / "again" / f"{name}.csv").read_bytes() == (export / f"{name}.csv").read_bytes(), name
    other = generate_export(tmp_path / "other", seed=1)
    assert any((tmp_path / "other" / f"{n}.csv").read_bytes() != (export / f"{n}.csv").read_bytes() for n in COLUMNS)
    assert other["dm"] == 32


def test_scaling_shape(large_export: tuple[Path, dict[str, int]]) -> None:
    export, counts = large_export
    data = load(export)
    assert counts["dm"] == counts["ie"] == 2000
    assert data["dm"]["SUBJECT"].is_unique
    assert data["dm"]["SUBJECT"].is_monotonic_increasing
    ex_per = counts["ex"] / 2000
    assert 8 <= ex_per <= 16
    assert 2 <= counts["ae"] / 2000 <= 12
    # Roughly 30% CR / 70% PR after induction.
    post = data["rs"][data["rs"]["FOLDER"] == "POST-INDUCTION"]
    assert 0.25 <= (post["OVRLRESP"] == "Complete Response").mean() <= 0.35
    assert counts["death"] > 0 and counts["eos"] > 0


def test_wide_subject_numbers(tmp_path: Path) -> None:
    counts = generate_export(tmp_path, subjects=4000, seed=3)
    dm = pd.read_csv(tmp_path / "dm.csv", dtype=str, keep_default_na=False)
    assert counts["dm"] == 4000 and dm["SUBJECT"].is_unique
    # More than 999 subjects in a site: four digits for every subject in the export.
    assert dm["SUBJECT"].str.fullmatch(r"10[1-4]-\d{4}").all()


def test_bundled_example_is_fresh(default_export: tuple[Path, dict[str, int]]) -> None:
    export, _ = default_export
    for name in COLUMNS:
        bundled = EXAMPLE_EXPORT / f"{name}.csv"
        assert bundled.is_file(), bundled
        assert bundled.read_bytes() == (export / f"{name}.csv").read_bytes(), f"{name}.csv is stale"


def test_rejects_non_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_export(tmp_path, subjects=0)


def test_adverse_event_keys_identify_records(forms: dict[str, pd.DataFrame]) -> None:
    # AE's keys (STUDYID, USUBJID, AEDECOD, AESTDTC) come from SUBJECT, AEPT and AESTDAT: one
    # record per subject, term and onset, partial onsets included.
    ae = forms["ae"]
    repeated = ae[ae.duplicated(["SUBJECT", "AEPT", "AESTDAT"], keep=False)]
    assert repeated.empty, repeated[["SUBJECT", "AEPT", "AESTDAT"]].head().to_string()
