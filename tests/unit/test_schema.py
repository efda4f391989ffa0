"""spec/schema.py: the JSON Schemas of study.yaml, a domain spec and a trial design file are made
from the loader's vocabulary and the derivation registry; every bundled spec validates, the
mistakes the loader refuses the schema refuses, and `daybreak-sdtm schema` writes them."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from daybreak_sdtm import cli
from daybreak_sdtm.cli import main
from daybreak_sdtm.derive import DERIVATIONS, DerivationDef, Kind, Param
from daybreak_sdtm.resources import data_dir
from daybreak_sdtm.spec import load, load_study, schema
from daybreak_sdtm.validation import lint

STUDIES = sorted(p.parent for p in data_dir("mappings").glob(f"*/{load.STUDY_FILE}"))

# A value of each kind of derivation parameter that the spec checks take, and one they refuse
# (spec.check.resolve_variable, derive.text.parse_step).
VALID: dict[Kind, Any] = {
    Kind.RAW: "AETERM",
    Kind.RAWS: ["SITE", "SUBJECT"],
    Kind.TEMPLATE: "{SITE}-{SUBJECT}",
    Kind.VAR: "DM.RFSTDTC",
    Kind.VARS: ["LBTESTCD", "LBSPEC"],
    Kind.DATE_VAR: "AESTDTC",
    Kind.DATE_FORMAT: "DD-MMM-YYYY",
    Kind.VALUE: "Y",
    Kind.NUMBER: 2.5,
    Kind.MAP: {"Yes": "Y", "No": "N", "Unknown": None},
    Kind.TEXT_STEPS: ["strip", {"split": "/", "part": 2}, {"replace": ["-", " "]}, {"substring": [1, 3]}],
    Kind.CODELIST: "C66742",
    Kind.WHERE: {"AEOUT": ["FATAL", "NOT RECOVERED"]},
    Kind.DOMAIN: "AE",
    Kind.FLAG: True,
}
INVALID: dict[Kind, Any] = {
    Kind.RAW: ["AETERM", "AEDECOD"],  # "expected one raw column, found a list"
    Kind.RAWS: {"SITE": 1},
    Kind.TEMPLATE: {"SITE": 1},
    Kind.VAR: ["AESTDTC"],
    Kind.VARS: [],  # "expected a list of SDTM variables"
    Kind.DATE_VAR: {"AESTDTC": 1},
    Kind.DATE_FORMAT: ["DD-MMM-YYYY"],
    Kind.VALUE: ["Y"],
    Kind.NUMBER: "two and a half",
    Kind.MAP: ["Yes", "No"],
    Kind.TEXT_STEPS: ["uppercase"],  # "unknown text step"
    Kind.CODELIST: {"C66742": 1},
    Kind.WHERE: ["AEOUT"],
    Kind.DOMAIN: ["AE"],
    Kind.FLAG: "yes",
}


def _plain(node: Any) -> Any:
    """A YAML tree as the YAML language server reads it (YAML 1.2: a date is text)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node.isoformat() if isinstance(node, (dt.date, dt.datetime)) else node


def _read(path: Path) -> Any:
    return _plain(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")))


def _problems(which: str, document: Any) -> list[str]:
    validator = Draft7Validator(schema.json_schema(which))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _bundled_files() -> Iterator[tuple[str, Path]]:
    """Every spec file of every bundled study, with the schema it follows (the loader says which)."""
    for folder in STUDIES:
        study = load_study(folder)
        design = study.trial_design.file if study.trial_design is not None else None
        for path in study.files():
            yield ("study" if path == study.file else "design" if path == design else "domain"), path


def _variable_schema() -> dict[str, Any]:
    """The schema of one variable entry given as a mapping (``{derivation: ..., params}``)."""
    anyof = schema.json_schema("domain")["properties"]["variables"]["additionalProperties"]["anyOf"]
    return next(s for s in anyof if s.get("type") == "object")


def _case(entry: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c["then"] for c in entry["allOf"] if c["if"]["properties"]["derivation"]["const"] == name)


@pytest.mark.parametrize("which", schema.SCHEMAS)
def test_each_schema_is_valid_draft_7(which: str) -> None:
    made = schema.json_schema(which)
    Draft7Validator.check_schema(made)
    assert made["$schema"] == "http://json-schema.org/draft-07/schema#"


@pytest.mark.parametrize("which", schema.SCHEMAS)
def test_patterns_are_ones_an_editor_can_read(which: str) -> None:
    """Editors compile patterns as ECMA 262 regexes, which have no inline flags or named groups of Python's."""

    def patterns(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern":
                    yield value
                else:
                    yield from patterns(value)
        elif isinstance(node, list):
            for item in node:
                yield from patterns(item)

    found = list(patterns(schema.json_schema(which)))
    assert found and not [p for p in found if "(?" in p]


def test_every_bundled_spec_file_validates() -> None:
    files = list(_bundled_files())
    every_yaml = {p for folder in STUDIES for p in folder.rglob("*.y*ml")}
    assert {path for _, path in files} == every_yaml, "a bundled YAML file no schema covers"
    assert len(STUDIES) >= 2 and sum(which == "domain" for which, _ in files) > 10
    for which, path in files:
        assert _problems(which, _read(path)) == [], path


@pytest.mark.parametrize("folder", STUDIES, ids=lambda p: p.name)
def test_a_trial_design_kept_in_a_file_of_its_own_validates(folder: Path, tmp_path: Path) -> None:
    study = _read(folder / load.STUDY_FILE)
    assert isinstance(study["trial_design"], dict)
    assert _problems("design", study["trial_design"]) == []
    named = {**study, "trial_design": "design.yaml"}  # study.yaml naming the file instead
    assert _problems("study", named) == []
    # the loader reads the file so
    shutil.copytree(folder, tmp_path / "study")
    yaml = YAML(typ="safe", pure=True)
    with (tmp_path / "study" / "design.yaml").open("w", encoding="utf-8") as out:
        yaml.dump(study["trial_design"], out)
    with (tmp_path / "study" / load.STUDY_FILE).open("w", encoding="utf-8") as out:
        yaml.dump(named, out)
    assert lint(tmp_path / "study", None) == []
    assert load_study(tmp_path / "study").files()[1] == tmp_path / "study" / "design.yaml"


def _dm() -> dict[str, Any]:
    return _read(STUDIES[0] / "dm.yaml")


def _study() -> dict[str, Any]:
    return _read(STUDIES[0] / load.STUDY_FILE)


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``document`` with ``value`` at ``path`` (keys joined by ``/``)."""
    changed = copy.deepcopy(document)
    *parents, last = path.split("/")
    node = changed
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return changed


@pytest.mark.parametrize(
    ("which", "make", "where"),
    [
        # a misspelt derivation, named alone or with parameters
        ("domain", lambda: _set(_dm(), "variables/STUDYID", "derive_studyidd"), "variables/STUDYID"),
        ("domain", lambda: _set(_dm(), "variables/SEX/derivation", "asign_ct"), "variables/SEX"),
        # unknown keys: of the file, of a variable (a parameter its derivation does not take), of a section
        ("domain", lambda: {**_dm(), "variabels": {}}, ""),
        ("domain", lambda: _set(_dm(), "variables/SEX/sorce", "SEX"), "variables/SEX"),
        ("domain", lambda: _set(_dm(), "source/formm", "dm"), "source"),
        ("study", lambda: _set(_study(), "export/subjct", "SUBJECT"), "export"),
        ("study", lambda: _set(_study(), "trial_design/visit", []), "trial_design"),
        # a parameter of the wrong type, a value of no kind the loader takes
        ("domain", lambda: _set(_dm(), "variables/SEX/source", ["SEX", "GENDER"]), "variables/SEX"),
        ("study", lambda: _set(_study(), "protocol_checks/0/severity", "fatal"), "protocol_checks/0/severity"),
        ("study", lambda: _set(_study(), "documents/acrf/file", "acrf.docx"), "documents/acrf"),
        ("study", lambda: {**_study(), "arms": [{"ARMCD": "A", "ARM": "Arm A"}]}, ""),  # beside trial_design:
        ("study", lambda: _set(_study(), "forms_not_mapped", {"eos form": "not mapped"}), "forms_not_mapped"),
        ("study", lambda: _set(_study(), "trial_design/visits/0/VISITNUM", "1"), "trial_design"),
        # a required key missing
        ("domain", lambda: {k: v for k, v in _dm().items() if k != "source"}, ""),
    ],
)
def test_mistakes_the_loader_refuses_the_schema_refuses(which: str, make: Any, where: str, tmp_path: Path) -> None:
    document = make()
    problems = _problems(which, document)
    assert problems and all(p.startswith(where) for p in problems), problems
    assert _lint_written(which, document, tmp_path)  # and lint does refuse it


def _lint_written(which: str, document: Any, tmp_path: Path) -> list[str]:
    """What lint says of the first bundled study with its dm.yaml (or study.yaml) written as ``document``."""
    study = tmp_path / "study"
    shutil.copytree(STUDIES[0], study)
    with (study / ("dm.yaml" if which == "domain" else load.STUDY_FILE)).open("w", encoding="utf-8") as out:
        YAML(typ="safe", pure=True).dump(document, out)
    return [str(e) for e in lint(study, None)]


@pytest.mark.parametrize(("which", "make"), [("domain", _dm), ("study", _study)])
def test_the_files_as_written_there_lint_clean(which: str, make: Any, tmp_path: Path) -> None:
    assert _problems(which, make()) == [] and _lint_written(which, make(), tmp_path) == []


def test_severity_is_read_in_any_case() -> None:
    assert _problems("study", _set(_study(), "protocol_checks/0/severity", "Warning")) == []


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name)
def test_each_kind_of_parameter_has_its_schema(kind: Kind) -> None:
    """Also the kinds no derivation takes yet."""
    assert set(VALID) == set(INVALID) == set(Kind)
    validator = Draft7Validator(schema.kind_schema(kind))
    assert validator.is_valid(VALID[kind]) and not validator.is_valid(INVALID[kind])


@pytest.mark.parametrize("name", sorted(DERIVATIONS))
def test_every_derivation_is_in_the_schema_with_its_parameters(name: str) -> None:
    deriv = DERIVATIONS[name]
    entry = _variable_schema()
    assert name in entry["properties"]["derivation"]["enum"]
    case = _case(entry, name)
    assert set(deriv.params) <= set(case["properties"])
    assert set(case["properties"]) - set(deriv.params) == {"derivation", "when", *load.VARIABLE_META_KEYS}
    assert set(case.get("required", [])) == {p for p, param in deriv.params.items() if param.required}
    # A variable with every parameter at a value of its kind validates; each parameter at a value
    # of no kind it takes, or one it does not take, does not.
    variable = {"derivation": name, **{p: VALID[param.kind] for p, param in deriv.params.items()}}
    assert _problems("domain", _set(_dm(), "variables/XXVAR", variable)) == []
    for p, param in deriv.params.items():
        wrong = _set(_dm(), "variables/XXVAR", {**variable, p: INVALID[param.kind]})
        assert _problems("domain", wrong), (name, p, param.kind)
    assert _problems("domain", _set(_dm(), "variables/XXVAR", {**variable, "no_such_parameter": "X"}))
    if any(param.required for param in deriv.params.values()):
        assert _problems("domain", _set(_dm(), "variables/XXVAR", name)), "a bare name needs no parameter"
    else:
        assert _problems("domain", _set(_dm(), "variables/XXVAR", name)) == []


def test_a_derivation_registered_later_is_in_the_next_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    def derive_shout(frame: Any) -> Any:
        """The text, upper case."""
        return frame

    param = Param(Kind.RAW, doc="the column shouted")
    monkeypatch.setitem(
        DERIVATIONS,
        "derive_shout",
        DerivationDef("derive_shout", derive_shout, {"loud": param}, doc="The text, upper case.", method="x"),
    )
    case = _case(_variable_schema(), "derive_shout")
    assert case["required"] == ["loud"] and "the column shouted" in case["properties"]["loud"]["description"]
    assert _problems("domain", _set(_dm(), "variables/XXVAR", {"derivation": "derive_shout", "loud": "AETERM"})) == []
    monkeypatch.delitem(DERIVATIONS, "derive_shout")
    assert "derive_shout" not in _variable_schema()["properties"]["derivation"]["enum"]


def test_the_command_line_knows_the_schemas_without_importing_them() -> None:
    assert cli.SCHEMAS == schema.SCHEMAS and cli.STUDY_FILE == load.STUDY_FILE


@pytest.mark.parametrize("which", schema.SCHEMAS)
def test_schema_command_writes_the_schema(which: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{which}.schema.json"
    assert main(["schema", which, "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"{which} schema -> {out}\n"
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == schema.json_schema(which)
    Draft7Validator.check_schema(written)
    for kind, path in _bundled_files():
        if kind == which:
            assert not list(Draft7Validator(written).iter_errors(_read(path))), path


def test_schema_command_prints_the_study_schema_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "daybreak-sdtm study.yaml" and set(printed["required"]) == set(load.REQUIRED_SECTIONS)
    assert not list(Draft7Validator(printed).iter_errors(_study()))


def test_schema_command_refuses_an_unknown_schema(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["schema", "metadata"])
    assert done.value.code == 2 and "invalid choice: 'metadata'" in capsys.readouterr().err
