"""Read ``specs/sdtmig/<version>/`` and ``specs/ct/<package date>/`` CSV files."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from daybreak_sdtm.errors import Location, StandardsError
from daybreak_sdtm.standards.model import Codelist, DatasetMeta, Standards, Term, VariableMeta


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a metadata CSV with their 1-based line numbers; checks the header."""
    if not path.is_file():
        raise StandardsError(f"{path}: standard metadata file not found")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise StandardsError(f"{Location(str(path), 1)}: missing column(s) {', '.join(missing)}")
        return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]


def _yes(value: str) -> bool:
    return value.strip().lower() in {"yes", "y", "true"}


def read_standards(specs_root: Path, sdtmig_version: str, ct_version: str) -> Standards:
    """Load SDTMIG dataset/variable metadata and one CT package from ``specs_root``."""
    ig_dir = specs_root / "sdtmig" / sdtmig_version
    ct_dir = specs_root / "ct" / ct_version
    for folder, what in ((ig_dir, f"SDTMIG {sdtmig_version}"), (ct_dir, f"CT package {ct_version}")):
        if not folder.is_dir():
            known = sorted(p.name for p in folder.parent.iterdir()) if folder.parent.is_dir() else []
            raise StandardsError(f"{folder}: no metadata for {what} (available: {', '.join(known) or 'none'})")

    datasets: dict[str, DatasetMeta] = {}
    for _, row in _rows(ig_dir / "datasets.csv", ("dataset", "label", "class", "structure", "keys")):
        datasets[row["dataset"]] = DatasetMeta(
            name=row["dataset"],
            label=row["label"],
            klass=row["class"],
            structure=row["structure"],
            keys=tuple(row["keys"].split()),
            repeating=_yes(row.get("repeating", "")),
            reference_data=_yes(row.get("reference_data", "")),
        )

    variables: dict[str, list[VariableMeta]] = defaultdict(list)
    var_path = ig_dir / "variables.csv"
    for line, row in _rows(var_path, ("dataset", "order", "name", "label", "type", "role", "core")):
        if row["type"] not in {"Char", "Num"}:
            raise StandardsError(f"{Location(str(var_path), line)}: type must be Char or Num, not {row['type']!r}")
        try:
            order = int(row["order"])
        except ValueError:
            raise StandardsError(f"{Location(str(var_path), line)}: order {row['order']!r} is not a number") from None
        variables[row["dataset"]].append(
            VariableMeta(
                dataset=row["dataset"],
                order=order,
                name=row["name"],
                label=row["label"],
                type=row["type"],
                role=row["role"],
                core=row["core"],
                codelist=row.get("codelist", ""),
                format=row.get("format", ""),
            )
        )

    terms: dict[str, list[Term]] = defaultdict(list)
    for _, row in _rows(ct_dir / "terms.csv", ("codelist", "code", "submission_value")):
        synonyms = tuple(s.strip() for s in row.get("synonyms", "").split(";") if s.strip())
        terms[row["codelist"]].append(
            Term(row["code"], row["submission_value"], synonyms, row.get("preferred_term", ""), row.get("definition", ""))
        )
    codelists: dict[str, Codelist] = {}
    for _, row in _rows(ct_dir / "codelists.csv", ("code", "name", "submission_value", "extensible")):
        codelists[row["code"]] = Codelist(
            code=row["code"],
            name=row["name"],
            submission_value=row["submission_value"],
            extensible=_yes(row["extensible"]),
            terms=tuple(terms.get(row["code"], ())),
        )

    return Standards(
        sdtmig_version=sdtmig_version,
        ct_version=ct_version,
        datasets=datasets,
        variables={name: tuple(sorted(vs, key=lambda v: v.order)) for name, vs in variables.items()},
        codelists=codelists,
    )
