"""The trial design vocabulary of study.yaml: what the loader makes of it and what it refuses, at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.validation import lint


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(default_study_dir(), folder)
    return folder


def edit(folder: Path, old: str, new: str) -> int:
    """Replace text in study.yaml; the 1-based line where ``new`` starts."""
    path = folder / "study.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def problems(folder: Path) -> list[str]:
    return [f"{e.where.line}:{e.where.col}: {e.key}: {e.problem}" for e in lint(folder, None)]


def test_repeated_visits_are_numbered_series() -> None:
    design = load_study(default_study_dir()).trial_design
    assert design is not None
    visits = {v.visit: v for v in design.visits}
    assert [visits[f"C{n}"].visitnum for n in range(1, 7)] == [10, 20, 30, 40, 50, 60]
    assert [visits[f"C{n}"].visitdy for n in range(1, 7)] == [1, 22, 43, 64, 85, 106]
    assert visits["C4"].tvstrl.startswith("Day 1 of induction cycle 4 ")
    assert [visits[f"MAINT WK{n}"].visitnum for n in (9, 18, 99)] == [209, 218, 299]
    assert len([v for v in design.visits if v.visit.startswith("M") and v.visit[1:].isdigit()]) == 35


def test_declared_values_are_checked_against_ct(study: Path) -> None:
    code = edit(
        study,
        "{TSPARMCD: STYPE, TSVAL: INTERVENTIONAL, TSVCDREF: CDISC CT}",
        "{TSPARMCD: STYPE, TSVAL: INTERVENTIONAL, TSVALCD: C15601, TSVCDREF: CDISC CT}",
    )
    date = edit(
        study,
        '{TSPARMCD: DCUTDTC, TSVAL: "2026-09-30", TSVCDREF: ISO 8601}',
        '{TSPARMCD: DCUTDTC, TSVAL: "30SEP2026", TSVCDREF: ISO 8601}',
    )
    ref = edit(study, "TSVCDREF: SNOMED, TSVCDVER", "TSVCDREF: SNOMED-CT, TSVCDVER")
    name = edit(study, "{TSPARMCD: THERAREA, TSVAL: Oncology}", "{TSPARMCD: THERAREA, TSPARM: Area, TSVAL: Oncology}")
    empty = edit(study, '{TSPARMCD: SDTMVER, TSVAL: "2.0"}', "{TSPARMCD: SDTMVER}")
    found = problems(study)
    assert len(found) == 5 and set(found) == {
        f"{code}:7: TS STYPE.TSVALCD: the NCI code of 'INTERVENTIONAL' in STYPE is C98388, not C15601",
        f"{ref}:7: TS INDIC.TSVCDREF: 'SNOMED-CT' is not a term of DICTNAM (C66788) nor one of ISO 8601, "
        "ClinicalTrials.gov, EudraCT",
        f"{name}:7: TS THERAREA.TSPARM: TSPARM 'Area' is not the name of THERAREA in TSPARM (C67152): 'Therapeutic Area'",
        f"{date}:7: TS DCUTDTC.TSVAL: '30SEP2026' is not an ISO 8601 date or duration",
        f"{empty}:7: TS SDTMVER: give TSVAL, or TSVALNF (a null flavor) when there is no value",
    }


def test_sections_that_the_trial_design_replaces_are_refused(study: Path) -> None:
    line = edit(study, "columns_not_mapped:", "epochs:\n  - {EPOCH: SCREENING, start: DM.RFICDTC}\ncolumns_not_mapped:")
    with pytest.raises(Exception) as err:
        load_study(study)
    assert (
        f"study.yaml:{line}:1: epochs: with a trial design, each record's EPOCH comes from the subject's elements"
        in str(err.value)
    )


def test_element_start_rules_name_mapped_variables(study: Path) -> None:
    line = edit(study, "start: {first: PR.PRSTDTC}", "start: {first: PR.PRSTDT}")
    where = edit(
        study,
        "start: {first: EX.EXSTDTC, where: {EXCAT: MAINTENANCE}}",
        "start: {first: EX.EXSTDTC, where: {EXCATX: MAINTENANCE}}",
    )
    assert problems(study) == [
        f"{line}:22: RT.start: 'PR.PRSTDT' is not a mapped DOMAIN.VARIABLE",
        f"{where}:22: MAINT.start.where: EXCATX is not mapped in EX",
    ]


def test_visits_must_be_unique(study: Path) -> None:
    dup = edit(study, "{VISITNUM: 25, VISIT: C2 ASSESSMENT,", "{VISITNUM: 20, VISIT: C2 ASSESSMENT,")
    assert problems(study) == [
        f"{dup}:7: VISITNUM: VISITNUM 20 is given twice (first at {study.as_posix()}/study.yaml:{dup - 3}:7)"
    ]  # C2, of the C{n} series


def test_a_repeat_must_count_up(study: Path) -> None:
    rep = edit(study, "repeat: {from: 1, to: 35}", "repeat: {from: 35, to: 1}")
    assert problems(study) == [
        f"{rep}:23: trial_design.visits.repeat: give whole numbers from: A to: B (by: C), A <= B"
    ]


def test_derive_visitnum_needs_a_trial_design(study: Path) -> None:
    text = (study / "study.yaml").read_text(encoding="utf-8")
    start, end = text.index("trial_design:\n"), text.index("columns_not_mapped:")
    arms = (
        'arms:\n  - {ARMCD: TGP-RT, ARM: "Tislelizumab+GP, Radiotherapy, Tislelizumab Maintenance"}\n'
        '  - {ARMCD: TGP, ARM: "Tislelizumab+GP, Tislelizumab Maintenance"}\n'
    )
    (study / "study.yaml").write_text(text[:start] + arms + text[end:], encoding="utf-8")
    found = problems(study)
    assert any(
        p.endswith(
            "VISITNUM: derive_visitnum reads the trial design's visits; declare them under "
            "trial_design: visits: in study.yaml"
        )
        for p in found
    )


def test_visit_windows_are_read_and_checked(study: Path) -> None:
    edit(
        study,
        "{VISITNUM: 25, VISIT: C2 ASSESSMENT, VISITDY: 38,",
        "{VISITNUM: 25, VISIT: C2 ASSESSMENT, VISITDY: 38, window: [-5, 3],",
    )
    design = load_study(study).trial_design
    assert design is not None
    assert {v.visit: v.window for v in design.visits}["C2 ASSESSMENT"] == (-5.0, 3.0)
    edit(study, "{VISITNUM: 70, VISIT: POST-INDUCTION,", "{VISITNUM: 70, VISIT: POST-INDUCTION, window: [-3, 3],")
    screening = edit(study, "VISITDY: -21, TVSTRL", "VISITDY: -21, window: [2, 5], TVSTRL")
    found = problems(study)
    assert (
        f"{screening}:61: trial_design.visits.window: [2, 5] does not hold VISITDY: give BEFORE <= 0 <= AFTER" in found
    )
    assert any(p.endswith("trial_design.visits.window: a window is around VISITDY: give VISITDY too") for p in found)


def test_visit_windows_may_not_overlap(study: Path) -> None:
    screening = edit(study, "VISITDY: -21, TVSTRL", "VISITDY: -21, window: [-7, 20], TVSTRL")
    line = edit(
        study,
        "{VISITNUM: 25, VISIT: C2 ASSESSMENT, VISITDY: 38,",
        "{VISITNUM: 25, VISIT: C2 ASSESSMENT, VISITDY: 38, window: [-40, 3],",
    )
    where = f"{study.as_posix()}/study.yaml:{screening}:7"
    assert [p for p in problems(study) if "overlaps" in p] == [
        f"{line}:7: window: the window of 'C2 ASSESSMENT' overlaps 'SCREENING''s ({where})"
    ]
