"""protocol_checks: read with the rest of study.yaml into typed rules, each mistake at its file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.errors import SpecErrors
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.spec.protocol import load_protocol
from daybreak_sdtm.validation import check_context, lint


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(default_study_dir(), folder)
    return folder


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_load_study_reads_the_protocol_rules_with_their_positions(study: Path) -> None:
    spec = load_study(study)
    rules = {r.id: r for r in spec.protocol_checks}
    path = study / "study.yaml"
    assert list(rules)[:3] == ["ELIG-AGE", "INDUCTION-CYCLES", "POST-INDUCTION-RESPONSE"]
    age = rules["ELIG-AGE"]
    assert (age.kind, age.params, age.severity) == (
        "value",
        {"variable": "DM.AGE", "min": 18.0, "max": 70.0},
        Severity.ERROR,
    )
    assert age.description == "eligibility: 18 to 70 years old"
    assert (age.where.file, age.where.line, age.where.col) == (path.as_posix(), _line_of(path, "id: ELIG-AGE"), 5)
    assert age.located("max").line == _line_of(path, "value: {variable: DM.AGE")
    order = rules["RT-AFTER-INDUCTION"]
    assert order.params["first"] == {"variable": "EX.EXSTDTC", "where": {"EXCAT": "INDUCTION"}, "pick": "last"}
    assert order.located("then").line == _line_of(path, "then: {variable: PR.PRSTDTC")
    assert rules["POST-INDUCTION-RESPONSE"].params["in"] == ["CR", "PR"]


def test_protocol_mistakes_come_with_every_other_study_problem(study: Path) -> None:
    path = study / "study.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("value: {variable: DM.AGE, min: 18, max: 70}", "value: {variable: DMAGE, min: eighteen}")
    text = text.replace("per: record,", "per: records,")
    text = text.replace("  - id: RT-FRACTIONS\n", "  - id: RT-FRACTIONS\n    severity: never\n")
    text = text.replace("studyid:", "studyid_:", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecErrors) as exc:
        load_study(study)
    by_key = {e.key: e for e in exc.value.errors}
    age_line = _line_of(path, "value: {variable: DMAGE")
    assert str(by_key["protocol_checks.ELIG-AGE.value.variable"].where) == f"{path.as_posix()}:{age_line}:23"
    assert "expected DOMAIN.VARIABLE, found 'DMAGE'" in by_key["protocol_checks.ELIG-AGE.value.variable"].problem
    assert by_key["protocol_checks.ELIG-AGE.value.min"].problem == "expected a number, found 'eighteen'"
    per = by_key["protocol_checks.RT-DURATION.date_span.per"]
    assert per.where.line == _line_of(path, "per: records") and per.hint == "did you mean 'record'?"
    assert by_key["protocol_checks.RT-FRACTIONS.severity"].problem == "expected note, warning or error"
    study_problems = {e.problem for e in exc.value.errors if e.key == "study"}  # reported in the same run
    assert study_problems == {"unknown key 'studyid_'", "missing required key 'studyid'"}


def test_lint_reports_protocol_mistakes_once(study: Path) -> None:
    path = study / "study.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  - id: RT-FRACTIONS\n", "  - id: RT-DURATION\n"), encoding="utf-8"
    )
    problems = [e for e in lint(study, None) if "used twice" in e.problem]
    assert len(problems) == 1
    lines = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "id: RT-DURATION" in line]
    assert problems[0].where.line == lines[1]  # the second use of the id
    assert problems[0].key == "protocol_checks.RT-DURATION"


def test_validation_uses_the_rules_of_the_loaded_study(study: Path) -> None:
    from daybreak_sdtm.resources import specs_dir
    from daybreak_sdtm.standards import read_standards

    spec = load_study(study)
    (study / "study.yaml").unlink()  # the context is made from the model: the file is not read again
    ctx = check_context(read_standards(specs_dir(), spec.sdtmig, spec.ct), spec)
    assert ctx.protocol == spec.protocol_checks and len(ctx.protocol) == 10


@pytest.mark.parametrize(
    ("rules", "key", "problem"),
    [
        ("protocol_checks: {id: A}\n", "protocol_checks", "expected a list of rules"),
        ("protocol_checks:\n  - id: A\n", "protocol_checks.A", "give exactly one kind"),
        (
            "protocol_checks:\n  - id: A\n    count: {domain: EX}\n    value: {variable: DM.AGE, min: 1}\n",
            "protocol_checks.A",
            "give exactly one kind",
        ),
        (
            "protocol_checks:\n  - id: A\n    value: {variable: DM.AGE}\n",
            "protocol_checks.A.value",
            "give min, max or equals",
        ),
        (
            "protocol_checks:\n  - id: A\n    subject_value: {variable: DM.AGE, in: CR}\n",
            "protocol_checks.A.subject_value.in",
            "expected a list of values",
        ),
        (
            "protocol_checks:\n  - id: A\n    date_order: {first: {variable: EX.EXSTDTC, pick: middle}, then: {variable: PR.PRSTDTC}}\n",
            "protocol_checks.A.date_order.first",
            "pick is 'first' or 'last'",
        ),
        (
            "protocol_checks:\n  - id: A\n    only_when: {domain: PR, subject_has: {variable: RS.RSSTRESC, in: PR}}\n",
            "protocol_checks.A.only_when.subject_has",
            "in: expected a list of values",
        ),
        (
            "protocol_checks:\n  - id: A\n    count: {domain: EX, min: true}\n",
            "protocol_checks.A.count.min",
            "expected a number",
        ),
    ],
)
def test_each_rule_mistake_is_a_spec_error(tmp_path: Path, rules: str, key: str, problem: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules, encoding="utf-8")
    with pytest.raises(SpecErrors) as exc:
        load_protocol(path)
    assert [(e.key, e.where.file) for e in exc.value.errors] == [(key, path.as_posix())]
    assert exc.value.errors[0].problem.startswith(problem) and exc.value.errors[0].where.line >= 1


def test_a_file_without_rules_has_none(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("other: 1\n", encoding="utf-8")
    assert load_protocol(path) == ()
