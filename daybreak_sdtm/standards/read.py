"""Read the SDTMIG metadata of ``specs/sdtmig/<version>/`` and a CT release.

``specs/sdtmig/<version>/`` holds the CDISC Library export of the IG as published
(``Datasets.csv``, ``Variables.csv``) and the project's own tables beside it: ``keys.csv``
(natural keys and Define-XML dataset attributes), ``class_variables.csv`` (the SDTM class
variables, see ``tools/derive_class_variables.py``) and ``amendments.csv`` (what the project
states beyond the export, each with its reason).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from daybreak_sdtm.errors import Location, StandardsError
from daybreak_sdtm.standards.model import (
    GENERAL_OBSERVATIONS,
    ClassVariable,
    DatasetMeta,
    Standards,
    VariableMeta,
    class_name,
    iso8601_format,
)

DATASETS_FILE = "Datasets.csv"
VARIABLES_FILE = "Variables.csv"
KEYS_FILE = "keys.csv"
CLASS_VARIABLES_FILE = "class_variables.csv"
AMENDMENTS_FILE = "amendments.csv"
TYPES = ("Char", "Num")
CORES = ("Req", "Exp", "Perm")
# Columns of Variables.csv an amendment may set, and the VariableMeta field each one fills.
AMENDABLE = {"codelist": "codelist", "label": "label", "core": "core"}


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a metadata CSV with their line numbers; checks the header."""
    if not path.is_file():
        raise StandardsError(f"{path}: standard metadata file not found")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise StandardsError(f"{Location(str(path), 1)}: missing column(s) {', '.join(missing)}")
        return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]


def _yes(value: str) -> bool:
    return value.strip().lower() in {"yes", "y", "true"}


def _clean(text: str) -> str:
    """The CDISC Library export writes line breaks inside a cell as a literal backslash-n."""
    return "\n".join(line.strip() for line in text.replace("\\n", "\n").split("\n")).strip()


def _int(value: str, where: Location, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise StandardsError(f"{where}: {what} {value!r} is not a number") from None


# Datasets by name, variables by dataset (IG order), class variables by class (model order).
SdtmigTables = tuple[dict[str, DatasetMeta], dict[str, tuple[VariableMeta, ...]], dict[str, tuple[ClassVariable, ...]]]


def read_sdtmig(ig_dir: Path) -> SdtmigTables:
    """Datasets, variables by dataset and class variables by class of one SDTMIG version."""
    keys: dict[str, dict[str, str]] = {}
    keys_path = ig_dir / KEYS_FILE
    for _, row in _rows(keys_path, ("dataset", "keys", "repeating", "reference_data")):
        keys[row["dataset"]] = row

    datasets: dict[str, DatasetMeta] = {}
    ds_path = ig_dir / DATASETS_FILE
    for line, row in _rows(ds_path, ("Class", "Dataset Name", "Dataset Label", "Structure")):
        name = row["Dataset Name"]
        if name not in keys:
            raise StandardsError(f"{Location(str(ds_path), line)}: dataset {name} has no row in {keys_path}")
        extra = keys[name]
        datasets[name] = DatasetMeta(
            name=name,
            label=row["Dataset Label"],
            klass=class_name(row["Class"]),
            structure=row["Structure"],
            keys=tuple(extra["keys"].split()),
            repeating=_yes(extra["repeating"]),
            reference_data=_yes(extra["reference_data"]),
        )

    amendments: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    am_path = ig_dir / AMENDMENTS_FILE
    if am_path.is_file():
        for line, row in _rows(am_path, ("dataset", "variable", "column", "value", "reason")):
            if row["column"] not in AMENDABLE:
                raise StandardsError(
                    f"{Location(str(am_path), line)}: column {row['column']!r} cannot be amended "
                    f"(one of {', '.join(AMENDABLE)})"
                )
            amendments[(row["dataset"], row["variable"])][AMENDABLE[row["column"]]] = row["value"]

    variables: dict[str, list[VariableMeta]] = defaultdict(list)
    var_path = ig_dir / VARIABLES_FILE
    required = (
        "Variable Order",
        "Dataset Name",
        "Variable Name",
        "Variable Label",
        "Type",
        "CDISC CT Codelist Code(s)",
        "Described Value Domain(s)",
        "Value List",
        "Role",
        "CDISC Notes",
        "Core",
    )
    for line, row in _rows(var_path, required):
        where = Location(str(var_path), line)
        dataset, name = row["Dataset Name"], row["Variable Name"]
        if dataset not in datasets:
            raise StandardsError(f"{where}: dataset {dataset} is not in {ds_path}")
        if row["Type"] not in TYPES:
            raise StandardsError(f"{where}: Type must be Char or Num, not {row['Type']!r}")
        if row["Core"] not in CORES:
            raise StandardsError(f"{where}: Core must be Req, Exp or Perm, not {row['Core']!r}")
        value_domain = row["Described Value Domain(s)"]
        fields = {
            "label": _clean(row["Variable Label"]),
            "core": row["Core"],
            "codelist": ";".join(c.strip() for c in row["CDISC CT Codelist Code(s)"].split(";") if c.strip()),
        }
        fields.update(amendments.pop((dataset, name), {}))
        variables[dataset].append(
            VariableMeta(
                dataset=dataset,
                order=_int(row["Variable Order"], where, "Variable Order"),
                name=name,
                label=fields["label"],
                type=row["Type"],
                role=row["Role"],
                core=fields["core"],
                codelist=fields["codelist"],
                format=iso8601_format(value_domain),
                value_domain=value_domain,
                value_list=tuple(v.strip() for v in row["Value List"].split(";") if v.strip()),
                notes=_clean(row["CDISC Notes"]),
            )
        )
    if amendments:
        (dataset, name), _ = next(iter(amendments.items()))
        raise StandardsError(f"{am_path}: amends {dataset}.{name}, which {var_path} does not have")
    for name in keys:
        if name not in datasets:
            raise StandardsError(f"{keys_path}: dataset {name} is not in {ds_path}")

    classes: dict[str, list[ClassVariable]] = defaultdict(list)
    cv_path = ig_dir / CLASS_VARIABLES_FILE
    for line, row in _rows(cv_path, ("class", "order", "name", "label", "type", "role", "codelist", "value_domain")):
        where = Location(str(cv_path), line)
        if row["type"] not in TYPES:
            raise StandardsError(f"{where}: type must be Char or Num, not {row['type']!r}")
        klass = class_name(row["class"])
        classes[klass].append(
            ClassVariable(
                klass=klass,
                order=_int(row["order"], where, "order"),
                name=row["name"],
                label=row["label"],
                type=row["type"],
                role=row["role"],
                codelist=row["codelist"],
                value_domain=row["value_domain"],
            )
        )
    if GENERAL_OBSERVATIONS not in classes:
        raise StandardsError(f"{cv_path}: no variables of class General Observations (identifiers and timing)")

    return (
        datasets,
        {name: tuple(sorted(vs, key=lambda v: v.order)) for name, vs in variables.items()},
        {k: tuple(sorted(vs, key=lambda v: v.order)) for k, vs in classes.items()},
    )


_IG_FORMAT = 1  # bump when what read_sdtmig makes of the files changes


def _ig_sources(ig_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file the IG metadata is read from."""
    found = []
    for name in (DATASETS_FILE, VARIABLES_FILE, KEYS_FILE, CLASS_VARIABLES_FILE, AMENDMENTS_FILE):
        try:
            st = (ig_dir / name).stat()
        except OSError:
            continue
        found.append((name, st.st_size, st.st_mtime_ns))
    return tuple(found)


def _compiled_sdtmig(ig_dir: Path, home: Path | None) -> SdtmigTables:
    """``read_sdtmig`` through a compiled copy in the store, rebuilt when a source file changed.

    The copy is marshalled plain values (never pickled objects), so a file in the store can
    hold data only.
    """
    import hashlib
    import marshal
    import os
    import tempfile
    from dataclasses import astuple

    from daybreak_sdtm.standards.store import store_home

    key = hashlib.sha256(str(ig_dir.resolve()).encode("utf-8")).hexdigest()[:16]
    target = (home or store_home()) / "cache" / f"sdtmig-{ig_dir.name}-{key}.bin"
    stamp = (_IG_FORMAT, _ig_sources(ig_dir))
    try:
        saved = marshal.loads(target.read_bytes())
        if saved[0] == stamp:
            ds_rows, var_rows, cv_rows = saved[1]
            return (
                {r[0]: DatasetMeta(*r) for r in ds_rows},
                {name: tuple(VariableMeta(*r) for r in rows) for name, rows in var_rows.items()},
                {klass: tuple(ClassVariable(*r) for r in rows) for klass, rows in cv_rows.items()},
            )
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        pass
    datasets, variables, classes = read_sdtmig(ig_dir)
    value = (
        tuple(astuple(d) for d in datasets.values()),
        {name: tuple(astuple(v) for v in vs) for name, vs in variables.items()},
        {klass: tuple(astuple(c) for c in cs) for klass, cs in classes.items()},
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sdtmig-", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps((stamp, value)))
        os.replace(tmp, target)
    except OSError:
        pass  # a read-only store: read the CSV files each time
    return datasets, variables, classes


def read_standards(specs_root: Path, sdtmig_version: str, ct_version: str, home: Path | None = None) -> Standards:
    """Load one SDTMIG version from ``specs_root`` and one CT release, bundled or imported.

    ``home`` is the user store (default: ``store_home()``), where imported releases and the
    compiled copies of every release are kept.
    """
    from daybreak_sdtm.standards.ct import load_terminology
    from daybreak_sdtm.standards.store import compiled_path, find_release

    ig_dir = specs_root / "sdtmig" / sdtmig_version
    if not ig_dir.is_dir():
        known = sorted(p.name for p in ig_dir.parent.iterdir()) if ig_dir.parent.is_dir() else []
        raise StandardsError(
            f"{ig_dir}: no metadata for SDTMIG {sdtmig_version} (available: {', '.join(known) or 'none'})"
        )
    release = find_release(specs_root, ct_version, home)
    datasets, variables, classes = _compiled_sdtmig(ig_dir, home)
    codelists = load_terminology(release.source, compiled_path(release, home))
    return Standards(sdtmig_version, ct_version, datasets, variables, codelists, classes)
