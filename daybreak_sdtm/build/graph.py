"""The graph of variables across domains, and their derivation in its order.

A derivation that reads ``DM.RFSTDTC`` runs after DM's RFSTDTC, which reads ``EX.EXSTDTC``, and
so on; --SEQ runs after the rest of its domain; SE and SV run once what they read is derived.
Each raw column is released after its last reader. Values are checked as they are derived:
numbers for numeric variables, ASCII text (or text transliterated to it) for the others.
"""

from __future__ import annotations

import unicodedata
from graphlib import CycleError, TopologicalSorter

import numpy as np
import pandas as pd

from daybreak_sdtm.build.columns import TEXT, all_raw_columns
from daybreak_sdtm.build.subjects import check_orphans, check_subjects
from daybreak_sdtm.derive import RowProblems, VarRef
from daybreak_sdtm.derive.assign import on_distinct
from daybreak_sdtm.errors import DataErrors, DataProblem, SpecError, SpecErrors
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW
from daybreak_sdtm.spec import DomainSpec, StudySpec, SuppSpec
from daybreak_sdtm.spec.check import ResolvedVariable
from daybreak_sdtm.standards import Standards
from daybreak_sdtm.text import non_ascii
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

Node = tuple[str, str]  # (domain, variable); SE_NODE and SV_NODE for the subject-level trial design


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


def derive(
    study: StudySpec,
    standards: Standards,
    raws: dict[str, pd.DataFrame],
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
    keys: dict[str, tuple[str, ...]],
) -> tuple[dict[str, pd.DataFrame], dict[str, DesignTable]]:
    """Every domain's variables in the order of the graph, then the declared trial design datasets.

    Returns the derived variables (domain -> a frame aligned with its raw rows in ``raws``, plus
    SE's and SV's records) and the trial design tables. Raw columns are dropped from ``raws``
    once nothing left reads them; what SUPP-- derivations read and where records came from stay.
    Every value and subject problem is raised at once (DataErrors), a cycle as a SpecErrors.
    """
    frames = {name: pd.DataFrame(index=raw.index) for name, raw in raws.items()}
    contexts = {
        d.name: DomainContext(d.name, raws[d.name], frames, study, standards, keys[d.name]) for d in study.domains
    }

    items = {(dom, item.spec.name): item for dom, vs in resolved.items() for item in vs}
    graph, order = _work_order(study, items)
    design = study.trial_design

    # Raw columns are released as soon as nothing left to derive reads them: at 100,000 subjects
    # the assembled raw rows are gigabytes, and would otherwise stay alive beside every derived
    # variable. Columns no variable reads go now, the rest after their last reader.
    release = _raw_releases(order, items, supps, study.subject_column, {n: list(r.columns) for n, r in raws.items()})
    for name, raw in raws.items():
        for col in release.pop((name, ""), ()):
            del raw[col]
    problems: list[DataProblem | str] = []
    failed: set[Node] = set()
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
                frames[domain][name] = evaluate(item, contexts[domain], bool(meta and meta.is_numeric))
            except RowProblems as problem:
                problems.extend(problem_lines(problem, item, domain, raws[domain], study.domain(domain)))
                failed.add(node)
                continue
            if name == "USUBJID":
                subject_problems = check_subjects(domain, frames, raws, keys[domain])
                if subject_problems:  # nothing keyed by subject can be derived from ambiguous subjects
                    problems.extend(subject_problems)
                    failed.add(node)
        finally:
            for col in release.get(node, ()):
                del raws[node[0]][col]
    if not problems:
        problems.extend(check_orphans(study, frames, raws))
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
    return frames, design_tables


def _work_order(study: StudySpec, items: dict[Node, ResolvedVariable]) -> tuple[dict[Node, set[Node]], list[Node]]:
    """What each work item reads, and an order in which every item comes after what it reads."""
    graph: dict[Node, set[Node]] = {}
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
    return graph, order


def problem_lines(
    problem: RowProblems, item: ResolvedVariable, domain: str, raw: pd.DataFrame, dom: DomainSpec | None
) -> list[DataProblem]:
    """Each value of ``problem`` as one problem: raw file, record, column, the value, the spec line."""
    column = problem.column or (item.raw_columns[0] if item.raw_columns else "")
    files = raw[SRC_FILE].to_numpy()
    records = raw[SRC_ROW].to_numpy()
    variants = raw["_variant"].to_numpy() if "_variant" in raw.columns else None
    lines: list[DataProblem] = []
    for pos, value in zip(problem.positions.tolist(), problem.values, strict=True):
        col = column
        if variants is not None and dom is not None and variants[pos] >= 0:
            # Name the export's own column, not the spec's common name for the unpivoted ones.
            col = dom.variants[variants[pos]].columns.get(column) or column
        lines.append(
            DataProblem(
                str(files[pos]),
                int(records[pos]),
                col,
                problem.message,
                str(value),
                f"{item.spec.where} {domain}.{item.spec.name}",
            )
        )
    return lines


def evaluate(item: ResolvedVariable, ctx: DomainContext, numeric: bool) -> pd.Series:
    """One variable's values (or a SUPP-- QVAL): numbers for a numeric variable, else ASCII text."""
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
            case_values = evaluate(case, sub, numeric)
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
        for col in all_raw_columns(items[node]):
            last[(node[0], col)] = node
    kept = {(dom, col) for dom, pairs in supps.items() for _, item in pairs for col in all_raw_columns(item)}
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
