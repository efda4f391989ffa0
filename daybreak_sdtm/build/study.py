"""Mapping specs x raw forms -> SDTM domain tables, stage by stage.

The forms are read (forms.py) and the spec checked against them; each domain's raw rows are
assembled (forms.py); the variables are derived across domains in the order of their graph
(graph.py); SUPP-- records follow their parent (supp.py); then every dataset is taken in its
final order, and each one without records says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.build.columns import stable_order
from daybreak_sdtm.build.forms import DomainRows, domain_rows, read_forms
from daybreak_sdtm.build.graph import DomainContext, derive
from daybreak_sdtm.build.result import BuildResult
from daybreak_sdtm.build.supp import build_supp, supp_raw
from daybreak_sdtm.codec import DEFAULT_ENCODING
from daybreak_sdtm.dataset import Dataset, Sources, dataset_of
from daybreak_sdtm.errors import DataErrors, DataProblem, SpecErrors
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW
from daybreak_sdtm.spec import SourceSpec, StudySpec, SuppSpec
from daybreak_sdtm.spec.check import ResolvedVariable, resolve_study
from daybreak_sdtm.spec.design import DESIGN_DATASETS, SUBJECT_DESIGN_DATASETS
from daybreak_sdtm.spec.model import StudyMetadata
from daybreak_sdtm.standards import Standards
from daybreak_sdtm.timing import stage
from daybreak_sdtm.trial_design import DesignTable


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
    rows = domain_rows(study, forms, form_files, missing, resolved, supps)
    keys = {d.name: d.keys or (ig.keys if (ig := standards.dataset(d.name)) else ()) for d in study.domains}
    frames, design_tables = derive(study, standards, rows.raws, resolved, supps, keys)
    return _assemble_result(study, standards, resolved, supps, keys, rows, frames, design_tables)


def _assemble_result(
    study: StudySpec,
    standards: Standards,
    resolved: dict[str, list[ResolvedVariable]],
    supps: dict[str, list[tuple[SuppSpec, ResolvedVariable]]],
    keys: dict[str, tuple[str, ...]],
    rows: DomainRows,
    frames: dict[str, pd.DataFrame],
    design_tables: dict[str, DesignTable],
) -> BuildResult:
    """The build's result: every dataset in its written form, and why each one without records has none.

    SUPP-- tables are made first, of the domains' raw rows and unsorted variables; then the raw
    rows are dropped and the trial design and mapped datasets are taken in their final order.
    ``rows.raws`` and ``frames`` are emptied on the way.
    """
    raws = rows.raws
    problems: list[DataProblem | str] = []
    # SUPP-- records first, while every domain's raw rows and unsorted variables are there to read;
    # then the raw rows go (lineage keeps only where each record came from) before the sorted
    # copies are made, so that at no point raw rows, derived frames and sorted tables coexist.
    supp_tables: dict[str, Dataset] = {}
    for dom in study.domains:
        if supps[dom.name]:
            raw = supp_raw(raws[dom.name], supps[dom.name], study.subject_column)
            ctx = DomainContext(dom.name, raw, frames, study, standards, keys[dom.name])
            supp_frame, supp_lineage = build_supp(dom, supps[dom.name], ctx, raw, problems)
            qnam_specs = {s.qnam: str(i.spec.where) for s, i in supps[dom.name]}
            supp_tables[dom.name] = _written(
                f"SUPP{dom.name}", supp_frame, supp_lineage, standards, qnam_specs=qnam_specs
            )
            del raw, ctx, supp_frame
    if problems:
        raise DataErrors(problems)
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
        row_order = stable_order(frame, sort_by) if sort_by else np.arange(len(frame))
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
    _relabel(tables, study.metadata)
    result = BuildResult(
        tables,
        rows.forms_read,
        rows.exclusions,
        dict(study.forms_not_mapped),
        rows.form_files,
        rows.warnings,
        rows.missing,
        unused_records={d: n for d, n in rows.unused_records.items() if n},
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


def _relabel(tables: Mapping[str, Dataset], metadata: StudyMetadata | None) -> None:
    """The dataset and variable labels the study's metadata file edits, in the datasets as written.

    define.xml takes its labels from the same file, so the XPT and Dataset-JSON files and the
    define say one label per dataset and variable; value-level labels are the define's alone.
    """
    if metadata is None:
        return
    for name, variable, label in metadata.label_edits():
        table = tables.get(name)
        if table is None:
            continue
        if not variable:
            table.label = label
        elif variable in table.frame.columns:
            table.labels[variable] = label


def _why_no_records(result: BuildResult, name: str, src: SourceSpec) -> str:
    """Why one source of a domain gave it no record."""
    file = result.form_files.get(src.form, src.form)
    read = result.forms_read.get(src.form, 0)
    if src.form in result.forms_missing:
        return f"form {src.form!r} is not in the export ({result.forms_missing[src.form]})"
    if not read:
        return f"{file} has no records"
    reasons = "; ".join(dict.fromkeys(e.reason for e in result.exclusions if e.domain == name and e.form == src.form))
    made = (
        f"{read * len(src.variants)} records made of {file}'s {read}" if src.variants else f"{read} records of {file}"
    )
    return f"all {made} are excluded by the spec ({reasons})"


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
        why = "; ".join(_why_no_records(result, name, src) for src in spec.sources)
        result.empty[name] = why
        result.warnings.append(
            f"{why}: {name} is empty and is not written (define.xml describes it with def:HasNoData)"
        )
