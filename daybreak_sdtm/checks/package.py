"""The package under validation: datasets read from XPT files (anyone's) or handed over by convert.

Checks see only this model (datasets are ``daybreak_sdtm.dataset.Dataset``, the one table model),
never the mapping engine, so ``validate DIR`` works on any SDTM folder. When ``convert``
validates what it just built, each dataset also carries lineage (raw file and record of every
row) and the spec line of every variable, and findings name both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm import progress
from daybreak_sdtm.checks.roles import DEMOGRAPHICS
from daybreak_sdtm.dataset import DATASET_SUFFIXES, SPLIT_FOLDER, Dataset, Part, Sources, dataset_of, read_dataset
from daybreak_sdtm.errors import DaybreakError
from daybreak_sdtm.read_xpt import xpt_layout

__all__ = ["Dataset", "Package", "PackageError", "Sources", "package_of", "read_package"]


class PackageError(DaybreakError):
    """The package folder or one of its files cannot be read."""


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


def read_package(folder: Path, define: Path | None = None, encoding: str | None = None) -> Package:
    """Read every dataset of ``folder``; refuses a missing folder or one without datasets.

    A dataset is read from its XPT file, else from its Dataset-JSON file (.json, then .ndjson):
    a package written in several formats is validated once. A dataset split over a size limit
    is read whole, from its file, with its parts in ``split/`` named; from its parts, appended in
    order, when it has no whole file (``dataset_sources``). ``encoding`` is the XPT files' text
    encoding when declared (``validate --encoding``).
    """
    if not folder.is_dir():
        raise PackageError(f"{folder}: package folder not found")
    paths = dataset_sources(folder)
    if not paths:
        raise PackageError(f"{folder}: no datasets (.xpt, .json or .ndjson) in this folder")
    if define is not None and not define.is_file():
        raise PackageError(f"{define}: define.xml not found")
    datasets: dict[str, Dataset] = {}
    for i, files in enumerate(paths, 1):
        progress.step(files.first.name, i, len(paths))
        ds = read_files(files, encoding)
        if ds.name in datasets:
            raise PackageError(f"{files.first}: dataset {ds.name} is also in {datasets[ds.name].file}")
        datasets[ds.name] = ds
    if define is None and (folder / "define.xml").is_file():
        define = folder / "define.xml"
    return Package(datasets, folder, define)


def dataset_files(folder: Path) -> list[Path]:
    """The file each dataset of a package folder is read from: its .xpt, else its .json, else its .ndjson."""
    by_stem: dict[str, Path] = {}
    for suffix in DATASET_SUFFIXES:
        for path in sorted(folder.glob(f"*{suffix}")):
            if path.is_file() and path.suffix.lower() == suffix and _is_dataset(path):
                by_stem.setdefault(path.stem.lower(), path)
    return sorted(by_stem.values())


@dataclass(frozen=True)
class DatasetFiles:
    """The files one dataset of a package is read from: its whole file and/or its parts (split/ae1.xpt ...)."""

    whole: Path | None
    parts: tuple[Path, ...] = ()

    @property
    def first(self) -> Path:
        """The file named first: the whole dataset's, else its first part."""
        return self.whole if self.whole is not None else self.parts[0]


_PART = re.compile(r"^(?P<stem>[a-z][a-z0-9]*?)(?P<number>[1-9][0-9]*)$")


def dataset_sources(folder: Path) -> list[DatasetFiles]:
    """The files of each dataset of a package folder: its .xpt (else .json, else .ndjson) with the
    parts of it in ``split/`` (``ae1.xpt``, ``ae2.xpt`` ..., numbered from 1 without gaps), or those
    parts alone when the folder has no whole file of the dataset; ordered by the first file's name."""
    whole = {path.stem.lower(): path for path in dataset_files(folder)}
    parts = split_parts(folder)
    sources = [DatasetFiles(path, parts.pop(stem, ())) for stem, path in whole.items()]
    sources += [DatasetFiles(None, paths) for paths in parts.values()]
    return sorted(sources, key=lambda files: files.first.name)


def split_parts(folder: Path) -> dict[str, tuple[Path, ...]]:
    """The XPT files in ``folder/split/`` by the dataset file stem they are parts of, in part order."""
    numbered: dict[str, dict[int, Path]] = {}
    split = folder / SPLIT_FOLDER
    for path in sorted(split.glob("*.xpt")) if split.is_dir() else []:
        match = _PART.match(path.stem.lower())
        if not path.is_file() or path.suffix.lower() != ".xpt":
            continue
        if match is None:
            raise PackageError(f"{path}: not a part of a split dataset (named <dataset><number>.xpt, e.g. lb1.xpt)")
        numbered.setdefault(match["stem"], {})[int(match["number"])] = path
    out = {}
    for stem, by_number in numbered.items():
        if sorted(by_number) != list(range(1, len(by_number) + 1)):
            raise PackageError(
                f"{split}: the parts of {stem.upper()} are numbered {', '.join(map(str, sorted(by_number)))}, "
                f"not 1 to {len(by_number)}: a part is missing"
            )
        out[stem] = tuple(by_number[n] for n in sorted(by_number))
    return out


def read_files(files: DatasetFiles, encoding: str | None = None) -> Dataset:
    """One dataset from its files: read whole with its parts named, or appended from its parts alone.

    Raises PackageError when a part does not hold the dataset's variables with its lengths, or
    the parts do not hold the records of the whole file.
    """
    if files.whole is not None:
        ds = read_dataset(files.whole, encoding)
        layouts = [xpt_layout(path) for path in files.parts]
        ds.parts = _parts(files.parts, [layout.records for layout in layouts])
        for path, layout in zip(files.parts, layouts, strict=True):
            _same_layout(path, layout.name, layout.widths, ds)
        if ds.parts and sum(p.records for p in ds.parts) != len(ds.frame):
            raise PackageError(
                f"{files.whole}: its parts in {SPLIT_FOLDER}/ hold {sum(p.records for p in ds.parts)} records, "
                f"the dataset {len(ds.frame)}"
            )
        return ds
    pieces = [read_dataset(path, encoding) for path in files.parts]
    first = pieces[0]
    for path, piece in zip(files.parts[1:], pieces[1:], strict=True):
        _same_layout(path, piece.name, piece.widths, first)
    frame = pd.concat([piece.frame for piece in pieces], ignore_index=True) if len(pieces) > 1 else first.frame
    records = [len(piece.frame) for piece in pieces]
    del pieces
    return Dataset(
        first.name,
        frame,
        first.label,
        first.labels,
        first.widths,
        file=first.file,
        fallbacks=first.fallbacks,
        parts=_parts(files.parts, records),
    )


def _parts(paths: tuple[Path, ...], records: list[int]) -> tuple[Part, ...]:
    parts = []
    first = 1
    for path, count in zip(paths, records, strict=True):
        parts.append(Part(f"{SPLIT_FOLDER}/{path.name}", first, count))
        first += count
    return tuple(parts)


def _same_layout(path: Path, name: str, widths: Mapping[str, int], ds: Dataset) -> None:
    """Refuse a part that is not of ``ds``: another dataset name, other variables or other lengths."""
    if name != ds.name or dict(widths) != {col: int(ds.widths[col]) for col in ds.frame.columns}:
        raise PackageError(
            f"{path}: not a part of {ds.name} as {PurePosixPath(ds.file).name} holds it "
            "(every part has the dataset's name, variables and lengths)"
        )


def _is_dataset(path: Path) -> bool:
    """XPT files are datasets; a .json file is one when it says it is Dataset-JSON (validation.json is not)."""
    if path.suffix.lower() == ".xpt":
        return True
    with path.open("rb") as fh:
        return b'"datasetJSONVersion"' in fh.read(4096)


def package_of(frames: Mapping[str, pd.DataFrame]) -> Package:
    """A package of in-memory frames (tests, other tools); labels and widths are inferred."""
    return Package({name: dataset_of(name, frame, file="") for name, frame in frames.items()})
