""".pre-commit-hooks.yaml and the command it runs: `daybreak-sdtm lint-files FILE...` lints the
study folder of each changed mapping file once, naming the spec line of each problem."""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from daybreak_sdtm.cli import build_parser, cmd_lint_files, main
from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.validation import study_folder

ROOT = Path(__file__).resolve().parents[2]


def _hook() -> dict[str, object]:
    hooks = YAML(typ="safe", pure=True).load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and [h["id"] for h in hooks] == ["daybreak-sdtm-lint"]
    return dict(hooks[0])


def test_the_hook_runs_a_command_there_is() -> None:
    hook = _hook()
    assert hook["language"] == "python" and hook["pass_filenames"] is True and hook["require_serial"] is True
    program, *args = shlex.split(str(hook["entry"]))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert program in scripts and scripts[program] == "daybreak_sdtm.cli:run"
    # pre-commit appends the file names to the entry
    parsed = build_parser().parse_args([*args, "mappings/daybreak-01/dm.yaml", "mappings/daybreak-01/ae.yaml"])
    assert parsed.func is cmd_lint_files and len(parsed.files) == 2


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        ("mappings/daybreak-01/dm.yaml", True),
        ("mappings/meridian-02/study.yaml", True),
        ("studies/x/mappings/ae.yml", True),
        ("daybreak_sdtm/cli.py", False),
        ("specs/sdtmig/3.4/datasets.yaml", False),
        ("mappings/daybreak-01/acrf.pdf", False),
        ("mappings/daybreak-01/dm.yaml.orig", False),
    ],
)
def test_the_hook_takes_the_mapping_yaml_files(path: str, matches: bool) -> None:
    assert bool(re.search(str(_hook()["files"]), path)) is matches  # pre-commit's re.search


def test_a_changed_bundled_domain_spec_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    folder = default_study_dir()
    assert main(["lint-files", str(folder / "dm.yaml"), str(folder / "ae.yaml"), str(folder / "study.yaml")]) == 0
    assert capsys.readouterr().out == f"{folder.as_posix()}: specs OK\n"  # the study once, for three files


def test_a_broken_domain_spec_fails_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    ae = study / "ae.yaml"
    text = ae.read_text(encoding="utf-8")
    good = "AESER: {derivation: assign_ct, source: AESER}"
    line = text[: text.index(good)].count("\n") + 1
    ae.write_text(text.replace(good, good.replace("assign_ct", "asign_ct")), encoding="utf-8")
    assert main(["lint-files", str(ae), str(study / "dm.yaml")]) == 3
    captured = capsys.readouterr()
    assert re.search(
        rf"^{re.escape(ae.as_posix())}:{line}:\d+: AESER\.derivation: unknown derivation 'asign_ct'",
        captured.out,
        re.MULTILINE,
    )
    assert "specs OK" not in captured.out and f"1 problem(s) in {study.as_posix()}" in captured.err


def test_each_study_is_linted_and_a_file_of_none_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken, stray = tmp_path / "broken", tmp_path / "notes" / "draft.yaml"
    shutil.copytree(default_study_dir(), broken)
    (broken / "dm.yaml").write_text("domain: DM\nvariables: {}\n", encoding="utf-8")
    stray.parent.mkdir()
    stray.write_text("domain: XX\n", encoding="utf-8")
    bundled = default_study_dir() / "dm.yaml"
    assert main(["lint-files", str(bundled), str(broken / "dm.yaml"), str(stray)]) == 3
    out = capsys.readouterr().out
    assert f"{default_study_dir().as_posix()}: specs OK" in out
    assert f"{(broken / 'dm.yaml').as_posix()}:1:1: source: missing required key 'source'" in out
    assert f"{stray.as_posix()}: not part of a study (no study.yaml in its folder or above)" in out


def test_study_folder_is_the_nearest_folder_with_study_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "sub" / "inner"
    inner.mkdir(parents=True)
    (outer / "study.yaml").write_text("study: {}\n", encoding="utf-8")
    (inner / "study.yaml").write_text("study: {}\n", encoding="utf-8")
    assert study_folder(inner / "dm.yaml") == inner and study_folder(inner) == inner
    assert study_folder(outer / "sub" / "design.yaml") == outer
    monkeypatch.chdir(outer / "sub")
    assert study_folder(Path("inner/dm.yaml")) == Path("inner")  # relative stays relative
    assert study_folder(Path("design.yaml")) == outer  # above the working folder: as it is
    assert study_folder(tmp_path / "elsewhere.yaml") is None
