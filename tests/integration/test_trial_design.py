"""The trial design end to end: the bundled study converted, its TS, TA, TE, TV, TI, SE and SV read
back from the XPT files and checked against study.yaml, the CT package and the raw export."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from daybreak_sdtm.cli import main
from daybreak_sdtm.resources import default_export_dir, default_study_dir, specs_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.standards import read_standards
from daybreak_sdtm.write.define_xml import validate_define

ODM = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("design") / "sdtm"
    assert main(["convert", "--out", str(out), "--timestamp", "2026-10-01T00:00:00"]) == 0
    return out


def read(package: Path, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(package / f"{name}.xpt"))
    return frame


def raw(name: str) -> pd.DataFrame:
    return pd.read_csv(default_export_dir() / f"{name}.csv", dtype=str, keep_default_na=False)


def iso(edc: pd.Series) -> pd.Series:
    """05-MAR-2026 -> 2026-03-05 (complete dates only)."""
    return pd.to_datetime(edc, format="%d-%b-%Y", errors="coerce").dt.strftime("%Y-%m-%d")


def usubjid(subject: pd.Series) -> pd.Series:
    return "DAYBREAK-01-" + subject


def test_trial_summary_holds_the_declared_parameters_coded_from_ct(package: Path) -> None:
    ts = read(package, "ts")
    standards = read_standards(specs_dir(), "3.4", "2025-03-28")
    value = {p: ts.loc[ts.TSPARMCD == p, "TSVAL"].tolist() for p in ts.TSPARMCD.unique()}
    assert value["SSTDTC"] == ["2025-10-04"]
    assert value["TPHASE"] == ["PHASE II TRIAL"] and value["STYPE"] == ["INTERVENTIONAL"]
    assert value["INTMODEL"] == ["SINGLE GROUP"] and value["TBLIND"] == ["OPEN LABEL"]
    assert value["RANDOM"] == ["N"] and value["HLTSUBJI"] == ["N"] and value["SEXPOP"] == ["BOTH"]
    assert value["AGEMIN"] == ["P18Y"] and value["AGEMAX"] == ["P70Y"] and value["PLANSUB"] == ["32"]
    assert value["REGID"] == ["NCT07248696"] and value["SDTIGVER"] == ["3.4"] and value["SDTMVER"] == ["2.0"]
    assert value["TRT"] == ["TISLELIZUMAB", "GEMCITABINE", "CISPLATIN"]
    assert value["ACTSUB"] == [str(raw("dm").SUBJECT.nunique())]  # computed from DM
    # Every parameter is a CT term, its name the C67152 term of the same NCI code.
    codes, names = standards.codelist("C66738"), standards.codelist("C67152")
    by_code = {t.code: t.submission_value for t in names.terms}
    for _, row in ts.iterrows():
        assert by_code[codes.term(row.TSPARMCD).code] == row.TSPARM
    # A CDISC coded value carries its term's code and the CT version; TSSEQ counts each parameter's values.
    phase = ts[ts.TSPARMCD == "TPHASE"].iloc[0]
    assert (phase.TSVALCD, phase.TSVCDREF, phase.TSVCDVER) == (
        standards.codelist("C66737").term("PHASE II TRIAL").code,
        "CDISC CT",
        "2025-03-28",
    )
    cdisc = ts[ts.TSVCDREF == "CDISC CT"]
    assert len(cdisc) > 10 and cdisc.TSVALCD.str.match(r"^C\d+$").all()
    assert ts.groupby("TSPARMCD").TSSEQ.apply(lambda s: sorted(s) == list(range(1, len(s) + 1))).all()
    trt = ts[ts.TSPARMCD == "TRT"].set_index("TSVAL")
    assert trt.loc["CISPLATIN", "TSVALCD"] == "Q20Q21Q62J" and trt.loc["CISPLATIN", "TSVCDREF"] == "UNII"
    assert trt.loc["TISLELIZUMAB", "TSVALCD"] == "" and trt.loc["TISLELIZUMAB", "TSVCDREF"] == ""
    doses = ts[ts.TSPARMCD.isin(["DOSE", "DOSU", "DOSFRQ", "ROUTE"]) & ts.TSGRPID.eq("CIS")]
    assert dict(zip(doses.TSPARMCD, doses.TSVAL, strict=False)) == {
        "DOSE": "80",
        "DOSU": "mg/m2",
        "DOSFRQ": "EVERY 3 WEEKS",
        "ROUTE": "INTRAVENOUS",
    }


def test_arms_elements_visits_and_criteria(package: Path) -> None:
    ta, te, tv, ti, dm = (read(package, n) for n in ("ta", "te", "tv", "ti", "dm"))
    assert ta.groupby("ARMCD").ETCD.apply(list).to_dict() == {
        "TGP": ["SCRN", "IND", "MAINT", "FU"],
        "TGP-RT": ["SCRN", "IND", "RT", "MAINT", "FU"],
    }
    assert ta.groupby("ARMCD").TAETORD.apply(lambda s: list(s) == list(range(1, len(s) + 1))).all()
    assert (ta.loc[ta.ETCD == "IND", "TABRANCH"].str.startswith("Assigned to")).all()
    assert (ta.loc[ta.ETCD != "IND", "TABRANCH"] == "").all()
    assert dict(zip(ta.ETCD, ta.EPOCH, strict=False))["RT"] == "CONSOLIDATION TREATMENT"
    # DM's arms are TA's.
    arms = dict(zip(ta.ARMCD, ta.ARM, strict=False))
    assert set(dm.ARMCD) <= set(arms) and all(arms[c] == a for c, a in zip(dm.ARMCD, dm.ARM, strict=False))
    assert all(arms[c] == a for c, a in zip(dm.ACTARMCD, dm.ACTARM, strict=False))
    assert sorted(te.ETCD) == sorted(set(ta.ETCD)) and (te.TESTRL != "").all() and te.TEDUR.iloc[0] == "P21D"
    assert tv.VISITNUM.is_unique and tv.VISIT.is_unique and list(tv.VISITNUM) == sorted(tv.VISITNUM)
    assert {"SCREENING", "C1", "C6", "C2 ASSESSMENT", "POST-INDUCTION", "M1", "M35", "MAINT WK9", "MAINT WK99"} <= set(
        tv.VISIT
    )
    assert (
        dict(zip(tv.VISIT, tv.VISITNUM, strict=False))["C3"] == 30
        and dict(zip(tv.VISIT, tv.VISITDY, strict=False))["C3"] == 43
    )
    assert list(ti.IETESTCD) == [f"IN0{i}" for i in range(1, 7)] + [f"EX0{i}" for i in range(1, 8)]
    assert list(ti.IECAT) == ["INCLUSION"] * 6 + ["EXCLUSION"] * 7


def test_visits_of_the_domains_are_the_trial_designs(package: Path) -> None:
    tv = read(package, "tv")
    planned = dict(zip(tv.VISIT, tv.VISITNUM, strict=False))
    for name in ("ex", "rs"):
        frame = read(package, name)
        assert (frame.VISIT != "").all()
        assert all(planned[v] == n for v, n in zip(frame.VISIT, frame.VISITNUM, strict=False)), name
    # The export's folders are the visits.
    assert set(read(package, "ex").VISIT) == set(raw("ex").FOLDER)
    assert set(read(package, "rs").VISIT) == set(raw("rs").FOLDER) | set(raw("ie").FOLDER)  # ECOG at screening


def test_subject_elements_follow_the_exposure_and_radiotherapy_dates(package: Path) -> None:
    se, dm, ta = read(package, "se"), read(package, "dm"), read(package, "ta")
    assert set(se.USUBJID) == set(dm.USUBJID)
    first = se.drop_duplicates("USUBJID").set_index("USUBJID")
    assert (first.ETCD == "SCRN").all()
    assert (first.SESTDTC == dm.set_index("USUBJID").RFICDTC.loc[first.index]).all()
    # Induction starts on cycle 1 day 1 of the raw export; radiotherapy on its first course.
    ex = raw("ex")
    c1 = ex[ex.FOLDER == "C1"].assign(U=lambda f: usubjid(f.SUBJECT), D=lambda f: iso(f.TIS_DAT)).set_index("U").D
    ind = se[se.ETCD == "IND"].set_index("USUBJID").SESTDTC
    assert (ind.str[:10] == c1.loc[ind.index]).all() and len(ind) == len(dm)
    rt = raw("rt").assign(U=lambda f: usubjid(f.SUBJECT), D=lambda f: iso(f.RTSTDAT)).groupby("U").D.min()
    radiotherapy = se[se.ETCD == "RT"].set_index("USUBJID").SESTDTC
    assert radiotherapy.sort_index().to_dict() == rt.sort_index().to_dict()
    # Planned elements are in their arm's order with its epochs; elements follow each other.
    plan = {(a, e): (o, ep) for a, e, o, ep in zip(ta.ARMCD, ta.ETCD, ta.TAETORD, ta.EPOCH, strict=False)}
    arm = dm.set_index("USUBJID").ACTARMCD
    for subject, records in se.groupby("USUBJID"):
        rows = records.sort_values("SESEQ")
        planned = rows[rows.ETCD != "UNPLAN"]
        assert all(
            plan[(arm[subject], e)] == (o, ep)
            for e, o, ep in zip(planned.ETCD, planned.TAETORD, planned.EPOCH, strict=False)
        )
        assert list(planned.TAETORD) == sorted(planned.TAETORD)
        assert list(rows.SEENDTC[:-1]) == list(rows.SESTDTC[1:])
        assert list(rows.SESTDTC.str[:10]) == sorted(rows.SESTDTC.str[:10])
    # Follow-up starts the day after the end of treatment the end-of-treatment page records, and
    # only then: a subject still on treatment at the cut-off has no follow-up element (nor one
    # unplanned), and one whose study ended that day (a death) never entered it.
    eos = raw("eos").assign(U=lambda f: usubjid(f.SUBJECT))
    after = (pd.to_datetime(iso(eos.EOTDAT)) + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    ended_before = eos.EOSDAT.eq("") | (iso(eos.EOSDAT) >= after)
    expected = dict(zip(eos.U[ended_before], after[ended_before], strict=True))
    assert se[se.ETCD == "FU"].set_index("USUBJID").SESTDTC.to_dict() == expected
    assert not (se.ETCD == "UNPLAN").any()


def test_subject_visits_span_their_records(package: Path) -> None:
    sv, dm, tv = read(package, "sv"), read(package, "dm"), read(package, "tv")
    assert set(sv.USUBJID) == set(dm.USUBJID)
    screening = sv[sv.VISIT == "SCREENING"].set_index("USUBJID")
    assert (screening.SVSTDTC == dm.set_index("USUBJID").RFICDTC.loc[screening.index]).all()
    assert set(sv.VISITNUM) <= set(tv.VISITNUM) and (sv.SVPRESP == "Y").all() and (sv.SVOCCUR == "Y").all()
    assert (sv.SVSTDTC.str[:10] <= sv.SVENDTC.str[:10]).all()
    # From the raw export: a cycle visit spans its day 1 and day 8 doses.
    ex = raw("ex")
    days = pd.concat([ex.assign(D=iso(ex[c])) for c in ("TIS_DAT", "GEM1_DAT", "GEM8_DAT", "CIS_DAT")])
    days = days[days.D.notna()].assign(U=lambda f: usubjid(f.SUBJECT))
    span = days.groupby(["U", "FOLDER"]).D.agg(["min", "max"])
    visits = sv.set_index(["USUBJID", "VISIT"])
    for (subject, folder), row in span.iterrows():
        got = visits.loc[(subject, folder)]
        assert (got.SVSTDTC[:10], got.SVENDTC[:10]) == (row["min"], row["max"])


def test_epoch_is_the_subject_elements_partial_dates_included(package: Path) -> None:
    se = read(package, "se")
    elements = {
        u: list(zip(r.SESTDTC.str[:10], r.EPOCH, strict=False))
        for u, r in se.sort_values(["USUBJID", "SESEQ"]).groupby("USUBJID")
    }

    def epoch_on(subject: str, day: str) -> str:
        found = ""
        for start, epoch in elements[subject]:
            if start <= day:
                found = epoch
        return found

    for name, date, end in (
        ("ae", "AESTDTC", "AEENDTC"),
        ("ex", "EXSTDTC", ""),
        ("rs", "RSDTC", ""),
        ("pr", "PRSTDTC", ""),
    ):
        frame = read(package, name)
        ends = frame[end] if end else pd.Series("", index=frame.index)
        for subject, when, until, epoch in zip(frame.USUBJID, frame[date], ends, frame.EPOCH, strict=False):
            if len(when) >= 10:
                assert epoch == epoch_on(subject, when[:10]), (name, subject, when)
            else:  # a month: an epoch only when every day it may be (up to the record's end) has the same one
                month = pd.period_range(f"{when}-01", periods=1, freq="M")[0]
                last = min(month.end_time.normalize(), pd.Timestamp(until[:10])) if len(until) >= 10 else None
                days = {
                    epoch_on(subject, d.strftime("%Y-%m-%d"))
                    for d in pd.date_range(month.start_time, last or month.end_time, freq="D")
                }
                assert epoch == (days.pop() if len(days) == 1 else ""), (name, subject, when)
    ae = read(package, "ae")
    partial = ae[ae.AESTDTC.str.len() < 10]
    # Every month-only start falls in one element: 2026-03 ended 2026-03-12 is induction (it
    # started by the 12th), and September 2026 is maintenance for subjects still treated at the
    # cut-off (no follow-up element) and follow-up for one whose treatment ended before it.
    assert len(partial) == 7 and (partial.EPOCH != "").all()
    september = partial[partial.AESTDTC == "2026-09"]
    assert len(september) and set(september.EPOCH) <= {"MAINTENANCE TREATMENT", "FOLLOW-UP"}


def test_rfxstdtc_is_the_earliest_exstdtc(package: Path) -> None:
    dm, ex = read(package, "dm"), read(package, "ex")
    earliest = ex.groupby("USUBJID").EXSTDTC.min()
    assert (dm.set_index("USUBJID").RFXSTDTC == earliest.loc[dm.USUBJID].values).all()
    # Cycle 1 day 1: tislelizumab at its time, gemcitabine without one; the earliest value is the date.
    first = dm.iloc[0]
    assert first.RFXSTDTC == first.RFSTDTC and len(first.RFXSTDTC) == 10


def test_define_describes_the_trial_design(package: Path) -> None:
    xml = (package / "define.xml").read_bytes()
    validate_define(xml)
    root = etree.fromstring(xml)
    groups = {g.get("Name"): g for g in root.iterfind(".//odm:ItemGroupDef", ODM)}
    for name in ("TS", "TA", "TE", "TV", "TI", "SE", "SV"):
        leaf = groups[name].find("def:leaf", ODM)
        assert leaf is not None and leaf.get("{http://www.w3.org/1999/xlink}href") == f"{name.lower()}.xpt"
        assert len(groups[name].findall("odm:ItemRef", ODM)) == len(read(package, name.lower()).columns)
    assert groups["TS"].find("def:Class", ODM).get("Name") == "TRIAL DESIGN"
    assert groups["SE"].find("def:Class", ODM).get("Name") == "SPECIAL PURPOSE"
    origins = {
        i.get("OID"): i.find("def:Origin", ODM).get("Type")
        for i in root.iterfind(".//odm:ItemDef", ODM)
        if i.find("def:Origin", ODM) is not None
    }
    assert origins["IT.TS.TSVAL"] == "Protocol" and origins["IT.SE.SESTDTC"] == "Derived"


def test_reconciliation_and_lineage_name_the_design(package: Path) -> None:
    import json

    rec = json.loads((package / "reconciliation.json").read_text())
    design = {d["dataset"]: d for d in rec["trial_design"]}
    assert design["TS"]["made_from"] == ["study.yaml"] and design["SE"]["records"] == len(read(package, "se"))
    assert set(design["SE"]["made_from"]) == {"dm.csv", "ex.csv", "rt.csv", "eos.csv"} and rec["balanced"]
    lineage = pd.read_csv(package / "lineage.csv", dtype=str, keep_default_na=False)
    se = lineage[lineage.DATASET == "SE"]
    assert len(se) == len(read(package, "se")) and (se.USUBJID != "").all()


# ---- bad declarations and the rejection preflight --------------------------------------------


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(default_study_dir(), folder)
    return folder


def _edit(folder: Path, old: str, new: str) -> int:
    path = folder / "study.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((i for i, line in enumerate(lines, 1) if new and new.splitlines()[0] in line), 0)


def test_a_package_without_trial_summary_is_never_published(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (study / "study.yaml").read_text(encoding="utf-8")
    start, end = text.index("  summary:"), text.index("  elements:")
    (study / "study.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    out = tmp_path / "out"
    for fail_on in ("error", "never"):
        code = main(["convert", "--study", str(study), "--out", str(out), "--fail-on", fail_on])
        captured = capsys.readouterr()
        assert code == 1 and not out.exists()
        assert "DB701 error: TS: ts.xpt is not in the package" in captured.out + captured.err
        assert "  DB701 error   TS       1" in captured.out
        assert (
            f"the package fails the FDA technical rejection criteria (DB7xx): nothing was published to {out}"
            in captured.err
        )
    assert not list(tmp_path.glob(".out.*"))  # no temporary folder left either


def test_a_package_without_study_start_date_is_never_published(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        study,
        '    - {TSPARMCD: SSTDTC, TSVAL: "2025-10-04", TSVCDREF: ISO 8601}          # first informed consent\n',
        "",
    )
    out = tmp_path / "out"
    assert main(["convert", "--study", str(study), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "DB701 error: TS.TSPARMCD: TS has no TSPARMCD = SSTDTC record" in captured.out
    assert not out.exists()


def test_validate_reports_a_package_without_define(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    (copy / "define.xml").unlink()
    (copy / "ts.xpt").unlink()
    assert main(["validate", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "DB702 error: define.xml: define.xml is not in the package" in out
    assert "DB701 error: TS: ts.xpt is not in the package" in out


def test_trial_design_errors_are_reported_at_their_line(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    phase = _edit(study, "{TSPARMCD: TPHASE, TSVAL: PHASE II TRIAL,", "{TSPARMCD: TPHASE, TSVAL: PHASE II TRAIL,")
    parm = _edit(study, "{TSPARMCD: SEXPOP,", "{TSPARMCD: SEXPOPX,")
    arm = _edit(
        study,
        "        - {ETCD: RT, EPOCH: CONSOLIDATION TREATMENT}",
        "        - {ETCD: RTX, EPOCH: CONSOLIDATION TREATMENT}",
    )
    visit = _edit(study, "    - {VISIT: SCREENING, date: DM.RFICDTC}", "    - {VISIT: SCREEN, date: DM.RFICDTC}")
    assert main(["lint", str(study)]) == 3
    where = study.as_posix() + "/study.yaml"
    assert capsys.readouterr().out.splitlines() == [
        f"{where}:{phase}:7: TS TPHASE.TSVAL: 'PHASE II TRAIL' is not a term of TPHASE (C66737) (hint: did you mean 'PHASE II TRIAL'?)",
        f"{where}:{parm}:7: TS SEXPOPX: TSPARMCD 'SEXPOPX' is not a term of TSPARMCD (C66738) in CT 2025-03-28 "
        "(hint: did you mean 'SEXPOP'?)",
        f"{where}:{arm}:11: ETCD: element 'RTX' is not declared under trial_design: elements (hint: did you mean 'RT'?)",
        f"{where}:{visit}:15: subject_visits: visit 'SCREEN' is not among trial_design: visits (hint: did you mean 'SCREENING'?)",
    ]


def test_trial_design_in_a_file_of_its_own(study: Path, tmp_path: Path, package: Path) -> None:
    text = (study / "study.yaml").read_text(encoding="utf-8")
    start = text.index("trial_design:\n")
    # The block ends at the next line of the top level (a comment or a key).
    end = (
        start + len("trial_design:\n") + re.search(r"^\S", text[start + len("trial_design:\n") :], re.MULTILINE).start()
    )
    body = "\n".join(line[2:] for line in text[start:end].splitlines()[1:]) + "\n"
    (study / "trial_design.yaml").write_text(body, encoding="utf-8")
    (study / "study.yaml").write_text(
        text[:start] + "trial_design: trial_design.yaml\n\n" + text[end:], encoding="utf-8"
    )
    loaded = load_study(study)
    assert loaded.trial_design is not None and loaded.trial_design.file == study / "trial_design.yaml"
    assert study / "trial_design.yaml" in loaded.files()  # copied into the package and in its SHA-256
    out = tmp_path / "out"
    assert main(["convert", "--study", str(study), "--out", str(out), "--timestamp", "2026-10-01T00:00:00"]) == 0
    for name in ("ts", "ta", "te", "tv", "ti", "se", "sv"):
        assert (out / f"{name}.xpt").read_bytes() == (package / f"{name}.xpt").read_bytes(), name
    assert (out / "mapping" / "trial_design.yaml").is_file()
    # A mistake in that file is reported at its own line.
    (study / "trial_design.yaml").write_text(
        body.replace("ETCD: FU, EPOCH: FOLLOW-UP}", "ETCD: FU}", 1), encoding="utf-8"
    )
    line = next(i for i, t in enumerate((study / "trial_design.yaml").read_text().splitlines(), 1) if "{ETCD: FU}" in t)
    with pytest.raises(Exception) as err:
        load_study(study)
    assert f"trial_design.yaml:{line}:9: trial_design.arms.elements: missing required key 'EPOCH'" in str(err.value)


def test_an_element_entered_out_of_the_arms_order_is_unplanned(study: Path, tmp_path: Path) -> None:
    # Follow-up dated from the last dose for every subject: a subject whose radiotherapy starts
    # after that day (still on treatment at the cut-off) enters radiotherapy after follow-up, an
    # element their arm plans earlier: it is unplanned, in the follow-up epoch (SDTMIG 3.4 SE).
    _edit(study, "start: {day_after: DS.DSSTDTC, where: {DSSCAT: STUDY TREATMENT}}", "start: {day_after: DM.RFXENDTC}")
    out = tmp_path / "out"
    assert main(["convert", "--study", str(study), "--out", str(out), "--timestamp", "2026-10-01T00:00:00"]) == 0
    se = read(out, "se")
    unplanned = se[se.ETCD == "UNPLAN"]
    assert len(unplanned) and (unplanned.EPOCH == "FOLLOW-UP").all() and unplanned.TAETORD.isna().all()
    assert unplanned.SEUPDES.str.startswith("Radiotherapy").all()
    fu = se[se.ETCD == "FU"].set_index("USUBJID")
    assert (fu.index.isin(unplanned.USUBJID)).any()
