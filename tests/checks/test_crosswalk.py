"""The crosswalk: every check names the published rules it implements, and each id is a real one."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest

from daybreak_sdtm.checks import CHECKS
from daybreak_sdtm.checks.registry import Implements, check, no_counterpart
from daybreak_sdtm.findings import Severity

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
CORE_RULES = REFERENCE / "core-rules-sdtmig.csv"
P21_REPORT = REFERENCE / "cdiscpilot01-docs" / "pinnacle21-report-2018-10-08.xlsx"
needs_core = pytest.mark.skipif(not CORE_RULES.is_file(), reason="CORE's rule list (../shared/reference) is not here")


def _core() -> dict[str, dict[str, str]]:
    with CORE_RULES.open(encoding="utf-8", newline="") as handle:
        return {r["core_id"]: r for r in csv.DictReader(handle)}


def _coverage_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("core_coverage", ROOT / "scripts" / "core_coverage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_check_declares_its_rules_or_why_it_has_none() -> None:
    for code, item in CHECKS.items():
        official = item.implements
        assert not official.problems(), (code, official.problems())
        assert official.ids or len(official.none) > 20, code
        # The ids are declared once, structurally: the free-text references cite texts, not rule ids.
        for ref in item.references:
            assert not re.search(r"CORE-\d|\bCG\d{4}|\b(?:SD|FB|CT)\d{4}\b", ref), (code, ref)


def test_a_declaration_with_bad_ids_or_no_reason_is_refused() -> None:
    def fn() -> None:
        """Doc."""

    for bad, why in (
        (Implements(core=("CORE-22",)), "CORE id"),
        (Implements(cdisc=("CG41",)), "CDISC id"),
        (Implements(fda=("FDAC061",)), "FDA id"),
        (Implements(), "no_counterpart"),
        (Implements(core=("CORE-000022",), none="both"), "not both"),
        (no_counterpart(""), "no_counterpart"),
    ):
        with pytest.raises(RuntimeError, match=why):
            check("DB799", "test.bad_declaration", severity=Severity.NOTE, references=("x",), implements=bad)(fn)
    assert "DB799" not in CHECKS


@needs_core
def test_every_cited_core_and_cdisc_id_is_in_cores_rule_list() -> None:
    core = _core()
    for code, item in CHECKS.items():
        official = item.implements
        claimed = [core[i] for i in official.core if i in core]
        assert len(claimed) == len(official.core), (code, sorted(set(official.core) - set(core)))
        cdisc = {c for r in claimed for c in r["cdisc_rule_ids"].split()}
        fda = {f for r in claimed for f in r["fda_rule_ids"].split()}
        # A CG id is claimed with the CORE rule that implements it, and a CORE rule with its ids.
        assert set(official.cdisc) == cdisc, (code, set(official.cdisc) ^ cdisc)
        assert fda <= set(official.fda), (code, fda - set(official.fda))
        recorded = {f for f in official.fda if re.match(r"FB|TRC", f)}
        assert recorded <= fda, (code, recorded - fda)


@pytest.mark.skipif(not P21_REPORT.is_file(), reason="the pilot's Pinnacle 21 report (../shared/reference) is not here")
def test_every_fda_validator_id_is_a_rule_of_the_fda_validator() -> None:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workbook has no default style
        book = openpyxl.load_workbook(P21_REPORT)
    known = {row[0] for row in book["Rules"].iter_rows(min_row=2, values_only=True)}
    cited = {i: code for code, item in CHECKS.items() for i in item.implements.fda if re.match(r"SD|CT", i)}
    assert cited and set(cited) <= known, {i: cited[i] for i in set(cited) - known}


@needs_core
def test_the_readme_coverage_is_what_the_script_computes() -> None:
    script = _coverage_script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cov = script.coverage(CORE_RULES)
    assert script.readme_tables(readme) == f"{script.crosswalk()}\n{script.render(cov)}"
    rules, outside, applicable, done = cov.totals
    ours = {i for item in CHECKS.values() for i in item.implements.core}
    versions = {i for i, r in _core().items() if "3.4" in r["sdtmig_versions"].split()}
    assert rules == len(versions) and applicable == rules - outside
    assert done == len(ours & versions) and sum(cov.left.values()) == applicable - done
