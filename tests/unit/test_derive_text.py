"""Text transforms on collected values (transform:), maps with a default, CT synonyms, concatenation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from daybreak_sdtm import api
from daybreak_sdtm.cli import main
from daybreak_sdtm.derive import RowProblems
from daybreak_sdtm.derive.assign import assign_ct, assign_no_ct, derive_concat
from daybreak_sdtm.derive.text import parse_steps, transformed
from daybreak_sdtm.resources import default_export_dir, specs_dir
from daybreak_sdtm.standards import Standards, read_standards
from tests.helpers import edited_study, make_ctx


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def run(steps: object, *values: str) -> list[str]:
    return transformed(pd.Series(list(values), dtype=object), parse_steps(steps)).tolist()


def test_case_and_blank_steps() -> None:
    assert run(["upper"], "Headache", "nausea") == ["HEADACHE", "NAUSEA"]
    assert run("lower", "GRADE 3") == ["grade 3"]
    assert run(["squeeze"], "  Upper   respiratory  infection ") == ["Upper respiratory infection"]


def test_extract_takes_the_group_or_the_match_and_blank_when_none() -> None:
    assert run([{"extract": r"-(\d+)$"}], "701-1015", "701-", "x") == ["1015", "", ""]
    assert run([{"extract": r"\d+"}], "Grade 3 (severe)", "none") == ["3", ""]


def test_substring_is_one_based_like_sas() -> None:
    assert run([{"substring": [5, 4]}], "701-1015", "701") == ["1015", ""]
    assert run([{"substring": [2]}], "X123") == ["123"]


def test_split_picks_a_part_counted_from_either_end() -> None:
    assert run([{"split": "-", "part": 2}], "701-1015", "7011015") == ["1015", ""]
    assert run([{"split": "/", "part": -1}], "CHN/101/002") == ["002"]


def test_steps_apply_in_order() -> None:
    steps = [{"replace": [r"\s*\(.*\)$", ""]}, "upper", {"split": " ", "part": 1}]
    assert run(steps, "Nausea (mild)", "fatigue") == ["NAUSEA", "FATIGUE"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["shout"], "step 1: unknown text step 'shout'"),
        (
            ["upper", {"extract": "(a)(b)"}],
            "step 2: '(a)(b)' has 2 groups; extract takes the first match of at most one",
        ),
        ([{"extract": "("}], "step 1: '(' is not a regular expression"),
        ([{"substring": [0, 2]}], "step 1: substring's START counts from 1 and its LENGTH is not negative"),
        ([{"split": "-", "part": 0}], "step 1: split's part counts from 1 (or from -1 at the end)"),
        ([{"split": "-", "part": "two"}], "step 1: split's part must be a whole number, found 'two'"),
        ([{"replace": ["a"]}], "step 1: replace takes [REGEX, WITH]"),
        ([{"upper": 1, "lower": 2}], "step 1: a step is one of"),
    ],
)
def test_a_bad_step_is_named(steps: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_steps(steps)


def test_assign_no_ct_transforms_then_maps_with_a_default() -> None:
    ctx = make_ctx("DS", raw={"R": [" Progressive disease ", "Lost to follow-up", "moved away", ""]})
    out = assign_no_ct(
        ctx,
        source="R",
        transform=parse_steps(["upper"]),
        map={"PROGRESSIVE DISEASE": "PROGRESSIVE DISEASE", "LOST TO FOLLOW-UP": "LOST TO FOLLOW-UP"},
        default="OTHER",
    )
    assert out.tolist() == ["PROGRESSIVE DISEASE", "LOST TO FOLLOW-UP", "OTHER", ""]
    with pytest.raises(RowProblems) as err:  # without a default, an unmapped value is refused
        assign_no_ct(ctx, source="R", transform=parse_steps(["upper"]), map={"PROGRESSIVE DISEASE": "PD"})
    assert err.value.positions.tolist() == [1, 2] and err.value.values == ["LOST TO FOLLOW-UP", "MOVED AWAY"]


def test_ct_synonyms_match_case_insensitively_and_unmatched_values_are_reported(standards: Standards) -> None:
    route, form = standards.codelist("C66729"), standards.codelist("C66726")
    assert route is not None and form is not None
    ctx = make_ctx("CM", raw={"ROUTE": ["Oral", "oral", "Transdermal"], "FORM": ["Tablet", "tablet", "Patch"]})
    assert assign_ct(ctx, source="ROUTE", codelist=route).tolist() == ["ORAL", "ORAL", "TRANSDERMAL"]
    assert assign_ct(ctx, source="FORM", codelist=form).tolist() == ["TABLET", "TABLET", "PATCH"]
    bad = make_ctx("CM", raw={"ROUTE": ["Oral", "Oral (PO)", "Oral"]})
    with pytest.raises(RowProblems) as err:
        assign_ct(bad, source="ROUTE", codelist=route)
    assert err.value.positions.tolist() == [1] and err.value.values == ["Oral (PO)"]
    fixed = assign_ct(bad, source="ROUTE", codelist=route, transform=parse_steps([{"replace": [r"\s*\(PO\)$", ""]}]))
    assert fixed.tolist() == ["ORAL", "ORAL", "ORAL"]  # the step reshapes the text, then CT matches it


def test_concat_leaves_blank_parts_out() -> None:
    ctx = make_ctx("AE", raw={"T": ["Rash", "Other", ""], "OTH": ["", "hiccups", ""]})
    assert derive_concat(ctx, sources=["T", "OTH"], separator=": ").tolist() == ["Rash", "Other: hiccups", ""]
    upper = derive_concat(ctx, sources=["T", "OTH"], transform=parse_steps(["upper"]))
    assert upper.tolist() == ["RASH", "OTHER HICCUPS", ""]


def test_transforms_from_the_spec_reach_the_written_package(tmp_path: Path) -> None:
    study, _ = edited_study(
        tmp_path,
        "dm.yaml",
        "SUBJID: {derivation: assign_no_ct, source: SUBJECT}",
        # Site and subject number joined (101-001 -> 101001): SUBJID stays unique within the study
        # (CORE-000186), where the subject number alone (001) recurs at every site.
        "SUBJID: {derivation: assign_no_ct, source: SUBJECT, transform: [{replace: ['-', '']}]}",
    )
    ae = study / "ae.yaml"
    ae.write_text(
        ae.read_text(encoding="utf-8").replace(
            "AETERM: {derivation: assign_no_ct, source: AETERM}",
            "AETERM: {derivation: assign_no_ct, source: AETERM, transform: [upper]}",
        ),
        encoding="utf-8",
    )
    raw_dm = pd.read_csv(default_export_dir() / "dm.csv", dtype=str, keep_default_na=False)
    raw_ae = pd.read_csv(default_export_dir() / "ae.csv", dtype=str, keep_default_na=False)
    out = tmp_path / "out"
    api.convert(study_dir=study, out_dir=out, timestamp="2026-10-01T00:00:00")
    dm, _ = pyreadstat.read_xport(str(out / "dm.xpt"))
    assert dm["SUBJID"].tolist() == [s.replace("-", "") for s in raw_dm["SUBJECT"]]
    ae_xpt, _ = pyreadstat.read_xport(str(out / "ae.xpt"))
    assert sorted(ae_xpt["AETERM"]) == sorted(t.strip().upper() for t in raw_ae["AETERM"])


def test_a_bad_step_in_a_spec_is_refused_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study, dm = edited_study(
        tmp_path,
        "dm.yaml",
        "SUBJID: {derivation: assign_no_ct, source: SUBJECT}",
        "SUBJID: {derivation: assign_no_ct, source: SUBJECT, transform: [{extract: '(['}]}",
    )
    line = next(
        i
        for i, text in enumerate(dm.read_text(encoding="utf-8").splitlines(), 1)
        if text.lstrip().startswith("SUBJID:")
    )
    assert main(["lint", str(study)]) == 3
    out = capsys.readouterr().out
    assert f"dm.yaml:{line}:" in out and "SUBJID.transform: step 1: '([' is not a regular expression" in out
