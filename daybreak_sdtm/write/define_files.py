"""Write define.xml and define.html into a package folder, from its XPT files and the specs.

The define states the lengths, labels and datasets of the XPT files next to it: ``define`` on an
existing package reads them back; ``convert`` passes the datasets it has just written (the one
table model, ``daybreak_sdtm.dataset``, the same whether made in memory or read back), which
saves reading every file again. The define is schema-validated before anything is written, and both
files replace their predecessors atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.define import Define, build_define, read_package
from daybreak_sdtm.errors import WriteError
from daybreak_sdtm.spec import StudySpec
from daybreak_sdtm.standards import Standards
from daybreak_sdtm.write.define_html import define_html
from daybreak_sdtm.write.define_xml import define_xml, validate_define

DEFINE_XML, DEFINE_HTML = "define.xml", "define.html"


def not_written(package_dir: Path) -> dict[str, str]:
    """The datasets a package's reconciliation.json says have no records (not written), with why."""
    import json

    from daybreak_sdtm.write.lineage import RECONCILIATION_FILE

    try:
        data = json.loads((package_dir / RECONCILIATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = (
        [*data.get("domains", []), *data.get("supplemental", []), *data.get("trial_design", [])]
        if isinstance(data, dict)
        else []
    )
    return {
        str(e.get("domain") or e.get("dataset")): str(e["not_written"])
        for e in entries
        if isinstance(e, dict) and e.get("not_written")
    }


def render_define(
    package_dir: Path,
    study: StudySpec,
    standards: Standards,
    created: dt.datetime,
    datasets: Sequence[Dataset] | None = None,
    no_data: Mapping[str, str] | None = None,
) -> tuple[Define, bytes, bytes]:
    """The define of a package folder and its two renderings; raises DefineSchemaError if the XML is invalid.

    Args:
        package_dir: The package folder (its XPT files are read unless ``datasets`` is given).
        study: The mapping specs.
        standards: SDTMIG and CT.
        created: Creation time written into the define.
        datasets: The package's datasets, when already in memory (as ``convert`` wrote them).
        no_data: Datasets with no records (not written) and why; by default those the package's
            reconciliation.json names.
    """
    if no_data is None:
        no_data = not_written(package_dir)
    define = build_define(
        study, standards, read_package(package_dir) if datasets is None else datasets, created, no_data
    )
    xml = define_xml(define)
    validate_define(xml, str(package_dir / DEFINE_XML))
    return define, xml, define_html(define)


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` next to ``path`` and rename it into place, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_define(
    package_dir: Path,
    study: StudySpec,
    standards: Standards,
    created: dt.datetime,
    datasets: Sequence[Dataset] | None = None,
    no_data: Mapping[str, str] | None = None,
    out_dir: Path | None = None,
) -> Define:
    """(Re)generate define.xml and define.html of ``package_dir``; nothing is written if the define is invalid.

    ``datasets`` (those ``convert`` has just written) spares reading the package's XPT files back;
    ``no_data`` names the datasets with no records (see ``render_define``); the files go into
    ``out_dir`` (default: the package folder).
    """
    define, xml, html = render_define(package_dir, study, standards, created, datasets, no_data)
    target = out_dir or package_dir
    _replace_file(target / DEFINE_XML, xml)
    _replace_file(target / DEFINE_HTML, html)
    return define
