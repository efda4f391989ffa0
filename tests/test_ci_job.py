"""The README's CI job is examples/ci/job.sh, and it runs: lint, convert, validate, the reports kept parse."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from daybreak_sdtm.resources import default_export_dir, default_study_dir
from tests.helpers import sarif_log

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "examples" / "ci" / "job.sh"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def run_job(folder: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """The job run in ``folder`` with this interpreter (nothing installed) on ``variables``."""
    env = {**os.environ, "PYTHON": sys.executable, **variables}
    return subprocess.run(
        ["sh", str(JOB)], check=False, cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_readme_shows_the_job_verbatim() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert JOB.read_text(encoding="utf-8") in blocks
    assert os.access(JOB, os.X_OK)


def test_the_job_lints_converts_validates_and_keeps_the_reports(tmp_path: Path) -> None:
    done = run_job(tmp_path, STUDY=str(default_study_dir()), EXPORT=str(default_export_dir()))
    assert done.returncode == 0, done.stdout + done.stderr
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "lint.sarif",
        "validation.html",
        "validation.junit.xml",
        "validation.sarif",
    ]
    assert sarif_log((reports / "lint.sarif").read_text(encoding="utf-8"))["runs"][0]["results"] == []
    validated = sarif_log((reports / "validation.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert validated["results"] == [] and validated["properties"]["datasets"]
    junit = ET.parse(reports / "validation.junit.xml").getroot()
    assert junit.tag == "testsuites" and int(junit.get("tests", "0")) > 0 and junit.get("failures") == "0"
    html = (reports / "validation.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "0 error(s)" in html
    assert (tmp_path / "sdtm-out" / "define.xml").is_file() and (tmp_path / "sdtm-out" / "dm.xpt").is_file()


def test_the_job_stops_on_broken_specs_with_their_sarif(tmp_path: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    ae = study / "ae.yaml"
    ae.write_text(
        ae.read_text(encoding="utf-8").replace("derivation: assign_ct", "derivation: asign_ct", 1), encoding="utf-8"
    )
    done = run_job(tmp_path, STUDY="study", EXPORT=str(default_export_dir()))
    assert done.returncode == 3 and "unknown derivation 'asign_ct'" in done.stdout
    [result] = sarif_log((tmp_path / "reports" / "lint.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "study/ae.yaml"
    assert not (tmp_path / "sdtm-out").exists()
