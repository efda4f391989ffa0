"""Finding fingerprints and `validate --baseline`: on the CDISC pilot package, findings keep their identity
when records before them are removed, and a run says what is new, persisting and resolved."""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.cli import main
from daybreak_sdtm.dataset import read_dataset
from daybreak_sdtm.write.xpt import write_xpt

PILOT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cdiscpilot01"
pytestmark = pytest.mark.skipif(not PILOT.is_dir(), reason="the CDISC pilot package (../shared/reference) is not here")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("pilot") / "pkg"
    shutil.copytree(PILOT, folder)
    report = folder.parent / "first.json"
    main(["validate", str(folder), "--format", "json", "-o", str(report), "-q"])
    return folder, json.loads(report.read_text(encoding="utf-8"))


def test_every_finding_has_its_own_fingerprint(first_run: tuple[Path, dict]) -> None:
    _, report = first_run
    fingerprints = collections.Counter(f["fingerprint"] for f in report["findings"])
    assert len(report["findings"]) > 1000 and all(len(k) == 16 for k in fingerprints)
    assert max(fingerprints.values()) == 1  # records that share their keys (pilot CM) are told apart too


def test_a_record_removed_moves_rows_but_no_finding_becomes_new(
    first_run: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, report = first_run
    changed = tmp_path / "pkg"
    shutil.copytree(folder, changed)
    ae = read_dataset(changed / "ae.xpt")
    keys = ["USUBJID", "AEDECOD", "AESTDTC"]  # AE's natural keys (SDTMIG), without STUDYID
    unique = ~ae.frame.duplicated(keys, keep=False).to_numpy()
    ae_findings = [f for f in report["findings"] if f["dataset"] == "AE" and f["row"] is not None]
    # The first AE record with a finding whose keys no other record shares goes; later rows move up.
    removed_row = next(f["row"] for f in ae_findings if unique[f["row"] - 1])
    ae.frame = ae.frame.drop(index=removed_row - 1).reset_index(drop=True)
    ae._codes.clear()
    write_xpt(ae, changed / "ae.xpt", dt.datetime(2026, 1, 1))
    baseline = tmp_path / "first.json"
    baseline.write_text(json.dumps(report), encoding="utf-8")
    out = tmp_path / "second.json"
    main(["validate", str(changed), "--baseline", str(baseline), "--format", "json", "-o", str(out), "-q"])
    second = json.loads(out.read_text(encoding="utf-8"))
    statuses = collections.Counter(f["baseline"] for f in second["findings"])
    gone = {f["fingerprint"] for f in second["resolved"]}
    removed = {f["fingerprint"] for f in ae_findings if f["row"] == removed_row}
    assert removed and removed == gone  # exactly the findings of the record removed are resolved
    assert statuses["new"] <= 2 and statuses["persisting"] >= len(report["findings"]) - len(gone) - 2
    moved = [f for f in second["findings"] if f["dataset"] == "AE" and f["row"] is not None and f["row"] >= removed_row]
    assert moved and all(f["baseline"] == "persisting" for f in moved)
    assert second["summary"]["baseline"] == {
        "new": statuses["new"],
        "persisting": statuses["persisting"],
        "resolved": len(second["resolved"]),
    }
    capsys.readouterr()
    main(["validate", str(changed), "--baseline", str(baseline), "-q"])
    assert (
        f"against the baseline: {statuses['new']} new, {statuses['persisting']} persisting" in capsys.readouterr().out
    )


def test_a_baseline_that_is_not_a_report_is_refused(
    first_run: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = first_run
    bad = tmp_path / "old.json"
    bad.write_text('{"summary": {}}', encoding="utf-8")
    assert main(["validate", str(folder), "--baseline", str(bad), "-q"]) == 3
    assert f"{bad}: not a validation.json report to compare with" in capsys.readouterr().err
