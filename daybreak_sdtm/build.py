"""Mapping specs x raw forms -> SDTM domain tables: the only caller of derivations.

Work is ordered by a graph of variables: a derivation that reads ``DM.RFSTDTC`` runs after DM's
RFSTDTC, which reads ``EX.EXSTDTC``, and so on; --SEQ runs after the rest of its domain, and
SUPP-- records after their parent. Every value problem is reported with its raw file, record,
column and the spec line that asked for it; all of them at once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from daybreak_sdtm.codec import DEFAULT_ENCODING
from daybreak_sdtm.dataset import Dataset, Sources, dataset_of
from daybreak_sdtm.derive import RowProblems, VarRef
from daybreak_sdtm.derive.assign import on_distinct
from daybreak_sdtm.errors import DataErrors, RawDataError, SpecError, SpecErrors
from daybreak_sdtm.raw import READERS, SRC_FILE, SRC_ROW, find_form, read_form
from daybreak_sdtm.spec import DomainSpec, StudySpec, SuppSpec
from daybreak_sdtm.spec.check import ResolvedVariable, resolve_study
from daybreak_sdtm.spec.design import DESIGN_DATASETS, SUBJECT_DESIGN_DATASETS
from daybreak_sdtm.standards import Standards
from daybreak_sdtm.text import non_ascii
from daybreak_sdtm.timing import stage
from daybreak_sdtm.trial_design import (
    SE_NODE,
    SV_NODE,
    DesignTable,
    se_reads,
    subject_elements,
    subject_visits,
    sv_reads,
    trial_arms,
    trial_criteria,
    trial_elements,
    trial_summary,
    trial_visits,
)

# Text variables are held as pandas' Arrow-backed strings: a few bytes per value, where a Python
# str object takes about 60; at 100,000 subjects that is what keeps a conversion within memory.
TEXT: Final = "str"
SUPP_COLUMNS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


@dataclass(frozen=True)
class Exclusion:
    """Raw records left out of a domain on purpose."""

    domain: str
    form: str
    reason: str
    records: int


@dataclass
class BuildResult:
    """Every dataset made, in its written form, plus the counts that reconcile them with the raw export."""

    # Dataset name -> the dataset (the one table model, in SDTMIG order and written form, with the
    # raw record of each row and the spec line of each variable); empty datasets included.
    tables: dict[str, Dataset]
    forms_read: dict[str, int]  # form -> records
    exclusions: list[Exclusion]
    forms_not_mapped: dict[str, str]
    form_files: dict[str, str] = field(default_factory=dict)  # form -> file name in the export
    warnings: list[str] = field(default_factory=list)
    # Forms the study names that the export lacks, each listed in study.yaml: form -> why it may be missing.
    forms_missing: dict[str, str] = field(default_factory=dict)
    # Datasets with no records, which are not written (define.xml: def:HasNoData): name -> why.
    empty: dict[str, str] = field(default_factory=dict)
    # Domain -> source records from which no record was made (every record made of them excluded).
    unused_records: dict[str, int] = field(default_factory=dict)
    # Mapped domain -> its spec (a SUPP-- dataset's is its parent's; trial design datasets have none).
    specs: dict[str, DomainSpec] = field(default_factory=dict)

    def spec_of(self, name: str) -> DomainSpec | None:
        """The domain spec a dataset was mapped by (SUPPAE: AE's); None for a trial design dataset."""
        ds = self.tables[name]
        return self.specs.get(ds.parent_name)


class DomainContext:
    """What derivations of one domain see (see daybreak_sdtm.derive.registry.Context)."""

    def __init__(
        self,
        domain: str,
        raw: pd.DataFrame,
        frames: dict[str, pd.DataFrame],
        study: StudySpec,
        standards: Standards,
        keys: tuple[str, ...],
    ) -> None:
        self.domain = domain
        self.raw = raw
        self.sdtm = frames[domain]
        self._frames = frames
        self.study = study
        self.standards = standards
        self._keys = keys
        self._subjects: tuple[np.ndarray, pd.Index] | None = None  # per_subject's factorised USUBJID

    def column(self, ref: VarRef) -> pd.Series:
        return self.sdtm[ref.name]

    def frame(self, domain: str) -> pd.DataFrame:
        return self._frames[domain]

    def per_subject(self, values: pd.Series) -> pd.Series:
        # Equivalent to ``USUBJID.map(values)``, but the records' subjects are hashed once per
        # domain (USUBJID never changes once derived) and each call looks up only the distinct
        # subjects, then spreads by integer codes.
        if self._subjects is None:
            self._subjects = pd.factorize(self.sdtm["USUBJID"], use_na_sentinel=False)
        codes, subjects = self._subjects
        lookup = values.index.get_indexer(subjects)[codes]
        array = values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array
        return pd.Series(pd.api.extensions.take(array, lookup, allow_fill=True), index=self.sdtm.index)

    def sort_keys(self) -> tuple[str, ...]:
        return self._keys

    def subset(self, mask: np.ndarray) -> DomainContext:
        """The same context restricted to some records (for value-level cases)."""
        frames = dict(self._frames)
        frames[self.domain] = self.sdtm[mask]
        return DomainContext(self.domain, self.raw[mask], frames, self.study, self.standards, self._keys)


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
    names = [d.source.form for d in study.domains] + [j.form for d in study.domains for j in d.source.joins]
    names += list(study.forms_not_mapped)
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
    from daybreak_sdtm.raw import READERS

    headers: dict[str, list[str]] = {}
    for path in sorted(export_dir.iterdir()):
        if path.suffix.lower() == ".csv" and path.is_file():
            # Only the header row: lint runs on every commit and must not parse whole exports.
            import csv

            with path.open(
                encoding="utf-8-sig" if encoding == DEFAULT_ENCODING else encoding, errors="replace", newline=""
            ) as fh:
                headers[path.stem] = [str(c).strip() for c in next(csv.reader(fh), [])]
            continue
        if path.suffix.lower() in READERS and path.is_file():
            frame = read_form(export_dir, path.stem, encoding)
            headers[path.stem] = [c for c in frame.columns if c not in (SRC_FILE, SRC_ROW)]
    return headers


def _assemble_rows(
    dom: DomainSpec, forms: Mapping[str, pd.DataFrame], subject: str
) -> tuple[pd.DataFrame, list[Exclusion], int]:
    """The domain's raw rows: source form, joined forms, unpivoted variants, minus explicit exclusions.

    Returns the rows, the exclusions, and how many source records gave no row at all (every
    row made of them excluded).
    """
    src = dom.source
    rows = forms[src.form].copy(deep=False)  # copy-on-write: shares the columns until one is changed
    for join in src.joins:
        other = forms[join.form]
        blank = other[subject].eq("")
        if blank.any():  # it would join no record: refused rather than lost
            first = other[blank].iloc[0]
            raise RawDataError(
                f"{first[SRC_FILE]} record {int(first[SRC_ROW])} column {subject}: no subject; "
                f"the {dom.name} spec joins form {join.form!r} by subject, so this record would be lost"
            )
        dup = other[subject].duplicated(keep=False) & other[subject].ne("")
        if dup.any():
            first = other[dup].iloc[0]
            raise RawDataError(
                f"{join.form}: subject {first[subject]!r} has {int((other[subject] == first[subject]).sum())} "
                f"records (record {int(first[SRC_ROW])} and more); the {dom.name} spec joins one per subject"
            )
        orphan = ~other[subject].isin(set(rows[subject])) & other[subject].ne("")
        if orphan.any():
            first = other[orphan].iloc[0]
            raise RawDataError(
                f"{first[SRC_FILE]} record {int(first[SRC_ROW])} column {subject}: subject {first[subject]!r} "
                f"is not in form {src.form!r}, which the {dom.name} spec joins it to"
            )
        joined = other.drop(columns=[SRC_FILE, SRC_ROW]).add_prefix(f"{join.form}.")
        rows = rows.merge(joined, how="left", left_on=subject, right_on=f"{join.form}.{subject}", sort=False)
        rows = rows.fillna(dict.fromkeys(joined.columns, ""))
    if src.variants:
        parts = []
        for i, variant in enumerate(src.variants):
            # A shallow copy: copy-on-write pandas shares the untouched columns with ``rows``.
            part = rows.copy(deep=False)
            for alias, col in variant.columns.items():
                part[alias] = rows[col] if col else ""
            for alias, value in variant.values.items():
                part[alias] = value
            part["_variant"] = i
            parts.append(part)
        rows = pd.concat(parts, ignore_index=True)
        del parts
        order = _stable_order(rows, [SRC_ROW, "_variant"])
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


def _problem_lines(
    problem: RowProblems, item: ResolvedVariable, domain: str, raw: pd.DataFrame, dom: DomainSpec | None
) -> list[str]:
    column = problem.column or (item.raw_columns[0] if item.raw_columns else "")
    files = raw[SRC_FILE].to_numpy()
    records = raw[SRC_ROW].to_numpy()
    variants = raw["_variant"].to_numpy() if "_variant" in raw.columns else None
    lines = []
    for pos, value in zip(problem.positions.tolist(), problem.values, strict=True):
        col = column
        if variants is not None and dom is not None and column in dom.source.variants[variants[pos]].columns:
            # Name the export's own column, not the spec's common name for the unpivoted ones.
            col = dom.source.variants[variants[pos]].columns[column] or column
        lines.append(
            f"{files[pos]} record {records[pos]} column {col}: {problem.message}: {value!r} "
            f"[{item.spec.where} {domain}.{item.spec.name}]"
        )
    return lines


def _evaluate(item: ResolvedVariable, ctx: DomainContext, numeric: bool) -> pd.Series:
    if item.cases:
        result = _evaluate_cases(item, ctx, numeric)
        return result if numeric else result.astype(TEXT)
    params = {k: v for k, v in item.params.items() if k != "when"}
    result = item.derivation.fn(ctx, **params)
    if numeric and not pd.api.types.is_numeric_dtype(result):
        result = on_distinct(result, _number)  # a text column repeats few distinct numbers
    elif not numeric:
        if pd.api.types.is_numeric_dtype(result):  # a number given to a text variable: 3, not 3.0
            result = result.map(_num_text)
        result = _ascii(result.fillna("").astype(TEXT), item.spec.transliterate)
    when = item.params.get("when")
    if when:
        keep = pd.Series(True, index=ctx.raw.index)
        for col, values in when.items():
            keep &= ctx.raw[col].astype(str).str.strip().isin(values)
        result = result.where(keep, np.nan if numeric else "")
    return result


def _number(values: pd.Series) -> pd.Series:
    """Text -> float64 (blank -> NaN); RowProblems for filled text that is not a number."""
    text = values.fillna("").astype(str).str.strip()
    number = pd.to_numeric(text.where(text.ne(""), None), errors="coerce")
    bad = text.ne("") & number.isna()
    if bad.any():
        pos = np.flatnonzero(bad.to_numpy())
        raise RowProblems(pos, text.iloc[pos].tolist(), "not a number")
    return number.astype("float64")


def _evaluate_cases(item: ResolvedVariable, ctx: DomainContext, numeric: bool) -> pd.Series:
    """Value-level derivation: each case derives the records its ``where`` selects, first match wins."""
    result = pd.Series(np.nan if numeric else "", index=ctx.sdtm.index, dtype="float64" if numeric else object)
    taken = np.zeros(len(ctx.sdtm), dtype=bool)
    for case in item.cases:
        mask = ~taken
        for var, values in case.spec.case_where.items():
            mask &= ctx.sdtm[var].isin(values).to_numpy()
        if not mask.any():
            continue
        sub = ctx.subset(mask)
        try:
            case_values = _evaluate(case, sub, numeric)
        except RowProblems as problem:
            positions = np.flatnonzero(mask)[problem.positions]
            raise RowProblems(positions, problem.values, problem.message, problem.column) from None
        result.iloc[np.flatnonzero(mask)] = case_values.to_numpy()
        taken |= mask
    return result


def _ascii(values: pd.Series, transliterate: bool) -> pd.Series:
    """XPT v5 holds ASCII only: refuse other text, or fold accents away where the spec says so."""
    bad = non_ascii(values)
    if not bad.any():  # the common case, decided in Arrow without a Python object per value
        return values
    if transliterate:
        # Only the offending values are folded, one by one: unicodedata has no vectorised form.
        pos = np.flatnonzero(bad)
        folded = [_fold(v) for v in values.iloc[pos].tolist()]
        values = values.copy()
        values.iloc[pos] = folded
        bad = non_ascii(values)
    if bad.any():
        pos = np.flatnonzero(bad)
        hint = "" if transliterate else " (transliterate: true on the variable folds accented letters)"
        raise RowProblems(pos, values.iloc[pos].tolist(), f"not ASCII text, which XPT v5 cannot hold{hint}")
    return values


def _fold(text: str) -> str:
    """Accented letters without their accents, when every non-ASCII character folds; else unchanged."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() if _foldable(text) else text


def _foldable(text: str) -> bool:
    """Whether every non-ASCII character is a letter with marks that NFKD decomposes to ASCII."""
    folded = unicodedata.normalize("NFKD", text)
    return all(ch.isascii() or unicodedata.combining(ch) for ch in folded)


def _num_text(value: object) -> str:
    if value is None or value != value:
        return ""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def build_study(study: StudySpec, standards: Standards, export_dir: Path, encoding: str | None = None) -> BuildResult:
    """Read the export, check the spec against it, and derive every domain and SUPP-- table.

    ``encoding`` overrides the study's ``export: encoding:`` (UTF-8 when neither is given).
    """
    with stage("read"):
        forms = read_forms(study, export_dir, encoding or study.encoding or DEFAULT_ENCODING)
    with stage("map"):
        # _build empties ``forms`` once every domain's rows are assembled: at 100,000 subjects the
        # raw frames are gigabytes that nothing reads after that point.
        return _build(study, standards, forms.frames, forms.files, forms.missing)


def _build(
    study: StudySpec,
    standards: Standards,
    forms: dict[str, pd.DataFrame],
    form_files: dict[str, str] | None = None,
    missing: dict[str, str] | None = None,
) -> BuildResult:
    """build_study on forms already read (``missing``: forms the export lacks that the study allows to be missing)."""
    missing = dict(missing or {})
    headers = {name: [c for c in f.columns if c not in (SRC_FILE, SRC_ROW)] for name, f in forms.items()}
    checked = resolve_study(study, standards, headers)
    if checked.errors:
        raise SpecErrors(checked.errors)
    resolved, supps = checked.variables, checked.supplemental
    warnings = [
        f"form {form!r} is not in the export; {study.file.name} lists it under {why}" for form, why in missing.items()
    ]
    for form in missing:  # a form not collected gives no records: its domain is built empty
        if _forms_read_by(study, form):
            forms[form] = _empty_form(form, study, resolved, supps)

    raws: dict[str, pd.DataFrame] = {}
    exclusions: list[Exclusion] = []
    unused_records: dict[str, int] = {}
    for dom in study.domains:
        raws[dom.name], excluded, unused_records[dom.name] = _assemble_rows(dom, forms, study.subject_column)
        exclusions.extend(excluded)
    # What the result needs of the raw forms is taken now, and the forms are dropped (the dict is
    # the caller's own, made by build_study for this call): the assembled rows hold all that the
    # derivations read, and keeping both doubles the peak memory of a large export.
    forms_read = {name: len(f) for name, f in forms.items()}
    forms_read.update(dict.fromkeys(missing, 0))
    form_files = {
        name: (form_files or {}).get(name) or (str(f[SRC_FILE].iat[0]) if len(f) else name)
        for name, f in forms.items()
        if name not in missing
    }
    warnings += _unused_columns(study, forms, resolved, supps)
    forms.clear()
    frames = {name: pd.DataFrame(index=raw.index) for name, raw in raws.items()}
    keys = {d.name: d.keys or (ig.keys if (ig := standards.dataset(d.name)) else ()) for d in study.domains}
    contexts = {
        d.name: DomainContext(d.name, raws[d.name], frames, study, standards, keys[d.name]) for d in study.domains
    }

    items = {(dom, item.spec.name): item for dom, vs in resolved.items() for item in vs}
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for (domain, name), item in items.items():
        deps = {(r.domain, r.name) for r in item.reads if (r.domain, r.name) != (domain, name)}
        if item.derivation.runs_last:
            deps |= {(d, n) for (d, n), other in items.items() if d == domain and not other.derivation.runs_last}
        graph[(domain, name)] = deps
    design = study.trial_design
    if design is not None:
        if any(e.start is not None for e in design.elements):
            graph[SE_NODE] = se_reads(study)
        if design.subject_visits:
            graph[SV_NODE] = sv_reads(study)
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(f"{d}.{n}" for d, n in exc.args[1])
        first = items[exc.args[1][0]]
        raise SpecErrors(
            [SpecError(first.spec.where, first.spec.name, f"variables depend on each other in a cycle: {cycle}")]
        ) from None

    # Raw columns are released as soon as nothing left to derive reads them: at 100,000 subjects
    # the assembled raw rows are gigabytes, and would otherwise stay alive beside every derived
    # variable. Columns no variable reads go now, the rest after their last reader.
    release = _raw_releases(order, items, supps, study.subject_column, {n: list(r.columns) for n, r in raws.items()})
    for name, raw in raws.items():
        for col in release.pop((name, ""), ()):
            del raw[col]
    problems: list[str] = []
    failed: set[tuple[str, str]] = set()
    design_tables: dict[str, DesignTable] = {}
    for node in order:
        if node in (SE_NODE, SV_NODE):
            if graph[node] & failed:
                failed.add(node)
                continue
            lineages = {name: raw[[SRC_FILE, SRC_ROW]] for name, raw in raws.items()}
            if node == SE_NODE:
                table = subject_elements(study, standards, frames, lineages)
            else:
                table = subject_visits(study, standards, frames, lineages)
            frames[table.name] = table.frame  # what derive_epoch reads
            design_tables[table.name] = table
            continue
        try:
            item = items[node]
            domain, name = node
            if graph[node] & failed:
                failed.add(node)
                continue
            meta = standards.variable(domain, name)
            try:
                frames[domain][name] = _evaluate(item, contexts[domain], bool(meta and meta.is_numeric))
            except RowProblems as problem:
                problems.extend(_problem_lines(problem, item, domain, raws[domain], study.domain(domain)))
                failed.add(node)
                continue
            if name == "USUBJID":
                subject_problems = _check_subjects(domain, frames, raws, keys[domain])
                if subject_problems:  # nothing keyed by subject can be derived from ambiguous subjects
                    problems.extend(subject_problems)
                    failed.add(node)
        finally:
            for col in release.get(node, ()):
                del raws[node[0]][col]
    if not problems:
        problems.extend(_check_orphans(study, frames, raws))
    if problems:
        raise DataErrors(problems)
    if design is not None:
        declared = [
            trial_summary(study, standards, frames),
            trial_arms(study, standards),
            trial_elements(study, standards),
            trial_visits(study, standards),
            trial_criteria(study, standards),
        ]
        design_tables.update({t.name: t for t in declared})

    # SUPP-- records first, while every domain's raw rows and unsorted variables are there to read;
    # then the raw rows go (lineage keeps only where each record came from) before the sorted
    # copies are made, so that at no point raw rows, derived frames and sorted tables coexist.
    supp_tables: dict[str, Dataset] = {}
    for dom in study.domains:
        if supps[dom.name]:
            raw = _supp_raw(raws[dom.name], supps[dom.name], study.subject_column)
            ctx = DomainContext(dom.name, raw, frames, study, standards, keys[dom.name])
            supp_frame, supp_lineage = _build_supp(dom, supps[dom.name], ctx, raw, problems)
            qnam_specs = {s.qnam: str(i.spec.where) for s, i in supps[dom.name]}
            supp_tables[dom.name] = _written(
                f"SUPP{dom.name}", supp_frame, supp_lineage, standards, qnam_specs=qnam_specs
            )
            del raw, ctx, supp_frame
    if problems:
        raise DataErrors(problems)
    contexts.clear()
    sources = {name: raw[[SRC_FILE, SRC_ROW]] for name, raw in raws.items()}
    raws.clear()

    # Each table takes its written form as it is made, one at a time, and the frame it was made
    # from goes: the package is held once, in the form the checks, writers and define read.
    tables: dict[str, Dataset] = {}
    for name in DESIGN_DATASETS:
        if name in design_tables:
            table = design_tables.pop(name)
            tables[name] = _written(name, table.frame, table.lineage, standards)
    for dom in study.domains:
        frame, source = frames[dom.name], sources.pop(dom.name)
        # The IG's order; a variable the domain's class allows goes where the class puts it.
        ordered = standards.ordered(dom.name, [c for c in frame.columns if standards.variable(dom.name, c) is not None])
        sort_by = [c for c in ("STUDYID", "USUBJID", f"{dom.name}SEQ") if c in frame.columns]
        if f"{dom.name}SEQ" not in frame.columns:
            sort_by = [k for k in keys[dom.name] if k in frame.columns]
        row_order = _stable_order(frame, sort_by) if sort_by else np.arange(len(frame))
        # Positional takes of the needed columns, not label lookups of the whole frame.
        lineage = source.take(row_order).reset_index(drop=True)
        sorted_frame = frame[ordered].take(row_order).reset_index(drop=True)
        del frames[dom.name], frame, source  # the unsorted variables are no longer read
        specs = {i.spec.name: str(i.spec.where) for i in resolved[dom.name]}
        tables[dom.name] = _written(dom.name, sorted_frame, lineage, standards, specs=specs)
        del sorted_frame
        if dom.name in supp_tables:
            tables[f"SUPP{dom.name}"] = supp_tables.pop(dom.name)
    for name in SUBJECT_DESIGN_DATASETS:
        if name in design_tables:
            frames.pop(name, None)
            table = design_tables.pop(name)
            tables[name] = _written(name, table.frame, table.lineage, standards)
    result = BuildResult(
        tables,
        forms_read,
        exclusions,
        dict(study.forms_not_mapped),
        form_files,
        warnings,
        missing,
        unused_records={d: n for d, n in unused_records.items() if n},
        specs={d.name: d for d in study.domains},
    )
    _explain_empty(result)
    return result


def _written(
    name: str,
    frame: pd.DataFrame,
    lineage: pd.DataFrame,
    standards: Standards,
    *,
    specs: Mapping[str, str] | None = None,
    qnam_specs: Mapping[str, str] | None = None,
) -> Dataset:
    """A built table in its written form, with the raw record of each row and the spec line of each variable."""
    sources = Sources(lineage[SRC_FILE].reset_index(drop=True), lineage[SRC_ROW].to_numpy())
    return dataset_of(name, frame, standards, sources=sources, specs=specs, qnam_specs=qnam_specs)


def _explain_empty(result: BuildResult) -> None:
    """Say why each dataset without records has none, and warn about each empty domain (not written)."""
    for name, table in result.tables.items():
        if len(table.frame):
            continue
        spec = result.spec_of(name)
        if spec is None:
            why = (
                "the trial design declares no records for it"
                if name in DESIGN_DATASETS
                else "no subject has a dated record for it"
            )
            result.empty[name] = why
            result.warnings.append(
                f"{why}: {name} is empty and is not written (define.xml describes it with def:HasNoData)"
            )
            continue
        if table.is_supp:
            parent = table.parent_name
            qnams = ", ".join(sorted(table.qnam_specs))
            why = (
                f"{parent} has no records"
                if not len(result.tables[parent].frame)
                else f"no {parent} record has a value for {qnams}"
            )
            result.empty[name] = why
            continue
        src = spec.source
        file = result.form_files.get(src.form, src.form)
        read = result.forms_read.get(src.form, 0)
        if src.form in result.forms_missing:
            why = f"form {src.form!r} is not in the export ({result.forms_missing[src.form]})"
        elif not read:
            why = f"{file} has no records"
        else:
            reasons = "; ".join(dict.fromkeys(e.reason for e in result.exclusions if e.domain == name))
            made = (
                f"{read * len(src.variants)} records made of {file}'s {read}"
                if src.variants
                else f"{read} records of {file}"
            )
            why = f"all {made} are excluded by the spec ({reasons})"
        result.empty[name] = why
        result.warnings.append(
            f"{why}: {name} is empty and is not written (define.xml describes it with def:HasNoData)"
        )


def _forms_read_by(study: StudySpec, form: str) -> list[DomainSpec]:
    """The domains that read ``form`` as their source or join it."""
    return [d for d in study.domains if d.source.form == form or any(j.form == form for j in d.source.joins)]


def _empty_form(
    form: str,
    study: StudySpec,
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> pd.DataFrame:
    """A form with no records and every column the specs read of it: what an empty export of it would be."""
    columns = {study.subject_column}
    for dom in _forms_read_by(study, form):
        src = dom.source
        items = list(resolved.get(dom.name, [])) + [item for _, item in supps.get(dom.name, [])]
        read = {c for item in items for c in _all_raw_columns(item)} | {c for e in src.excludes for c in e.when}
        prefix = f"{form}."
        if src.form == form:
            joined = tuple(f"{j.form}." for j in src.joins)
            columns |= {c for c in read if not c.startswith(joined)}
            columns |= {c for v in src.variants for c in v.columns.values() if c}
        else:
            columns |= {c[len(prefix) :] for c in read if c.startswith(prefix)}
    frame = pd.DataFrame({c: pd.Series(dtype=TEXT) for c in sorted(columns)})
    frame[SRC_FILE] = pd.Series(dtype=TEXT)
    frame[SRC_ROW] = pd.Series(dtype=np.int64)
    return frame


def _raw_releases(
    order: list[tuple[str, str]],
    items: dict[tuple[str, str], ResolvedVariable],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
    subject: str,
    columns: dict[str, list[str]],
) -> dict[tuple[str, str], list[str]]:
    """When each domain's raw columns can be dropped: after the last variable (in ``order``) reading them.

    Kept to the end: where records came from (lineage, problem reports), the unpivot variant,
    the subject column (derive_usubjid reads it by default) and what SUPP-- derivations read.

    Args:
        order: the variables in the order they are derived.
        items: each variable's resolved spec.
        supps: each domain's SUPP-- qualifiers with their resolved specs.
        subject: the export's subject column.
        columns: each domain's raw columns.

    Returns:
        (domain, variable) -> raw columns of that domain to drop once it is derived; the key
        (domain, "") lists the columns no variable reads at all.
    """
    last: dict[tuple[str, str], tuple[str, str]] = {}
    for node in order:
        if node not in items:
            continue  # the trial design's SE and SV read built variables, not raw columns
        for col in _all_raw_columns(items[node]):
            last[(node[0], col)] = node
    kept = {(dom, col) for dom, pairs in supps.items() for _, item in pairs for col in _all_raw_columns(item)}
    always = {SRC_FILE, SRC_ROW, "_variant", subject}
    release: dict[tuple[str, str], list[str]] = {}
    for (dom, col), node in last.items():
        if (dom, col) not in kept and col not in always:
            release.setdefault(node, []).append(col)
    for dom, cols in columns.items():
        unread = [c for c in cols if (dom, c) not in last and (dom, c) not in kept and c not in always]
        if unread:
            release[(dom, "")] = unread
    return release


def _unused_columns(
    study: StudySpec,
    forms: Mapping[str, pd.DataFrame],
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
) -> list[str]:
    """Warn about export columns no spec reads and the study file does not list as not mapped."""
    used: dict[str, set[str]] = {name: {study.subject_column} for name in forms}
    for dom in study.domains:
        src = dom.source
        aliases: dict[str, set[str]] = {}
        for variant in src.variants:
            for alias, col in variant.columns.items():
                aliases.setdefault(alias, set()).update({col} if col else set())
        items = list(resolved.get(dom.name, [])) + [item for _, item in supps.get(dom.name, [])]
        columns = {c for item in items for c in _all_raw_columns(item)} | {c for e in src.excludes for c in e.when}
        for col in columns:
            form, dot, name = col.partition(".")
            if dot and form in {j.form for j in src.joins}:
                used[form].add(name)
            else:
                used[src.form].update(aliases.get(col, {col}))
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


def _all_raw_columns(item: ResolvedVariable) -> set[str]:
    return set(item.raw_columns) | {c for case in item.cases for c in _all_raw_columns(case)}


def _check_subjects(
    dom: str, frames: dict[str, pd.DataFrame], raws: dict[str, pd.DataFrame], keys: tuple[str, ...]
) -> list[str]:
    """One record per subject where the dataset's keys say so (DM): a duplicate subject is refused."""
    usubjid = frames[dom]["USUBJID"]
    lines = []
    blank = usubjid.eq("")
    for pos in np.flatnonzero(blank.to_numpy()).tolist():
        lines.append(
            f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]}: no subject identifier ({dom}.USUBJID is blank)"
        )
    if tuple(k for k in keys if k != "STUDYID") == ("USUBJID",):
        dup = usubjid.duplicated(keep="first") & ~blank
        for pos in np.flatnonzero(dup.to_numpy()).tolist():
            first = int(np.flatnonzero((usubjid == usubjid.iat[pos]).to_numpy())[0])
            lines.append(
                f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]}: subject {usubjid.iat[pos]!r} "
                f"already has a {dom} record (record {raws[dom][SRC_ROW].iat[first]}); {dom} holds one record per subject"
            )
    return lines


def _check_orphans(study: StudySpec, frames: dict[str, pd.DataFrame], raws: dict[str, pd.DataFrame]) -> list[str]:
    """Records of a subject who is not in DM are refused: every subject must be in demographics."""
    if "DM" not in frames or "USUBJID" not in frames["DM"]:
        return []
    known = set(frames["DM"]["USUBJID"])
    lines = []
    for dom, frame in frames.items():
        if dom == "DM" or "USUBJID" not in frame or dom not in raws:
            continue
        orphan = ~frame["USUBJID"].isin(known)
        for pos in np.flatnonzero(orphan.to_numpy()).tolist():
            lines.append(
                f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]} column {study.subject_column}: "
                f"subject {frame['USUBJID'].iat[pos]!r} is not in demographics (DM)"
            )
    return lines


def _supp_raw(raw: pd.DataFrame, supps: list[tuple[SuppSpec, ResolvedVariable]], subject: str) -> pd.DataFrame:
    """The raw columns a domain's SUPP-- derivations read (and where each record came from).

    Only these are handed on, so the rest of the domain's raw rows can be released beforehand.
    """
    wanted = {SRC_FILE, SRC_ROW, "_variant", subject} | {c for _, item in supps for c in _all_raw_columns(item)}
    return raw[[c for c in raw.columns if c in wanted]]


def _build_supp(
    dom: DomainSpec,
    supps: list[tuple[SuppSpec, ResolvedVariable]],
    ctx: DomainContext,
    raw: pd.DataFrame,
    problems: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SUPP-- records: one per parent record and QNAM with a non-blank value, pointing at --SEQ.

    Each record is held as (parent position, QNAM number) and its QVAL; the table's columns are
    then taken once, in the final order, from the parent, the raw rows and the QNAM constants,
    rather than building a frame per QNAM, concatenating them and sorting the concatenation.
    """
    seq_name = f"{dom.name}SEQ"
    parent = ctx.sdtm
    positions, numbers, qvals = [], [], []
    for number, (_supp, item) in enumerate(supps):
        try:
            qval = _evaluate(item, ctx, numeric=False)
        except RowProblems as problem:
            problems.extend(_problem_lines(problem, item, f"SUPP{dom.name}", raw, dom))
            continue
        keep = np.flatnonzero(qval.ne("").to_numpy())
        positions.append(keep)
        numbers.append(np.full(len(keep), number))
        qvals.append(qval.take(keep))
        del qval
    if not positions:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in SUPP_COLUMNS})
        return empty, pd.DataFrame({SRC_FILE: pd.Series(dtype=object), SRC_ROW: pd.Series(dtype="int64")})
    pos, num = np.concatenate(positions), np.concatenate(numbers)
    qval = pd.concat(qvals, ignore_index=True)
    del positions, numbers, qvals
    has_seq = seq_name in parent.columns
    seq = parent[seq_name].to_numpy()[pos] if has_seq else np.zeros(len(pos))  # SUPPDM: no IDVAR
    # Sort keys STUDYID, USUBJID, --SEQ, QNAM: QNAM ranks by text among this domain's QNAMs.
    qnams = np.array([supp.qnam for supp, _ in supps], dtype=object)
    qnam_rank = np.argsort(np.argsort(qnams, kind="stable"), kind="stable")
    studyid = parent["STUDYID"].take(pos).reset_index(drop=True)
    usubjid = parent["USUBJID"].take(pos).reset_index(drop=True)
    keys = pd.DataFrame({"STUDYID": studyid, "USUBJID": usubjid, "_seq": seq, "_qnam": qnam_rank[num]}, copy=False)
    order = _stable_order(keys, ["STUDYID", "USUBJID", "_seq", "_qnam"])
    del keys
    pos, num = pos[order], num[order]

    def constant(values: list[str]) -> pd.Series:
        # Taken from a text array of one entry per QNAM: no Python string per record.
        return pd.Series(pd.array(values, dtype=TEXT).take(num))

    columns = {
        "STUDYID": studyid.take(order).reset_index(drop=True),
        "RDOMAIN": constant([dom.name] * len(supps)),
        "USUBJID": usubjid.take(order).reset_index(drop=True),
        "IDVAR": constant([seq_name if has_seq else ""] * len(supps)),
        "IDVARVAL": pd.Series(seq[order]).astype("int64").astype(str) if has_seq else constant([""] * len(supps)),
        "QNAM": constant([s.qnam for s, _ in supps]),
        "QLABEL": constant([s.qlabel for s, _ in supps]),
        "QVAL": qval.take(order).reset_index(drop=True),
        "QORIG": constant([s.qorig for s, _ in supps]),
        "QEVAL": constant([s.qeval for s, _ in supps]),
    }
    frame = pd.DataFrame(columns, copy=False).astype(TEXT)
    del columns
    lineage = raw[[SRC_FILE, SRC_ROW]].take(pos).reset_index(drop=True)
    return frame, lineage


def _stable_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The positions ``frame.sort_values(columns, kind="stable")`` would give, computed on codes.

    Text keys are factorised with sorted distinct values (code order is text order; the text is
    ASCII, so byte and code point order agree), then one stable ``np.lexsort`` orders integers
    rather than comparing strings. Missing values sort last, as in ``sort_values``.
    """
    keys = []
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            keys.append(values.to_numpy(dtype="float64", na_value=np.nan))  # lexsort puts NaN last
        else:
            codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
            keys.append(np.where(codes < 0, len(uniques), codes))
    return np.lexsort(keys[::-1]) if keys else np.arange(len(frame))
