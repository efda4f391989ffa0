"""The README stays true: every command is documented and has --help; the spec excerpt is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daybreak_sdtm.cli import build_parser, main
from daybreak_sdtm.derive import DERIVATIONS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme_and_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert f"daybreak-sdtm {command}" in README, f"README does not document `{command}`"
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: daybreak-sdtm " + command) and "exit status:" in out


def test_readme_starts_with_the_install_and_test_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert blocks[0].endswith("daybreak-sdtm convert") and "pip install ." in blocks[0]
    assert "pytest" in blocks[1]
    # CI installs and tests the same way, with its code checks (lint, types, layers) in between.
    install, _, test = blocks[1].strip().rpartition(" && ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install in ci and test in ci and ci.index(install) < ci.index(test), (install, test)


def test_the_spec_excerpt_is_taken_from_the_real_spec() -> None:
    excerpt = README.split("From\n`mappings/daybreak-01/ex.yaml`:", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    real = (ROOT / "mappings" / "daybreak-01" / "ex.yaml").read_text(encoding="utf-8")
    for line in excerpt.splitlines():
        code = re.sub(r"\s+#.*$", "", line).rstrip()
        if code and not code.lstrip().startswith("#"):
            assert code in real, f"README spec line not in ex.yaml: {code!r}"


def test_every_derivation_named_in_the_readme_exists() -> None:
    named = set(re.findall(r"`((?:assign|hardcode|derive)_[a-z_0-9]+)`", README))
    assert named and named <= set(DERIVATIONS), named - set(DERIVATIONS)


def test_the_trial_design_excerpt_is_taken_from_the_real_study() -> None:
    excerpt = README.split("From `mappings/daybreak-01/study.yaml`:", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    real = (ROOT / "mappings" / "daybreak-01" / "study.yaml").read_text(encoding="utf-8")
    lines = [re.sub(r"\s+#.*$", "", line).rstrip() for line in excerpt.splitlines()]
    assert len([code for code in lines if code.strip()]) > 30
    for code in lines:
        if code and not code.lstrip().startswith("#"):
            assert code in real, f"README trial design line not in study.yaml: {code!r}"
