"""Write the bundled study's documents: mappings/daybreak-01/acrf.pdf and csdrg.pdf.

The annotated CRF has a page per form of the export (two for the exposure form), each listing
the form's fields with the SDTM variables read from them, as the mapping specs say; the pages
are those study.yaml's ``documents: acrf: pages:`` gives. The reviewer's guide is a short
placeholder. Both are plain PDF 1.4 with the standard Helvetica font, written without a PDF
library, and the same bytes on every run.

Run from the project root:  python tools/make_sample_documents.py
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from daybreak_sdtm import api
from daybreak_sdtm.build import export_headers
from daybreak_sdtm.spec import StudySpec
from daybreak_sdtm.spec.check import resolve_study
from daybreak_sdtm.spec.model import ACRF, VariantSpec

STUDY = Path("mappings/daybreak-01")
EXPORT = Path("examples/daybreak-01/export")
LINES_PER_PAGE = 44


def pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF of text pages (A4, Helvetica), one list of lines per page."""
    objects: list[bytes] = [b"", b""]  # catalog and page tree, filled in last
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        text = ["BT", "/F1 14 Tf", "50 800 Td", "18 TL"]
        for i, line in enumerate(lines):
            text.append(f"({_escape(line)}) Tj T*")
            if i == 0:
                text.append("/F1 10 Tf 14 TL")
        text.append("ET")
        stream = "\n".join(text).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (font, content)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def annotations(study: StudySpec) -> dict[str, dict[str, list[str]]]:
    """form -> raw column -> the SDTM variables read from it (``AE.AESTDTC``, ``SUPPAE.QVAL (AEIRAE)``)."""
    _, standards = api.load(STUDY)
    headers = export_headers(EXPORT, study.encoding or "utf-8")
    resolved = resolve_study(study, standards, headers)
    found: dict[str, dict[str, list[str]]] = {form: {c: [] for c in columns} for form, columns in headers.items()}
    for dom in study.domains:
        joined = {j.form for j in dom.source.joins}
        targets = [(v.spec.name, v) for v in resolved.variables[dom.name]]
        targets += [(f"SUPP{dom.name}.QVAL ({s.qnam})", v) for s, v in resolved.supplemental[dom.name]]
        for name, item in targets:
            label = name if name.startswith("SUPP") else f"{dom.name}.{name}"
            for column in item.raw_columns:
                form, dot, field = column.partition(".")
                if dot and form in joined:
                    found.setdefault(form, {}).setdefault(field, []).append(label)
                    continue
                for field in _form_columns(dom.source.variants, column):
                    found.setdefault(dom.source.form, {}).setdefault(field, []).append(label)
    return found


def _form_columns(variants: Sequence[VariantSpec], column: str) -> list[str]:
    """The form's columns behind a raw column of the domain's rows: an unpivoted column's one per
    variant, none for a variant's fixed value, else the column itself."""
    if not variants:
        return [column]
    if column in variants[0].values:
        return []
    if column in variants[0].columns:
        return [c for v in variants if (c := v.columns.get(column))]
    return [column]


def acrf_pages(study: StudySpec) -> list[list[str]]:
    """The annotated CRF's pages, each form on the pages study.yaml gives it."""
    acrf = study.document(ACRF)
    if acrf is None:
        raise SystemExit(f"{study.file}: no documents: {ACRF}: declared")
    found = annotations(study)
    pages: dict[int, list[str]] = {}
    for form, numbers in acrf.pages.items():
        reason = study.forms_not_mapped.get(form)
        not_mapped = set(study.columns_not_mapped.get(form, ()))
        lines = []
        for column, targets in found.get(form, {}).items():
            if targets:
                lines.append(f"{column}:  {', '.join(dict.fromkeys(targets))}")
            elif column == study.subject_column or column in not_mapped or reason:
                lines.append(
                    f"{column}:  {'USUBJID (with STUDYID)' if column == study.subject_column else 'NOT SUBMITTED'}"
                )
        per_page = -(-len(lines) // len(numbers))
        for i, number in enumerate(numbers):
            head = f"{study.studyid} annotated CRF, page {number}: form {form}" + (
                f" ({i + 1} of {len(numbers)})" if len(numbers) > 1 else ""
            )
            body = lines[i * per_page : (i + 1) * per_page]
            note = [f"Not submitted: {reason}"] if reason else []
            pages[number] = [head, "", *note, *body][:LINES_PER_PAGE]
    missing = sorted(set(range(1, max(pages) + 1)) - set(pages))
    if missing:
        raise SystemExit(f"{study.file}: documents: {ACRF}: pages: no form on page(s) {missing}")
    return [pages[n] for n in sorted(pages)]


def csdrg_pages(study: StudySpec) -> list[list[str]]:
    """A reviewer's guide placeholder: the study and what the package holds."""
    return [
        [
            f"{study.studyid} Clinical Study Data Reviewer's Guide",
            "",
            f"Protocol {study.protocol}: {' '.join(study.title.split())[:90]}",
            "",
            f"SDTMIG {study.sdtmig}, CDISC Controlled Terminology {study.ct}.",
            f"Data cut-off: {study.cutoff}.",
            "",
            "Datasets: " + ", ".join(d.name for d in study.domains) + ", their SUPP-- datasets and the trial design.",
            "The annotated CRF (acrf.pdf) shows where each collected variable is read; define.xml cites its pages.",
            "The conformance section is written by daybreak-sdtm sdrg from the package's validation report.",
        ]
    ]


def main() -> None:
    study = api.load(STUDY)[0]
    for kind, pages in ((ACRF, acrf_pages(study)), ("csdrg", csdrg_pages(study))):
        doc = study.document(kind)
        if doc is None:
            raise SystemExit(f"{study.file}: no documents: {kind}: declared")
        path = study.folder / doc.file
        path.write_bytes(pdf(pages))
        print(f"{path}: {len(pages)} page(s)")


if __name__ == "__main__":
    main()
