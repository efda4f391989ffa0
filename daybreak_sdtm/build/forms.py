"""The export's forms: read once, and assembled into each domain's raw rows (join, unpivot, exclude)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.build.columns import TEXT, all_raw_columns, stable_order
from daybreak_sdtm.build.result import Exclusion
from daybreak_sdtm.codec import DEFAULT_ENCODING
from daybreak_sdtm.errors import RawDataError
from daybreak_sdtm.raw import READERS, SRC_FILE, SRC_ROW, find_form, read_form
from daybreak_sdtm.spec import DomainSpec, JoinSpec, SourceSpec, StudySpec, SuppSpec
from daybreak_sdtm.spec.check import ResolvedVariable


@dataclass(frozen=True)
class ExportForms:
    """The forms a study names, as read from one export."""

    frames: dict[str, pd.DataFrame]  # form -> records (present forms only)
    files: dict[str, str]  # form -> file name in the export
    missing: dict[str, str]  # form -> why it may be missing (study.yaml forms_not_collected / forms_not_mapped)


def read_forms(study: StudySpec, export_dir: Path, encoding: str = DEFAULT_ENCODING) -> ExportForms:
    """Every form the study reads or declares unmapped, each read once, its text in ``encoding``.

    A form the export lacks is an error, unless study.yaml lists it under forms_not_collected
    or forms_not_mapped: then it is one of ``missing``, with the reason the study gives.
    """
    names = [form for d in study.domains for form in d.forms] + list(study.forms_not_mapped)
    if not export_dir.is_dir():
        raise RawDataError(f"{export_dir}: export folder not found")
    frames, files, missing = {}, {}, {}
    for name in dict.fromkeys(names):
        if not any((export_dir / f"{name}{ext}").is_file() for ext in READERS):
            if name in study.forms_not_collected:
                missing[name] = f"forms_not_collected: {study.forms_not_collected[name]}"
                continue
            if name in study.forms_not_mapped:
                missing[name] = f"forms_not_mapped: {study.forms_not_mapped[name]}"
                continue
        files[name] = find_form(export_dir, name).name
        frames[name] = read_form(export_dir, name, encoding)
    return ExportForms(frames, files, missing)


def export_headers(export_dir: Path, encoding: str = DEFAULT_ENCODING) -> dict[str, list[str]]:
    """Form name -> columns, for every form file in an export folder (text in ``encoding``)."""
    headers: dict[str, list[str]] = {}
    for path in sorted(export_dir.iterdir()):
        if path.suffix.lower() == ".csv" and path.is_file():
            # Only the header row: lint runs on every commit and must not parse whole exports.
            with path.open(
                encoding="utf-8-sig" if encoding == DEFAULT_ENCODING else encoding, errors="replace", newline=""
            ) as fh:
                headers[path.stem] = [str(c).strip() for c in next(csv.reader(fh), [])]
            continue
        if path.suffix.lower() in READERS and path.is_file():
            frame = read_form(export_dir, path.stem, encoding)
            headers[path.stem] = [c for c in frame.columns if c not in (SRC_FILE, SRC_ROW)]
    return headers


@dataclass(frozen=True)
class DomainRows:
    """Each domain's raw rows, and what the result keeps of the forms they were assembled from."""

    raws: dict[str, pd.DataFrame]  # domain -> its rows: source form, joined forms, unpivoted, minus exclusions
    exclusions: list[Exclusion]
    unused_records: dict[tuple[str, str], int]  # (domain, form) -> records that gave no row (all excluded)
    forms_read: dict[str, int]  # form -> records (0 for a missing form)
    form_files: dict[str, str]  # form -> file name in the export
    missing: dict[str, str]  # form the export lacks -> why the study allows it
    warnings: list[str]  # forms missing, columns no spec reads


def domain_rows(
    study: StudySpec,
    forms: dict[str, pd.DataFrame],
    form_files: dict[str, str] | None,
    missing: dict[str, str],
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> DomainRows:
    """Every domain's raw rows, assembled from ``forms``, which are emptied once that is done.

    A domain reading a form in ``missing`` (one the export lacks and the study allows to be
    missing) is built from an empty form with the columns its spec reads.
    """
    warnings = [
        f"form {form!r} is not in the export; {study.file.name} lists it under {why}" for form, why in missing.items()
    ]
    for form in missing:  # a form not collected gives no records: its domain is built empty
        if _forms_read_by(study, form):
            forms[form] = _empty_form(form, study, resolved, supps)

    raws: dict[str, pd.DataFrame] = {}
    exclusions: list[Exclusion] = []
    unused_records: dict[tuple[str, str], int] = {}
    for dom in study.domains:
        raws[dom.name], excluded, unused = assemble_domain(dom, forms, study.subject_column)
        exclusions.extend(excluded)
        unused_records.update({(dom.name, form): n for form, n in unused.items()})
    # What the result needs of the raw forms is taken now, and the forms are dropped (the dict is
    # the caller's own, made by build_study for this call): the assembled rows hold all that the
    # derivations read, and keeping both doubles the peak memory of a large export.
    forms_read = {name: len(f) for name, f in forms.items()}
    forms_read.update(dict.fromkeys(missing, 0))
    files = {
        name: (form_files or {}).get(name) or (str(f[SRC_FILE].iat[0]) if len(f) else name)
        for name, f in forms.items()
        if name not in missing
    }
    warnings += _unused_columns(study, forms, resolved, supps)
    forms.clear()
    return DomainRows(raws, exclusions, unused_records, forms_read, files, missing, warnings)


def assemble_domain(
    dom: DomainSpec, forms: Mapping[str, pd.DataFrame], subject: str
) -> tuple[pd.DataFrame, list[Exclusion], dict[str, int]]:
    """A domain's raw rows: each source's rows (joined, unpivoted, minus exclusions), stacked in order.

    Returns the rows, the exclusions, and per source form how many of its records gave no row
    at all (every row made of them excluded; forms where none did are left out).
    """
    parts: list[pd.DataFrame] = []
    exclusions: list[Exclusion] = []
    unused: dict[str, int] = {}
    offset = 0  # a row's _variant indexes the domain's variants, all sources' in order
    for src in dom.sources:
        part, excluded, n = _assemble_rows(dom, src, forms, subject, offset)
        parts.append(part)
        exclusions.extend(excluded)
        if n:
            unused[src.form] = unused.get(src.form, 0) + n
        offset += len(src.variants)
    return (parts[0] if len(parts) == 1 else _stack(parts)), exclusions, unused


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stacked sources' rows in spec order; a column one source lacks (a ``_variant``) is blank there."""
    stacked = pd.concat(parts, ignore_index=True)
    if "_variant" in stacked.columns:
        stacked["_variant"] = stacked["_variant"].fillna(-1).astype(np.int64)
    text = [c for c in stacked.columns if c not in (SRC_ROW, "_variant")]
    stacked[text] = stacked[text].fillna("")
    return stacked


def _join(
    rows: pd.DataFrame, other: pd.DataFrame, join: JoinSpec, dom: DomainSpec, src: SourceSpec, subject: str
) -> pd.DataFrame:
    """``rows`` with the columns of ``other`` (as ``form.COLUMN``) of the same subject and ``on`` values.

    Each key (subject plus ``on`` values) may have one record in ``other``, and every record of
    it must find its rows: a record that would join nothing is refused, never lost.
    """
    keys = [subject, *join.on]
    by = "subject" + "".join(f" and {c}" for c in join.on)
    blank = other[subject].eq("")
    if blank.any():  # it would join no record: refused rather than lost
        first = other[blank].iloc[0]
        raise RawDataError(
            f"{first[SRC_FILE]} record {int(first[SRC_ROW])} column {subject}: no subject; "
            f"the {dom.name} spec joins form {join.form!r} by {by}, so this record would be lost"
        )
    dup = other.duplicated(keys, keep=False)
    if dup.any():
        first = other[dup].iloc[0]
        same = (other[keys] == first[keys]).all(axis=1)
        what = ", ".join(f"{c} {first[c]!r}" for c in join.on)
        raise RawDataError(
            f"{first[SRC_FILE]} record {int(first[SRC_ROW])}: subject {first[subject]!r}"
            + (f" ({what})" if what else "")
            + f" has {int(same.sum())} records; the {dom.name} spec joins one per {by}"
            + ("" if join.on else " (join on: [COLUMN] joins by a key within the subject)")
        )
    found = pd.MultiIndex.from_frame(rows[keys]) if join.on else pd.Index(rows[subject])
    theirs = pd.MultiIndex.from_frame(other[keys]) if join.on else pd.Index(other[subject])
    orphan = ~theirs.isin(found)
    if orphan.any():
        first = other[orphan].iloc[0]
        what = "".join(f" {c} {first[c]!r}" for c in join.on)
        raise RawDataError(
            f"{first[SRC_FILE]} record {int(first[SRC_ROW])} column {subject}: subject {first[subject]!r}{what} "
            f"is not in form {src.form!r}, which the {dom.name} spec joins it to"
        )
    joined = other.drop(columns=[SRC_FILE, SRC_ROW]).add_prefix(f"{join.form}.")
    right = [f"{join.form}.{c}" for c in keys]
    rows = rows.merge(joined, how="left", left_on=keys, right_on=right, sort=False)
    return rows.fillna(dict.fromkeys(joined.columns, ""))


def _assemble_rows(
    dom: DomainSpec, src: SourceSpec, forms: Mapping[str, pd.DataFrame], subject: str, first_variant: int = 0
) -> tuple[pd.DataFrame, list[Exclusion], int]:
    """One source's raw rows: its form, joined forms, unpivoted variants, minus explicit exclusions.

    Returns the rows, the exclusions, and how many source records gave no row at all (every
    row made of them excluded). ``_variant`` numbers the variants from ``first_variant``.
    """
    rows = forms[src.form].copy(deep=False)  # copy-on-write: shares the columns until one is changed
    for join in src.joins:
        rows = _join(rows, forms[join.form], join, dom, src, subject)
    if src.variants:
        parts = []
        for i, variant in enumerate(src.variants):
            # A shallow copy: copy-on-write pandas shares the untouched columns with ``rows``.
            part = rows.copy(deep=False)
            for alias, col in variant.columns.items():
                part[alias] = rows[col] if col else ""
            for alias, value in variant.values.items():
                part[alias] = value
            part["_variant"] = first_variant + i
            parts.append(part)
        rows = pd.concat(parts, ignore_index=True)
        del parts
        order = stable_order(rows, [SRC_ROW, "_variant"])
    else:
        order = np.arange(len(rows))
    # Exclusions are decided per record, so they are judged before ordering, and the rows are
    # taken once, ordered and without the excluded records, instead of one copy per step.
    excluded = np.zeros(len(rows), dtype=bool)
    exclusions = []
    for exclude in src.excludes:
        mask = np.ones(len(rows), dtype=bool)
        for col, values in exclude.when.items():
            mask &= rows[col].astype(str).str.strip().isin(values).to_numpy()
        mask &= ~excluded  # what an earlier exclusion took is not counted again
        if mask.any():
            exclusions.append(Exclusion(dom.name, src.form, exclude.reason, int(mask.sum())))
        excluded |= mask
    order = order[~excluded[order]]
    unused = 0
    if excluded.any():
        unused = len(forms[src.form]) - len(pd.unique(rows[SRC_ROW].to_numpy()[order]))
    if not (len(order) == len(rows) and np.array_equal(order, np.arange(len(rows)))):
        rows = rows.take(order)
    rows = rows.reset_index(drop=True)
    return rows, exclusions, unused


def _forms_read_by(study: StudySpec, form: str) -> list[DomainSpec]:
    """The domains that read ``form`` as a source or join it."""
    return [d for d in study.domains if form in d.forms]


def _source_reads(src: SourceSpec, read: set[str], subject: str) -> dict[str, set[str]]:
    """Form -> its columns one source reads, given the raw columns its domain's spec reads.

    A read column may be an unpivoted alias (the variants' columns are read, each of its own
    form) or a joined form's ``form.COLUMN``; join keys are read in both forms.
    """
    joined = {j.form for j in src.joins}
    used: dict[str, set[str]] = {src.form: {subject}, **{j.form: {subject, *j.on} for j in src.joins}}
    used[src.form].update(c for j in src.joins for c in j.on)
    aliases = {alias for v in src.variants for alias in (*v.columns, *v.values)}
    raw = {c for c in read | {c for e in src.excludes for c in e.when} if c not in aliases}
    raw |= {c for v in src.variants for c in v.columns.values() if c}
    for col in raw:
        form, dot, name = col.partition(".")
        if dot and form in joined:
            used[form].add(name)
        else:
            used[src.form].add(col)
    return used


def _empty_form(
    form: str,
    study: StudySpec,
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> pd.DataFrame:
    """A form with no records and every column the specs read of it: what an empty export of it would be."""
    columns = {study.subject_column}
    for dom in _forms_read_by(study, form):
        read = _columns_read(dom, resolved, supps)
        for src in dom.sources:
            columns |= _source_reads(src, read, study.subject_column).get(form, set())
    frame = pd.DataFrame({c: pd.Series(dtype=TEXT) for c in sorted(columns)})
    frame[SRC_FILE] = pd.Series(dtype=TEXT)
    frame[SRC_ROW] = pd.Series(dtype=np.int64)
    return frame


def _columns_read(
    dom: DomainSpec,
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> set[str]:
    """The raw columns a domain's variables and SUPP-- qualifiers read (unpivoted aliases among them)."""
    items = list(resolved.get(dom.name, [])) + [item for _, item in supps.get(dom.name, [])]
    return {c for item in items for c in all_raw_columns(item)}


def _unused_columns(
    study: StudySpec,
    forms: Mapping[str, pd.DataFrame],
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> list[str]:
    """Warn about export columns no spec reads and the study file does not list as not mapped."""
    used: dict[str, set[str]] = {name: {study.subject_column} for name in forms}
    for dom in study.domains:
        read = _columns_read(dom, resolved, supps)
        for src in dom.sources:
            for form, cols in _source_reads(src, read, study.subject_column).items():
                used.setdefault(form, set()).update(cols)
    warnings = []
    for name, frame in forms.items():
        if name in study.forms_not_mapped:
            continue
        listed = set(study.columns_not_mapped.get(name, ()))
        for col in frame.columns:
            if col not in used[name] and col not in listed and col not in (SRC_FILE, SRC_ROW):
                file = str(frame[SRC_FILE].iat[0]) if len(frame) else name
                warnings.append(
                    f"{file}: column {col} is not mapped "
                    f"(list it under columns_not_mapped in {study.file.name} if that is intended)"
                )
    return warnings
