"""A study's dispositions of its findings: explained ones stay in the reports and no longer fail --fail-on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.cli import main
from daybreak_sdtm.dispositions import load_dispositions
from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.resources import default_study_dir

EXPLAINED = """dispositions:
  - rule: DB601
    dataset: DM
    match: "ELIG-AGE"
    status: {status}
    text: Subjects over 50 were enrolled under protocol amendment 2.
    by: Data management
    on: 2026-12-01
  - rule: DB201
    dataset: AE
    status: false positive
    text: Nothing of the kind is found; this entry is reported as matching nothing.
"""


@pytest.fixture
def strict_study(tmp_path: Path) -> Path:
    """The bundled study with an age rule that most subjects break (DB601 errors)."""
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(text.replace("min: 18, max: 70", "min: 18, max: 50"), encoding="utf-8")
    return study


def _convert(study: Path, out: Path) -> int:
    return main(["convert", "--study", str(study), "--out", str(out), "-q", "--timestamp", "2026-10-01T00:00:00"])


def test_explained_findings_publish_and_stay_in_the_reports(
    strict_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _convert(strict_study, tmp_path / "refused") == 1  # DB601 errors: not published
    (strict_study / "dispositions.yaml").write_text(EXPLAINED.format(status="explained"), encoding="utf-8")
    out = tmp_path / "pkg"
    assert _convert(strict_study, out) == 0
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    age = [f for f in report["findings"] if f["rule"] == "DB601"]
    assert age and all(f["disposition"] == "explained" for f in age)
    assert all(f["explanation"].endswith("amendment 2. (Data management, 2026-12-01)") for f in age)
    assert report["summary"]["dispositions"] == {"explained": len(age)}
    [unmatched] = report["summary"]["unmatched_dispositions"]
    assert unmatched.endswith("dispositions.yaml:9:5: DB201 AE")
    # The package carries the dispositions with its mapping: validating it applies them again.
    assert (out / "mapping" / "dispositions.yaml").is_file()
    capsys.readouterr()
    assert main(["validate", str(out), "--fail-on", "error"]) == 0
    text = capsys.readouterr().out
    assert f"dispositions: {len(age)} explained" in text and "(explained: Subjects over 50" in text


def test_will_fix_still_fails(strict_study: Path, tmp_path: Path) -> None:
    (strict_study / "dispositions.yaml").write_text(EXPLAINED.format(status="will fix"), encoding="utf-8")
    assert _convert(strict_study, tmp_path / "pkg") == 1
    assert not (tmp_path / "pkg").exists()


def test_a_broken_dispositions_file_is_said_at_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "dispositions.yaml"
    path.write_text(
        """dispositions:
  - rule: DB601
    status: explaned
    text: x
  - status: explained
    text: no rule
  - fingerprint: 0000000000000000
    status: false positive
    text: unquoted, so YAML reads a number
  - rule: DB201
    match: "(["
    status: will fix
""",
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as caught:
        load_dispositions(path)
    found = [(e.where.line, e.key) for e in caught.value.errors]
    assert found == [(2, "status"), (5, "dispositions"), (7, "fingerprint"), (10, "match"), (10, "text")]


def test_the_reviewers_guide_table_gives_each_rule_with_its_explanation(
    strict_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lxml import html

    (strict_study / "dispositions.yaml").write_text(EXPLAINED.format(status="explained"), encoding="utf-8")
    out = tmp_path / "pkg"
    assert _convert(strict_study, out) == 0
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    age = [f for f in report["findings"] if f["rule"] == "DB601"]
    capsys.readouterr()
    assert main(["sdrg", str(out), "-q"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0] == "## Conformance findings"
    assert markdown[4] == "| Rule | Severity | Finding | Datasets (findings) | Disposition | Explanation |"
    [row] = [line for line in markdown if line.startswith("| DB601 ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:2] == ["DB601", "error"] and cells[3] == f"DM ({len(age)})" and cells[4] == "explained"
    assert cells[5] == "Subjects over 50 were enrolled under protocol amendment 2. (Data management, 2026-12-01)"
    page = tmp_path / "sdrg.html"
    assert main(["sdrg", str(out), "--format", "html", "-o", str(page), "-q"]) == 0
    rows = html.fromstring(page.read_text(encoding="utf-8")).findall(".//tbody/tr")
    assert [r.findall("td")[0].text for r in rows] == [c.split(" | ")[0].strip("| ") for c in markdown[6:] if c]
