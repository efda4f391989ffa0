"""Provenance beside the package: lineage (SDTM record -> raw record), reconciliation, manifest.

None of this goes inside the XPT files: reviewers get the standard datasets, data managers get
the trail from every record back to the export, and the counts that show no record was lost.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm.build import BuildResult
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW

LINEAGE_FILE, RECONCILIATION_FILE, MANIFEST_FILE = "lineage.csv", "reconciliation.json", "manifest.json"
LINEAGE_COLUMNS = ("DATASET", "RECORD", "USUBJID", "SEQ", "QNAM", "SOURCE_FILE", "SOURCE_RECORD")


def lineage_frame(result: BuildResult) -> pd.DataFrame:
    """One row per SDTM record: dataset, 1-based record number, USUBJID, --SEQ (or IDVARVAL), raw record."""
    parts = []
    for name, table in result.tables.items():
        frame = table.frame
        if not len(frame):
            continue
        seq_col = "IDVARVAL" if table.parent else f"{name}SEQ"
        seq = frame[seq_col] if seq_col in frame.columns else pd.Series("", index=frame.index, dtype=object)
        seq = _seq_text(seq)
        parts.append(pd.DataFrame({
            "DATASET": name,
            "RECORD": range(1, len(frame) + 1),
            "USUBJID": frame["USUBJID"].to_numpy(),
            "SEQ": seq.to_numpy(),
            "QNAM": frame["QNAM"].to_numpy() if table.parent else "",
            "SOURCE_FILE": table.lineage[SRC_FILE].to_numpy(),
            "SOURCE_RECORD": table.lineage[SRC_ROW].to_numpy(),
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(LINEAGE_COLUMNS))


def _seq_text(seq: pd.Series) -> pd.Series:
    """--SEQ as text: whole numbers without ``.0`` (missing ones as ``nan``), IDVARVAL as it is."""
    if pd.api.types.is_float_dtype(seq):
        whole = np.trunc(seq.fillna(0).to_numpy()).astype(np.int64).astype(str).astype(object)
        return pd.Series(np.where(seq.notna().to_numpy(), whole, "nan"), index=seq.index, dtype=object)
    return seq.astype(str).astype(object)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as ``to_csv(index=False, lineterminator="\n")`` would, through Arrow's C++ writer.

    pandas' writer formats row by row in Python (2 s per million rows); Arrow writes the same
    bytes when no text needs quoting, which is checked first (otherwise pandas writes it).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    joined = "|".join("|".join(frame[c].astype(str).tolist()) for c in text_cols)
    if any(ch in joined for ch in ',"\r\n') or any(ch in str(c) for c in frame.columns for ch in ',"\r\n'):
        frame.to_csv(path, index=False, lineterminator="\n")
        return
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb") as fh:
        fh.write((",".join(str(c) for c in frame.columns) + "\n").encode("utf-8"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def reconciliation(result: BuildResult) -> dict[str, Any]:
    """Raw records read per form -> records per domain, with every exclusion and its reason.

    For each domain: source records x records made per source record = excluded + written.
    """
    domains = []
    balanced = True
    joined: dict[str, list[str]] = {}
    for name, table in result.tables.items():
        if table.parent:
            continue
        src = table.spec.source
        for join in src.joins:
            joined.setdefault(join.form, []).append(name)
        per_record = max(1, len(src.variants))
        candidates = result.forms_read[src.form] * per_record
        excluded = [{"reason": e.reason, "records": e.records} for e in result.exclusions if e.domain == name]
        written = len(table.frame)
        ok = candidates == written + sum(e["records"] for e in excluded)
        balanced &= ok
        domains.append({
            "domain": name,
            "form": src.form,
            "source_records": result.forms_read[src.form],
            "records_per_source_record": per_record,
            "candidate_records": candidates,
            "excluded": excluded,
            "records": written,
            "balanced": ok,
        })
    forms = []
    for form, records in result.forms_read.items():
        used_by = [d["domain"] for d in domains if d["form"] == form]
        forms.append({
            "form": form,
            "file": result.form_files.get(form, form),
            "records": records,
            "mapped_to": used_by,
            "joined_into": joined.get(form, []),
            "not_mapped_reason": result.forms_not_mapped.get(form),
        })
    supplemental = [{"dataset": n, "parent": t.parent, "records": len(t.frame)} for n, t in result.tables.items() if t.parent]
    return {"forms": forms, "domains": domains, "supplemental": supplemental, "balanced": balanced}


def write_provenance(result: BuildResult, folder: Path, manifest: dict[str, Any]) -> None:
    """Write lineage.csv, reconciliation.json and manifest.json (with the datasets' SHA-256) into folder."""
    write_csv(lineage_frame(result), folder / LINEAGE_FILE)
    (folder / RECONCILIATION_FILE).write_text(json.dumps(reconciliation(result), indent=2) + "\n", encoding="utf-8")
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.xpt"))}
    (folder / MANIFEST_FILE).write_text(json.dumps({**manifest, "files": files}, indent=2) + "\n", encoding="utf-8")
