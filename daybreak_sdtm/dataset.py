"""The one table model: an SDTM dataset in its written form, made by the mapping engine or read from a file.

``convert`` builds each dataset once in this form (``dataset_of``) and hands that one object to the
checks, the XPT writer, the define and the lineage; ``validate`` and ``define`` read the same model
from XPT files (``read_dataset``). What was checked is what is written and what the define describes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak_sdtm.errors import DaybreakError
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.read_xpt import Fallback, read_xpt
from daybreak_sdtm.standards.labels import dataset_label, variable_labels
from daybreak_sdtm.standards.model import domain_code
from daybreak_sdtm.text import text_byte_lengths, text_codes

if TYPE_CHECKING:
    from daybreak_sdtm.standards.model import Standards

# Values shown in a finding are cut here: a finding names a value, it does not copy a document.
MAX_SHOWN_VALUE = 60
# The smallest magnitude an IBM double (XPT v5) holds; smaller values are stored, and read back, as 0.
_IBM_TINY = 16.0**-65
NUMBER_WIDTH = 8  # every XPT numeric is an 8-byte double
# The folder of a package that holds the parts of the datasets split over a size limit
# (split/ae1.xpt, split/ae2.xpt ...), beside the whole dataset (ae.xpt), as FDA's Technical
# Conformance Guide asks (section 3.3.2, Dataset Size).
SPLIT_FOLDER = "split"


@dataclass(frozen=True)
class Sources:
    """The raw file and record of each row, made into text ("ae.csv record 14") only for the rows
    findings name: a text per record would cost a Python string for each of millions of records."""

    files: pd.Series  # file name of each row (aligned with the dataset's rows by position)
    records: np.ndarray  # 1-based record number in that file

    def __getitem__(self, position: int) -> str:
        return f"{self.files.iat[position]} record {self.records[position]}"

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class Part:
    """One file of a dataset split in record order: ``split/ae2.xpt`` holds records ``first`` to
    ``first + records - 1`` of AE, with the variables and lengths of the whole dataset."""

    file: str  # path inside the package, "/"-separated (split/ae2.xpt)
    first: int  # 1-based number, in the whole dataset, of the part's first record
    records: int


def part_file(name: str, number: int) -> str:
    """The file of a dataset's ``number``-th part (1-based) inside its package: ``split/ae1.xpt``."""
    return f"{SPLIT_FOLDER}/{name.lower()}{number}.xpt"


@dataclass
class Dataset:
    """One SDTM dataset in its written form: what the mapping engine returns, what the checks, the
    XPT writer, the define and the lineage consume, and what reading an XPT file gives back.

    Attributes:
        name: Dataset name as in the XPT header (``AE``, ``SUPPAE``).
        frame: One row per record; char variables as ``object`` with "" for null, numerics float64
            (``written_form``).
        label: Dataset label.
        labels: Variable name -> label.
        widths: Variable name -> storage width in bytes (XPT length: the longest value of a char
            variable, at least 1; 8 for a number).
        file: The file the dataset was read from, or is written as (``ae.xpt``); "" for frames
            made in memory by other tools.
        sources: Raw file and record of each row ("ae.csv record 14"), aligned with ``frame``
            (the lineage; only for datasets the mapping engine made).
        specs: Variable -> spec line that produced it ("mappings/daybreak-01/ae.yaml:9:12").
        qnam_specs: For SUPP-- datasets, QNAM -> spec line of the qualifier (QVAL's origin).
        fallbacks: Where the file's text was not UTF-8 and was read as Windows-1252 (check DB113).
        parts: The files the dataset is also split into (``split/ae1.xpt`` ...), in record
            order; () when it is not split.
    """

    name: str
    frame: pd.DataFrame
    label: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    widths: dict[str, int] = field(default_factory=dict)
    file: str = ""
    sources: Sources | None = None
    specs: dict[str, str] = field(default_factory=dict)
    qnam_specs: dict[str, str] = field(default_factory=dict)
    fallbacks: tuple[Fallback, ...] = ()
    parts: tuple[Part, ...] = ()
    # Char variable -> (codes, table) of its distinct values, made once and shared by every check
    # that asks a per-value question (spaces, ASCII, bytes, dates, the gx frame); see ``codes``.
    _codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)
    _codes_of: Any = field(default=None, repr=False, compare=False)
    # Variable -> ``text`` of a numeric variable, made once per distinct number (see ``text``).
    _texts: dict[str, pd.Series] = field(default_factory=dict, repr=False, compare=False)

    def codes(self, variable: str) -> tuple[np.ndarray, np.ndarray]:
        """A char variable as (codes, table of distinct ``str`` values): ``table[codes]`` is the column.

        A dataset holds few distinct values per variable (dates, terms, subjects), so a check
        computes its fact on ``table`` and spreads it with ``fact[codes]``; the factorisation is
        made once per variable and dataset. The table's last entry is "" (code -1).
        """
        self._forget_replaced_frame()
        if variable not in self._codes:
            values = self.frame[variable]
            if values.dtype == object:
                # Normalised char columns hold only str ("" for null): factorise them as they are,
                # where text_codes' astype(str) would first copy them into Arrow strings.
                codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=True)
                codes = codes.astype(np.int32) if len(uniques) < 2**31 - 1 else codes
                table = np.empty(len(uniques) + 1, dtype=object)
                table[:-1] = uniques
                table[-1] = ""
                self._codes[variable] = (codes, table)
            else:
                self._codes[variable] = text_codes(values)
        return self._codes[variable]

    def set_codes(self, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Adopt factorisations already made of this frame's columns (``written_form``)."""
        self._forget_replaced_frame()
        self._codes = dict(codes)

    def drop_caches(self) -> None:
        """Forget the factorisations and texts made for the checks (they are remade if asked for again)."""
        self._codes.clear()
        self._texts.clear()

    def _forget_replaced_frame(self) -> None:
        """Drop what was derived from a frame since replaced (a check or test swapped ``frame``)."""
        if self._codes_of is not self.frame:
            self._codes.clear()
            self._texts.clear()
            self._codes_of = self.frame

    def per_value(self, variable: str, fact: Callable[[pd.Series], Any]) -> np.ndarray:
        """A fact of each record's value of a char variable, computed once per distinct value.

        ``fact`` gets the distinct values (``str``, the last one "") as an object Series and
        returns one answer per value; the answers are spread to the records by code.
        """
        codes, table = self.codes(variable)
        return np.asarray(fact(pd.Series(table, dtype=object)))[codes]

    def positions_where(self, variable: str, fact: Callable[[pd.Series], Any]) -> np.ndarray:
        """0-based positions of the records whose value of a char variable ``fact`` flags, judged per distinct value.

        ``fact`` gets the distinct values as for ``per_value``; nothing is spread to the records
        when no value is flagged, the usual case of a clean package.
        """
        codes, table = self.codes(variable)
        flagged = np.asarray(fact(pd.Series(table, dtype=object)), dtype=bool)
        if not flagged.any():
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(flagged[codes])

    @property
    def href(self) -> str:
        """The dataset's file name inside its package (``ae.xpt``), as define.xml's def:leaf names it;
        ``split/ae1.xpt`` for a dataset read from its parts alone."""
        if not self.file:
            return f"{self.name.lower()}.xpt"
        first = self.parts[0].file if self.parts else ""
        if first and (self.file == first or self.file.endswith(f"/{first}")):
            return first
        return PurePosixPath(self.file).name

    @property
    def domain(self) -> str:
        """The domain the records belong to: AE for SUPPAE (RDOMAIN), LB for LBCH and SUPPLBCH."""
        return domain_code(self.name)

    @property
    def parent_name(self) -> str:
        """The dataset a SUPP-- dataset qualifies (LBCH for SUPPLBCH); the dataset itself otherwise."""
        return self.name[4:] if self.is_supp else self.name

    @property
    def is_supp(self) -> bool:
        """Whether this is a supplemental qualifiers dataset."""
        return self.name.startswith("SUPP") and len(self.name) > 4

    @property
    def seq_name(self) -> str:
        """The --SEQ variable's name (``AESEQ``), "" when the dataset has none."""
        name = f"{self.domain}SEQ"
        return name if name in self.frame.columns else ""

    def text(self, variable: str) -> pd.Series:
        """A variable as stripped-free text ("" for null, numbers as their text)."""
        values = self.frame[variable]
        if not pd.api.types.is_numeric_dtype(values):
            return values.fillna("").astype(str)
        self._forget_replaced_frame()
        if variable not in self._texts:
            # Each distinct number is written once (a --SEQ has a few hundred), then spread by code.
            codes, distinct = pd.factorize(values, use_na_sentinel=True)
            texts = np.empty(len(distinct) + 1, dtype=object)
            texts[:-1] = pd.Series(distinct).map(_num_text).to_numpy(dtype=object)
            texts[-1] = ""  # code -1: a missing number
            self._texts[variable] = pd.Series(texts[codes], index=values.index, dtype=object)
        return self._texts[variable]

    def findings(
        self,
        rule: str,
        severity: Severity,
        positions: np.ndarray | list[int],
        variable: str,
        message: str | list[str],
        *,
        values: pd.Series | None = None,
        core: str = "",
    ) -> Iterator[Finding]:
        """One finding per 0-based row position, with USUBJID, --SEQ, value, source and spec filled in.

        Args:
            rule: Check id.
            severity: Severity of each finding.
            positions: 0-based positions of the offending records in ``frame``.
            variable: Variable the finding is about ("" for a whole record).
            message: One message for all, or one per position.
            values: Values to show; defaults to the variable's own.
            core: The CORE rule of the rule table the findings are of ("" for a check's own).
        """
        rows = np.asarray(positions, dtype=np.int64)
        if not len(rows):
            return
        frame = self.frame
        usubjid = frame["USUBJID"].to_numpy() if "USUBJID" in frame.columns else None
        seq_col = self.seq_name
        seqs = frame[seq_col].to_numpy() if seq_col else None
        shown = values if values is not None else (self.text(variable) if variable in frame.columns else None)
        shown_arr = shown.to_numpy() if shown is not None else None
        srcs = self.sources
        qnams = frame["QNAM"].to_numpy() if self.is_supp and variable == "QVAL" and "QNAM" in frame.columns else None
        variable_spec = self.specs.get(variable, "")
        shown_of: dict[object, str] = {}  # a value is made into its shown text once
        for i, pos in enumerate(rows.tolist()):
            seq = seqs[pos] if seqs is not None else None
            spec = variable_spec if qnams is None else self.qnam_specs.get(str(qnams[pos]), variable_spec)
            value = ""
            if shown_arr is not None:
                raw = shown_arr[pos]
                value = shown_of.get(raw) if isinstance(raw, str) else None  # type: ignore[assignment]
                if value is None:
                    value = _shown(raw)
                    if isinstance(raw, str):
                        shown_of[raw] = value
            yield Finding(
                rule=rule,
                severity=severity,
                dataset=self.name,
                variable=variable,
                row=pos + 1,
                message=message if isinstance(message, str) else message[i],
                usubjid=str(usubjid[pos]) if usubjid is not None else "",
                seq=int(seq) if seq is not None and seq == seq else None,
                value=value,
                source=str(srcs[pos]) if srcs is not None else "",
                spec=spec,
                core=core,
            )

    def finding(self, rule: str, severity: Severity, variable: str, message: str, core: str = "") -> Finding:
        """A finding about the dataset or a variable as a whole (no record)."""
        return Finding(rule, severity, self.name, variable, None, message, spec=self.specs.get(variable, ""), core=core)


def _num_text(value: object) -> str:
    if value is None or value != value:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _shown(value: object) -> str:
    text = _num_text(value) if isinstance(value, (float, np.floating)) else ("" if value is None else str(value))
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def written_form(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """A frame as an XPT file holds it, plus the (codes, table) of every char column (``Dataset.codes``).

    Char columns become ``object`` columns of ``str`` with "" for null; numeric ones float64,
    with magnitudes below the smallest IBM double (XPT v5) as 0, as the file stores them.
    """
    out = {}
    coded = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = values.astype("float64")
            tiny = numbers.abs().lt(_IBM_TINY) & numbers.ne(0)
            out[str(col)] = numbers.mask(tiny, 0.0) if tiny.any() else numbers
        else:
            # One shared str per distinct value (8 bytes a record): a package of millions of
            # records stays small, where astype(object) would make a Python string per record.
            codes, table = text_codes(values)
            if len(table) < 2**31:  # half the memory of the int64 codes factorize gives, kept for the checks
                codes = codes.astype(np.int32)
            out[str(col)] = pd.Series(
                table[codes], index=values.index, dtype=object, copy=False
            )  # a new array: no copy
            coded[str(col)] = (codes, table)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame))), coded


def text_width(values: pd.Series) -> int:
    """The XPT storage width of a char column, as pyreadstat writes it: its longest value in UTF-8 bytes, at least 1."""
    if values.empty:
        return 1
    return max(1, int(text_byte_lengths(values).max()))


def _widths(frame: pd.DataFrame, coded: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, int]:
    """The XPT storage width of every variable: a char variable's ``text_width``, judged on its
    distinct values; 8 for a number."""
    return {
        col: text_width(pd.Series(coded[col][1], dtype=object)) if col in coded else NUMBER_WIDTH
        for col in frame.columns
    }


def dataset_of(
    name: str,
    frame: pd.DataFrame,
    standards: Standards | None = None,
    *,
    sources: Sources | None = None,
    specs: Mapping[str, str] | None = None,
    qnam_specs: Mapping[str, str] | None = None,
    file: str | None = None,
) -> Dataset:
    """A dataset made in memory, in its written form: labels from SDTMIG (when ``standards`` is
    given), widths from the values, lineage and spec lines when known, and the file it is
    written as (``file``, default ``<name>.xpt``)."""
    norm, coded = written_form(frame)
    ds = Dataset(
        name=name,
        frame=norm,
        label=dataset_label(name, standards) if standards is not None else "",
        labels=variable_labels(name, norm, standards) if standards is not None else {},
        widths=_widths(norm, coded),
        file=f"{name.lower()}.xpt" if file is None else file,
        sources=sources,
        specs=dict(specs or {}),
        qnam_specs=dict(qnam_specs or {}),
    )
    ds.set_codes(coded)  # the factorisation written_form made, reused by the checks
    return ds


class DatasetFileError(DaybreakError):
    """A Dataset-JSON file that cannot be read as one."""


DATASET_SUFFIXES = (".xpt", ".json", ".ndjson")  # the files a package's datasets are read from


def read_dataset(path: Path, encoding: str | None = None) -> Dataset:
    """Read one XPT or Dataset-JSON v1.1 (.json, .ndjson) file into the table model.

    An XPT header gives the dataset name, labels and widths; its text is decoded with
    ``encoding``, without one as UTF-8, or as Windows-1252 where it is not UTF-8 (``fallbacks``
    says where; see ``daybreak_sdtm.read_xpt``). A Dataset-JSON file gives the same from its
    metadata (string lengths as widths); it is UTF-8 by definition.
    """
    if path.suffix.lower() in (".json", ".ndjson"):
        return _read_dataset_json(path)
    data = read_xpt(path, encoding)
    norm, coded = written_form(data.frame)
    ds = Dataset(
        name=data.name,
        frame=norm,
        label=data.label,
        labels={col: data.labels.get(col, "") for col in norm.columns},
        widths={col: int(data.widths[col]) for col in norm.columns},
        file=path.as_posix(),
        fallbacks=data.fallbacks,
    )
    ds.set_codes(coded)
    return ds


def _read_parts(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    try:
        if path.suffix.lower() == ".ndjson":
            with path.open(encoding="utf-8") as fh:
                meta = json.loads(fh.readline())
                rows = [json.loads(line) for line in fh if line.strip()]
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data.pop("rows", [])
            meta = data
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFileError(f"{path}: not a readable Dataset-JSON file ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list) or "name" not in meta:
        raise DatasetFileError(f"{path}: not a Dataset-JSON file (no name and columns)")
    return meta, rows


def _read_dataset_json(path: Path) -> Dataset:
    """Read a Dataset-JSON v1.1 file (.json or .ndjson) into the table model, as ``read_dataset`` reads XPT."""
    meta, rows = _read_parts(path)
    columns: list[Mapping[str, Any]] = meta["columns"]
    names = [str(c.get("name", "")) for c in columns]
    if int(meta.get("records", len(rows))) != len(rows):
        raise DatasetFileError(f"{path}: says {meta.get('records')} records but holds {len(rows)}")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(names):
            raise DatasetFileError(f"{path}: record {number} does not have the {len(names)} columns")
    data: dict[str, pd.Series] = {}
    for i, column in enumerate(columns):
        values = [row[i] for row in rows]
        if column.get("dataType") == "string":
            data[names[i]] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        else:
            data[names[i]] = pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    frame, coded = written_form(pd.DataFrame(data, columns=names))
    ds = Dataset(
        name=str(meta["name"]),
        frame=frame,
        label=str(meta.get("label", "")),
        labels={str(c["name"]): str(c.get("label", "")) for c in columns},
        widths={str(c["name"]): int(c.get("length") or 1) if c.get("dataType") == "string" else 8 for c in columns},
        file=path.as_posix(),
    )
    ds.set_codes(coded)
    return ds


def differences(first: Dataset, second: Dataset) -> list[str]:
    """How two readings of a dataset differ (names, labels, lengths, types, values); [] when they hold the same."""
    out = []
    if (first.name, first.label) != (second.name, second.label):
        out.append(f"name/label {first.name!r}/{first.label!r} vs {second.name!r}/{second.label!r}")
    if list(first.frame.columns) != list(second.frame.columns):
        return [*out, f"variables {list(first.frame.columns)} vs {list(second.frame.columns)}"]
    if len(first.frame) != len(second.frame):
        return [*out, f"{len(first.frame)} vs {len(second.frame)} records"]
    for col in first.frame.columns:
        a, b = first.frame[col], second.frame[col]
        if pd.api.types.is_numeric_dtype(a) != pd.api.types.is_numeric_dtype(b):
            out.append(f"{col}: numeric in one, text in the other")
            continue
        if first.labels.get(col, "") != second.labels.get(col, ""):
            out.append(f"{col}: label {first.labels.get(col)!r} vs {second.labels.get(col)!r}")
        if first.widths.get(col) != second.widths.get(col):
            out.append(f"{col}: length {first.widths.get(col)} vs {second.widths.get(col)}")
        if pd.api.types.is_numeric_dtype(a):
            x, y = a.to_numpy(dtype="float64"), b.to_numpy(dtype="float64")
            same = (x == y) | (np.isnan(x) & np.isnan(y))
        else:
            same = a.astype(str).to_numpy() == b.astype(str).to_numpy()
        if not bool(np.all(same)):
            row = int(np.flatnonzero(~same)[0])
            out.append(f"{col}: record {row + 1} holds {a.iat[row]!r} vs {b.iat[row]!r}")
    return out
