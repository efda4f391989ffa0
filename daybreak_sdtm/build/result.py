"""What a build gives: the SDTM datasets, and the counts that reconcile them with the raw export."""

from __future__ import annotations

from dataclasses import dataclass, field

from daybreak_sdtm.dataset import Dataset
from daybreak_sdtm.spec import DomainSpec


@dataclass(frozen=True)
class Exclusion:
    """Raw records left out of a domain on purpose."""

    domain: str
    form: str
    reason: str
    records: int


@dataclass
class BuildResult:
    """Every dataset made, in its written form, plus the counts that reconcile them with the raw export."""

    # Dataset name -> the dataset (the one table model, in SDTMIG order and written form, with the
    # raw record of each row and the spec line of each variable); empty datasets included.
    tables: dict[str, Dataset]
    forms_read: dict[str, int]  # form -> records
    exclusions: list[Exclusion]
    forms_not_mapped: dict[str, str]
    form_files: dict[str, str] = field(default_factory=dict)  # form -> file name in the export
    warnings: list[str] = field(default_factory=list)
    # Forms the study names that the export lacks, each listed in study.yaml: form -> why it may be missing.
    forms_missing: dict[str, str] = field(default_factory=dict)
    # Datasets with no records, which are not written (define.xml: def:HasNoData): name -> why.
    empty: dict[str, str] = field(default_factory=dict)
    # (domain, source form) -> records of the form from which no record was made (all excluded).
    unused_records: dict[tuple[str, str], int] = field(default_factory=dict)
    # Mapped domain -> its spec (a SUPP-- dataset's is its parent's; trial design datasets have none).
    specs: dict[str, DomainSpec] = field(default_factory=dict)

    def spec_of(self, name: str) -> DomainSpec | None:
        """The domain spec a dataset was mapped by (SUPPAE: AE's); None for a trial design dataset."""
        ds = self.tables[name]
        return self.specs.get(ds.parent_name)
