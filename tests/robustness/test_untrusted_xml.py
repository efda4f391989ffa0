"""XML from outside (a partner's define.xml) is parsed with entities and network access off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daybreak_sdtm import api
from daybreak_sdtm.cli import main


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xml") / "sdtm"
    api.convert(out_dir=out, timestamp="2026-10-01T00:00:00")
    return out


def test_external_entities_are_not_expanded(package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    define = (package / "define.xml").read_text(encoding="utf-8")
    doctype = f'<!DOCTYPE ODM [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
    head, _, body = define.partition("?>\n")
    # The entity is used where define.xml carries a label, so an expansion would reach the findings.
    label = '<TranslatedText xml:lang="en">Reported Term for the Adverse Event</TranslatedText>'
    assert label in body
    body = body.replace(label, '<TranslatedText xml:lang="en">&leak;</TranslatedText>', 1)
    evil = tmp_path / "define.xml"
    evil.write_text(head + "?>\n" + doctype + body, encoding="utf-8")
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    main(["validate", str(copy), "--define", str(evil), "--format", "json", "-o", str(tmp_path / "r.json")])
    captured = capsys.readouterr()
    assert "TOP-SECRET-CONTENT" not in captured.out + captured.err
    assert "TOP-SECRET-CONTENT" not in (tmp_path / "r.json").read_text()
    assert "Traceback" not in captured.err


def test_a_define_that_is_not_xml_is_unusable_input(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "define.xml"
    bad.write_text("<ODM><unclosed></ODM>")
    assert main(["validate", str(package), "--define", str(bad)]) == 3
    assert capsys.readouterr().err.startswith(f"error: {bad}: not a readable define.xml")
