"""Standard metadata: SDTMIG datasets and variables, SDTM class variables, controlled terminology."""

from __future__ import annotations

from daybreak_sdtm.standards.model import (
    ClassVariable,
    Codelist,
    DatasetMeta,
    Standards,
    Term,
    VariableMeta,
    domain_code,
)
from daybreak_sdtm.standards.read import read_standards

__all__ = [
    "ClassVariable",
    "Codelist",
    "DatasetMeta",
    "Standards",
    "Term",
    "VariableMeta",
    "domain_code",
    "read_standards",
]
