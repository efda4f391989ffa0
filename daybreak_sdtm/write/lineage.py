"""Provenance beside the package: lineage (SDTM record -> raw record), reconciliation, manifest.

None of this goes inside the XPT files: reviewers get the standard datasets, data managers get
the trail from every record back to the export, and the counts that show no record was lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daybreak_sdtm.build import BuildResult
from daybreak_sdtm.dataset import Dataset, Sources
from daybreak_sdtm.text import text_array

if TYPE_CHECKING:
    import pyarrow as pa

    from daybreak_sdtm.spec import DomainSpec

LINEAGE_FILE, RECONCILIATION_FILE = "lineage.csv", "reconciliation.json"
LINEAGE_COLUMNS = ("DATASET", "RECORD", "USUBJID", "SEQ", "QNAM", "SOURCE_FILE", "SOURCE_RECORD")
_NUMBER_COLUMNS = ("RECORD", "SOURCE_RECORD")


def lineage_frame(result: BuildResult) -> pd.DataFrame:
    """One row per SDTM record: dataset, 1-based record number, USUBJID, --SEQ (or IDVARVAL), raw record."""
    parts = []
    for name, table in result.tables.items():
        frame = table.frame
        if not len(frame):
            continue
        sources = _sources(table)
        seq_col = "IDVARVAL" if table.is_supp else f"{name}SEQ"
        seq = frame[seq_col] if seq_col in frame.columns else pd.Series("", index=frame.index, dtype=object)
        seq = _seq_text(seq)
        parts.append(
            pd.DataFrame(
                {
                    "DATASET": name,
                    "RECORD": range(1, len(frame) + 1),
                    "USUBJID": frame["USUBJID"].to_numpy() if "USUBJID" in frame.columns else "",
                    "SEQ": seq.to_numpy(),
                    "QNAM": frame["QNAM"].to_numpy() if table.is_supp else "",
                    "SOURCE_FILE": sources.files.to_numpy(),
                    "SOURCE_RECORD": sources.records,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(LINEAGE_COLUMNS))


def _sources(table: Dataset) -> Sources:
    """The raw record of each row of a dataset the mapping engine made (every one of them has them)."""
    if table.sources is None:
        raise ValueError(f"{table.name}: a built dataset without the raw record of each row")
    return table.sources


def _seq_text(seq: pd.Series) -> pd.Series:
    """--SEQ as text: whole numbers without ``.0`` (missing ones as ``nan``), IDVARVAL as it is."""
    if pd.api.types.is_float_dtype(seq):
        whole = np.trunc(seq.fillna(0).to_numpy()).astype(np.int64).astype(str).astype(object)
        return pd.Series(np.where(seq.notna().to_numpy(), whole, "nan"), index=seq.index, dtype=object)
    return seq.astype(str).astype(object)


def lineage_table(result: BuildResult) -> pa.Table:
    """``lineage_frame`` as an Arrow table, made from the built columns without a Python object per record.

    The mapping engine's text columns are Arrow-backed already, so they are handed over as they are.
    """
    import pyarrow as pa

    parts: dict[str, list[pa.Array]] = {c: [] for c in LINEAGE_COLUMNS}
    for name, table in result.tables.items():
        frame = table.frame
        rows = len(frame)
        if not rows:
            continue
        sources = _sources(table)
        seq_col = "IDVARVAL" if table.is_supp else f"{name}SEQ"
        parts["DATASET"].append(pa.repeat(name, rows))
        parts["RECORD"].append(pa.array(np.arange(1, rows + 1, dtype=np.int64)))
        parts["USUBJID"].append(text_array(frame["USUBJID"]) if "USUBJID" in frame.columns else pa.repeat("", rows))
        parts["SEQ"].append(_seq_array(frame[seq_col]) if seq_col in frame.columns else pa.repeat("", rows))
        parts["QNAM"].append(text_array(frame["QNAM"]) if table.is_supp else pa.repeat("", rows))
        parts["SOURCE_FILE"].append(text_array(sources.files))
        parts["SOURCE_RECORD"].append(pa.array(sources.records))
    columns = {}
    for col, arrays in parts.items():
        if col in _NUMBER_COLUMNS:
            columns[col] = pa.chunked_array(arrays, type=arrays[0].type if arrays else pa.int64())
        else:  # one type per column: the engine's text is large_string, made-up text is string
            columns[col] = pa.chunked_array([a.cast(pa.large_string()) for a in arrays], type=pa.large_string())
    return pa.table(columns)


def _seq_array(seq: pd.Series) -> pa.Array:
    """``_seq_text`` in Arrow: whole numbers as integer text (missing ones as ``nan``), IDVARVAL as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pd.api.types.is_float_dtype(seq):
        return text_array(seq)
    values = seq.to_numpy(dtype="float64")
    missing = np.isnan(values)
    whole = pc.cast(pa.array(np.trunc(np.where(missing, 0.0, values)).astype(np.int64)), pa.string())
    return pc.if_else(pa.array(missing), pa.scalar("nan"), whole)


def write_lineage(result: BuildResult, path: Path) -> None:
    """Write lineage.csv: the bytes ``lineage_frame(result).to_csv(index=False)`` writes, from ``lineage_table``.

    Arrow writes them unquoted, which is right when no text holds a comma, quote or line break
    (checked by Arrow's regex kernel); otherwise pandas writes the file, quoting as it does.
    """
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = lineage_table(result)
    needs_quotes = any(
        pc.any(pc.match_substring_regex(table[col], r'[,"\r\n]')).as_py()
        for col in LINEAGE_COLUMNS
        if col not in _NUMBER_COLUMNS
    )
    if needs_quotes or not table.num_rows:
        lineage_frame(result).to_csv(path, index=False, lineterminator="\n")
        return
    with open(path, "wb") as fh:
        fh.write((",".join(LINEAGE_COLUMNS) + "\n").encode("utf-8"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _written_per_form(result: BuildResult, name: str, spec: DomainSpec) -> dict[str, int]:
    """Records of a domain written from each of its source forms (all of them, for one source)."""
    table = result.tables[name]
    forms = list(dict.fromkeys(src.form for src in spec.sources))
    if len(forms) == 1:
        return {forms[0]: len(table.frame)}
    files = pd.Series(_sources(table).files.astype(str)).value_counts()
    return {form: int(files.get(result.form_files.get(form, form), 0)) for form in forms}


def reconciliation(result: BuildResult) -> dict[str, Any]:
    """Raw records read per form -> records per domain, with every exclusion and its reason.

    For each domain: source records x records made per source record = excluded + written;
    ``source_records_not_used`` counts the source records none of whose records was kept, and
    ``not_written`` says why a dataset with no records is not in the package (else null). A
    form the export lacks (allowed by study.yaml) has ``file`` null and ``missing`` saying why.
    ``trial_design`` lists the datasets made from the trial design (TS, TA, ... from study.yaml,
    SE and SV from the records that date subjects' elements and visits) and the files they came from.
    ``split`` names, for each dataset split over the size limit, its parts with the records each
    holds (lineage.csv's RECORD numbers the records of the whole dataset).
    """
    domains = []
    balanced = True
    joined: dict[str, list[str]] = {}
    design = []
    for name, table in result.tables.items():
        spec = result.spec_of(name)
        if spec is None:
            design.append(
                {
                    "dataset": name,
                    "records": len(table.frame),
                    "not_written": result.empty.get(name),
                    "made_from": sorted(set(_sources(table).files.astype(str))),
                }
            )
            continue
        if table.is_supp:
            continue
        for join in (j for src in spec.sources for j in src.joins):
            joined.setdefault(join.form, []).append(name)
        written_from = _written_per_form(result, name, spec)
        for form in dict.fromkeys(src.form for src in spec.sources):
            per_record = sum(max(1, len(src.variants)) for src in spec.sources if src.form == form)
            candidates = result.forms_read[form] * per_record
            exclusions = [e for e in result.exclusions if e.domain == name and e.form == form]
            written = written_from[form]
            ok = candidates == written + sum(e.records for e in exclusions)
            balanced &= ok
            domains.append(
                {
                    "domain": name,
                    "form": form,
                    "source_records": result.forms_read[form],
                    "records_per_source_record": per_record,
                    "candidate_records": candidates,
                    "excluded": [{"reason": e.reason, "records": e.records} for e in exclusions],
                    "records": written,
                    "source_records_not_used": result.unused_records.get((name, form), 0),
                    "not_written": result.empty.get(name),
                    "balanced": ok,
                }
            )
    forms = []
    for form, records in result.forms_read.items():
        used_by = [d["domain"] for d in domains if d["form"] == form]
        forms.append(
            {
                "form": form,
                "file": None if form in result.forms_missing else result.form_files.get(form, form),
                "missing": result.forms_missing.get(form),
                "records": records,
                "mapped_to": used_by,
                "joined_into": joined.get(form, []),
                "not_mapped_reason": result.forms_not_mapped.get(form),
            }
        )
    supplemental = [
        {"dataset": n, "parent": t.parent_name, "records": len(t.frame), "not_written": result.empty.get(n)}
        for n, t in result.tables.items()
        if t.is_supp
    ]
    return {
        "forms": forms,
        "domains": domains,
        "supplemental": supplemental,
        "trial_design": design,
        "split": {
            name: [{"file": p.file, "first_record": p.first, "records": p.records} for p in table.parts]
            for name, table in result.tables.items()
            if table.parts
        },
        "balanced": balanced,
    }


def write_provenance(result: BuildResult, folder: Path) -> None:
    """Write lineage.csv and reconciliation.json into folder (manifest.json is written last, by ``publish``)."""
    write_lineage(result, folder / LINEAGE_FILE)
    (folder / RECONCILIATION_FILE).write_text(json.dumps(reconciliation(result), indent=2) + "\n", encoding="utf-8")
