"""Mapping specs x raw forms -> SDTM domain tables: the only caller of derivations.

Work is ordered by a graph of variables: a derivation that reads ``DM.RFSTDTC`` runs after DM's
RFSTDTC, which reads ``EX.EXSTDTC``, and so on; --SEQ runs after the rest of its domain, and
SUPP-- records after their parent. Every value problem is reported with its raw file, record,
column and the spec line that asked for it; all of them at once.

By stage: ``forms`` (reading the export, assembling each domain's raw rows), ``graph`` (the
variables in dependency order, and when raw columns are released), ``subjects`` (subject checks),
``supp`` (SUPP-- records), ``study`` (the stages in order, and the result's tables); ``result``
holds the result types, ``columns`` what the stages share.
"""

from __future__ import annotations

from daybreak_sdtm.build.forms import ExportForms, export_headers, read_forms
from daybreak_sdtm.build.graph import DomainContext
from daybreak_sdtm.build.result import BuildResult, Exclusion
from daybreak_sdtm.build.study import build_study

__all__ = [
    "BuildResult",
    "DomainContext",
    "Exclusion",
    "ExportForms",
    "build_study",
    "export_headers",
    "read_forms",
]
