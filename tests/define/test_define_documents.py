"""The study's documents in the package and its define: the annotated CRF cited page by page on
every collected origin, the reviewer's guide as a supplemental document, both files published
next to define.xml; a document that is not there stops the conversion before anything is written;
method texts are sentences a reviewer reads."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from daybreak_sdtm import cli
from daybreak_sdtm.errors import ExitStatus
from daybreak_sdtm.resources import default_study_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.spec.model import ACRF
from tests.define.conftest import TIMESTAMP, text, xp


def _collected(define_doc: etree._ElementTree) -> dict[str, etree._Element]:
    """Item OID -> def:Origin of every item collected on the CRF."""
    return {
        o.getparent().get("OID"): o
        for o in xp(define_doc, "//odm:ItemDef/def:Origin[@Type='Collected' and @Source='Investigator']")
    }


def _pages(origin: etree._Element) -> str:
    return str(xp(origin, "string(def:DocumentRef[@leafID='LF.acrf']/def:PDFPageRef/@PageRefs)"))


def test_every_collected_origin_cites_the_pages_of_its_form(define_doc: etree._ElementTree) -> None:
    collected = _collected(define_doc)
    assert len(collected) > 50
    for oid, origin in collected.items():
        assert xp(origin, "def:DocumentRef/def:PDFPageRef/@Type") == ["PhysicalRef"], oid
    pages = {oid: _pages(origin) for oid, origin in collected.items()}
    acrf = load_study(default_study_dir()).document(ACRF)
    assert acrf is not None
    assert pages["IT.DM.SEX"] == " ".join(map(str, acrf.pages["dm"]))
    assert pages["IT.AE.AETERM"] == pages["IT.SUPPAE.QVAL.AEIRAE"] == " ".join(map(str, acrf.pages["ae"]))
    assert pages["IT.EX.EXDOSE"] == "3 4"  # a form on two pages
    assert pages["IT.DM.DTHDTC"] == " ".join(map(str, acrf.pages["death"]))  # read from the joined form death
    # Only values collected on the CRF cite it: not derived or assigned ones, nor vendor data (eDT).
    assert xp(define_doc, "//def:Origin[@Type!='Collected' or @Source!='Investigator']/def:DocumentRef") == []


def test_the_cited_pages_are_pages_of_the_bundled_acrf(define_doc: etree._ElementTree, package: Path) -> None:
    pdf = (package / "acrf.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    count = int(re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", pdf).group(1))  # type: ignore[union-attr]
    cited = {int(n) for o in _collected(define_doc).values() for n in _pages(o).split()}
    assert cited and max(cited) <= count


def test_documents_are_leaves_with_their_titles(define_doc: etree._ElementTree) -> None:
    assert xp(define_doc, "//def:AnnotatedCRF/def:DocumentRef/@leafID") == ["LF.acrf"]
    assert xp(define_doc, "//def:SupplementalDoc/def:DocumentRef/@leafID") == ["LF.csdrg"]
    leaves = {leaf.get("ID"): leaf for leaf in xp(define_doc, "//odm:MetaDataVersion/def:leaf")}
    assert set(leaves) == {"LF.acrf", "LF.csdrg"}
    assert xp(leaves["LF.acrf"], "string(@xlink:href)") == "acrf.pdf"
    assert xp(leaves["LF.acrf"], "string(def:title)") == "Annotated CRF"
    assert xp(leaves["LF.csdrg"], "string(@xlink:href)") == "csdrg.pdf"
    assert xp(leaves["LF.csdrg"], "string(def:title)") == "Clinical Study Data Reviewer's Guide"


def test_documents_are_published_next_to_define(package: Path) -> None:
    study = default_study_dir()
    for name in ("acrf.pdf", "csdrg.pdf"):
        assert (package / name).read_bytes() == (study / name).read_bytes()
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert {"acrf.pdf", "csdrg.pdf"} <= set(manifest["files"])
    assert not (package / "mapping" / "acrf.pdf").exists()  # the mapping copy holds the specs only


def test_define_html_links_each_cited_page(package: Path) -> None:
    html = (package / "define.html").read_text(encoding="utf-8")
    assert 'href="acrf.pdf#page=3"' in html and 'href="acrf.pdf#page=4"' in html
    assert 'href="csdrg.pdf"' in html


def test_a_missing_document_stops_the_conversion_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    (study / "csdrg.pdf").unlink()
    out = tmp_path / "pkg"
    code = cli.main(["convert", "--study", str(study), "--out", str(out), "-q", "--timestamp", TIMESTAMP])
    assert code == ExitStatus.INVALID_INPUT == 3
    lines = (study / "study.yaml").read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("csdrg:"))
    err = capsys.readouterr().err
    assert f"study.yaml:{number}:" in err and "'csdrg.pdf' not found" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_method_texts_are_sentences_not_calls(define_doc: etree._ElementTree) -> None:
    methods = {m.get("OID"): text(m) for m in xp(define_doc, "//odm:MethodDef")}
    assert methods
    for oid, description in methods.items():
        assert "derive_" not in description and "[" not in description, (oid, description)
        assert not description.startswith(("then ", "--")), (oid, description)
    assert methods["MT.AE.AEENDY"] == (
        "Study day of AEENDTC relative to DM.RFSTDTC (day 1 = DM.RFSTDTC, no day 0); blank when either date is partial"
    )
    assert methods["MT.DM.ARMNRS"] == "NOT ASSIGNED when ARMCD is blank, blank otherwise"
    assert methods["MT.DM.DTHFL"] == "Y when DTHDAT (form death) is collected, blank otherwise"
    assert methods["MT.DM.RFXSTDTC"] == "The subject's earliest EX.EXSTDTC"
    assert methods["MT.SE.SESTDTC"].startswith("The date each element the subject entered started")
    assert "IND the first EX.EXSTDTC where EXCAT = INDUCTION" in methods["MT.SE.SESTDTC"]
    # --SEQ in the order of the keys define.xml declares for the dataset, named.
    assert methods["MT.AE.AESEQ"] == (
        "Sequence number 1, 2, 3 and so on of the subject's records, in the order of the dataset's keys "
        "(STUDYID, USUBJID, AEDECOD, AESTDTC)"
    )
    assert methods["MT.DS.DSSEQ"].endswith("in the order of DSSTDTC")


def test_define_brings_the_documents_it_links_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A reviewer's guide revised after the conversion: `define` links it, so the package gets it.
    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    pkg = tmp_path / "pkg"
    assert cli.main(["convert", "--study", str(study), "--out", str(pkg), "-q", "--timestamp", TIMESTAMP]) == 0
    revised = (study / "csdrg.pdf").read_bytes() + b"%% revised\n"
    (study / "csdrg.pdf").write_bytes(revised)
    assert cli.main(["define", "--study", str(study), "--package", str(pkg), "--timestamp", TIMESTAMP]) == 0
    assert (pkg / "csdrg.pdf").read_bytes() == revised
    manifest = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["csdrg.pdf"]["sha256"] == hashlib.sha256(revised).hexdigest()

    # The define written elsewhere, from the specs the package carries, has its documents beside it.
    elsewhere = tmp_path / "define-only"
    assert cli.main(["define", "--package", str(pkg), "--out", str(elsewhere), "--timestamp", TIMESTAMP]) == 0
    assert {p.name for p in elsewhere.iterdir()} >= {"define.xml", "define.html", "acrf.pdf", "csdrg.pdf"}
    assert (elsewhere / "csdrg.pdf").read_bytes() == revised

    # Someone else's file of the same name is never replaced.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "acrf.pdf").write_bytes(b"%PDF-1.4 someone else's\n")
    capsys.readouterr()
    code = cli.main(["define", "--study", str(study), "--package", str(pkg), "--out", str(foreign)])
    assert code != 0
    assert "acrf.pdf" in capsys.readouterr().err
    assert (foreign / "acrf.pdf").read_bytes() == b"%PDF-1.4 someone else's\n"
    assert not (foreign / "define.xml").exists()
