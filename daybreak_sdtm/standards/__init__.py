"""Standard metadata read from ``specs/``: SDTMIG datasets and variables, controlled terminology."""

from __future__ import annotations

from daybreak_sdtm.standards.model import (
    Codelist,
    DatasetMeta,
    Standards,
    Term,
    VariableMeta,
)
from daybreak_sdtm.standards.read import read_standards

__all__ = ["Codelist", "DatasetMeta", "Standards", "Term", "VariableMeta", "read_standards"]
