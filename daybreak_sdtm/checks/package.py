"""The package under validation: datasets read from XPT files (anyone's) or handed over by convert.

Checks see only this model, never the mapping engine, so ``validate DIR`` works on any SDTM
folder. When ``convert`` validates what it just built, each dataset also carries lineage (raw
file and record of every row) and the spec line of every variable, and findings name both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm import progress
from daybreak_sdtm.checks.roles import DEMOGRAPHICS
from daybreak_sdtm.errors import DaybreakError
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.read_xpt import Fallback, read_xpt
from daybreak_sdtm.standards.model import domain_code
from daybreak_sdtm.text import text_codes

# Values shown in a finding are cut here: a finding names a value, it does not copy a document.
MAX_SHOWN_VALUE = 60


class PackageError(DaybreakError):
    """The package folder or one of its files cannot be read."""


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


@dataclass
class Dataset:
    """One SDTM dataset: records, variable labels and char storage widths, plus optional provenance.

    Attributes:
        name: Dataset name as in the XPT header (``AE``, ``SUPPAE``).
        frame: One row per record; char variables as ``object`` with "" for null, numerics float64.
        label: Dataset label.
        labels: Variable name -> label.
        widths: Char variable name -> storage width in bytes (XPT length).
        file: Where the dataset was read from ("" when in memory).
        sources: Raw file and record of each row ("ae.csv record 14"), aligned with ``frame``.
        specs: Variable -> spec line that produced it ("mappings/daybreak-01/ae.yaml:9:12").
        qnam_specs: For SUPP-- datasets, QNAM -> spec line of the qualifier (QVAL's origin).
        fallbacks: Where the file's text was not UTF-8 and was read as Windows-1252 (check DB113).
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
        """Adopt factorisations already made of this frame's columns (``normalise_coded``)."""
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
    ) -> Iterator[Finding]:
        """One finding per 0-based row position, with USUBJID, --SEQ, value, source and spec filled in.

        Args:
            rule: Check id.
            severity: Severity of each finding.
            positions: 0-based positions of the offending records in ``frame``.
            variable: Variable the finding is about ("" for a whole record).
            message: One message for all, or one per position.
            values: Values to show; defaults to the variable's own.
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
            )

    def finding(self, rule: str, severity: Severity, variable: str, message: str) -> Finding:
        """A finding about the dataset or a variable as a whole (no record)."""
        return Finding(rule, severity, self.name, variable, None, message, spec=self.specs.get(variable, ""))


@dataclass
class Package:
    """The datasets of one SDTM package, by name, plus the define.xml that describes them (if any)."""

    datasets: dict[str, Dataset]
    folder: Path | None = None
    define: Path | None = None
    define_meta: Any = None  # daybreak_sdtm.checks.metadata.DefineMeta, read by run.validate
    # Dataset name -> ((its frame, DM's frame) when made, DM row of each record); see ``subject_rows``.
    _subject_rows: dict[str, tuple[tuple[Any, Any], np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def drop_caches(self) -> None:
        """Forget what was computed for the checks: per-value codes, texts and subject lookups."""
        for ds in self.datasets.values():
            ds.drop_caches()
        self._subject_rows.clear()

    def get(self, name: str) -> Dataset | None:
        """A dataset by name, or None."""
        return self.datasets.get(name)

    def subjects(self) -> pd.DataFrame:
        """DM indexed by USUBJID (first record per subject), empty when DM is missing."""
        dm = self.datasets.get(DEMOGRAPHICS)
        if dm is None or "USUBJID" not in dm.frame.columns:
            return pd.DataFrame()
        return dm.frame.drop_duplicates("USUBJID").set_index("USUBJID")

    def subject_rows(self, ds: Dataset) -> np.ndarray:
        """For each record of ``ds``, the position of its subject's first DM record (-1: no such subject, or no DM).

        Looked up once per distinct USUBJID and spread by code; made once per dataset and shared
        by every check that reads DM values per record (``subject_values``).
        """
        dm = self.datasets.get(DEMOGRAPHICS)
        if dm is None or "USUBJID" not in dm.frame.columns or "USUBJID" not in ds.frame.columns:
            return np.full(len(ds.frame), -1, dtype=np.int64)
        made_of, rows = self._subject_rows.get(ds.name, ((None, None), np.zeros(0, dtype=np.int64)))
        if made_of[0] is not ds.frame or made_of[1] is not dm.frame:
            dm_codes, dm_table = dm.codes("USUBJID")
            subject_codes, first_rows = np.unique(dm_codes, return_index=True)  # DM's first record per subject
            codes, table = ds.codes("USUBJID")
            at = pd.Index(dm_table[subject_codes], dtype=object).get_indexer(pd.Index(table, dtype=object))
            rows = np.where(at >= 0, first_rows[at], -1)[codes]
            self._subject_rows[ds.name] = ((ds.frame, dm.frame), rows)
        return rows

    def subject_values(self, ds: Dataset, variable: str) -> pd.Series:
        """DM's ``variable`` for each record of ``ds`` ("" when the subject or DM is missing)."""
        dm = self.datasets.get(DEMOGRAPHICS)
        picked = np.full(len(ds.frame), "", dtype=object)
        if dm is not None and variable in dm.frame.columns:
            rows = self.subject_rows(ds)
            found = rows >= 0
            picked[found] = dm.frame[variable].to_numpy(dtype=object)[rows[found]]
        return pd.Series(picked, index=ds.frame.index, dtype=object).fillna("")


def _num_text(value: object) -> str:
    if value is None or value != value:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _shown(value: object) -> str:
    text = _num_text(value) if isinstance(value, (float, np.floating)) else ("" if value is None else str(value))
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Char columns as ``object`` with "" for null; numeric columns as float64 (as XPT stores them)."""
    return normalise_coded(frame)[0]


def normalise_coded(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``normalise``, plus the (codes, table) of every char column it factorised on the way (``Dataset.codes``)."""
    out = {}
    coded = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[str(col)] = values.astype("float64")
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


def read_xpt_dataset(path: Path, encoding: str | None = None) -> Dataset:
    """Read one XPT file; its header gives the dataset name, labels and storage widths.

    Text is decoded with ``encoding``; without one, as UTF-8, or as Windows-1252 where it is
    not UTF-8 (``fallbacks`` says where; see ``daybreak_sdtm.read_xpt``).
    """
    data = read_xpt(path, encoding)
    widths = {k: v for k, v in data.widths.items() if k in data.text_columns}
    norm, coded = normalise_coded(data.frame)
    ds = Dataset(
        name=data.name,
        frame=norm,
        label=data.label,
        labels=data.labels,
        widths=widths,
        file=path.as_posix(),
        fallbacks=data.fallbacks,
    )
    ds.set_codes(coded)
    return ds


def read_package(folder: Path, define: Path | None = None, encoding: str | None = None) -> Package:
    """Read every ``*.xpt`` of ``folder``; refuses a missing folder or one without datasets.

    ``encoding`` is the XPT files' text encoding when declared (``validate --encoding``).
    """
    if not folder.is_dir():
        raise PackageError(f"{folder}: package folder not found")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xpt" and p.is_file())
    if not paths:
        raise PackageError(f"{folder}: no .xpt datasets in this folder")
    if define is not None and not define.is_file():
        raise PackageError(f"{define}: define.xml not found")
    datasets: dict[str, Dataset] = {}
    for i, path in enumerate(paths, 1):
        progress.step(path.name, i, len(paths))
        ds = read_xpt_dataset(path, encoding)
        if ds.name in datasets:
            raise PackageError(f"{path}: dataset {ds.name} is also in {datasets[ds.name].file}")
        datasets[ds.name] = ds
    if define is None and (folder / "define.xml").is_file():
        define = folder / "define.xml"
    return Package(datasets, folder, define)


def package_of(frames: Mapping[str, pd.DataFrame]) -> Package:
    """A package of in-memory frames (tests, other tools); labels and widths are inferred."""
    datasets = {}
    for name, frame in frames.items():
        norm = normalise(frame)
        widths = {c: int(norm[c].str.len().max() or 1) for c in norm.columns if norm[c].dtype == object and len(norm)}
        datasets[name] = Dataset(name, norm, widths=widths)
    return Package(datasets)
