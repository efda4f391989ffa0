"""The real converted sample: clean, then with defects seeded into its XPT files, validated from disk.

Each defect must be reported by the right check against the right dataset, variable and record.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyreadstat
import pytest

from daybreak_sdtm import api
from daybreak_sdtm.dataset import read_dataset
from daybreak_sdtm.findings import Report, Severity
from daybreak_sdtm.resources import default_study_dir

TIMESTAMP = "2026-10-01T00:00:00"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "sdtm"
    result = api.convert(out_dir=out, timestamp=TIMESTAMP)
    assert result.published
    return out


def rewrite(package: Path, name: str, edit) -> None:  # type: ignore[no-untyped-def]
    """Read ``name``.xpt, let ``edit`` change its frame, write it back with the same labels."""
    ds = read_dataset(package / f"{name}.xpt")
    frame = ds.frame.copy()
    edit(frame)
    pyreadstat.write_xport(
        frame,
        str(package / f"{name}.xpt"),
        file_label=ds.label,
        column_labels=ds.labels,
        table_name=ds.name,
        file_format_version=5,
    )


def test_sample_validates_without_errors(clean: Path) -> None:
    result = api.validate(clean, study_dir=default_study_dir())
    errors = [f for f in result.report.findings if f.severity >= Severity.ERROR]
    assert errors == []
    assert result.report.exit_status(Severity.ERROR) == 0
    # define.xml written by convert is found in the folder and checked (DB501 ran and agreed).
    assert result.package.define is not None and result.package.define_meta is not None


def test_convert_report_is_beside_the_data(clean: Path) -> None:
    assert (clean / "validation.json").is_file() and (clean / "validation.html").is_file()


@pytest.fixture(scope="module")
def seeded(clean: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, dict[str, object]]:
    pkg = tmp_path_factory.mktemp("seeded") / "sdtm"
    shutil.copytree(clean, pkg)
    facts: dict[str, object] = {}
    rs = read_dataset(pkg / "rs.xpt").frame
    pr = read_dataset(pkg / "pr.xpt").frame
    ae = read_dataset(pkg / "ae.xpt").frame
    facts["dm_sex_row"], facts["dm_age_row"] = 3, 5

    def edit_dm(f):  # type: ignore[no-untyped-def]
        f.loc[2, "SEX"] = "Female"  # collected text instead of the CT submission value
        f.loc[4, "AGE"] = 75.0  # outside the protocol's 18-70

    rewrite(pkg, "dm", edit_dm)

    def edit_ae(f):  # type: ignore[no-untyped-def]
        f.loc[0, "AESTDTC"] = "2025-02-30"  # no such day
        f.loc[1, "AEENDTC"] = "2000-01-01"  # before its start
        f.loc[2, "USUBJID"] = "DAYBREAK-01-999-999"  # orphan
        f.loc[3, "AETOXGR"] = "7"  # not a CTCAE grade
        f.loc[4, "AETERM"] = "NAUS\u00c9E"  # not ASCII
        f.loc[5, "AESEV" if "AESEV" in f.columns else "AESER"] = "Maybe"
        f.loc[epoch_row, "EPOCH"] = "SCREENING"  # dated in treatment by the study's epochs

    dated = ae.index[(ae.index > 5) & ae["EPOCH"].ne("SCREENING") & ae["EPOCH"].ne("") & ae["AESTDTC"].str.len().ge(10)]
    epoch_row = int(dated[0])
    facts["epoch_row"], facts["epoch"] = epoch_row + 1, ae.loc[epoch_row, "EPOCH"]
    rewrite(pkg, "ae", edit_ae)
    facts["ae_sev_var"] = "AESEV" if "AESEV" in ae.columns else "AESER"

    def edit_ex(f):  # type: ignore[no-untyped-def]
        f.loc[1, "EXSEQ"] = f.loc[0, "EXSEQ"]  # duplicate key (same subject)
        f.loc[2, "EXDOSE"] = -5.0

    rewrite(pkg, "ex", edit_ex)

    # A partial responder's post-induction response recoded to SD: the response rule and the
    # radiotherapy-only-for-PR rule must both fire.
    post = rs.index[(rs["RSTESTCD"] == "OVRLRESP") & (rs["VISIT"] == "POST-INDUCTION") & (rs["RSSTRESC"] == "PR")]
    subject = next(u for u in rs.loc[post, "USUBJID"] if u in set(pr["USUBJID"]))
    row = int(post[rs.loc[post, "USUBJID"].to_numpy() == subject][0])
    facts["rs_row"], facts["pr_rows"] = (
        row + 1,
        [int(i) + 1 for i in np.flatnonzero(pr["USUBJID"].to_numpy() == subject)],
    )

    def edit_rs(f):  # type: ignore[no-untyped-def]
        f.loc[row, "RSSTRESC"] = "SD"

    rewrite(pkg, "rs", edit_rs)

    def edit_supppr(f):  # type: ignore[no-untyped-def]
        first = f.index[f["QNAM"] == "RTFXN"][0]
        f.loc[first, "QVAL"] = "25"  # 25 fractions instead of 20
        facts["rtfxn"] = (f.loc[first, "USUBJID"], f.loc[first, "IDVARVAL"])
        orphan = f.index[f["QNAM"] == "RTTECH"][0]
        f.loc[orphan, "IDVARVAL"] = "99"  # points at no PR record
        facts["supp_orphan_row"] = int(orphan) + 1

    rewrite(pkg, "supppr", edit_supppr)
    pr_row = pr.index[(pr["USUBJID"] == facts["rtfxn"][0]) & (pr["PRSEQ"] == float(facts["rtfxn"][1]))][0]  # type: ignore[index]
    facts["rtfxn_pr_row"] = int(pr_row) + 1
    (pkg / "define.xml").unlink()  # the seeded edits would all show as define mismatches too
    return api.validate(pkg, study_dir=default_study_dir()).report, facts


def has(report: Report, rule: str, dataset: str, variable: str, row: int | None = None) -> bool:
    return any(
        f.rule == rule and f.dataset == dataset and f.variable == variable and (row is None or f.row == row)
        for f in report.findings
    )


@pytest.mark.parametrize(
    ("rule", "dataset", "variable", "row"),
    [
        ("DB201", "DM", "SEX", 3),
        ("DB601", "DM", "AGE", 5),
        ("DB402", "AE", "AESTDTC", 1),
        ("DB403", "AE", "AEENDTC", 2),
        ("DB302", "AE", "USUBJID", 3),
        ("DB106", "AE", "AETOXGR", 4),
        ("DB109", "AE", "AETERM", 5),
        ("DB301", "EX", "EXSEQ", 2),
        ("DB106", "EX", "EXDOSE", 3),
    ],
)
def test_seeded_defect_reported(
    seeded: tuple[Report, dict[str, object]], rule: str, dataset: str, variable: str, row: int
) -> None:
    report, _ = seeded
    assert has(report, rule, dataset, variable, row), [str(f) for f in report.findings if f.rule == rule][:5]


def test_seeded_ct_defect_in_ae(seeded: tuple[Report, dict[str, object]]) -> None:
    report, facts = seeded
    assert has(report, "DB201", "AE", str(facts["ae_sev_var"]), 6)


def test_seeded_protocol_violations(seeded: tuple[Report, dict[str, object]]) -> None:
    report, facts = seeded
    assert has(report, "DB603", "RS", "RSSTRESC", int(facts["rs_row"]))  # type: ignore[arg-type]
    for row in facts["pr_rows"]:  # type: ignore[attr-defined]
        assert has(report, "DB604", "PR", "USUBJID", row)
    assert has(report, "DB601", "PR", "RTFXN", int(facts["rtfxn_pr_row"]))  # type: ignore[arg-type]
    assert has(report, "DB303", "SUPPPR", "IDVARVAL", int(facts["supp_orphan_row"]))  # type: ignore[arg-type]
    assert report.exit_status(Severity.ERROR) == 1


def test_seeded_epoch_defect(seeded: tuple[Report, dict[str, object]]) -> None:
    # Without SE or TA in the package, EPOCH is judged by the study's epochs (study.yaml), and
    # the finding names the epoch the record's AESTDTC falls in.
    report, facts = seeded
    found = [f for f in report.findings if f.rule == "DB406"]
    assert [(f.dataset, f.row) for f in found] == [("AE", facts["epoch_row"])]
    assert f"EPOCH should be {facts['epoch']!r}" in found[0].message
