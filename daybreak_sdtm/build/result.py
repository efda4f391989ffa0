"""What a build gives: the SDTM datasets, and the counts that reconcile them with the raw export."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from daybreak_sdtm.spec import DomainSpec
from daybreak_sdtm.spec.check import ResolvedVariable


@dataclass
class DomainTable:
    """One SDTM dataset: its records, where each came from, and the spec that made it."""

    name: str
    frame: pd.DataFrame  # SDTM variables only, in SDTMIG order
    lineage: pd.DataFrame  # _src_file, _src_row per record, aligned with frame
    spec: DomainSpec | None  # None for a trial design dataset (TS ... TI from study.yaml, SE and SV from the data)
    variables: dict[str, ResolvedVariable] = field(default_factory=dict)
    parent: str = ""  # "AE" for SUPPAE


@dataclass(frozen=True)
class Exclusion:
    """Raw records left out of a domain on purpose."""

    domain: str
    form: str
    reason: str
    records: int


@dataclass
class BuildResult:
    """All domain tables, plus the counts that reconcile them with the raw export."""

    tables: dict[str, DomainTable]
    forms_read: dict[str, int]  # form -> records
    exclusions: list[Exclusion]
    forms_not_mapped: dict[str, str]
    form_files: dict[str, str] = field(default_factory=dict)  # form -> file name in the export
    warnings: list[str] = field(default_factory=list)
    # Forms the study names that the export lacks, each listed in study.yaml: form -> why it may be missing.
    forms_missing: dict[str, str] = field(default_factory=dict)
    # Datasets with no records, which are not written (define.xml: def:HasNoData): name -> why.
    empty: dict[str, str] = field(default_factory=dict)
    # Domain -> source records from which no record was made (every record made of them excluded).
    unused_records: dict[str, int] = field(default_factory=dict)
