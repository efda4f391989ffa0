"""Property-based tests: arbitrary input never crashes the date parser or the spec loader."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from daybreak_sdtm.date_formats import MONTHS
from daybreak_sdtm.derive import RowProblems
from daybreak_sdtm.derive.dates import compute_iso_date
from daybreak_sdtm.errors import DaybreakError
from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.spec.load import load_domain

ISO = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?)?$")
MONTH_NAMES = {v: k for k, v in MONTHS.items()}
EDCISH = st.one_of(
    st.text(max_size=15),
    st.from_regex(r"\A(\d{1,2}|UN|UK)-([A-Za-z]{3}|UNK)-\d{4}\Z"),
    st.from_regex(r"\A\d{4}(-\d{2}(-\d{2})?)?\Z"),
)


@given(st.lists(EDCISH, min_size=1, max_size=8))
def test_date_parser_returns_iso_or_reports_rows(values: list[str]) -> None:
    try:
        result = compute_iso_date(pd.Series(values, dtype=object), "DAT")
    except RowProblems as problems:
        assert len(problems.positions) >= 1
        assert all(0 <= p < len(values) for p in problems.positions)
        assert problems.values == [values[p].strip() for p in problems.positions]
        return
    assert len(result) == len(values)
    assert all(ISO.match(v) for v in result)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), st.booleans(), st.booleans())
def test_every_real_date_round_trips(date: dt.date, unknown_day: bool, unknown_month: bool) -> None:
    month = "UNK" if unknown_month else MONTH_NAMES[f"{date.month:02d}"]
    day = "UN" if unknown_day else f"{date.day:02d}"
    [result] = compute_iso_date(pd.Series([f"{day}-{month}-{date.year}"]), "DAT").tolist()
    if unknown_month:
        assert result == str(date.year)
    elif unknown_day:
        assert result == date.isoformat()[:7]
    else:
        assert result == date.isoformat()


YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
YAML_TREES = st.recursive(
    YAML_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
SPEC_KEYS = [
    "domain",
    "source",
    "variables",
    "supplemental",
    "keys",
    "form",
    "unpivot",
    "exclude",
    "join",
    "derivation",
    "source",
    "map",
    "when",
    "where",
    "values",
    "columns",
    "reason",
    "label",
]


def spec_like(keys: list[str], max_leaves: int) -> st.SearchStrategy[object]:
    """YAML trees whose mapping keys are the words a spec file uses, so loaders get past the top."""
    return st.recursive(
        YAML_SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(keys), inner, max_size=5)),
        max_leaves=max_leaves,
    )


SPEC_LIKE = spec_like(SPEC_KEYS, 25)


def _dump(tree: object) -> str:
    from io import StringIO

    buf = StringIO()
    YAML().dump(tree, buf)
    return buf.getvalue()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), YAML_TREES.map(_dump), SPEC_LIKE.map(_dump)))
@example("source:\n form: True")  # a YAML boolean where a form name goes
def test_domain_spec_loader_refuses_garbage_with_spec_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ae.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_domain(path)
        except DaybreakError as exc:
            assert str(exc)
            assert all(line.startswith(str(path)) for line in exc.lines())


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["study.yaml", "dm.yaml", "ex.yaml"]),
    st.integers(min_value=0, max_value=4000),
    st.text(max_size=30),
)
def test_study_loader_survives_corrupted_files(name: str, position: int, junk: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        shutil.copytree(default_study_dir(), study)
        path = study / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text[:position] + junk + text[position:], encoding="utf-8")
        try:
            load_study(study)
        except DaybreakError as exc:
            assert str(exc)


STUDY_KEYS = [
    "study",
    "standards",
    "export",
    "arms",
    "epochs",
    "forms_not_mapped",
    "columns_not_mapped",
    "domains",
    "documents",
    "protocol_checks",
    "studyid",
    "sdtmig",
    "ct",
    "subject",
    "ARMCD",
    "ARM",
    "EPOCH",
    "start",
    "first",
    "where",
    "id",
    "rule",
    "value",
    "variable",
    "min",
    "max",
    "count",
]
STUDY_LIKE = spec_like(STUDY_KEYS, 30)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(STUDY_LIKE.map(_dump))
def test_study_file_loader_refuses_garbage_with_spec_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp)
        (study / "study.yaml").write_text(text, encoding="utf-8")
        try:
            load_study(study)
        except DaybreakError as exc:
            assert str(exc)


PROTOCOL_KEYS = [
    "id",
    "rule",
    "severity",
    "value",
    "count",
    "subject_value",
    "only_when",
    "date_order",
    "date_span",
    "variable",
    "domain",
    "where",
    "min",
    "max",
    "equals",
    "tolerance",
    "in",
    "required",
    "distinct",
    "subject_has",
    "first",
    "then",
    "pick",
    "start",
    "end",
    "per",
    "min_days",
    "max_days",
]
PROTOCOL_LIKE = spec_like(PROTOCOL_KEYS, 30)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(PROTOCOL_LIKE)
def test_protocol_rules_loader_refuses_garbage_with_spec_errors(tree: object) -> None:
    from daybreak_sdtm.spec.protocol import load_protocol

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.yaml"
        path.write_text(_dump({"protocol_checks": tree}), encoding="utf-8")
        try:
            load_protocol(path)
        except DaybreakError as exc:
            assert str(exc)


def test_yaml_tags_never_construct_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "ae.yaml"
    path.write_text(
        f"domain: AE\nsource: {{form: ae}}\nvariables:\n  AETERM: !!python/object/apply:os.system ['touch {marker}']\n",
        encoding="utf-8",
    )
    with contextlib.suppress(DaybreakError):
        load_domain(path)
    assert not marker.exists()
