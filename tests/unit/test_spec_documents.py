"""study.yaml ``documents:``: the annotated CRF with the pages of each form, other documents by
file; every mistake one SpecError at the file:line:col of what caused it."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak_sdtm.errors import Location, SpecError, SpecErrors
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.spec.check import check_documents, check_study_spec
from daybreak_sdtm.spec.model import ACRF, DocumentSpec
from daybreak_sdtm.standards import Standards, read_standards
from tests.unit.test_spec_check import AE, DM, HEADERS, STUDY

DOCUMENTS = """\
documents:
  acrf:
    file: docs/acrf.pdf
    title: Annotated Case Report Form
    pages: {dm: 1, ae: [2, 3]}
  csdrg: csdrg.pdf
"""


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def _study(tmp_path: Path, documents: str = DOCUMENTS, files: tuple[str, ...] = ("docs/acrf.pdf", "csdrg.pdf")) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.yaml").write_text(STUDY + documents, encoding="utf-8")
    (folder / "dm.yaml").write_text(DM, encoding="utf-8")
    (folder / "ae.yaml").write_text(AE, encoding="utf-8")
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"%PDF-1.4\n")
    return folder


def _at(folder: Path, text: str, part: str) -> Location:
    """Where ``part`` is written on the line of study.yaml holding ``text``."""
    for number, line in enumerate((folder / "study.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return Location((folder / "study.yaml").as_posix(), number, line.index(part) + 1)
    raise AssertionError(f"{text!r} not in study.yaml")


def _load_errors(folder: Path) -> list[SpecError]:
    with pytest.raises(SpecErrors) as caught:
        load_study(folder)
    return caught.value.errors


def test_the_long_and_the_short_form(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path)
    study = load_study(folder)
    assert study.documents == (
        DocumentSpec(
            ACRF,
            "docs/acrf.pdf",
            _at(folder, "file: docs/acrf.pdf", "docs"),
            "Annotated Case Report Form",
            {"dm": (1,), "ae": (2, 3)},
            {"dm": _at(folder, "pages:", "1"), "ae": _at(folder, "pages:", "[2, 3]")},
        ),
        DocumentSpec("csdrg", "csdrg.pdf", _at(folder, "csdrg:", "csdrg.pdf")),
    )
    assert study.document(ACRF) is not None and study.document(ACRF).href == "acrf.pdf"  # type: ignore[union-attr]
    assert check_study_spec(study, standards, HEADERS) == []


@pytest.mark.parametrize(
    ("documents", "text", "part", "key", "problem"),
    [
        ("documents: [acrf.pdf]\n", "documents:", "[", "documents", "expected a mapping, found a list"),
        (
            "documents:\n  acrf: {file: acrf.pdf, titel: CRF}\n",
            "titel",
            "titel",
            "documents.acrf",
            "unknown key 'titel'",
        ),
        (
            "documents:\n  csdrg: guide.docx\n",
            "guide",
            "guide",
            "documents.csdrg.file",
            "'guide.docx' is not a PDF file: documents are submitted as PDF",
        ),
        (
            "documents:\n  acrf: ../acrf.pdf\n",
            "acrf:",
            "../",
            "documents.acrf.file",
            "'../acrf.pdf' is not inside the study folder (give it relative to study.yaml)",
        ),
        (
            "documents:\n  acrf: /tmp/acrf.pdf\n",
            "acrf:",
            "/tmp",
            "documents.acrf.file",
            "'/tmp/acrf.pdf' is not inside the study folder (give it relative to study.yaml)",
        ),
        ("documents:\n  acrf: {title: CRF}\n", "acrf:", "{", "documents.acrf", "missing required key 'file'"),
        (
            "documents:\n  acrf: [acrf.pdf]\n",
            "acrf:",
            "acrf:",
            "documents.acrf",
            "expected a file name or {file, title, pages}, found a list",
        ),
        (
            "documents:\n  a crf: acrf.pdf\n",
            "a crf",
            "a crf",
            "documents.a crf",
            "'a crf' is not a document kind (letters, digits, _ and -)",
        ),
        (
            "documents:\n  csdrg: {file: csdrg.pdf, pages: {dm: 1}}\n",
            "pages",
            "pages",
            "documents.csdrg.pages",
            "only the annotated CRF (acrf) gives the pages of forms",
        ),
        (
            "documents:\n  acrf: {file: acrf.pdf, pages: {dm: '1'}}\n",
            "pages",
            "'1'",
            "documents.acrf.pages.dm",
            "expected a page number or a list of them (from 1), found '1'",
        ),
        (
            "documents:\n  acrf: {file: acrf.pdf, pages: {dm: 0}}\n",
            "pages",
            "0",
            "documents.acrf.pages.dm",
            "expected a page number or a list of them (from 1), found '0'",
        ),
        (
            "documents:\n  acrf: {file: acrf.pdf, pages: {dm: [1, 1]}}\n",
            "pages",
            "[1, 1]",
            "documents.acrf.pages.dm",
            "a page is listed twice",
        ),
        (
            "documents:\n  acrf: {file: acrf.pdf, pages: {dm/x: 1}}\n",
            "pages",
            "dm/x",
            "documents.acrf.pages",
            "'dm/x' is not a form name (letters, digits, _ and -; no paths)",
        ),
    ],
)
def test_each_mistake_is_one_error_where_it_is_written(
    tmp_path: Path, documents: str, text: str, part: str, key: str, problem: str
) -> None:
    folder = _study(tmp_path, documents)
    [error] = _load_errors(folder)
    assert (error.where, error.key, error.problem) == (_at(folder, text, part), key, problem)


def test_two_documents_of_one_file_name(tmp_path: Path) -> None:
    folder = _study(tmp_path, "documents:\n  acrf: acrf.pdf\n  sdrg: docs/ACRF.pdf\n")
    [error] = _load_errors(folder)
    assert (error.where, error.key) == (_at(folder, "sdrg:", "docs"), "documents.sdrg.file")
    assert error.problem.startswith("'ACRF.pdf' is also the file of acrf (")


def test_a_missing_file_is_an_error_at_its_line(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, files=("docs/acrf.pdf",))
    study = load_study(folder)  # the spec itself is sound: the file is looked for when it is checked
    [error] = check_study_spec(study, standards, HEADERS)
    assert (error.where, error.key) == (_at(folder, "csdrg:", "csdrg.pdf"), "documents.csdrg.file")
    assert error.problem == f"'csdrg.pdf' not found in {folder}"


def test_pages_of_forms_the_export_has_and_of_every_form_read(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, DOCUMENTS.replace("{dm: 1, ae: [2, 3]}", "{dm: 1, lab: 4}"))
    errors = {e.problem: e for e in check_documents(load_study(folder), HEADERS)}
    assert set(errors) == {
        "form 'lab' is not in the export",
        "form 'ae' (read by AE) has no page in the annotated CRF",
    }
    assert errors["form 'lab' is not in the export"].where == _at(folder, "pages:", "4")
    missing = errors["form 'ae' (read by AE) has no page in the annotated CRF"]
    assert (missing.where, missing.hint) == (_at(folder, "file: docs", "docs"), "add it under documents: acrf: pages:")
    # Without the export's headers, the forms the export has are not known: only the forms read count.
    assert [e.problem for e in check_documents(load_study(folder))] == [missing.problem]
