"""Where the bundled standards, mappings and sample export live.

In a source checkout they are the top-level ``specs/``, ``mappings/`` and ``examples/`` folders;
an installed wheel carries the same folders under ``daybreak_sdtm/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the bundled folder ``name`` (``specs``, ``mappings`` or ``examples``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def default_study_dir() -> Path:
    """The bundled Daybreak-01 mapping."""
    return data_dir("mappings") / "daybreak-01"


def default_export_dir() -> Path:
    """The bundled Daybreak-01 sample export."""
    return data_dir("examples") / "daybreak-01" / "export"


def specs_dir() -> Path:
    """The bundled standard metadata (SDTMIG variables, controlled terminology)."""
    return data_dir("specs")
