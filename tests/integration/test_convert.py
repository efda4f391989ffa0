"""End to end: the bundled Daybreak-01 export converted, then read back from the XPT files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from daybreak_sdtm import api
from daybreak_sdtm.cli import main
from daybreak_sdtm.resources import default_export_dir, default_study_dir, specs_dir
from daybreak_sdtm.standards import read_standards

ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?$")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "sdtm"
    assert main(["convert", "--out", str(out), "--timestamp", "2026-10-01T00:00:00"]) == 0
    return out


def read(package: Path, name: str) -> pd.DataFrame:
    return pd.read_sas(package / f"{name}.xpt", format="xport", encoding="ascii")


def test_every_domain_is_written(package: Path) -> None:
    assert sorted(p.name for p in package.glob("*.xpt")) == [
        "ae.xpt",
        "dm.xpt",
        "ds.xpt",
        "ex.xpt",
        "pr.xpt",
        "rs.xpt",
        "se.xpt",
        "suppae.xpt",
        "suppdm.xpt",
        "supppr.xpt",
        "supprs.xpt",
        "sv.xpt",
        "ta.xpt",
        "te.xpt",
        "ti.xpt",
        "ts.xpt",
        "tv.xpt",
    ]


def test_dm_has_one_record_per_subject(package: Path) -> None:
    dm = read(package, "dm")
    assert len(dm) == 32
    assert dm["USUBJID"].is_unique
    assert (dm["STUDYID"] == "DAYBREAK-01").all()
    assert dm["AGE"].between(18, 70).all()


def test_radiotherapy_exactly_for_partial_responders(package: Path) -> None:
    rs, pr, dm = read(package, "rs"), read(package, "pr"), read(package, "dm")
    post = rs[(rs.RSTESTCD == "OVRLRESP") & (rs.VISIT == "POST-INDUCTION")]
    assert set(post.RSSTRESC) <= {"CR", "PR"}
    assert set(post.USUBJID) == set(dm.USUBJID)
    responders = set(post.loc[post.RSSTRESC == "PR", "USUBJID"])
    assert responders and set(pr.USUBJID) == responders
    assert set(dm.loc[dm.ARMCD == "TGP-RT", "USUBJID"]) == responders
    assert set(dm.loc[dm.ACTARMCD == "TGP-RT", "USUBJID"]) == responders
    assert (pr.PRDOSE == 2.75).all() and (pr.PRDOSU == "Gy").all()


def test_dates_are_iso_8601_and_study_days_skip_zero(package: Path) -> None:
    for name in ("dm", "ex", "rs", "pr", "ae"):
        frame = read(package, name)
        for col in [c for c in frame.columns if c.endswith("DTC")]:
            values = frame[col][frame[col] != ""]
            bad = values[~values.str.match(ISO_DATE)]
            assert bad.empty, f"{name}.{col}: {bad.tolist()[:3]}"
        for col in [c for c in frame.columns if c.endswith("DY")]:
            assert not (frame[col] == 0).any(), f"{name}.{col} has a day 0"


def test_study_day_counts_from_rfstdtc(package: Path) -> None:
    dm, ex = read(package, "dm"), read(package, "ex")
    merged = ex.merge(dm[["USUBJID", "RFSTDTC"]], on="USUBJID")
    first = merged[merged.EXSTDTC.str[:10] == merged.RFSTDTC.str[:10]]
    assert len(first) >= 32 and (first.EXSTDY == 1).all()


def test_seq_is_unique_per_subject(package: Path) -> None:
    for name in ("ex", "rs", "pr", "ae"):
        frame = read(package, name)
        seq = f"{name.upper()}SEQ"
        assert not frame.duplicated(["USUBJID", seq]).any()
        assert (frame.groupby("USUBJID")[seq].min() == 1).all()


def test_the_keys_define_declares_identify_every_record(package: Path) -> None:
    from lxml import etree

    odm = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    root = etree.parse(str(package / "define.xml")).getroot()
    names = {i.get("OID"): i.get("Name") for i in root.iterfind(".//odm:ItemDef", odm)}
    keys = {}
    for group in root.iterfind(".//odm:ItemGroupDef", odm):
        ranked = sorted(
            (int(r.get("KeySequence")), names[r.get("ItemOID")])
            for r in group.iterfind("odm:ItemRef", odm)
            if r.get("KeySequence")
        )
        keys[group.get("Name")] = [name for _, name in ranked]
    # PR holds one record per irradiated location per start date: PRLOC is a key (pr.yaml keys:).
    assert keys["PR"] == ["STUDYID", "USUBJID", "PRTRT", "PRSTDTC", "PRLOC"]
    pr = read(package, "pr")
    assert pr.duplicated(["STUDYID", "USUBJID", "PRTRT", "PRSTDTC"]).sum() > 0  # the IG's keys alone would not do
    for name, variables in keys.items():
        frame = read(package, name.lower())
        assert variables and not frame.duplicated(variables).any(), name
    # --SEQ follows the keys: within a start date, the locations in order.
    ordered = pr.sort_values(["USUBJID", "PRSEQ"])
    assert ordered.equals(ordered.sort_values(["USUBJID", "PRTRT", "PRSTDTC", "PRLOC"], kind="stable"))


def test_supp_records_point_at_parent_records(package: Path) -> None:
    ae, supp = read(package, "ae"), read(package, "suppae")
    assert set(supp.QNAM) >= {"AERELTIS", "AERELGEM", "AERELCIS", "AERELRT", "AEIRAE"}
    assert (supp.IDVAR == "AESEQ").all()
    keys = set(zip(ae.USUBJID, ae.AESEQ.astype(int).astype(str), strict=True))
    assert set(zip(supp.USUBJID, supp.IDVARVAL, strict=True)) <= keys


def test_labels_and_names_are_the_igs(package: Path) -> None:
    standards = read_standards(specs_dir(), "3.4", "2025-03-28")
    for path in package.glob("*.xpt"):
        frame, meta = pyreadstat.read_xport(str(path))
        name = path.stem.upper()
        assert meta.table_name == name
        ig = standards.dataset(name)
        label = ig.label if not name.startswith("SUPP") else f"Supplemental Qualifiers for {name[4:]}"
        assert meta.file_label == label
        order = [v.name for v in standards.domain_variables(name)]
        in_ig = [c for c in frame.columns if c in order]
        assert in_ig == sorted(in_ig, key=order.index), f"{name} not in IG order"
        # Beyond the IG's table only what the domain's class allows (VISITNUM in EX).
        assert all(standards.variable(name, c).model_allowed for c in frame.columns if c not in order), name
        for col, col_label in zip(frame.columns, meta.column_labels, strict=True):
            assert col_label == standards.variable(name, col).label


def test_character_lengths_are_the_longest_value(package: Path) -> None:
    for path in package.glob("*.xpt"):
        frame, meta = pyreadstat.read_xport(str(path))
        for col, width in meta.variable_storage_width.items():
            if meta.readstat_variable_types[col] == "string":
                longest = max(1, int(frame[col].str.len().max()))
                assert width == longest, f"{path.name} {col}: width {width}, longest {longest}"


def test_reconciliation_adds_up(package: Path) -> None:
    import json

    rec = json.loads((package / "reconciliation.json").read_text())
    assert rec["balanced"] is True
    by_form = {f["form"]: f for f in rec["forms"]}
    assert by_form["ie"]["mapped_to"] == ["RS"] and by_form["death"]["joined_into"] == ["DM"]
    written: dict[str, int] = {}
    for dom in rec["domains"]:  # one entry per domain and source form (DS stacks dm and eos)
        written[dom["domain"]] = written.get(dom["domain"], 0) + dom["records"]
        assert dom["candidate_records"] == dom["records"] + sum(e["records"] for e in dom["excluded"])
        raw = pd.read_csv(default_export_dir() / f"{dom['form']}.csv", dtype=str)
        assert dom["source_records"] == len(raw)
    assert all(n == len(read(package, name.lower())) for name, n in written.items())
    assert [d["form"] for d in rec["domains"] if d["domain"] == "DS"] == ["dm", "eos"]
    assert [d["form"] for d in rec["domains"] if d["domain"] == "RS"] == ["rs", "ie"]
    ex = next(d for d in rec["domains"] if d["domain"] == "EX")
    assert ex["records_per_source_record"] == 4 and all(e["reason"] for e in ex["excluded"])


def test_lineage_leads_back_to_the_raw_record(package: Path) -> None:
    lineage = pd.read_csv(package / "lineage.csv", dtype=str, keep_default_na=False)
    ae = read(package, "ae")
    assert len(lineage[lineage.DATASET == "AE"]) == len(ae)
    row = ae.iloc[5]
    hit = lineage[(lineage.DATASET == "AE") & (lineage.USUBJID == row.USUBJID) & (lineage.SEQ == str(int(row.AESEQ)))]
    raw = pd.read_csv(
        Path(__file__).parents[2] / "examples/daybreak-01/export/ae.csv", dtype=str, keep_default_na=False
    )
    source = raw.iloc[int(hit.SOURCE_RECORD.iat[0]) - 1]
    assert source.AETERM.strip() == row.AETERM
    assert row.USUBJID.endswith(source.SUBJECT)


def test_lineage_quotes_text_that_needs_it(tmp_path: Path) -> None:
    """Arrow writes lineage.csv unquoted; a comma or quote in a value switches to quoting CSV, same rows."""
    from daybreak_sdtm.write.lineage import lineage_frame, write_lineage

    result, _, _ = api.build()
    write_lineage(result, tmp_path / "plain.csv")
    frame = result.tables["SUPPAE"].frame
    frame["IDVARVAL"] = frame["IDVARVAL"].astype(object)
    frame.loc[0, "IDVARVAL"] = 'a,"b"'
    write_lineage(result, tmp_path / "quoted.csv")
    plain = pd.read_csv(tmp_path / "plain.csv", dtype=str, keep_default_na=False)
    quoted = pd.read_csv(tmp_path / "quoted.csv", dtype=str, keep_default_na=False)
    assert '"a,""b"""' in (tmp_path / "quoted.csv").read_text(encoding="utf-8")
    changed = (quoted != plain).any(axis=1)
    assert changed.sum() == 1 and quoted.loc[changed, "SEQ"].item() == 'a,"b"'
    assert len(plain) == len(lineage_frame(result)) == sum(len(t.frame) for t in result.tables.values())


def test_built_datasets_are_what_reading_the_package_back_gives(package: Path) -> None:
    """One table model: the datasets convert builds, validates, writes and describes in the define
    equal what reading the written XPT files back gives (values, labels, widths)."""
    from daybreak_sdtm.dataset import read_dataset
    from daybreak_sdtm.validation import package_of_build
    from daybreak_sdtm.write.xpt import xpt_frame

    result, _, _ = api.build()
    pkg = package_of_build(result)
    assert set(pkg.datasets) == {name for name, t in result.tables.items() if len(t.frame)}
    for name, ds in pkg.datasets.items():
        assert ds is result.tables[name]  # validated as built, not a copy
        pd.testing.assert_frame_equal(ds.frame, xpt_frame(ds.frame))  # already in the form written
        back = read_dataset(package / ds.href)
        assert (back.name, back.label, back.labels, back.widths) == (ds.name, ds.label, ds.labels, ds.widths)
        pd.testing.assert_frame_equal(back.frame, ds.frame)
    ae = pkg.datasets["AE"]
    assert ae.sources is not None and len(ae.sources) == len(ae.frame)
    assert ae.sources[0] == f"ae.csv record {ae.sources.records[0]}"
    spec = (default_study_dir() / "ae.yaml").read_text(encoding="utf-8").splitlines()
    file, line, _ = ae.specs["AETERM"].rsplit(":", 2)  # each variable carries the spec line that made it
    assert Path(file).name == "ae.yaml" and spec[int(line) - 1].lstrip().startswith("AETERM:")
    supp = pkg.datasets["SUPPAE"]
    file, line, _ = supp.qnam_specs["AEIRAE"].rsplit(":", 2)
    assert spec[int(line) - 1].lstrip().startswith("AEIRAE:")


def test_trace_prints_the_raw_record(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ae = read(package, "ae")
    usubjid, seq = ae.USUBJID.iat[0], str(int(ae.AESEQ.iat[0]))
    assert main(["trace", "AE", usubjid, seq, "--package", str(package)]) == 0
    out = capsys.readouterr().out
    assert f"AESEQ    {seq}" in out and "from ae.csv record " in out and ae.AETERM.iat[0] in out
    assert main(["trace", "AE", "NOBODY", "1", "--package", str(package)]) == 3


def test_same_inputs_give_identical_bytes(package: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    api.convert(out_dir=again, timestamp="2026-10-01T00:00:00")
    for path in package.glob("*.xpt"):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
