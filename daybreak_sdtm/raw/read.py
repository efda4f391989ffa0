"""Read raw EDC exports as text, every record tagged with its file and record number.

A mapping spec names a CRF *form* (``ae``); the export folder decides the format
(``ae.csv``, ``ae.sas7bdat`` or ``ae.xpt``). Values are read as ``str`` and never type-guessed:
"NA" is a real CRF answer and "007" a subject number.

CSV and XPT text is decoded with the export's declared encoding (study.yaml ``export: encoding:``
or ``convert --encoding``; UTF-8 by default); bytes that do not decode are an error naming the
file, record, column and bytes. SAS7BDAT files record their own encoding.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.codec import DEFAULT_ENCODING, bytes_are, display_name, is_utf8
from daybreak_sdtm.errors import RawDataError

SRC_FILE, SRC_ROW = "_src_file", "_src_row"  # provenance columns; never written to XPT

Reader = Callable[[Path, str], pd.DataFrame]  # (file, encoding) -> text frame
DECLARE_ENCODING = (
    "declare the export's encoding with `export: encoding:` in study.yaml or `convert --encoding` "
    "(e.g. cp1252 for Windows-1252)"
)
READERS: dict[str, Reader] = {}


def reader(*extensions: str) -> Callable[[Reader], Reader]:
    """Register ``fn`` as the reader of files with these extensions."""

    def register(fn: Reader) -> Reader:
        for ext in extensions:
            if ext in READERS:
                raise RuntimeError(f"reader for {ext!r} registered twice")
            READERS[ext] = fn
        return fn

    return register


def find_form(export_dir: Path, form: str) -> Path:
    """The one file holding ``form`` in ``export_dir``; refuses none and several."""
    found = [export_dir / f"{form}{ext}" for ext in READERS if (export_dir / f"{form}{ext}").is_file()]
    if not found:
        tried = ", ".join(f"{form}{ext}" for ext in READERS)
        raise RawDataError(f"{export_dir}: raw form {form!r} not found (looked for {tried})")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise RawDataError(f"{export_dir}: form {form!r} is exported twice ({names}); keep one")
    return found[0]


def read_form(export_dir: Path, form: str, encoding: str = DEFAULT_ENCODING) -> pd.DataFrame:
    """Read one CRF form as text, with ``_src_file`` and 1-based ``_src_row`` columns added.

    ``encoding`` (a Python codec name) is the export's text encoding.
    """
    path = find_form(export_dir, form)
    frame = READERS[path.suffix.lower()](path, encoding)
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise RawDataError(f"{path.name}: duplicate column(s) {', '.join(duplicated)} in the header")
    # Record number, not line number: quoted fields can span lines.
    frame[SRC_FILE] = path.name
    frame[SRC_ROW] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _utf8(path: Path, encoding: str) -> bytes:
    """The file's text as UTF-8 bytes, once checked to decode in ``encoding`` and not to be empty.

    A UTF-8 file (an optional BOM allowed) is only checked: the parser reads its bytes as they are.
    """
    data = path.read_bytes()
    if not data.strip():
        raise RawDataError(f"{path.name}: file is empty (expected a header row)")
    utf8 = is_utf8(encoding)
    try:
        text = data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(path, data, exc, "utf-8-sig" if utf8 else encoding) from None
    if utf8:
        return data
    return text.encode("utf-8")


def _undecodable(path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str) -> RawDataError:
    """The error for bytes of a CSV export that do not decode: file, record, line, column and bytes.

    Everything before the offending bytes decodes, so the record and column are found by parsing
    that text (only on this error path) with the offending field's start marked.
    """
    line = data.count(b"\n", 0, exc.start) + 1
    head = data[: exc.start].decode(encoding)
    rows = list(csv.reader(io.StringIO(head + "\x01")))  # the marker keeps the offending field's row and place
    header = [h.strip() for h in rows[0]] if len(rows) > 1 else []
    where = f"{path.name} header (line {line})"
    if len(rows) > 1:
        index = len(rows[-1]) - 1
        column = header[index] if index < len(header) else f"{index + 1} (beyond the header)"
        where = f"{path.name} record {len(rows) - 1} column {column} (line {line})"
    return RawDataError(
        f"{where}: {bytes_are(data[exc.start : exc.end])} not {display_name(encoding)} text; {DECLARE_ENCODING}"
    )


@reader(".csv")
def read_csv(path: Path, encoding: str = DEFAULT_ENCODING) -> pd.DataFrame:
    """Read a CSV export (comma-separated, RFC 4180 quoting) in ``encoding`` (UTF-8: optional BOM)."""
    data = _utf8(path, encoding)
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig")
    if "," not in header_line and any(sep in header_line for sep in (";", "\t", "|")):
        raise RawDataError(f"{path.name}:1: header has no comma; the file looks delimited by another character")
    header = [h.strip() for h in next(csv.reader([header_line]), [])]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:  # pandas would rename them A.1, A.2 and carry on
        raise RawDataError(f"{path.name}:1: duplicate column(s) {', '.join(repeated)} in the header")
    try:
        # From the bytes, not from decoded text: the C parser would encode text back to UTF-8.
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8-sig",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_MINIMAL,
            skipinitialspace=False,
        )
    except pd.errors.ParserError as exc:
        raise RawDataError(f"{path.name}: {exc}") from None
    except pd.errors.EmptyDataError:
        raise RawDataError(f"{path.name}: file is empty (expected a header row)") from None
    _check_complete_records(path, data, len(frame.columns))
    return frame


def _check_complete_records(path: Path, data: bytes, n_columns: int) -> None:
    """Refuse a last record with fewer fields than the header (a file cut off mid-record).

    pandas pads short rows with empty values, so a truncated export would otherwise read as
    a complete one. Only the tail is parsed: reading stays one vectorised pass.
    """
    body = data.rstrip(b"\r\n")
    last_line = body.rsplit(b"\n", 1)[-1].decode("utf-8")
    if b"\n" not in body or last_line.count('"') % 2:
        return  # header only, or the last line continues a quoted field
    fields = next(csv.reader([last_line]), [])
    if fields and len(fields) < n_columns:
        line_no = body.count(b"\n") + 1
        raise RawDataError(
            f"{path.name}:{line_no}: record has {len(fields)} field(s), the header has {n_columns}; "
            "the file may be cut off"
        )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a typed SAS dataset into text columns as a CSV export would carry them."""
    out = {}
    for name, col in frame.items():
        if pd.api.types.is_datetime64_any_dtype(col):
            out[name] = col.dt.strftime("%Y-%m-%d").fillna("")
        elif pd.api.types.is_numeric_dtype(col):
            whole = col.notna() & (col % 1 == 0)
            text = col.astype(str)
            text = text.where(~whole, col.where(whole).astype("Int64").astype(str))
            out[name] = text.where(col.notna(), "")
        else:
            out[name] = col.map(lambda v: "" if v is None or v != v else str(v))
    return pd.DataFrame(out, dtype=str)


@reader(".sas7bdat")
def read_sas7bdat(path: Path, encoding: str = DEFAULT_ENCODING) -> pd.DataFrame:
    """Read a SAS7BDAT export through pyreadstat (the file records its own encoding)."""
    import pyreadstat

    try:
        frame, _ = pyreadstat.read_sas7bdat(str(path))
    except Exception as exc:  # noqa: BLE001 (pyreadstat raises its own untyped errors for unreadable files)
        raise RawDataError(f"{path.name}: not a readable SAS7BDAT file ({exc})") from None
    return _as_text(frame)


@reader(".xpt")
def read_xpt(path: Path, encoding: str = DEFAULT_ENCODING) -> pd.DataFrame:
    """Read a SAS transport (XPT) export, its text in ``encoding`` (``daybreak_sdtm.read_xpt``)."""
    from daybreak_sdtm.read_xpt import XptError
    from daybreak_sdtm.read_xpt import read_xpt as read_transport

    try:
        data = read_transport(path, encoding, shown=path.name, advice=DECLARE_ENCODING)
    except XptError as exc:
        raise RawDataError(str(exc)) from None
    return _as_text(data.frame)
