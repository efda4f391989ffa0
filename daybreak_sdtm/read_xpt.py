"""The one SAS transport (XPT) reader: records, labels and widths, text decoded with a known encoding.

XPT files do not say how their text is encoded. Packages this tool writes are ASCII; many
others hold Windows-1252 text (SAS on Windows), like the CDISC pilot's ts.xpt with its
"Alzheimer\\x92s". So:

* with no declared encoding a file is read as UTF-8; a dataset whose text is not UTF-8 is read
  as Windows-1252 instead, and every variable where that mattered is named in ``fallbacks``
  (the validation reports them, check DB113);
* with a declared encoding (``validate --encoding cp1252``, a study's ``export: encoding:``),
  text that does not decode is an error naming the file, variable, record and bytes.

Every caller (the package checks, the define, raw ``.xpt`` exports) reads through ``read_xpt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm.codec import FALLBACK_ENCODING, bytes_are, codec_name, display_name, first_undecodable, is_utf8
from daybreak_sdtm.errors import DaybreakError

# readstat hands each byte over as the one character of that code point: the bytes, losslessly.
_BYTES = "LATIN1"


class XptError(DaybreakError):
    """An XPT file cannot be read, or holds text that does not decode in the declared encoding."""


@dataclass(frozen=True)
class Fallback:
    """A variable whose text is not UTF-8 and was read as Windows-1252 (file undeclared).

    Attributes:
        variable: Variable name ("" for the dataset's name or label).
        record: 1-based record of the first such value (0 for a label).
        raw: The first bytes that are not UTF-8 in that value.
        char: What Windows-1252 makes of them.
        records: How many records of the variable hold text that is not UTF-8 (0 for a label).
        value: The value as read.
        what: Where it is, in words ("TSVAL record 12", "the label of TSVAL").
    """

    variable: str
    record: int
    raw: bytes
    char: str
    records: int
    value: str
    what: str


@dataclass(frozen=True)
class XptData:
    """One XPT file as read: records and header, every text decoded.

    ``frame`` is as pyreadstat gives it (numbers float64, SAS dates as dates) with text columns
    decoded; callers shape it for their use (``checks.package``, ``define.read``, ``raw``).
    """

    name: str  # dataset name from the header, upper case (the file stem when the header has none)
    label: str
    frame: pd.DataFrame
    labels: dict[str, str]
    widths: dict[str, int]  # storage width in bytes of every variable
    text_columns: tuple[str, ...]  # the character variables
    encoding: str  # the codec the text was read with
    fallbacks: tuple[Fallback, ...] = ()


ADVICE = "pass the package's own encoding with --encoding (e.g. cp1252 for Windows-1252)"


def read_xpt(path: Path, encoding: str | None = None, *, shown: str = "", advice: str = ADVICE) -> XptData:
    """Read one XPT (v5 or v8) file; text decoded with ``encoding``, or UTF-8 then Windows-1252 when None.

    Args:
        path: The file.
        encoding: The text encoding when declared (any Python codec name).
        shown: How messages name the file (default: its path).
        advice: What a message about undecodable text tells the user to do.

    Raises:
        XptError: the file is not a readable XPT file, ``encoding`` is no known encoding, or
            (with ``encoding`` given) a value does not decode in it.
    """
    shown = shown or str(path)
    declared = None
    if encoding:
        try:
            declared = codec_name(encoding)
        except ValueError as exc:
            raise XptError(f"--encoding: {exc}") from None
    if declared is None or is_utf8(declared):
        try:  # the usual case: UTF-8 (ASCII) text, decoded by pyreadstat itself
            frame, meta = _read(path, shown, None)
            return _data(path, frame, meta, "utf-8", ())
        except UnicodeDecodeError:
            pass  # some text is not UTF-8: read the bytes and decode them here, where they can be named
    frame, meta = _read(path, shown, _BYTES)
    if declared is not None:
        return _decode_declared(path, shown, advice, frame, meta, declared)
    return _decode_fallback(path, shown, advice, frame, meta)


def _read(path: Path, shown: str, encoding: str | None) -> tuple[pd.DataFrame, Any]:
    import pyreadstat

    try:
        return pyreadstat.read_xport(str(path), encoding=encoding)
    except UnicodeDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 (pyreadstat raises its own ReadstatError, or OSError/ValueError)
        raise XptError(f"{shown}: not a readable SAS transport (XPT) file ({exc})") from None


def _data(
    path: Path, frame: pd.DataFrame, meta: Any, encoding: str, fallbacks: tuple[Fallback, ...], decode: Any = None
) -> XptData:
    decode = decode or (lambda text, _variable, _what: text)
    types = meta.readstat_variable_types or {}
    text_columns = tuple(str(c) for c in frame.columns if types.get(c) == "string")
    name = decode(str(meta.table_name or ""), "", "the dataset name").strip().upper() or path.stem.upper()
    labels = {
        str(k): decode(str(v or ""), str(k), f"the label of {k}")
        for k, v in (meta.column_names_to_labels or {}).items()
    }
    widths = {str(k): int(v) for k, v in (meta.variable_storage_width or {}).items()}
    return XptData(
        name,
        decode(str(meta.file_label or ""), "", "the dataset label"),
        frame,
        labels,
        widths,
        text_columns,
        encoding,
        fallbacks,
    )


def _distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, distinct values, which distinct values hold bytes above 0x7f) of a text column read as bytes."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    high = np.fromiter((isinstance(v, str) and not v.isascii() for v in distinct), dtype=bool, count=len(distinct))
    return codes, distinct, high


def _first_record(codes: np.ndarray, code: int) -> int:
    return int(np.flatnonzero(codes == code)[0]) + 1


def _decode_declared(path: Path, shown: str, advice: str, frame: pd.DataFrame, meta: Any, codec: str) -> XptData:
    """Every value's bytes decoded with the declared codec; the first that does not decode is an error."""

    def refuse(what: str, raw: bytes, exc: UnicodeDecodeError) -> XptError:
        return XptError(
            f"{shown}: {what}: {bytes_are(raw[exc.start : exc.end])} not {display_name(codec)} text; {advice}"
        )

    def decode(text: str, _variable: str, what: str) -> str:
        raw = text.encode("latin-1")
        exc = first_undecodable(raw, codec)
        if exc is not None:
            raise refuse(what, raw, exc)
        return raw.decode(codec)

    data = _data(path, frame, meta, codec, (), decode)
    for col in data.text_columns:
        codes, uniques, high = _distinct(frame[col])
        if not high.any():
            continue
        decoded = uniques.copy()
        for i in np.flatnonzero(high).tolist():
            raw = uniques[i].encode("latin-1")
            exc = first_undecodable(raw, codec)
            if exc is not None:
                raise refuse(f"{col} record {_first_record(codes, i)}", raw, exc)
            decoded[i] = raw.decode(codec)
        frame[col] = _spread(frame[col], codes, decoded)
    return data


def _decode_fallback(path: Path, shown: str, advice: str, frame: pd.DataFrame, meta: Any) -> XptData:
    """The dataset's text is not all UTF-8: all of it is read as Windows-1252, and where that mattered is kept."""
    fallbacks: list[Fallback] = []

    def decode(text: str, variable: str, what: str) -> str:
        raw = text.encode("latin-1")
        value = _cp1252(shown, advice, what, raw)
        if first_undecodable(raw, "utf-8") is not None:
            fallbacks.append(_fallback(variable, 0, raw, value, what, 0))
        return value

    data = _data(path, frame, meta, FALLBACK_ENCODING, (), decode)
    for col in data.text_columns:
        codes, uniques, high = _distinct(frame[col])
        if not high.any():
            continue
        decoded = uniques.copy()
        first: tuple[int, int] | None = None  # (record, distinct value) of the first value that is not UTF-8
        count = 0
        for i in np.flatnonzero(high).tolist():
            raw = uniques[i].encode("latin-1")
            record = _first_record(codes, i)
            decoded[i] = _cp1252(shown, advice, f"{col} record {record}", raw)
            if first_undecodable(raw, "utf-8") is not None:
                count += int((codes == i).sum())
                if first is None or record < first[0]:
                    first = (record, i)
        if first is not None:
            record, i = first
            fallbacks.append(
                _fallback(col, record, uniques[i].encode("latin-1"), decoded[i], f"{col} record {record}", count)
            )
        frame[col] = _spread(frame[col], codes, decoded)
    return XptData(
        data.name,
        data.label,
        data.frame,
        data.labels,
        data.widths,
        data.text_columns,
        FALLBACK_ENCODING,
        tuple(fallbacks),
    )


def _fallback(variable: str, record: int, raw: bytes, value: str, what: str, records: int) -> Fallback:
    """Where text is not UTF-8: its first offending bytes and what Windows-1252 makes of them."""
    exc = first_undecodable(raw, "utf-8")
    assert exc is not None, "only text that is not UTF-8 falls back"
    bad = raw[exc.start : exc.end]
    return Fallback(variable, record, bad, bad.decode(FALLBACK_ENCODING, errors="replace"), records, value, what)


def _cp1252(shown: str, advice: str, what: str, raw: bytes) -> str:
    exc = first_undecodable(raw, FALLBACK_ENCODING)
    if exc is not None:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d mean nothing in Windows-1252
        raise XptError(
            f"{shown}: {what}: {bytes_are(raw[exc.start : exc.end])} neither UTF-8 nor Windows-1252 text; {advice}"
        )
    return raw.decode(FALLBACK_ENCODING)


def _spread(values: pd.Series, codes: np.ndarray, decoded: np.ndarray) -> pd.Series:
    """The column with each distinct value replaced by its decoded text (missing values kept)."""
    table = np.empty(len(decoded) + 1, dtype=object)
    table[:-1] = decoded
    table[-1] = None
    return pd.Series(table[codes], index=values.index, dtype=object)


# An XPT v5 file is made of 80-byte records: 9 header records (library, member, NAMESTR and OBS
# headers), a 140-byte NAMESTR per variable, then the observations, each section padded to 80 bytes.
XPT_BLOCK = 80
_XPT_HEADERS = 9 * XPT_BLOCK
_NAMESTR = 140


def _padded(length: int) -> int:
    return -(-length // XPT_BLOCK) * XPT_BLOCK


def xpt_header_size(variables: int) -> int:
    """The bytes of an XPT v5 file before its first observation."""
    return _XPT_HEADERS + _padded(_NAMESTR * variables)


def xpt_size(variables: int, record_length: int, records: int) -> int:
    """The size in bytes of the XPT v5 file of ``records`` records of ``record_length`` bytes each."""
    return xpt_header_size(variables) + _padded(record_length * records)


@dataclass(frozen=True)
class XptLayout:
    """An XPT file's dataset name, variables with their widths, and records, read from its header and size."""

    name: str
    widths: dict[str, int]
    records: int


def xpt_layout(path: Path) -> XptLayout:
    """The name, widths and record count of an XPT v5 file, without reading its observations.

    The records follow from the file's size; blank records in the last 80 bytes are its padding
    (a record of SDTM data is never blank: STUDYID is required).
    """
    import pyreadstat

    try:
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    except Exception as exc:  # noqa: BLE001 (pyreadstat raises its own ReadstatError, or OSError/ValueError)
        raise XptError(f"{path}: not a readable SAS transport (XPT) file ({exc})") from None
    widths = {str(k): int(v) for k, v in (meta.variable_storage_width or {}).items()}
    length = sum(widths.values())
    start = xpt_header_size(len(widths))
    size = path.stat().st_size
    records = (size - start) // length if length else 0
    with path.open("rb") as fh:
        while records and start + records * length > size - XPT_BLOCK:
            fh.seek(start + (records - 1) * length)
            if fh.read(length).strip(b" "):
                break
            records -= 1
    return XptLayout(str(meta.table_name or path.stem).strip().upper(), widths, records)
