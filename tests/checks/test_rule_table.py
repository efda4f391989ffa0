"""The rule table (daybreak_sdtm/checks/rules/*.yaml): every row's examples run through validation,
its ids agree with CORE's rule list, and a malformed row fails at load with its file and line."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path
from typing import Any

import pytest

from daybreak_sdtm.checks import CHECKS, CheckContext, validate_package
from daybreak_sdtm.checks.package import Package
from daybreak_sdtm.checks.rule_kinds import Rule
from daybreak_sdtm.checks.rule_table import EXAMPLE_KEYS, FILES, RULES_DIR, RuleTableError, compiled_rules, load_rules
from daybreak_sdtm.dataset import dataset_of
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, read_standards
from tests.helpers import frame_of_records

CORE_RULES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "core-rules-sdtmig.csv"
RULES = load_rules()


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def package(example: dict[str, Any], standards: Standards) -> Package:
    """An example of a row as a package of in-memory datasets, labelled from SDTMIG (``labels``:
    other labels)."""
    pkg = Package(
        {
            name: dataset_of(name, frame_of_records(list(records)), standards)
            for name, records in example.items()
            if name not in EXAMPLE_KEYS
        }
    )
    for name, labels in example.get("labels", {}).items():
        pkg.datasets[name].labels.update(labels)
    return pkg


def found(rule: Rule, example: dict[str, Any], standards: Standards) -> set[tuple[str, str, int | None]]:
    """The findings of ``rule`` on the example, validated as ``validate`` does (its check alone)."""
    pkg = package(example, standards)
    report = validate_package(pkg, CheckContext(standards), only=[rule.check])
    mine = [f for f in report.findings if f.core == rule.core]
    assert all(f.message.startswith(f"{rule.core}: ") and f.severity == rule.severity for f in mine)
    return {(f.dataset, f.variable, f.row) for f in mine}


def _examples() -> list[Any]:
    params = []
    for rule in RULES:
        params += [pytest.param(rule, "fails", dict(e), id=f"{rule.core}-fails-{i}") for i, e in enumerate(rule.fails)]
        params += [
            pytest.param(rule, "passes", dict(e), id=f"{rule.core}-passes-{i}") for i, e in enumerate(rule.passes)
        ]
    return params


@pytest.mark.parametrize(("rule", "how", "example"), _examples())
def test_every_rule_gives_its_finding_on_its_failing_examples_and_none_on_the_others(
    rule: Rule, how: str, example: dict[str, Any], standards: Standards
) -> None:
    got = found(rule, example, standards)
    if how == "passes":
        assert got == set(), f"{rule.where}: {rule.core} fires on a passing example"
        return
    at = example["at"] if isinstance(example["at"], list) else [example["at"]]
    expected = {(a["dataset"], a["variable"], a["row"]) for a in at}
    assert got == expected, f"{rule.where}: {rule.core}"


def test_the_ids_of_every_row_are_those_core_records() -> None:
    if not CORE_RULES.is_file():
        pytest.skip("CORE's rule list is not beside the project")
    with CORE_RULES.open(encoding="utf-8", newline="") as handle:
        rows = {r["core_id"]: r for r in csv.DictReader(handle)}
    for rule in RULES:
        assert rule.core in rows, f"{rule.where}: {rule.core} is not a CORE rule for SDTMIG"
        row = rows[rule.core]
        assert "3.4" in row["sdtmig_versions"].split(), f"{rule.where}: {rule.core} is not for SDTMIG 3.4"
        assert set(rule.cdisc) == set(row["cdisc_rule_ids"].split()), f"{rule.where}: CDISC ids of {rule.core}"
        assert set(rule.fda) == set(row["fda_rule_ids"].split()), f"{rule.where}: FDA ids of {rule.core}"
        versions = set(rule.sdtmig or ("3.2", "3.3", "3.4"))
        assert versions == set(row["sdtmig_versions"].split()), f"{rule.where}: SDTMIG versions of {rule.core}"


def test_a_rule_of_later_sdtmig_versions_gives_notes_on_an_older_package(standards: Standards) -> None:
    # CORE-000211 (no population flags in SUPPDM) is a rule of SDTMIG 3.3 and 3.4; SDTMIG 3.2's
    # appendix allowed them, so a package declaring 3.2 hears of it as a note.
    rule = next(r for r in RULES if r.core == "CORE-000211")
    assert rule.sdtmig == ("3.3", "3.4")
    example = dict(rule.fails[0])
    for declared, severity in (("3.2", Severity.NOTE), ("3.4", rule.severity), ("", rule.severity)):
        pkg = package(example, standards)
        report = validate_package(pkg, CheckContext(standards, declared_sdtmig=declared), only=[rule.check])
        mine = [f for f in report.findings if f.core == rule.core]
        assert mine and {f.severity for f in mine} == {severity}, declared
        assert all(("the package declares SDTMIG 3.2" in f.message) == (declared == "3.2") for f in mine)


def test_the_checks_implement_every_id_of_their_rows_and_the_compiled_copy_is_the_table(tmp_path: Path) -> None:
    for rule in RULES:
        official = CHECKS[rule.check].implements
        assert rule.core in official.core
        assert set(rule.cdisc) <= set(official.cdisc) and set(rule.fda) <= set(official.fda)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "rules-0123456789abcdef.bin").write_bytes(b"an earlier table's copy")
    assert compiled_rules(home=tmp_path) == RULES  # made, the earlier copy removed
    assert compiled_rules(home=tmp_path) == RULES  # read back
    assert len(list((tmp_path / "cache").glob("rules-*.bin"))) == 1


def test_the_table_ships_one_file_per_core_class() -> None:
    assert sorted(p.name for p in RULES_DIR.glob("*.yaml")) == sorted(FILES)


GOOD = """\
- core: CORE-000026
  cdisc: [CG0468]
  severity: error
  datasets: all
  kind: requires_variable
  variable: --TPT
  requires: [--TPTNUM]
  message: --TPTNUM is not present while --TPT is
  fails:
    - VS: [{VSTPT: PRE-DOSE}]
      at: {dataset: VS, variable: VSTPTNUM, row: null}
  passes:
    - VS: [{VSTPT: PRE-DOSE, VSTPTNUM: 1}]
"""


def _table(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_text("", encoding="utf-8")
    (folder / "all.yaml").write_text(GOOD + textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("row", "line", "says"),
    [
        ("- core: CORE-000001\n  kind: regex_everything\n", 16, "unknown kind 'regex_everything'"),
        (
            GOOD.replace("CORE-000026", "CORE-000029").replace("requires_variable", "condition"),
            21,
            "unknown field 'requires' for kind condition",
        ),
        (GOOD.replace("CORE-000026", "CORE-000029").replace("  severity: error\n", ""), 15, "missing severity"),
        (
            GOOD.replace("CORE-000026", "CORE-000029").replace(
                "  severity: error\n", "  sdtmig: [3.4]\n  severity: error\n"
            ),
            17,
            "sdtmig: a list of versions among 3.2, 3.3, 3.4 as texts",
        ),
        (
            "- core: CORE-000028\n  severity: error\n  datasets: all\n  kind: condition\n"
            "  when: [[--TPTREF, is_blankish]]\n  variable: --TPTREF\n  message: m\n"
            "  fails: [{VS: [], at: {dataset: VS, variable: '', row: null}}]\n  passes: [{VS: []}]\n",
            19,
            "unknown operator 'is_blankish'",
        ),
        (
            "- core: CORE-000028\n  severity: error\n  datasets: all\n  kind: condition\n"
            "  when: [[tptref, empty]]\n  variable: --TPTREF\n  message: m\n"
            "  fails: [{VS: [], at: {dataset: VS, variable: '', row: null}}]\n  passes: [{VS: []}]\n",
            19,
            "'tptref' is not a variable name",
        ),
        (
            "- core: CORE-000028\n  severity: error\n  datasets: all\n  kind: condition\n"
            "  when: [[--TPTREF, equal_to]]\n  variable: --TPTREF\n  message: m\n"
            "  fails: [{VS: [], at: {dataset: VS, variable: '', row: null}}]\n  passes: [{VS: []}]\n",
            19,
            "operator equal_to takes an operand",
        ),
        (
            "- core: CORE-000028\n  severity: error\n  datasets: all\n  kind: condition\n"
            "  when: [[--TPTREF, empty]]\n  variable: --TPTREF\n  message: m\n"
            "  fails: [{VS: []}]\n  passes: [{VS: []}]\n",
            22,
            "fails: each example names where its finding is",
        ),
        (
            "- core: CORE-000028\n  severity: sometimes\n  datasets: all\n  kind: condition\n"
            "  when: [[--TPTREF, empty]]\n  variable: --TPTREF\n  message: m\n"
            "  fails: [{VS: [], at: {dataset: VS, variable: '', row: null}}]\n  passes: [{VS: []}]\n",
            16,
            "unknown severity 'sometimes'",
        ),
        (GOOD, 15, "CORE-000026 is also at"),
    ],
)
def test_a_malformed_row_fails_at_load_with_its_file_and_line(tmp_path: Path, row: str, line: int, says: str) -> None:
    folder = _table(tmp_path, "\n" + row)
    with pytest.raises(RuleTableError) as caught:
        load_rules(folder)
    assert f"{folder / 'all.yaml'}:{line}" in str(caught.value)
    assert says in str(caught.value)


def test_a_missing_file_of_the_table_is_named(tmp_path: Path) -> None:
    folder = _table(tmp_path, "")
    (folder / "events.yaml").unlink()
    with pytest.raises(RuleTableError, match=r"events\.yaml: file of the rule table not found"):
        load_rules(folder)


def test_the_core_rule_counts_in_the_fingerprint_and_other_findings_keep_theirs() -> None:
    import hashlib
    import json

    from daybreak_sdtm.findings import Finding, Severity, fingerprint

    plain = Finding("DB201", Severity.ERROR, "AE", "AESEV", 3, "m", usubjid="S1", seq=2, value="X")
    before = json.dumps(["DB201", "AE", "AESEV", {"USUBJID": "S1", "SEQ": 2, "value": "X"}], sort_keys=True)
    assert fingerprint(plain) == hashlib.sha256(before.encode("utf-8")).hexdigest()[:16]  # as it always was
    one = Finding("DB205", Severity.ERROR, "DM", "ARMNRS", 1, "a", usubjid="S1", core="CORE-000045")
    other = Finding("DB205", Severity.ERROR, "DM", "ARMNRS", 1, "a", usubjid="S1", core="CORE-000046")
    assert fingerprint(one, {"USUBJID": "S1"}) != fingerprint(other, {"USUBJID": "S1"})
