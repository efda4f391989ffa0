"""define.html opened in a real headless Chromium: every dataset and codelist is there and the links resolve."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from lxml import etree, html

from tests.browser import chromium_path, dump_dom, run_chromium
from tests.define.conftest import xp


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; a missing browser skips these tests locally but fails them in CI."""
    return chromium_path()


@pytest.fixture(scope="module")
def dom(chromium: str, package: Path) -> html.HtmlElement:
    """The DOM of define.html after Chromium loaded it from the package folder."""
    return html.fromstring(dump_dom(package / "define.html"))


def png_stats(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct bytes in the decompressed image data of a PNG.

    A blank page's image data is nearly all one filter byte and one colour; a page of text and
    tables uses most byte values.
    """
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_every_dataset_and_its_variables_are_in_the_page(dom: html.HtmlElement, define_doc: etree._ElementTree) -> None:
    for group in xp(define_doc, "//odm:ItemGroupDef"):
        section = dom.get_element_by_id(group.get("OID"))
        assert group.get("Name") in section.findtext("h2") or group.get("Name") in section.text_content()
        for oid in xp(group, "odm:ItemRef/@ItemOID"):
            row = dom.get_element_by_id(str(oid))
            assert row.tag == "tr"
            assert row.getparent().getparent() is not None and section in row.iterancestors()
    toc = dom.get_element_by_id("toc")
    assert {a.get("href") for a in toc.iter("a")} >= {f"#{g}" for g in xp(define_doc, "//odm:ItemGroupDef/@OID")}


def test_every_codelist_value_list_method_and_comment_is_in_the_page(
    dom: html.HtmlElement, define_doc: etree._ElementTree
) -> None:
    for oid in xp(define_doc, "//odm:CodeList/@OID|//def:ValueListDef/@OID|//odm:MethodDef/@OID|//def:CommentDef/@OID"):
        dom.get_element_by_id(str(oid))  # KeyError if missing
    epoch = dom.get_element_by_id("CL.EPOCH")
    assert "CONSOLIDATION TREATMENT" in epoch.text_content()
    assert epoch.find_class("extended")


def test_links_resolve(dom: html.HtmlElement, package: Path, define_doc: etree._ElementTree) -> None:
    ids = {el.get("id") for el in dom.iter() if el.get("id")}
    hrefs = [a.get("href") for a in dom.iter("a")]
    internal = [h[1:] for h in hrefs if h.startswith("#")]
    assert len(internal) > 150
    assert sorted(set(internal) - ids) == []
    # The only links out of the package: where the external dictionaries are published.
    external = {h for h in hrefs if h.startswith("https://")}
    assert (
        external
        == set(xp(define_doc, "//odm:ExternalCodeList/@href"))
        == {
            "https://www.meddra.org/",
            "https://www.iso.org/iso-3166-country-codes.html",
        }
    )
    files = [h for h in hrefs if not h.startswith(("#", "https://"))]
    xpt = {h for h in files if h.endswith(".xpt")}
    assert xpt == {p.name for p in package.glob("*.xpt")}
    for href in files:  # a document's page links open it at the page (acrf.pdf#page=7)
        assert (package / href.partition("#page=")[0]).is_file(), href


def test_screenshot_shows_a_rendered_page(chromium: str, package: Path, tmp_path: Path) -> None:
    shot = tmp_path / "define.png"
    run_chromium(f"--screenshot={shot}", "--window-size=1280,2000", (package / "define.html").as_uri())
    width, height, variety = png_stats(shot)
    assert (width, height) == (1280, 2000)
    assert shot.stat().st_size > 10_000
    # The same measure on a blank page, so the threshold is known to tell the two apart.
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    blank = tmp_path / "blank.png"
    run_chromium(f"--screenshot={blank}", "--window-size=1280,2000", blank_page.as_uri())
    assert png_stats(blank)[2] < 16 <= variety
