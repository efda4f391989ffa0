"""One converted sample package per test session, and helpers to read its define.xml back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from daybreak_sdtm import api
from daybreak_sdtm.resources import default_study_dir

TIMESTAMP = "2026-09-30T12:00:00+00:00"
NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Daybreak-01 export converted with a fixed timestamp."""
    out = tmp_path_factory.mktemp("define") / "pkg"
    mp = pytest.MonkeyPatch()
    mp.delenv("SOURCE_DATE_EPOCH", raising=False)  # the fixed timestamp must win
    try:
        api.convert(out_dir=out, timestamp=TIMESTAMP)
    finally:
        mp.undo()
    return out


@pytest.fixture(scope="session")
def define_doc(package: Path) -> etree._ElementTree:
    """The sample package's define.xml, parsed."""
    return etree.parse(str(package / "define.xml"), etree.XMLParser(resolve_entities=False, no_network=True))


def xp(node: etree._Element | etree._ElementTree, path: str) -> list:
    """XPath with the define namespaces."""
    return node.xpath(path, namespaces=NS)


def text(node: etree._Element, path: str = "odm:Description/odm:TranslatedText") -> str:
    """The first TranslatedText under ``path``."""
    found = xp(node, path)
    return found[0].text if found else ""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A copy of the bundled Daybreak-01 mapping, for imports to write into."""
    folder = tmp_path / "study"
    shutil.copytree(default_study_dir(), folder)
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled study's spec workbook."""
    path = tmp_path_factory.mktemp("spec") / "spec.xlsx"
    api.spec_export(path)
    return path
